#pragma once

// Private to biometrics/ (and its tests). What a fingerprint template holds
// and its byte layout.
//
// Features: the minutiae, and a coarse grid of the print (one cell per
// grid_block_px square: outside the print, or the ridge orientation there).
// The grid tells the matcher where two prints overlap and whether their
// ridge flows agree once aligned.
//
// Layout after the common 3-byte header (modality, version LE):
//   u16 grid cols, u16 grid rows, u8 grid block px,
//   cols * rows bytes: 0 = outside the print, 1..180 = 1 + orientation in
//   degrees [0, 180),
//   u8 minutiae count, then per minutia: u16 x, u16 y (pixels), u8 angle
//   (2 pi / 256 units), u8 kind (bit 7: bifurcation) | quality (0..127).
// All integers little-endian.

#include <cstdint>
#include <span>
#include <vector>

#include "biometrics/fingerprint_enhance.hpp"
#include "biometrics/fingerprint_minutiae.hpp"
#include "biometrics/matcher.hpp"

namespace paysync::biometrics::fingerprint {

inline constexpr std::uint16_t template_version = 1;
inline constexpr int grid_block_px = 16;
inline constexpr int max_grid_side = 64;  // 1024 px at 16 px per cell
inline constexpr int max_template_minutiae = 255;

struct orientation_grid {
  int cols = 0, rows = 0;
  int block_px = grid_block_px;
  std::vector<std::uint8_t> cells;  // row-major; 0 outside, else 1 + degrees
  // The cell code at image point (x, y); 0 outside the grid.
  std::uint8_t at(double x, double y) const {
    if (x < 0 || y < 0) return 0;
    int cx = static_cast<int>(x) / block_px, cy = static_cast<int>(y) / block_px;
    if (cx >= cols || cy >= rows) return 0;
    return cells[static_cast<std::size_t>(cy) * cols + cx];
  }
};

struct features {
  std::vector<minutia> minutiae;
  orientation_grid grid;
};

// REQUIRES: map comes from enhance() of an image at most
// max_grid_side * grid_block_px pixels on each side.
orientation_grid make_grid(const ridge_map& map);

// REQUIRES: at most max_template_minutiae minutiae, coordinates within
// [0, 65535]. Quantises angles to 2 pi / 256 and positions to whole pixels.
template_bytes encode(const features& f);

// bad_template unless the bytes are exactly one fingerprint template of
// this version with an in-range grid and minutiae.
result<features> decode(std::span<const std::uint8_t> bytes);

}  // namespace paysync::biometrics::fingerprint
