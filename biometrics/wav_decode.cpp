#include "biometrics/wav_decode.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace paysync::biometrics {
namespace {

constexpr std::size_t riff_header_bytes = 12;
constexpr std::size_t chunk_header_bytes = 8;
constexpr std::uint16_t format_pcm = 1;
constexpr std::uint16_t format_extensible = 0xFFFE;
// KSDATAFORMAT_SUBTYPE_PCM after its first two bytes (the format tag).
constexpr std::uint8_t pcm_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

std::uint16_t le16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
bool tag_is(const std::uint8_t* p, const char (&tag)[5]) noexcept {
  return std::memcmp(p, tag, 4) == 0;
}

struct wav_format {
  std::uint16_t channels = 0;
  std::uint32_t sample_rate_hz = 0;
  std::uint16_t bits = 0;
  std::uint16_t block_align = 0;
};

// Parses a "fmt " chunk body.
result<wav_format> parse_format(std::span<const std::uint8_t> body, const wav_limits& limits) {
  if (body.size() < 16) return refusal::undecodable;
  const std::uint8_t* p = body.data();
  std::uint16_t tag = le16(p);
  wav_format f;
  f.channels = le16(p + 2);
  f.sample_rate_hz = le32(p + 4);
  std::uint32_t byte_rate = le32(p + 8);
  f.block_align = le16(p + 12);
  f.bits = le16(p + 14);
  if (tag == format_extensible) {
    // cbSize (2), valid bits (2), channel mask (4), sub-format GUID (16).
    if (body.size() < 40 || le16(p + 16) < 22) return refusal::undecodable;
    if (le16(p + 24) != format_pcm || std::memcmp(p + 26, pcm_guid_tail, 14) != 0) {
      return refusal::unsupported_format;
    }
  } else if (tag != format_pcm) {
    return refusal::unsupported_format;
  }
  if (f.bits != 8 && f.bits != 16) return refusal::unsupported_format;
  if (f.channels == 0 || f.channels > limits.max_channels) return refusal::unsupported_format;
  if (f.sample_rate_hz < limits.min_sample_rate_hz ||
      f.sample_rate_hz > limits.max_sample_rate_hz) {
    return refusal::unsupported_format;
  }
  // Both derived fields must agree with the others (no overflow: channels
  // <= 65535, bytes per sample <= 2, rate <= max_sample_rate_hz).
  std::uint32_t expected_align = static_cast<std::uint32_t>(f.channels) * (f.bits / 8u);
  if (f.block_align != expected_align) return refusal::undecodable;
  if (static_cast<std::uint64_t>(byte_rate) !=
      static_cast<std::uint64_t>(f.sample_rate_hz) * expected_align) {
    return refusal::undecodable;
  }
  return f;
}

pcm_audio decode_samples(std::span<const std::uint8_t> data, const wav_format& f) {
  pcm_audio audio;
  audio.sample_rate_hz = f.sample_rate_hz;
  std::size_t frames = data.size() / f.block_align;
  audio.samples.resize(frames);
  for (std::size_t i = 0; i < frames; ++i) {
    const std::uint8_t* p = data.data() + i * f.block_align;
    audio.samples[i] = f.bits == 8
                           ? (static_cast<float>(p[0]) - 128.0f) / 128.0f
                           : static_cast<float>(static_cast<std::int16_t>(le16(p))) / 32768.0f;
  }
  return audio;
}

}  // namespace

result<pcm_audio> decode_wav(std::span<const std::uint8_t> bytes, const wav_limits& limits) {
  if (bytes.size() > limits.max_bytes) return refusal::too_large;
  // Magic numbers first: anything that is not RIFF....WAVE is another format.
  static constexpr char riff[] = "RIFF";
  static constexpr char wave[] = "WAVE";
  if (bytes.empty()) return refusal::unsupported_format;
  std::size_t riff_prefix = std::min<std::size_t>(bytes.size(), 4);
  if (std::memcmp(bytes.data(), riff, riff_prefix) != 0) return refusal::unsupported_format;
  if (bytes.size() >= riff_header_bytes && !tag_is(bytes.data() + 8, wave)) {
    return refusal::unsupported_format;
  }
  if (bytes.size() < riff_header_bytes) return refusal::undecodable;

  // The RIFF size may not overrun the bytes we hold; trailing bytes past it
  // are ignored.
  std::uint64_t riff_end = static_cast<std::uint64_t>(le32(bytes.data() + 4)) + 8;
  if (riff_end > bytes.size() || riff_end < riff_header_bytes) return refusal::undecodable;
  std::span<const std::uint8_t> riff_body = bytes.first(static_cast<std::size_t>(riff_end));

  std::optional<wav_format> format;
  std::size_t offset = riff_header_bytes;
  for (std::uint32_t chunk = 0; chunk < limits.max_chunks; ++chunk) {
    if (riff_body.size() - offset < chunk_header_bytes) return refusal::undecodable;
    const std::uint8_t* header = riff_body.data() + offset;
    std::uint64_t size = le32(header + 4);
    offset += chunk_header_bytes;
    if (size > riff_body.size() - offset) return refusal::undecodable;
    std::span<const std::uint8_t> body = riff_body.subspan(offset, static_cast<std::size_t>(size));
    if (tag_is(header, "fmt ")) {
      if (format) return refusal::undecodable;
      auto parsed = parse_format(body, limits);
      if (!parsed) return parsed.error();
      format = *parsed;
    } else if (tag_is(header, "data")) {
      if (!format) return refusal::undecodable;
      if (size / format->block_align > limits.max_samples) return refusal::too_large;
      return decode_samples(body, *format);
    }
    // Chunks are padded to an even size; a missing pad byte at the very end
    // only matters if another chunk follows, and the header check catches it.
    offset += static_cast<std::size_t>(size);
    if ((size & 1) != 0 && offset < riff_body.size()) ++offset;
  }
  return refusal::undecodable;
}

}  // namespace paysync::biometrics
