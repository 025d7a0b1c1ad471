#include "actors/terminal_check.hpp"

#include <sodium.h>

#include "protocols/terminal_auth.hpp"

namespace paysync::actors {

using protocols::wire_error;

hello_verdict check_hello(const storage::terminal_record& terminal, std::string_view nonce,
                          std::string_view signature, std::optional<pending_challenge>& pending,
                          std::int64_t now_unix_ms, bool require_keys) {
  hello_verdict v;
  if (terminal.public_key.empty()) {
    if (!require_keys) {
      v.what = hello_verdict::kind::accept;
      return v;
    }
    v.error = wire_error::terminal_key_required;
    v.message = "no key is registered for \"" + terminal.id +
                "\"; the operator registers one with `paysync terminal-key`";
    return v;
  }
  if (signature.empty()) {
    pending = pending_challenge{terminal.id, protocols::make_hello_nonce(),
                                now_unix_ms + hello_challenge_ttl_ms};
    v.what = hello_verdict::kind::challenge;
    v.nonce = pending->nonce;
    return v;
  }
  const auto expected = std::move(pending);
  pending.reset();
  if (!expected || expected->id != terminal.id ||
      sodium_memcmp(expected->nonce.data(), nonce.data(),
                    std::min(expected->nonce.size(), nonce.size())) != 0 ||
      expected->nonce.size() != nonce.size()) {
    v.message =
        "the signed hello does not answer this connection's challenge; send hello "
        "without a signature for a new one";
    return v;
  }
  if (expected->expires_unix_ms < now_unix_ms) {
    v.message = "the challenge expired; send hello again";
    return v;
  }
  if (!protocols::verify_hello(terminal.public_key, terminal.id, nonce, signature)) {
    v.message = "the signature does not verify with the key registered for \"" + terminal.id + "\"";
    return v;
  }
  v.what = hello_verdict::kind::accept;
  return v;
}

}  // namespace paysync::actors
