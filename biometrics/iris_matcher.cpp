#include "biometrics/iris_matcher.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <opencv2/core.hpp>

#include "biometrics/factories.hpp"
#include "biometrics/template_header.hpp"

namespace paysync::biometrics {
namespace {

constexpr std::uint16_t iris_template_version = 2;
constexpr std::size_t iris_payload_bytes = 2 * iris_code_columns * 4;

// The threshold at FMR 0.1% on the CASIA-IrisV1 tuning eyes (001, 003, ...,
// 081; 19680 impostor comparisons): `bench_biometrics --modality iris`,
// tuning row, column thr@0.1%, with this template version and options.
constexpr double calibrated_threshold = 0.5704;

void put_words(const std::array<std::uint32_t, iris_code_columns>& words, std::uint8_t* out) {
  for (const std::uint32_t w : words) {
    for (int b = 0; b < 4; ++b) *out++ = static_cast<std::uint8_t>(w >> (8 * b));
  }
}

void get_words(std::span<const std::uint8_t> in,
               std::array<std::uint32_t, iris_code_columns>& words) {
  for (std::size_t j = 0; j < words.size(); ++j) {
    words[j] = std::uint32_t{in[4 * j]} | (std::uint32_t{in[4 * j + 1]} << 8) |
               (std::uint32_t{in[4 * j + 2]} << 16) | (std::uint32_t{in[4 * j + 3]} << 24);
  }
}

class iris_matcher final : public matcher {
 public:
  explicit iris_matcher(const iris_options& options) : options_(options) {}

  modality kind() const noexcept override { return modality::iris; }
  std::uint16_t template_version() const noexcept override { return iris_template_version; }

  result<template_bytes> extract(std::span<const std::uint8_t> sample) const override {
    auto grey = decode_grey(sample, options_.decode);
    if (!grey) return grey.error();
    const auto boundaries = segment_iris(*grey);
    if (!boundaries) return refusal::iris_not_segmented;
    const auto sheet =
        normalise_iris(*grey, *boundaries, iris_code_rows, iris_code_columns, options_.oversample);
    const double usable = cv::countNonZero(sheet.valid) / double(sheet.valid.total());
    if (usable < options_.min_usable_fraction) return refusal::low_quality;
    const auto code = encode_iris(sheet, options_.wavelength_px, options_.bandwidth);
    auto t = make_template(modality::iris, iris_template_version, iris_payload_bytes);
    put_words(code.bits, t.data() + template_header_bytes);
    put_words(code.mask, t.data() + template_header_bytes + iris_payload_bytes / 2);
    return t;
  }

  result<double> compare(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) const override {
    const auto pa = template_payload(a, modality::iris, iris_template_version, iris_payload_bytes);
    const auto pb = template_payload(b, modality::iris, iris_template_version, iris_payload_bytes);
    if (!pa || !pb) return refusal::bad_template;
    iris_code ca, cb;
    get_words(pa->first(iris_payload_bytes / 2), ca.bits);
    get_words(pa->subspan(iris_payload_bytes / 2), ca.mask);
    get_words(pb->first(iris_payload_bytes / 2), cb.bits);
    get_words(pb->subspan(iris_payload_bytes / 2), cb.mask);
    const auto d = hamming_distance(ca, cb, options_.max_shift);
    if (d.usable_bits == 0) return 0.0;
    const double scaled =
        0.5 - (0.5 - d.hamming) * std::sqrt(double(d.usable_bits) / options_.typical_bits);
    return std::clamp(1.0 - scaled, 0.0, 1.0);
  }

  double default_threshold() const noexcept override {
    return options_.threshold > 0 ? options_.threshold : calibrated_threshold;
  }

 private:
  iris_options options_;
};

}  // namespace

result<iris_boundaries> segment_sample(std::span<const std::uint8_t> sample,
                                       const iris_options& options) {
  auto grey = decode_grey(sample, options.decode);
  if (!grey) return grey.error();
  const auto boundaries = segment_iris(*grey);
  if (!boundaries) return refusal::iris_not_segmented;
  return *boundaries;
}

std::unique_ptr<matcher> make_iris_matcher(const iris_options& options) {
  return std::make_unique<iris_matcher>(options);
}

std::unique_ptr<matcher> make_iris_matcher() { return make_iris_matcher(iris_options{}); }

}  // namespace paysync::biometrics
