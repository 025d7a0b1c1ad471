// libFuzzer target: protocols::decode_centre, a frame from the centre side.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/message_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  paysync::fuzz::check_decoded(paysync::fuzz::text_of(data, size), [](std::string_view frame) {
    return paysync::protocols::decode_centre(frame);
  });
  return 0;
}
