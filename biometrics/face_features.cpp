#include "biometrics/face_features.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace paysync::biometrics {
namespace {

// Uniform patterns (at most two 0/1 transitions around the circle) get bins
// 0..57 in code order; every other code shares bin 58.
constexpr std::array<std::uint8_t, 256> make_uniform_map() {
  std::array<std::uint8_t, 256> map{};
  std::uint8_t next = 0;
  for (unsigned code = 0; code < 256; ++code) {
    const unsigned rotated = ((code << 1) | (code >> 7)) & 0xFF;
    const int transitions = std::popcount(code ^ rotated);
    map[code] = transitions <= 2 ? next++ : 58;
  }
  return map;
}
constexpr auto uniform_map = make_uniform_map();
static_assert(uniform_map[255] == 57);

}  // namespace

cv::Mat tan_triggs(const cv::Mat& grey, double gamma, double sigma0, double sigma1) {
  CV_Assert(grey.type() == CV_8UC1);
  cv::Mat x;
  grey.convertTo(x, CV_32F, 1.0 / 255.0);
  cv::pow(x, gamma, x);
  cv::Mat g0, g1;
  cv::GaussianBlur(x, g0, {0, 0}, sigma0, sigma0, cv::BORDER_REFLECT);
  cv::GaussianBlur(x, g1, {0, 0}, sigma1, sigma1, cv::BORDER_REFLECT);
  x = g0 - g1;
  // Contrast equalisation with alpha = 0.1 and tau = 10 (the paper's values).
  constexpr double alpha = 0.1, tau = 10.0;
  cv::Mat t;
  cv::pow(cv::abs(x), alpha, t);
  x /= std::pow(cv::mean(t)[0], 1.0 / alpha) + 1e-12;
  cv::Mat clipped = cv::min(cv::abs(x), tau);
  cv::pow(clipped, alpha, t);
  x /= std::pow(cv::mean(t)[0], 1.0 / alpha) + 1e-12;
  // tau * tanh(x / tau), elementwise.
  for (int r = 0; r < x.rows; ++r) {
    auto* row = x.ptr<float>(r);
    for (int c = 0; c < x.cols; ++c) row[c] = float(tau * std::tanh(row[c] / tau));
  }
  return x;
}

std::vector<std::uint8_t> lbp_histograms(const cv::Mat& image, const lbp_grid& grid, int radius) {
  cv::Mat f;
  if (image.type() == CV_32F) {
    f = image;
  } else {
    image.convertTo(f, CV_32F);
  }
  const int r = radius;
  const int inner_w = f.cols - 2 * r, inner_h = f.rows - 2 * r;
  CV_Assert(r >= 1 && inner_w >= 3 * grid.columns && inner_h >= 3 * grid.rows);
  // Codes of the interior pixels.
  cv::Mat codes(inner_h, inner_w, CV_8UC1);
  for (int y = r; y < r + inner_h; ++y) {
    const float* up = f.ptr<float>(y - r);
    const float* mid = f.ptr<float>(y);
    const float* down = f.ptr<float>(y + r);
    auto* out = codes.ptr<std::uint8_t>(y - r);
    for (int x = r; x < r + inner_w; ++x) {
      const float c = mid[x];
      const unsigned code = (unsigned(up[x - r] >= c) << 7) | (unsigned(up[x] >= c) << 6) |
                            (unsigned(up[x + r] >= c) << 5) | (unsigned(mid[x + r] >= c) << 4) |
                            (unsigned(down[x + r] >= c) << 3) | (unsigned(down[x] >= c) << 2) |
                            (unsigned(down[x - r] >= c) << 1) | unsigned(mid[x - r] >= c);
      out[x - r] = uniform_map[code];
    }
  }
  std::vector<std::uint8_t> histograms(
      static_cast<std::size_t>(grid.columns * grid.rows * uniform_lbp_bins), 0);
  std::vector<int> counts(uniform_lbp_bins);
  for (int gy = 0; gy < grid.rows; ++gy) {
    const int y0 = gy * inner_h / grid.rows, y1 = (gy + 1) * inner_h / grid.rows;
    for (int gx = 0; gx < grid.columns; ++gx) {
      const int x0 = gx * inner_w / grid.columns, x1 = (gx + 1) * inner_w / grid.columns;
      std::fill(counts.begin(), counts.end(), 0);
      for (int y = y0; y < y1; ++y) {
        const auto* row = codes.ptr<std::uint8_t>(y);
        for (int x = x0; x < x1; ++x) ++counts[row[x]];
      }
      const double scale = 255.0 / ((y1 - y0) * (x1 - x0));
      auto* cell =
          &histograms[static_cast<std::size_t>((gy * grid.columns + gx) * uniform_lbp_bins)];
      for (int b = 0; b < uniform_lbp_bins; ++b) {
        cell[b] = static_cast<std::uint8_t>(std::lround(counts[b] * scale));
      }
    }
  }
  return histograms;
}

double chi_square_similarity(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  // (x - y)^2 / (x + y) for every pair of byte values, computed once (256 KiB);
  // a lookup per bin is several times faster than dividing.
  static const std::vector<float> table = [] {
    std::vector<float> t(256 * 256);
    for (int x = 0; x < 256; ++x) {
      for (int y = 0; y < 256; ++y) {
        t[static_cast<std::size_t>(x * 256 + y)] =
            x + y > 0 ? float((x - y) * (x - y)) / float(x + y) : 0.0f;
      }
    }
    return t;
  }();
  float chi[4] = {0, 0, 0, 0};
  std::uint32_t total = 0;
  std::size_t i = 0;
  for (; i + 4 <= a.size(); i += 4) {
    for (std::size_t k = 0; k < 4; ++k) {
      chi[k] += table[std::size_t{a[i + k]} * 256 + b[i + k]];
      total += std::uint32_t{a[i + k]} + b[i + k];
    }
  }
  for (; i < a.size(); ++i) {
    chi[0] += table[std::size_t{a[i]} * 256 + b[i]];
    total += std::uint32_t{a[i]} + b[i];
  }
  const double sum = double(chi[0]) + chi[1] + chi[2] + chi[3];
  return total > 0 ? std::clamp(1.0 - sum / total, 0.0, 1.0) : 1.0;
}

}  // namespace paysync::biometrics
