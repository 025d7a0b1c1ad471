#include "biometrics/fingerprint_template.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace paysync::biometrics::fingerprint {
namespace {

constexpr double pi = std::numbers::pi;
constexpr std::size_t header_bytes = 3;
constexpr std::size_t minutia_bytes = 6;

void put16(template_bytes& out, int v) {
  out.push_back(static_cast<std::uint8_t>(v & 0xFF));
  out.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
}
int get16(const std::uint8_t* p) { return p[0] | (p[1] << 8); }

}  // namespace

orientation_grid make_grid(const ridge_map& map) {
  orientation_grid g;
  g.cols = std::min(max_grid_side, (map.mask.cols + grid_block_px - 1) / grid_block_px);
  g.rows = std::min(max_grid_side, (map.mask.rows + grid_block_px - 1) / grid_block_px);
  g.cells.assign(static_cast<std::size_t>(g.cols) * g.rows, 0);
  for (int cy = 0; cy < g.rows; ++cy) {
    for (int cx = 0; cx < g.cols; ++cx) {
      int x = std::min(cx * grid_block_px + grid_block_px / 2, map.mask.cols - 1);
      int y = std::min(cy * grid_block_px + grid_block_px / 2, map.mask.rows - 1);
      if (map.mask.at<std::uint8_t>(y, x) == 0) continue;
      double degrees = map.orientation.at<float>(y, x) * 180.0 / pi;
      int code = 1 + static_cast<int>(std::lround(degrees)) % 180;
      g.cells[static_cast<std::size_t>(cy) * g.cols + cx] = static_cast<std::uint8_t>(code);
    }
  }
  return g;
}

template_bytes encode(const features& f) {
  template_bytes out;
  out.reserve(header_bytes + 5 + f.grid.cells.size() + 1 + f.minutiae.size() * minutia_bytes);
  out.push_back(static_cast<std::uint8_t>(modality::fingerprint));
  put16(out, template_version);
  put16(out, f.grid.cols);
  put16(out, f.grid.rows);
  out.push_back(static_cast<std::uint8_t>(f.grid.block_px));
  out.insert(out.end(), f.grid.cells.begin(), f.grid.cells.end());
  std::size_t n = std::min<std::size_t>(f.minutiae.size(), max_template_minutiae);
  out.push_back(static_cast<std::uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const minutia& m = f.minutiae[i];
    put16(out, std::clamp(static_cast<int>(std::lround(m.x)), 0, 65535));
    put16(out, std::clamp(static_cast<int>(std::lround(m.y)), 0, 65535));
    out.push_back(static_cast<std::uint8_t>(std::lround(m.angle / (2 * pi) * 256.0) & 0xFF));
    int quality = std::clamp(static_cast<int>(std::lround(m.quality * 127.0)), 0, 127);
    out.push_back(
        static_cast<std::uint8_t>((m.kind == minutia_kind::bifurcation ? 0x80 : 0) | quality));
  }
  return out;
}

result<features> decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < header_bytes + 5) return refusal::bad_template;
  const std::uint8_t* p = bytes.data();
  if (p[0] != static_cast<std::uint8_t>(modality::fingerprint) ||
      get16(p + 1) != template_version) {
    return refusal::bad_template;
  }
  features f;
  f.grid.cols = get16(p + 3);
  f.grid.rows = get16(p + 5);
  f.grid.block_px = p[7];
  if (f.grid.cols > max_grid_side || f.grid.rows > max_grid_side ||
      f.grid.block_px != grid_block_px) {
    return refusal::bad_template;
  }
  std::size_t cells = static_cast<std::size_t>(f.grid.cols) * f.grid.rows;
  std::size_t offset = header_bytes + 5;
  if (bytes.size() < offset + cells + 1) return refusal::bad_template;
  f.grid.cells.assign(p + offset, p + offset + cells);
  if (std::any_of(f.grid.cells.begin(), f.grid.cells.end(),
                  [](std::uint8_t c) { return c > 180; })) {
    return refusal::bad_template;
  }
  offset += cells;
  std::size_t n = p[offset++];
  if (bytes.size() != offset + n * minutia_bytes) return refusal::bad_template;
  f.minutiae.resize(n);
  for (std::size_t i = 0; i < n; ++i, offset += minutia_bytes) {
    minutia& m = f.minutiae[i];
    m.x = static_cast<float>(get16(p + offset));
    m.y = static_cast<float>(get16(p + offset + 2));
    m.angle = static_cast<float>(p[offset + 4] * (2 * pi) / 256.0);
    m.kind = (p[offset + 5] & 0x80) != 0 ? minutia_kind::bifurcation : minutia_kind::ending;
    m.quality = static_cast<float>((p[offset + 5] & 0x7F) / 127.0);
  }
  return f;
}

}  // namespace paysync::biometrics::fingerprint
