#pragma once

#include <memory>

#include "biometrics/fingerprint_enhance.hpp"
#include "biometrics/fingerprint_match.hpp"
#include "biometrics/fingerprint_minutiae.hpp"
#include "biometrics/fingerprint_template.hpp"
#include "biometrics/image_decode.hpp"
#include "biometrics/matcher.hpp"

// Fingerprint verification: decode (image_decode.hpp) -> segmentation,
// orientation field, ridge period, oriented Gabor filtering, binarisation
// and thinning (fingerprint_enhance.hpp) -> minutiae with directions, false
// ones removed (fingerprint_minutiae.hpp) -> minutiae and a coarse
// orientation grid (fingerprint_template.hpp) -> alignment-tolerant
// matching (fingerprint_match.hpp).
//
// Images are expected at about 500 dpi (FVC2000's sensors); up to
// max_grid_side * grid_block_px (1024) pixels on a side.
namespace paysync::biometrics {

struct fingerprint_options {
  decode_limits decode = {.max_side_px = fingerprint::max_grid_side * fingerprint::grid_block_px,
                          .min_width_px = 128,
                          .min_height_px = 128};
  fingerprint::enhance_params enhance = {};
  fingerprint::minutiae_params minutiae = {};
  fingerprint::match_params match = {};
  int min_minutiae = 10;   // fewer: too_few_minutiae
  double threshold = 0.0;  // 0: the calibrated default
};

std::unique_ptr<matcher> make_fingerprint_matcher(const fingerprint_options& options);

// The features a template is made from, or the refusal. For tests and tuning.
result<fingerprint::features> fingerprint_features(std::span<const std::uint8_t> sample,
                                                   const fingerprint_options& options);

}  // namespace paysync::biometrics
