// libFuzzer target: biometrics::decode_wav, the recording a handset sends to
// answer a voice challenge.

#include <cstddef>
#include <cstdint>

#include "biometrics/wav_decode.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace b = paysync::biometrics;
using paysync::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  b::wav_limits limits;
  limits.max_samples = 48000;  // a second at most: keeps each run short
  const auto audio = b::decode_wav(paysync::fuzz::bytes_of(data, size), limits);
  if (audio) {
    require(audio->samples.size() <= limits.max_samples, "samples within max_samples");
    require(audio->sample_rate_hz >= limits.min_sample_rate_hz &&
                audio->sample_rate_hz <= limits.max_sample_rate_hz,
            "sample rate within bounds");
    for (const float s : audio->samples) require(s >= -1.0f && s < 1.0f, "samples in [-1, 1)");
  }
  return 0;
}
