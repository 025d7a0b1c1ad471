#pragma once

#include <memory>

#include "biometrics/face_features.hpp"
#include "biometrics/face_locate.hpp"
#include "biometrics/image_decode.hpp"
#include "biometrics/matcher.hpp"

// Face verification: decode (image_decode.hpp) -> Haar face and eye detection
// -> alignment on the eyes -> lighting normalisation (CLAHE by default) ->
// uniform LBP(8,1) histograms over a grid -> chi-square similarity.
//
// Template v1 payload: grid.columns * grid.rows * 59 bytes, each cell's LBP
// histogram scaled to 0..255 of the cell's pixel count.
namespace paysync::biometrics {

struct face_options {
  decode_limits decode = {.min_width_px = 64, .min_height_px = 64};
  face_locate_options locate = {};
  face_crop crop = {};
  lbp_grid grid = {};
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
