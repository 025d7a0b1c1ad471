#pragma once

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>
#include <optional>

// Iris segmentation and Daugman's rubber-sheet normalisation. Private to the
// iris matcher.
namespace paysync::biometrics {

struct circle {
  cv::Point2f centre;
  float radius = 0;
};

struct iris_boundaries {
  circle pupil, iris;
};

// The pupil: the darkest large uniform blob. CASIA-IrisV1's pupils are painted
// one flat grey (40-55), so the darkest histogram peak marks them exactly;
// the largest round connected component within a few grey levels of it is
// the pupil (centroid, radius from the area). Nothing when no such blob.
// REQUIRES: grey is CV_8UC1.
std::optional<circle> find_pupil(const cv::Mat& grey);

// Iris radii the sensor can produce, in pixels. A camera images irises at a
// known distance (ISO/IEC 19794-6 asks for 200+ px diameters): outside this
// range the strongest circular edge is an eyelid fold or an eye corner.
// Defaults: CASIA-IrisV1's camera, whose irises are 85-120 px in radius.
struct iris_radius_range {
  float min_px = 80;
  float max_px = 130;
};

// The iris-sclera boundary by Daugman's integro-differential operator: the
// centre (near the pupil's) and radius maximising the blurred radial
// derivative of the mean intensity along the two lower lateral arcs (left and
// right of the pupil, 5-55 degrees below the horizontal, where eyelids and
// lashes rarely reach). Nothing when the edge is
// too weak or lies outside the image.
// REQUIRES: grey is CV_8UC1.
std::optional<circle> find_iris(const cv::Mat& grey, const circle& pupil,
                                const iris_radius_range& range = {});

// Both boundaries, or nothing.
std::optional<iris_boundaries> segment_iris(const cv::Mat& grey,
                                            const iris_radius_range& range = {});

struct rubber_sheet {
  cv::Mat texture;  // CV_32F, rows = radial samples (pupil -> sclera), cols = angles
  cv::Mat valid;    // CV_8U, 255 where the texture is iris (not eyelid, lash, glint)
};

// Samples the inner 80% of the annulus between the boundaries onto rows x
// cols (angle 0 at the right, increasing clockwise in image coordinates);
// marks as invalid
// samples outside the image, specular glints and eyelid or eyelash pixels
// (far from the iris's own median grey level). Each output sample averages
// oversample x oversample bilinear samples (area resampling: less aliasing
// and JPEG noise than point samples); it is valid when 3/4 of them are.
rubber_sheet normalise_iris(const cv::Mat& grey, const iris_boundaries& b, int rows, int cols,
                            int oversample = 1);

}  // namespace paysync::biometrics
