#pragma once

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <span>
#include <vector>

// Lighting normalisation and uniform-LBP histograms of an aligned face.
// Private to the face matcher.
namespace paysync::biometrics {

// Tan & Triggs (2010) preprocessing: gamma, difference of Gaussians, two-step
// contrast equalisation, tanh compression. Removes smooth shading and
// compresses highlights, keeps the local texture LBP reads.
// REQUIRES: grey is CV_8UC1. Returns CV_32F.
cv::Mat tan_triggs(const cv::Mat& grey, double gamma = 0.2, double sigma0 = 1.0,
                   double sigma1 = 2.0);

struct lbp_grid {
  int columns = 8, rows = 8;  // cells over the image
};

inline constexpr int uniform_lbp_bins = 59;  // 58 uniform patterns + one for the rest

// For every cell of the grid, the histogram of uniform LBP(8,radius) codes
// (the 8 neighbours at +-radius px on the square around the pixel), each
// count scaled to 0..255 of the cell's largest possible count. Cells tile the
// interior (the radius-pixel border has no full neighbourhood).
// REQUIRES: image is CV_32F or CV_8U, at least 3 px per cell each way.
std::vector<std::uint8_t> lbp_histograms(const cv::Mat& image, const lbp_grid& grid,
                                         int radius = 1);

// 1 - chi-square distance / (sum of both), in [0, 1]; 1 for equal histograms.
// REQUIRES: a.size() == b.size().
double chi_square_similarity(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace paysync::biometrics
