#pragma once

// Private to storage/ (and its tests). The compact, versioned binary encoding
// of every stored record. Each value starts with a version byte; strings are
// length-prefixed (LEB128 varint), integers are zig-zag varints except the
// account balance, which is fixed-width so an account value has one size.
// Decoding never trusts its input: a short, long or out-of-range value
// decodes to store_error::corrupt.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/directory_store.hpp"
#include "storage/ledger_store.hpp"
#include "storage/store_error.hpp"

namespace paysync::storage::codec {

inline constexpr std::uint8_t format_version = 1;

// Appends to a caller-owned buffer (reuse it: clear() keeps the capacity).
class writer {
 public:
  explicit writer(std::string& out) noexcept : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v);
  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }

 private:
  std::string& out_;
};

// Reads from a view; after the first failure every read returns zero/empty
// and ok() stays false.
class reader {
 public:
  explicit reader(std::string_view in) noexcept : in_(in) {}
  std::uint8_t u8() noexcept;
  std::uint64_t varint() noexcept;
  std::int64_t svarint() noexcept {
    std::uint64_t z = varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string_view str() noexcept;
  bool ok() const noexcept { return ok_; }
  // True when every byte was consumed without an error.
  bool done() const noexcept { return ok_ && in_.empty(); }
  void fail() noexcept { ok_ = false; }

 private:
  std::string_view in_;
  bool ok_ = true;
};

// ---- ledger ----------------------------------------------------------------

// An account value without its id (the id is the key).
// Layout: version, kind, flags (bit 0 = frozen), currency (3 bytes), balance
// (int64 little-endian, fixed width).
inline constexpr std::size_t account_value_bytes = 14;
struct account_state {
  account_kind kind = account_kind::user;
  bool frozen = false;
  std::array<char, 3> currency{};
  std::int64_t balance_minor = 0;
  std::string_view currency_view() const noexcept { return {currency.data(), currency.size()}; }
};
// REQUIRES: currency is three bytes.
account_state to_state(const account& a) noexcept;
account to_account(std::string_view id, const account_state& s);
std::array<char, account_value_bytes> encode_account(const account_state& s) noexcept;
result<account_state> decode_account(std::string_view bytes) noexcept;

// A journal value without its sequence (the sequence is the key). The views
// point into the decoded bytes (LMDB memory: valid until the transaction ends
// or, in a write transaction, until the next write).
struct posting_view {
  entry_kind kind = entry_kind::payment;
  std::int64_t amount_minor = 0;
  std::int64_t time_unix_ms = 0;
  std::string_view settlement_id, debit_account, credit_account, currency, original_id, memo;
};
void encode_posting(const posting_request& p, std::string& out);
result<posting_view> decode_posting(std::string_view bytes) noexcept;
posting_request to_request(const posting_view& v);
// The idempotency comparison: every field except time_unix_ms (a retry of
// the same settlement is stamped later than the original).
bool same_content(const posting_view& v, const posting_request& p) noexcept;

// ---- directory -------------------------------------------------------------
// Records are stored without their id (the key); decoding takes it back.

void encode_merchant(const merchant_record& m, std::string& out);
result<merchant_record> decode_merchant(std::string_view id, std::string_view bytes);
void encode_terminal(const terminal_record& t, std::string& out);
result<terminal_record> decode_terminal(std::string_view id, std::string_view bytes);
void encode_user(const user_record& u, std::string& out);
result<user_record> decode_user(std::string_view id, std::string_view bytes);

}  // namespace paysync::storage::codec
