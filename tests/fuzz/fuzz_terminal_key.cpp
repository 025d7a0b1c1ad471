// libFuzzer target: terminal authentication's decoders (protocols/terminal_auth.hpp):
// base64url as signatures arrive in `hello`, verify_hello, and the terminal
// key file.

#include <sodium.h>

#include <cstddef>
#include <cstdint>

#include "protocols/terminal_auth.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace p = paysync::protocols;
using paysync::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = sodium_init() >= 0;
  require(ready, "sodium_init");
  const auto text = paysync::fuzz::text_of(data, size);

  if (const auto bytes = p::from_base64url(text)) {
    require(bytes->size() <= text.size(), "decoded base64url is shorter than its text");
    require(p::to_base64url(*bytes) == text, "accepted base64url is canonical");
  }
  require(p::from_base64url(p::to_base64url(text)) == std::string(text),
          "base64url round-trips any bytes");

  // A hello as a peer sends it: a 32-byte key from the registry, any id, nonce
  // and signature text.
  static const std::string public_key(p::terminal_public_key_bytes, '\x01');
  const auto third = size / 3;
  (void)p::verify_hello(public_key, text.substr(0, third), text.substr(third, third),
                        text.substr(2 * third));
  (void)p::verify_hello(text.substr(0, 32), "t-1", "nonce", text);

  if (auto keys = p::read_terminal_key_file(paysync::fuzz::scratch_file(text))) {
    // Only a whole 64-byte secret key is accepted; its public half is derived.
    require(text.starts_with("paysync-terminal-key-v1 "), "a key file starts with its tag");
  }
  return 0;
}
