#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

// Signed receipts (docs/protocol.md, "Signed receipts"): the switch signs
// every `receipt` and `settled` with Ed25519 over a canonical text of the
// facts that matter to an auditor, so a merchant or payer can later prove
// what the switch settled without trusting anyone's copy of the ledger.
namespace paysync::protocols {

struct receipt_facts {
  std::string txn;
  std::string merchant_id;
  std::string payer_ref;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string settled_at;  // exactly as on the wire: RFC 3339 UTC with milliseconds
  std::uint64_t sequence = 0;
};

// "paysync/receipt/v1|<txn>|<merchant>|<payer_ref>|<amount>|<currency>|<settled_at>|<sequence>"
// None of the fields can hold '|' (ids, codes and timestamps never do), so the
// text is unambiguous.
std::string canonical_receipt(const receipt_facts& facts);

class receipt_signer {
 public:
  // `seed` makes the Ed25519 pair; `payer_ref_key` keys the payer references.
  receipt_signer(const std::array<std::uint8_t, 32>& seed,
                 const std::array<std::uint8_t, 32>& payer_ref_key);
  ~receipt_signer();
  receipt_signer(const receipt_signer&) = delete;
  receipt_signer& operator=(const receipt_signer&) = delete;

  // Base64url Ed25519 signature of canonical_receipt(facts).
  std::string sign(const receipt_facts& facts) const;
  // "pr" + 22 base64url characters: the same payer account always gets the
  // same reference, and nobody without the switch's key learns who it is.
  std::string payer_ref(std::string_view account_id) const;
  const std::string& public_key() const { return public_key_b64_; }  // base64url, 32 bytes
  const std::string& key_id() const { return key_id_; }

 private:
  std::array<std::uint8_t, 64> secret_key_{};
  std::array<std::uint8_t, 32> payer_ref_key_{};
  std::string public_key_b64_;
  std::string key_id_;
};

// The key id of a public key (base64url): 8 bytes of its BLAKE2b hash, base64url.
std::string receipt_key_id(std::string_view public_key_raw);

enum class receipt_check {
  valid,
  malformed,      // not a receipt or settled message with every signed field
  unknown_key,    // key_id names another key than the one given
  bad_signature,  // the facts were changed, or it was signed by someone else
};
std::string_view to_string(receipt_check c) noexcept;

// Checks a `receipt` or `settled` message (as received) offline against the
// switch's public key (base64url).
receipt_check verify_receipt(const boost::json::object& message,
                             std::string_view public_key_b64url);

}  // namespace paysync::protocols
