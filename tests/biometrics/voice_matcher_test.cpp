#include "biometrics/voice_matcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "biometrics/factories.hpp"
#include "tests/biometrics/fingerprint_voice_support.hpp"

namespace paysync::biometrics {
namespace {

namespace t = fp_voice_testing;

// A 16-bit mono WAV of the samples (in [-1, 1]).
std::vector<std::uint8_t> wav_of(const std::vector<float>& samples, std::uint32_t rate = 8000) {
  std::vector<std::uint8_t> w(44 + 2 * samples.size());
  auto set32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) w[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto set16 = [&](std::size_t at, std::uint16_t v) {
    w[at] = static_cast<std::uint8_t>(v & 0xFF);
    w[at + 1] = static_cast<std::uint8_t>(v >> 8);
  };
  std::memcpy(w.data(), "RIFF", 4);
  set32(4, static_cast<std::uint32_t>(w.size() - 8));
  std::memcpy(w.data() + 8, "WAVEfmt ", 8);
  set32(16, 16);
  set16(20, 1);
  set16(22, 1);
  set32(24, rate);
  set32(28, rate * 2);
  set16(32, 2);
  set16(34, 16);
  std::memcpy(w.data() + 36, "data", 4);
  set32(40, static_cast<std::uint32_t>(2 * samples.size()));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    float s = std::clamp(samples[i] * 32768.0f, -32768.0f, 32767.0f);
    set16(44 + 2 * i, static_cast<std::uint16_t>(static_cast<std::int16_t>(std::lround(s))));
  }
  return w;
}

std::vector<float> samples_of(const std::string& speaker, int digit, int index) {
  auto bytes =
      t::read_bytes(t::biometrics_dir() / "voice" / "fsdd" / speaker /
                    (std::to_string(digit) + "_" + speaker + "_" + std::to_string(index) + ".wav"));
  auto audio = decode_wav(bytes);
  return audio ? audio->samples : std::vector<float>{};
}

// One recording of the digits first..last (repetition `index`) back to back.
std::vector<std::uint8_t> spoken(const std::string& speaker, int first, int last, int index) {
  std::vector<float> all;
  for (int d = first; d <= last; ++d) {
    auto s = samples_of(speaker, d, index);
    all.insert(all.end(), s.begin(), s.end());
  }
  return wav_of(all);
}

const std::vector<std::string> speakers = {"george", "jackson", "lucas", "nicolas"};

TEST(VoiceMatcher, GenuineBeatsImpostorTextIndependent) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("voice/fsdd");
  const auto m = make_voice_matcher();
  std::vector<template_bytes> enrolled, probes;
  for (const auto& s : speakers) {
    auto e = m->extract(spoken(s, 0, 9, 30));  // "zero" to "nine"
    auto p = m->extract(spoken(s, 3, 5, 41));  // "three four five", another take
    ASSERT_TRUE(e && p) << s;
    enrolled.push_back(*e);
    probes.push_back(*p);
  }
  for (std::size_t i = 0; i < speakers.size(); ++i) {
    const double genuine = *m->compare(probes[i], enrolled[i]);
    for (std::size_t j = 0; j < speakers.size(); ++j) {
      if (j == i) continue;
      EXPECT_GT(genuine, *m->compare(probes[i], enrolled[j]))
          << speakers[i] << " vs " << speakers[j];
    }
  }
}

TEST(VoiceMatcher, TemplateRoundTrip) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("voice/fsdd");
  const auto m = make_voice_matcher();
  auto a = m->extract(spoken("jackson", 0, 9, 30));
  auto b = m->extract(spoken("jackson", 6, 8, 44));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 3u + voice::payload_bytes(voice::default_background()));
  EXPECT_EQ((*a)[0], static_cast<std::uint8_t>(modality::voice));
  EXPECT_EQ((*a)[1] | ((*a)[2] << 8), m->template_version());
  // Deterministic, symmetric, and a copy decodes to the same score.
  EXPECT_EQ(*m->extract(spoken("jackson", 0, 9, 30)), *a);
  const template_bytes copy(a->begin(), a->end());
  EXPECT_DOUBLE_EQ(*m->compare(copy, *b), *m->compare(*b, *a));
  const double self = *m->compare(*a, copy);
  EXPECT_GE(self, m->default_threshold());
  EXPECT_LE(self, 1.0);
  EXPECT_GE(*m->compare(*a, *b), 0.0);
}

TEST(VoiceMatcher, CompareRefusesForeignOrCorruptTemplates) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("voice/fsdd");
  const auto m = make_voice_matcher();
  auto a = m->extract(spoken("lucas", 0, 2, 3));
  ASSERT_TRUE(a);
  template_bytes other_modality = *a;
  other_modality[0] = static_cast<std::uint8_t>(modality::fingerprint);
  template_bytes other_version = *a;
  other_version[1] ^= 0x7F;
  template_bytes short_one(a->begin(), a->end() - 1);
  template_bytes nan = *a;
  const float bad = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + 3 + 40, &bad, sizeof bad);
  template_bytes negative_count = *a;
  const float minus = -1.0f;
  std::memcpy(negative_count.data() + 3, &minus, sizeof minus);
  for (const auto* t : {&other_modality, &other_version, &short_one, &nan, &negative_count}) {
    auto r = m->compare(*a, *t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), refusal::bad_template);
  }
  EXPECT_EQ(m->compare(template_bytes{}, *a).error(), refusal::bad_template);
}

TEST(VoiceMatcher, SilenceIsRefusedAsSilent) {
  const auto m = make_voice_matcher();
  EXPECT_EQ(m->extract(wav_of(std::vector<float>(8000, 0.0f))).error(), refusal::silent);
  // A hum far below speech level (-80 dBFS) is silence too.
  std::vector<float> hum(8000);
  for (std::size_t i = 0; i < hum.size(); ++i) hum[i] = 1e-4f * std::sin(0.3f * i);
  EXPECT_EQ(m->extract(wav_of(hum)).error(), refusal::silent);
}

TEST(VoiceMatcher, ShortRecordingIsRefusedAsTooShort) {
  const auto m = make_voice_matcher();
  std::vector<float> tone(800);  // 0.1 s at 8 kHz
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * std::sin(0.2f * i);
  EXPECT_EQ(m->extract(wav_of(tone)).error(), refusal::too_short);
  EXPECT_EQ(m->extract(wav_of({})).error(), refusal::too_short);
}

TEST(VoiceMatcher, BrokenFilesAreRefused) {
  const auto m = make_voice_matcher();
  std::vector<float> tone(4000);
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * std::sin(0.2f * i);
  auto lying = wav_of(tone);
  lying[40] = 0xFF, lying[41] = 0xFF, lying[42] = 0xFF;  // "data" claims ~16 MB
  EXPECT_EQ(m->extract(lying).error(), refusal::undecodable);
  auto truncated = wav_of(tone);
  truncated.resize(30);
  EXPECT_EQ(m->extract(truncated).error(), refusal::undecodable);
  EXPECT_EQ(m->extract(t::random_bytes(5000, 11)).error(), refusal::unsupported_format);
  EXPECT_EQ(m->extract(t::random_bytes(5 << 20, 12)).error(), refusal::too_large);
  // 25 s is longer than the matcher takes.
  EXPECT_EQ(m->extract(wav_of(std::vector<float>(25 * 8000, 0.1f))).error(), refusal::too_large);
}

}  // namespace
}  // namespace paysync::biometrics
