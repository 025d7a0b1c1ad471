#pragma once

// A strict RIFF/WAVE reader for the voice matcher. Written here rather than
// taken from a library: Debian's audio libraries (libsndfile, libav*) decode
// dozens of containers and codecs from untrusted bytes, while the matcher
// needs one narrow, bounded format and nothing else.
//
// Accepted: a RIFF/WAVE file whose "fmt " chunk describes uncompressed PCM
// (format tag 1, or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format), 8-bit
// unsigned or 16-bit signed little-endian samples, 1 to max_channels
// channels (only the first channel is kept), a sample rate within
// [min_sample_rate_hz, max_sample_rate_hz], followed by a "data" chunk.
// Other chunks (LIST, fact, ...) are skipped. Never trusts a size field.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "biometrics/matcher.hpp"

namespace paysync::biometrics {

struct wav_limits {
  std::size_t max_bytes = 4u << 20;        // whole file
  std::uint32_t max_samples = 20 * 48000;  // per channel, after decoding
  std::uint32_t min_sample_rate_hz = 8000;
  std::uint32_t max_sample_rate_hz = 48000;
  std::uint16_t max_channels = 8;
  std::uint32_t max_chunks = 64;  // chunks skipped before "data"
};

struct pcm_audio {
  std::vector<float> samples;  // first channel, scaled to [-1, 1)
  std::uint32_t sample_rate_hz = 0;
};

// Refusals: unsupported_format when the bytes are not RIFF/WAVE or the
// encoding is not PCM 8/16-bit (or the rate or channel count is out of
// bounds); undecodable when a RIFF/WAVE file is truncated, has a size field
// that overruns the file, lacks "fmt " before "data", or describes its
// format inconsistently; too_large when the file or its sample count exceeds
// `limits`. A "data" chunk without a whole frame decodes to no samples (the
// matcher then refuses it as too short).
result<pcm_audio> decode_wav(std::span<const std::uint8_t> bytes, const wav_limits& limits = {});

}  // namespace paysync::biometrics
