#include "protocols/receipt_signature.hpp"

#include <sodium.h>

#include <climits>
#include <optional>

#include "protocols/terminal_auth.hpp"

namespace paysync::protocols {
namespace {

std::string_view bytes_of(const auto& array) {
  return {reinterpret_cast<const char*>(array.data()), array.size()};
}

}  // namespace

std::string canonical_receipt(const receipt_facts& f) {
  std::string out = "paysync/receipt/v1";
  for (std::string_view part :
       {std::string_view(f.txn), std::string_view(f.merchant_id), std::string_view(f.payer_ref)}) {
    out.push_back('|');
    out.append(part);
  }
  out.push_back('|');
  out.append(std::to_string(f.amount_minor));
  out.push_back('|');
  out.append(f.currency);
  out.push_back('|');
  out.append(f.settled_at);
  out.push_back('|');
  out.append(std::to_string(f.sequence));
  return out;
}

std::string receipt_key_id(std::string_view public_key_raw) {
  std::array<unsigned char, 8> hash{};
  crypto_generichash(hash.data(), hash.size(),
                     reinterpret_cast<const unsigned char*>(public_key_raw.data()),
                     public_key_raw.size(), nullptr, 0);
  return to_base64url(bytes_of(hash));
}

receipt_signer::receipt_signer(const std::array<std::uint8_t, 32>& seed,
                               const std::array<std::uint8_t, 32>& payer_ref_key)
    : payer_ref_key_(payer_ref_key) {
  std::array<std::uint8_t, 32> public_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key_.data(), seed.data());
  public_key_b64_ = to_base64url(bytes_of(public_key));
  key_id_ = receipt_key_id(bytes_of(public_key));
}

receipt_signer::~receipt_signer() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
  sodium_memzero(payer_ref_key_.data(), payer_ref_key_.size());
}

std::string receipt_signer::sign(const receipt_facts& facts) const {
  const auto text = canonical_receipt(facts);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), secret_key_.data());
  return to_base64url(bytes_of(sig));
}

std::string receipt_signer::payer_ref(std::string_view account_id) const {
  std::array<unsigned char, 16> hash{};
  const std::string input = "paysync/payer-ref/v1|" + std::string(account_id);
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), payer_ref_key_.data(), payer_ref_key_.size());
  return "pr" + to_base64url(bytes_of(hash));
}

std::string_view to_string(receipt_check c) noexcept {
  switch (c) {
    case receipt_check::valid:
      return "valid";
    case receipt_check::malformed:
      return "malformed";
    case receipt_check::unknown_key:
      return "unknown_key";
    case receipt_check::bad_signature:
      return "bad_signature";
  }
  return "malformed";
}

receipt_check verify_receipt(const boost::json::object& m, std::string_view public_key_b64url) {
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = m.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  auto whole = [&](std::string_view key) -> std::optional<std::int64_t> {
    const auto* v = m.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    return std::nullopt;
  };
  const auto type = text("type");
  if (!type || (*type != "receipt" && *type != "settled")) return receipt_check::malformed;
  const auto* merchant = m.if_contains("merchant");
  const auto* merchant_id =
      merchant && merchant->is_object() ? merchant->get_object().if_contains("id") : nullptr;
  const auto txn = text("txn"), payer_ref = text("payer_ref"), currency = text("currency"),
             settled_at = text("settled_at"), key_id = text("key_id"),
             signature = text("signature");
  const auto amount = whole("amount"), sequence = whole("sequence");
  if (!txn || !payer_ref || !currency || !settled_at || !key_id || !signature || !amount ||
      !sequence || *sequence < 0 || !merchant_id || !merchant_id->is_string()) {
    return receipt_check::malformed;
  }
  const auto public_key = from_base64url(public_key_b64url);
  if (!public_key || public_key->size() != crypto_sign_PUBLICKEYBYTES) {
    return receipt_check::malformed;
  }
  if (*key_id != receipt_key_id(*public_key)) return receipt_check::unknown_key;
  const auto sig = from_base64url(*signature);
  if (!sig || sig->size() != crypto_sign_BYTES) return receipt_check::bad_signature;
  const receipt_facts facts{
      *txn,        std::string(merchant_id->get_string()), *payer_ref, *amount, *currency,
      *settled_at, static_cast<std::uint64_t>(*sequence)};
  const auto canonical = canonical_receipt(facts);
  const bool ok = crypto_sign_verify_detached(
                      reinterpret_cast<const unsigned char*>(sig->data()),
                      reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
                      reinterpret_cast<const unsigned char*>(public_key->data())) == 0;
  return ok ? receipt_check::valid : receipt_check::bad_signature;
}

}  // namespace paysync::protocols
