#include "biometrics/voice_matcher.hpp"

#include <algorithm>
#include <cmath>

#include "biometrics/factories.hpp"
#include "biometrics/template_header.hpp"

namespace paysync::biometrics {
namespace {

constexpr std::uint16_t voice_template_version = 1;

// The threshold at FMR 0.1% on the tuning part (repetitions 0-24) of the
// voice protocol: `bench_biometrics --modality voice`, row "FSDD tuning",
// column thr@0.1% (3024 impostor trials, enough for the rule of three), with
// template v1, the background model of voice_ubm_data.cpp and the default
// voice_options. It holds for probes of about three digits; single digits
// score lower for everyone (see the bench's 1-digit row).
constexpr double calibrated_threshold = 0.8320;

class voice_matcher final : public matcher {
 public:
  explicit voice_matcher(const voice_options& options)
      : options_(options), ubm_(voice::default_background()) {}

  modality kind() const noexcept override { return modality::voice; }
  std::uint16_t template_version() const noexcept override { return voice_template_version; }

  result<template_bytes> extract(std::span<const std::uint8_t> sample) const override {
    auto audio = decode_wav(sample, options_.wav);
    if (!audio) return audio.error();
    auto frames = voice::extract_features(*audio, options_.features);
    if (!frames) return frames.error();
    const voice::statistics stats = voice::accumulate(*frames, ubm_);
    auto t = make_template(modality::voice, voice_template_version, voice::payload_bytes(ubm_));
    voice::write_payload(stats, std::span(t).subspan(template_header_bytes));
    return t;
  }

  result<double> compare(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) const override {
    const std::size_t bytes = voice::payload_bytes(ubm_);
    const auto pa = template_payload(a, modality::voice, voice_template_version, bytes);
    const auto pb = template_payload(b, modality::voice, voice_template_version, bytes);
    if (!pa || !pb) return refusal::bad_template;
    auto sa = voice::read_payload(*pa, ubm_);
    auto sb = voice::read_payload(*pb, ubm_);
    if (!sa || !sb) return refusal::bad_template;
    double x = voice::linear_score(*sa, *sb, ubm_, options_.relevance);
    return 1.0 / (1.0 + std::exp(-(x - options_.score_centre) / options_.score_scale));
  }

  double default_threshold() const noexcept override {
    return options_.threshold > 0 ? options_.threshold : calibrated_threshold;
  }

 private:
  voice_options options_;
  const voice::background_model& ubm_;
};

}  // namespace

std::unique_ptr<matcher> make_voice_matcher(const voice_options& options) {
  return std::make_unique<voice_matcher>(options);
}

std::unique_ptr<matcher> make_voice_matcher() { return make_voice_matcher(voice_options{}); }

}  // namespace paysync::biometrics
