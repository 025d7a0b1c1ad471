// libFuzzer target: protocols::decode_billing, a frame from the billing side.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/message_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  paysync::fuzz::check_decoded(paysync::fuzz::text_of(data, size), [](std::string_view frame) {
    return paysync::protocols::decode_billing(frame);
  });
  return 0;
}
