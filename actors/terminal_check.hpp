#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/wire_error.hpp"
#include "storage/directory_store.hpp"

namespace paysync::actors {

// A nonce the switch sent in answer to an unsigned hello; single-use.
struct pending_challenge {
  std::string id;     // the terminal or order centre it was sent for
  std::string nonce;  // base64url
  std::int64_t expires_unix_ms = 0;
};

inline constexpr std::int64_t hello_challenge_ttl_ms = 30'000;

struct hello_verdict {
  enum class kind { accept, challenge, refuse } what = kind::refuse;
  protocols::wire_error error = protocols::wire_error::bad_signature;
  std::string message;
  std::string nonce;  // for challenge
};

// The Ed25519 step of `hello` (docs/protocol.md, "Who is talking"): a
// terminal with a registered key must sign the nonce this connection was
// sent; an unsigned hello gets a fresh nonce (stored in `pending`); a
// terminal without a key is refused when keys are required. Consumes
// `pending` whenever a signature is checked, so a nonce is never used twice.
hello_verdict check_hello(const storage::terminal_record& terminal, std::string_view nonce,
                          std::string_view signature, std::optional<pending_challenge>& pending,
                          std::int64_t now_unix_ms, bool require_keys);

}  // namespace paysync::actors
