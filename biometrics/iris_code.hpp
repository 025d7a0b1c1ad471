#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "biometrics/iris_segment.hpp"

// Iris codes: 1-D log-Gabor phase of each rubber-sheet row, two bits per
// sample, with a noise mask; masked fractional Hamming distance minimised
// over rotations. Private to the iris matcher.
namespace paysync::biometrics {

inline constexpr int iris_code_rows = 16;      // radial rows coded
inline constexpr int iris_code_columns = 256;  // angles
// One 32-bit word per angle: bit 2*row = sign of the real part, bit 2*row+1
// = sign of the imaginary part, so that rotating the eye shifts whole words.
struct iris_code {
  std::array<std::uint32_t, iris_code_columns> bits{};
  std::array<std::uint32_t, iris_code_columns> mask{};  // 1 = bit usable
};

// REQUIRES: sheet has iris_code_rows rows and iris_code_columns columns.
// wavelength_px: the log-Gabor's centre wavelength along the angle axis.
iris_code encode_iris(const rubber_sheet& sheet, double wavelength_px = 12.0,
                      double bandwidth = 0.5);

struct iris_distance {
  double hamming = 1.0;  // fraction of usable bits that differ (best shift)
  int usable_bits = 0;   // bits usable in both codes at that shift
  int shift = 0;         // columns
};

// Masked fractional Hamming distance, minimised over circular shifts of b
// by -max_shift..max_shift columns.
iris_distance hamming_distance(const iris_code& a, const iris_code& b, int max_shift);

}  // namespace paysync::biometrics
