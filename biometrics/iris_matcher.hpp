#pragma once

#include <memory>

#include "biometrics/image_decode.hpp"
#include "biometrics/iris_code.hpp"
#include "biometrics/matcher.hpp"

// Iris verification: decode (image_decode.hpp) -> pupil (dark uniform disc)
// and iris (integro-differential) circles -> rubber sheet 16 x 256 with a
// noise mask -> log-Gabor phase code, 2 bits per sample -> masked fractional
// Hamming distance, minimised over +-max_shift columns of rotation.
// score = 1 - HD, after Daugman's rescaling of HD toward 0.5 when few bits
// are usable (so that a small unoccluded overlap cannot look like a match).
//
// Template v2 payload (v1 had the same layout; v2 codes come from the
// lower-arc limbus search, so v1 codes are refused rather than mismatched): 256 little-endian
// uint32 code words, then 256 mask words (2048 bytes); word j holds the 16 rows' 2 bits at angle j.
namespace paysync::biometrics {

struct iris_options {
  decode_limits decode = {.min_width_px = 160, .min_height_px = 120};
  double wavelength_px = 12.0;
  // Rubber-sheet samples averaged into each coded one, per axis. Point
  // samples (1) did best on the CASIA tuning eyes: EER 2.6% against 4.7-4.9%
  // for 2 and 4, which blur the radial detail.
  int oversample = 1;
  double bandwidth = 0.5;
  int max_shift = 10;  // columns of 256: +-14 degrees of head tilt
  // Fewer usable bits than this fraction of the iris means too occluded.
  double min_usable_fraction = 0.35;
  // Daugman's normalisation: HD' = 0.5 - (0.5 - HD) * sqrt(bits / typical_bits).
  int typical_bits = 5000;
  double threshold = 0.0;  // 0: the calibrated default
};

std::unique_ptr<matcher> make_iris_matcher(const iris_options& options);

// The segmentation of a sample, or the refusal. For tests and tuning.
result<iris_boundaries> segment_sample(std::span<const std::uint8_t> sample,
                                       const iris_options& options);

}  // namespace paysync::biometrics
