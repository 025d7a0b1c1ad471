#pragma once

// Private to biometrics/ (and its tests). Ridge enhancement of a grey
// fingerprint image (about 500 dpi):
//   1. local contrast normalisation (ridges positive);
//   2. orientation field from smoothed gradient moments (doubled angles) of
//      the normalised image, clipped so that blots do not outweigh faint
//      ridges, with its coherence (1 = parallel ridges, 0 = isotropic);
//   3. segmentation of the print from the background: where the oriented
//      (anisotropic) gradient energy of the raw image is strong, cleaned by
//      morphology, the largest region kept and its holes filled;
//   4. ridge period: median over blocks of the strongest autocorrelation lag
//      of a profile across the ridges (robust to pores and breaks);
//   5. oriented Gabor filtering at that period, one kernel per orientation
//      bin, evaluated inside the print on a 2-pixel grid and interpolated;
//   6. binarisation (ridges = positive filter response), thinning
//      (cv::ximgproc::thinning) to a one-pixel skeleton, and a ridge clarity
//      map (how much of the local signal the oriented filter explains).
// Smooth fields (steps 1-3, clarity) are computed on 4 x 4 pixel blocks and
// interpolated back. About 25 ms for a 300 x 300 image, 75 ms for 448 x 478.

#include <opencv2/core.hpp>

#include "biometrics/matcher.hpp"

namespace paysync::biometrics::fingerprint {

struct enhance_params {
  double gradient_sigma_px = 1.0;     // pre-blur before the Sobel gradient
  double orientation_sigma_px = 7.0;  // smoothing of the gradient moments
  double clip_sd = 2.0;               // normalised image clipped for orientation
  double segment_sigma_px = 8.0;      // smoothing of the segmentation energy
  double segment_fraction = 0.12;     // of the 95th percentile energy
  int min_print_px = 12000;           // a smaller print is low_quality
  double min_period_px = 4.0, max_period_px = 16.0;
  int orientation_bins = 16;
  double gabor_across = 0.5;      // Gaussian sigma across the ridges, in periods
  double gabor_along = 0.6;       // Gaussian sigma along the ridges, in periods
  int gabor_step_px = 2;          // filter every n-th pixel and row, interpolate between
  double clarity_sigma_px = 8.0;  // smoothing of the clarity energies
};

struct ridge_map {
  cv::Mat mask;         // CV_8U, 255 inside the print
  cv::Mat orientation;  // CV_32F, ridge direction in [0, pi), image axes (y down)
  cv::Mat coherence;    // CV_32F in [0, 1]
  double period_px = 0;
  cv::Mat ridges;    // CV_8U, 255 on ridges inside the print
  cv::Mat skeleton;  // CV_8U, 255 on one-pixel-wide ridge centre lines
  cv::Mat clarity;   // CV_32F, about [0, 1]: how well oriented ridges explain the image
};

// REQUIRES: grey is CV_8UC1. Refusals: low_quality when no print (or too
// small a print) stands out from the background or no ridge period is found.
result<ridge_map> enhance(const cv::Mat& grey, const enhance_params& params = {});

}  // namespace paysync::biometrics::fingerprint
