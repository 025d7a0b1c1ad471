#pragma once

#include <memory>

#include "biometrics/face_features.hpp"
#include "biometrics/face_locate.hpp"
#include "biometrics/image_decode.hpp"
#include "biometrics/matcher.hpp"

// Face verification: decode (image_decode.hpp) -> Haar face detection (eye
// detection optional, off by default: face_locate.hpp) -> alignment on the
// eyes' places -> lighting normalisation (CLAHE by default) ->
// uniform LBP(8,1) and LBP(8,2) histograms over a grid -> chi-square
// similarity.
//
// Template v2 payload: radii * grid.columns * grid.rows * 59 bytes (LBP(8,1)
// cells first), each cell's LBP histogram scaled to 0..255 of the cell's
// pixel count. v1 was LBP(8,1) alone on an 8x8 grid.
namespace paysync::biometrics {

struct face_options {
  decode_limits decode = {.min_width_px = 64, .min_height_px = 64};
  face_locate_options locate = {};
  face_crop crop = {};
  lbp_grid grid = {.columns = 8, .rows = 9};
  // LBP(8,1), ..., LBP(8,radii), concatenated. On the ORL tuning subjects
  // radii 2 with an 8x9 grid over a 64x80 crop did better than LBP(8,1) on
  // 8x8 over 64x72: EER 6.76% -> 6.67%, FNMR at FMR 1% 18.7% -> 13.3%, at
  // FMR 0.1% 30.7% -> 22.7% (eye-cascade alignment); with the final
  // alignment LBP(8,1) alone: EER 4.00% against 3.14%.
  int radii = 2;
  // On the ORL tuning subjects CLAHE (clip 2, 4x4 tiles) did best; Tan-Triggs
  // did no better: ORL's lighting is mild and it also removes useful shading.
  enum class lighting_method { clahe, tan_triggs, equalise };
  lighting_method lighting = lighting_method::clahe;
  double threshold = 0.0;  // 0: the calibrated default
};

// Nothing when the cascades of options.locate.cascade_dir cannot be loaded.
std::unique_ptr<matcher> make_face_matcher(const face_options& options);

// The aligned, lighting-normalised face the template is made from (CV_32F,
// options.crop.size), or the refusal. For tests and tuning.
result<cv::Mat> normalised_face(std::span<const std::uint8_t> sample, const face_options& options);

}  // namespace paysync::biometrics
