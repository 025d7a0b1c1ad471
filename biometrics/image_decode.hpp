#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <span>

#include "biometrics/matcher.hpp"

// Safe decoding of an image sample for every image modality (face, iris,
// fingerprint). The bytes come from the network: any bytes at all are safe to
// pass. What is refused, in the order it is checked:
//   1. more than max_bytes                                  -> too_large
//   2. not JPEG, PNG, PGM (binary P5) or TIFF by magic       -> unsupported_format
//   3. a header that cannot be parsed for width and height   -> undecodable
//   4. header width/height/pixels over the caps              -> too_large
//      (checked BEFORE the decoder runs: a decompression bomb never allocates)
//   5. header width or height under the minimum              -> too_small
//   6. a truncated body (JPEG without EOI after its scan, PNG without IEND,
//      PGM shorter than width*height samples) or a decoder failure -> undecodable
//   7. the quality tests of check_quality()                  -> low_quality
namespace paysync::biometrics {

enum class image_format : std::uint8_t { jpeg, png, pgm, tiff };

// Thresholds of check_quality(). Defaults were chosen from the four datasets
// under ../shared/data/biometrics (every image there passes with a margin;
// see tests/biometrics/image_decode_test.cpp for the figures).
struct quality_limits {
  // Blank: the standard deviation of grey levels is below this.
  double min_stddev = 6.0;
  // Saturated: more than this fraction of pixels sits at <= 2 or >= 253.
  // (FVC2000 DB4 fingerprints on their white background reach 0.68.)
  double max_saturated_fraction = 0.85;
  // Noise-like: the correlation of each pixel with its right and lower
  // neighbour (mean of the two) is below this. Photographs of faces, eyes and
  // fingers are smooth at the pixel scale (>= 0.6 in our data); white noise
  // is ~0, even after JPEG compression.
  double min_neighbour_correlation = 0.35;
};

struct decode_limits {
  std::size_t max_bytes = std::size_t{4} << 20;  // 4 MiB
  std::size_t max_pixels = 12'000'000;           // 12 Mpx (e.g. 4000 x 3000)
  int max_side_px = 8192;
  int min_width_px = 32;
  int min_height_px = 32;
  quality_limits quality = {};
};

// The format named by the first bytes, or nothing.
std::optional<image_format> sniff_format(std::span<const std::uint8_t> bytes) noexcept;

struct image_size {
  int width_px = 0;
  int height_px = 0;
};

// Width and height read from the header alone (no pixel is decoded).
// Fails with unsupported_format or undecodable.
result<image_size> read_image_size(std::span<const std::uint8_t> bytes) noexcept;

// Measured properties behind check_quality(), exposed for tests and tuning.
struct quality_report {
  double mean = 0, stddev = 0;
  double saturated_fraction = 0;     // pixels at <= 2 or >= 253
  double neighbour_correlation = 0;  // mean of lag-1 horizontal and vertical
};
// REQUIRES: grey is CV_8UC1 and not empty.
quality_report measure_quality(const cv::Mat& grey);

// low_quality when the image is blank, saturated or noise-like, else nothing.
// REQUIRES: grey is CV_8UC1 and not empty.
std::optional<refusal> check_quality(const cv::Mat& grey, const quality_limits& limits = {});

// Decodes to an 8-bit single-channel image (colour is converted to grey,
// 16-bit samples are scaled to 8 bits) after all the checks listed above.
// Never throws.
result<cv::Mat> decode_grey(std::span<const std::uint8_t> bytes, const decode_limits& limits = {});

}  // namespace paysync::biometrics
