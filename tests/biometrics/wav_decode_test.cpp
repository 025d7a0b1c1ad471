#include "biometrics/wav_decode.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace paysync::biometrics {
namespace {

using bytes = std::vector<std::uint8_t>;

void put16(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v & 0xFF));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_tag(bytes& b, const char* tag) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(tag[i]));
}

bytes chunk(const char* tag, const bytes& body) {
  bytes c;
  put_tag(c, tag);
  put32(c, static_cast<std::uint32_t>(body.size()));
  c.insert(c.end(), body.begin(), body.end());
  if (body.size() % 2 == 1) c.push_back(0);
  return c;
}

bytes fmt_body(std::uint16_t tag, std::uint16_t channels, std::uint32_t rate, std::uint16_t bits) {
  bytes b;
  put16(b, tag);
  put16(b, channels);
  put32(b, rate);
  put32(b, rate * channels * (bits / 8u));
  put16(b, static_cast<std::uint16_t>(channels * (bits / 8u)));
  put16(b, bits);
  return b;
}

bytes riff(const std::vector<bytes>& chunks) {
  bytes body;
  put_tag(body, "WAVE");
  for (const auto& c : chunks) body.insert(body.end(), c.begin(), c.end());
  bytes out;
  put_tag(out, "RIFF");
  put32(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bytes pcm16(const std::vector<std::int16_t>& samples) {
  bytes b;
  for (auto s : samples) put16(b, static_cast<std::uint16_t>(s));
  return b;
}

bytes simple_wav() {
  return riff(
      {chunk("fmt ", fmt_body(1, 1, 8000, 16)), chunk("data", pcm16({0, 16384, -32768, 32767}))});
}

void set32(bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

TEST(WavDecode, DecodesPcm16Mono) {
  auto audio = decode_wav(simple_wav());
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->sample_rate_hz, 8000u);
  ASSERT_EQ(audio->samples.size(), 4u);
  EXPECT_FLOAT_EQ(audio->samples[0], 0.0f);
  EXPECT_FLOAT_EQ(audio->samples[1], 0.5f);
  EXPECT_FLOAT_EQ(audio->samples[2], -1.0f);
  EXPECT_NEAR(audio->samples[3], 1.0f, 1e-4);
}

TEST(WavDecode, DecodesPcm8Unsigned) {
  auto audio =
      decode_wav(riff({chunk("fmt ", fmt_body(1, 1, 11025, 8)), chunk("data", {128, 0, 255})}));
  ASSERT_TRUE(audio);
  ASSERT_EQ(audio->samples.size(), 3u);
  EXPECT_FLOAT_EQ(audio->samples[0], 0.0f);
  EXPECT_FLOAT_EQ(audio->samples[1], -1.0f);
  EXPECT_NEAR(audio->samples[2], 1.0f, 0.01);
}

TEST(WavDecode, KeepsTheFirstChannelOnly) {
  auto audio = decode_wav(riff({chunk("fmt ", fmt_body(1, 2, 16000, 16)),
                                chunk("data", pcm16({100, -5, 200, -6, 300, -7}))}));
  ASSERT_TRUE(audio);
  ASSERT_EQ(audio->samples.size(), 3u);
  EXPECT_FLOAT_EQ(audio->samples[2], 300.0f / 32768.0f);
}

TEST(WavDecode, SkipsOtherChunksAndTheirPadding) {
  auto audio = decode_wav(riff({chunk("LIST", {1, 2, 3}), chunk("fmt ", fmt_body(1, 1, 8000, 16)),
                                chunk("fact", {0, 0, 0, 0}), chunk("data", pcm16({7, 8}))}));
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->samples.size(), 2u);
}

TEST(WavDecode, AcceptsExtensiblePcmOnly) {
  auto extensible = [](std::uint16_t sub_format) {
    bytes fmt = fmt_body(0xFFFE, 1, 8000, 16);
    put16(fmt, 22);  // cbSize
    put16(fmt, 16);  // valid bits
    put32(fmt, 4);   // channel mask
    put16(fmt, sub_format);
    const std::uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                   0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    fmt.insert(fmt.end(), tail, tail + 14);
    return riff({chunk("fmt ", fmt), chunk("data", pcm16({1, 2, 3}))});
  };
  EXPECT_TRUE(decode_wav(extensible(1)));
  EXPECT_EQ(decode_wav(extensible(3)).error(), refusal::unsupported_format);  // float
}

TEST(WavDecode, OtherFormatsAreUnsupported) {
  EXPECT_EQ(decode_wav({}).error(), refusal::unsupported_format);
  bytes not_riff = simple_wav();
  std::memcpy(not_riff.data(), "RIFX", 4);
  EXPECT_EQ(decode_wav(not_riff).error(), refusal::unsupported_format);
  bytes not_wave = simple_wav();
  std::memcpy(not_wave.data() + 8, "AVI ", 4);
  EXPECT_EQ(decode_wav(not_wave).error(), refusal::unsupported_format);
  auto with_fmt = [](const bytes& fmt) {
    return riff({chunk("fmt ", fmt), chunk("data", {0, 0})});
  };
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(3, 1, 8000, 32))).error(), refusal::unsupported_format);
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(1, 1, 8000, 24))).error(), refusal::unsupported_format);
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(1, 1, 4000, 16))).error(), refusal::unsupported_format);
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(1, 1, 96000, 16))).error(), refusal::unsupported_format);
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(1, 0, 8000, 16))).error(), refusal::unsupported_format);
  EXPECT_EQ(decode_wav(with_fmt(fmt_body(1, 9, 8000, 16))).error(), refusal::unsupported_format);
}

