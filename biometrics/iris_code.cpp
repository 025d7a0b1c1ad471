#include "biometrics/iris_code.hpp"

#include <bit>
#include <cmath>
#include <opencv2/core.hpp>

namespace paysync::biometrics {

iris_code encode_iris(const rubber_sheet& sheet, double wavelength_px, double bandwidth) {
  CV_Assert(sheet.texture.rows == iris_code_rows && sheet.texture.cols == iris_code_columns);
  constexpr int n = iris_code_columns;
  // Row-wise spectrum (rows are circular: the angle wraps).
  cv::Mat spectrum;
  cv::dft(sheet.texture, spectrum, cv::DFT_ROWS | cv::DFT_COMPLEX_OUTPUT);
  // One-sided log-Gabor: positive frequencies only, so the inverse is the
  // analytic (complex) response; zero at DC removes each row's mean.
  const double f0 = 1.0 / wavelength_px;
  const double log_sigma = std::log(bandwidth);
  std::array<float, n> filter{};
  for (int k = 1; k < n / 2; ++k) {
    const double f = double(k) / n;
    const double l = std::log(f / f0);
    filter[k] = float(2.0 * std::exp(-(l * l) / (2 * log_sigma * log_sigma)));
  }
  for (int i = 0; i < spectrum.rows; ++i) {
    auto* row = spectrum.ptr<cv::Vec2f>(i);
    for (int k = 0; k < n; ++k) row[k] *= filter[k];
  }
  cv::Mat response;
  cv::idft(spectrum, response, cv::DFT_ROWS | cv::DFT_COMPLEX_OUTPUT | cv::DFT_SCALE);
  iris_code code;
  for (int i = 0; i < iris_code_rows; ++i) {
    const auto* row = response.ptr<cv::Vec2f>(i);
    const auto* valid = sheet.valid.ptr<std::uint8_t>(i);
    for (int j = 0; j < n; ++j) {
      const std::uint32_t re = row[j][0] > 0, im = row[j][1] > 0;
      code.bits[j] |= (re << (2 * i)) | (im << (2 * i + 1));
      if (valid[j]) code.mask[j] |= 3u << (2 * i);
    }
  }
  return code;
}

// Built twice on x86-64: with the POPCNT instruction where the CPU has it
// (chosen at load time), else with the portable fallback.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
iris_distance
hamming_distance(const iris_code& a, const iris_code& b, int max_shift) {
  constexpr int n = iris_code_columns;
  iris_distance best;
  for (int s = -max_shift; s <= max_shift; ++s) {
    int differ = 0, usable = 0;
    // Column j of a meets column j + s of b, wrapping: two straight runs.
    const int split = s >= 0 ? n - s : -s;
    auto run = [&](int from, int to, int offset) {
      for (int j = from; j < to; ++j) {
        const std::uint32_t m = a.mask[j] & b.mask[j + offset];
        differ += std::popcount((a.bits[j] ^ b.bits[j + offset]) & m);
        usable += std::popcount(m);
      }
    };
    if (s >= 0) {
      run(0, split, s);
      run(split, n, s - n);
    } else {
      run(0, split, s + n);
      run(split, n, s);
    }
    if (usable == 0) continue;
    const double hd = double(differ) / usable;
    if (hd < best.hamming) best = {hd, usable, s};
  }
  return best;
}

}  // namespace paysync::biometrics