TEST(WavDecode, EveryTruncationIsUndecodable) {
  const bytes wav = simple_wav();
  for (std::size_t n = 1; n < wav.size(); ++n) {
    auto r = decode_wav(std::span(wav).first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), refusal::undecodable) << n;
  }
}

TEST(WavDecode, LyingSizesAreUndecodable) {
  bytes riff_too_big = simple_wav();
  set32(riff_too_big, 4, static_cast<std::uint32_t>(riff_too_big.size()));
  EXPECT_EQ(decode_wav(riff_too_big).error(), refusal::undecodable);
  bytes riff_huge = simple_wav();
  set32(riff_huge, 4, 0xFFFFFFFFu);
  EXPECT_EQ(decode_wav(riff_huge).error(), refusal::undecodable);
  bytes fmt_huge = simple_wav();
  set32(fmt_huge, 16, 0xFFFFFFF0u);  // the "fmt " chunk's size
  EXPECT_EQ(decode_wav(fmt_huge).error(), refusal::undecodable);
  bytes data_lies = simple_wav();
  set32(data_lies, 40, 1000);  // the "data" chunk's size
  EXPECT_EQ(decode_wav(data_lies).error(), refusal::undecodable);
  bytes riff_small = simple_wav();
  set32(riff_small, 4, 2);
  EXPECT_EQ(decode_wav(riff_small).error(), refusal::undecodable);
}

TEST(WavDecode, StructureErrorsAreUndecodable) {
  EXPECT_EQ(decode_wav(riff({chunk("data", pcm16({1})), chunk("fmt ", fmt_body(1, 1, 8000, 16))}))
                .error(),
            refusal::undecodable);
  EXPECT_EQ(decode_wav(riff({chunk("fmt ", fmt_body(1, 1, 8000, 16))})).error(),
            refusal::undecodable);
  EXPECT_EQ(decode_wav(riff({chunk("fmt ", fmt_body(1, 1, 8000, 16)),
                             chunk("fmt ", fmt_body(1, 1, 8000, 16)), chunk("data", {})}))
                .error(),
            refusal::undecodable);
  bytes bad_align = fmt_body(1, 1, 8000, 16);
  bad_align[12] = 4;
  EXPECT_EQ(decode_wav(riff({chunk("fmt ", bad_align), chunk("data", {})})).error(),
            refusal::undecodable);
  EXPECT_EQ(decode_wav(riff({chunk("fmt ", bytes(10, 0)), chunk("data", {})})).error(),
            refusal::undecodable);
}

TEST(WavDecode, LimitsGiveTooLarge) {
  wav_limits small;
  small.max_bytes = 40;
  EXPECT_EQ(decode_wav(simple_wav(), small).error(), refusal::too_large);
  wav_limits few;
  few.max_samples = 3;
  EXPECT_EQ(decode_wav(simple_wav(), few).error(), refusal::too_large);
}

TEST(WavDecode, MutatedBytesNeverCrash) {
  std::mt19937 rng(5);
  const bytes base = riff({chunk("LIST", {1, 2, 3}), chunk("fmt ", fmt_body(1, 2, 8000, 16)),
                           chunk("data", pcm16({1, 2, 3, 4, 5, 6}))});
  for (int trial = 0; trial < 5000; ++trial) {
    bytes b = base;
    for (int k = 0; k < 1 + trial % 4; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (trial % 3 == 0) b.resize(rng() % b.size());
    auto r = decode_wav(b);
    if (r) {
      EXPECT_LE(r->samples.size(), b.size());
    }
  }
}

}  // namespace
}  // namespace paysync::biometrics
