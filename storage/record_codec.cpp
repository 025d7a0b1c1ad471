#include "storage/record_codec.hpp"

#include <cstring>

namespace paysync::storage::codec {

namespace {

bool valid_status(std::uint8_t v) noexcept {
  return v >= static_cast<std::uint8_t>(party_status::active) &&
         v <= static_cast<std::uint8_t>(party_status::blocked);
}
bool valid_account_kind(std::uint8_t v) noexcept {
  return v >= static_cast<std::uint8_t>(account_kind::user) &&
         v <= static_cast<std::uint8_t>(account_kind::system);
}
bool valid_entry_kind(std::uint8_t v) noexcept {
  return v >= static_cast<std::uint8_t>(entry_kind::payment) &&
         v <= static_cast<std::uint8_t>(entry_kind::funding);
}

}  // namespace

void writer::varint(std::uint64_t v) {
  char buffer[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buffer[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buffer[n++] = static_cast<char>(v);
  out_.append(buffer, n);
}

std::uint8_t reader::u8() noexcept {
  if (!ok_ || in_.empty()) {
    ok_ = false;
    return 0;
  }
  auto v = static_cast<std::uint8_t>(in_.front());
  in_.remove_prefix(1);
  return v;
}

std::uint64_t reader::varint() noexcept {
  std::uint64_t v = 0;
  for (int shift = 0; ok_ && shift < 64; shift += 7) {
    if (in_.empty()) break;
    auto byte = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    if (shift == 63 && byte > 1) break;  // more than 64 bits
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

std::string_view reader::str() noexcept {
  std::uint64_t size = varint();
  if (!ok_ || size > in_.size()) {
    ok_ = false;
    return {};
  }
  std::string_view s = in_.substr(0, size);
  in_.remove_prefix(size);
  return s;
}

// ---- ledger ----------------------------------------------------------------

account_state to_state(const account& a) noexcept {
  account_state s;
  s.kind = a.kind;
  s.frozen = a.frozen;
  std::memcpy(s.currency.data(), a.currency.data(), s.currency.size());
  s.balance_minor = a.balance_minor;
  return s;
}

account to_account(std::string_view id, const account_state& s) {
  account a;
  a.id = id;
  a.currency = s.currency_view();
  a.kind = s.kind;
  a.balance_minor = s.balance_minor;
  a.frozen = s.frozen;
  return a;
}

std::array<char, account_value_bytes> encode_account(const account_state& s) noexcept {
  std::array<char, account_value_bytes> out{};
  out[0] = static_cast<char>(format_version);
  out[1] = static_cast<char>(s.kind);
  out[2] = static_cast<char>(s.frozen ? 1 : 0);
  std::memcpy(&out[3], s.currency.data(), 3);
  auto balance = static_cast<std::uint64_t>(s.balance_minor);
  for (std::size_t i = 0; i < 8; ++i) out[6 + i] = static_cast<char>((balance >> (8 * i)) & 0xff);
  return out;
}

result<account_state> decode_account(std::string_view bytes) noexcept {
  if (bytes.size() != account_value_bytes ||
      static_cast<std::uint8_t>(bytes[0]) != format_version) {
    return store_error::corrupt;
  }
  auto kind = static_cast<std::uint8_t>(bytes[1]);
  auto flags = static_cast<std::uint8_t>(bytes[2]);
  if (!valid_account_kind(kind) || flags > 1) return store_error::corrupt;
  account_state s;
  s.kind = static_cast<account_kind>(kind);
  s.frozen = flags == 1;
  std::memcpy(s.currency.data(), &bytes[3], 3);
  std::uint64_t balance = 0;
  for (std::size_t i = 0; i < 8; ++i)
    balance |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[6 + i])) << (8 * i);
  s.balance_minor = static_cast<std::int64_t>(balance);
  return s;
}

void encode_posting(const posting_request& p, std::string& out) {
  writer w(out);
  w.u8(format_version);
  w.u8(static_cast<std::uint8_t>(p.kind));
  w.svarint(p.amount_minor);
  w.svarint(p.time_unix_ms);
  w.str(p.settlement_id);
  w.str(p.debit_account);
  w.str(p.credit_account);
  w.str(p.currency);
  w.str(p.original_id);
  w.str(p.memo);
}

result<posting_view> decode_posting(std::string_view bytes) noexcept {
  reader r(bytes);
  if (r.u8() != format_version) return store_error::corrupt;
  std::uint8_t kind = r.u8();
  if (!valid_entry_kind(kind)) return store_error::corrupt;
  posting_view v;
  v.kind = static_cast<entry_kind>(kind);
  v.amount_minor = r.svarint();
  v.time_unix_ms = r.svarint();
  v.settlement_id = r.str();
  v.debit_account = r.str();
  v.credit_account = r.str();
  v.currency = r.str();
  v.original_id = r.str();
  v.memo = r.str();
  if (!r.done()) return store_error::corrupt;
  return v;
}

posting_request to_request(const posting_view& v) {
  posting_request p;
  p.settlement_id = v.settlement_id;
  p.debit_account = v.debit_account;
  p.credit_account = v.credit_account;
  p.amount_minor = v.amount_minor;
  p.currency = v.currency;
  p.kind = v.kind;
  p.original_id = v.original_id;
  p.time_unix_ms = v.time_unix_ms;
  p.memo = v.memo;
  return p;
}

bool same_content(const posting_view& v, const posting_request& p) noexcept {
  return v.kind == p.kind && v.amount_minor == p.amount_minor &&
         v.settlement_id == p.settlement_id && v.debit_account == p.debit_account &&
         v.credit_account == p.credit_account && v.currency == p.currency &&
         v.original_id == p.original_id && v.memo == p.memo;
}

// ---- directory -------------------------------------------------------------

void encode_merchant(const merchant_record& m, std::string& out) {
  writer w(out);
  w.u8(format_version);
  w.u8(static_cast<std::uint8_t>(m.status));
  w.str(m.name);
  w.str(m.till);
  w.str(m.city);
  w.str(m.category);
  w.str(m.account_id);
  w.str(m.currency);
  w.varint(m.disclosed_attributes.size());
  for (const auto& a : m.disclosed_attributes) w.str(a);
}

result<merchant_record> decode_merchant(std::string_view id, std::string_view bytes) {
  reader r(bytes);
  if (r.u8() != format_version) return store_error::corrupt;
  std::uint8_t status = r.u8();
  if (!valid_status(status)) return store_error::corrupt;
  merchant_record m;
  m.id = id;
  m.status = static_cast<party_status>(status);
  m.name = r.str();
  m.till = r.str();
  m.city = r.str();
  m.category = r.str();
  m.account_id = r.str();
  m.currency = r.str();
  std::uint64_t n = r.varint();
  if (n > bytes.size()) return store_error::corrupt;  // each entry takes >= 1 byte
  m.disclosed_attributes.reserve(n);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) m.disclosed_attributes.emplace_back(r.str());
  if (!r.done()) return store_error::corrupt;
  return m;
}

// Terminals are at version 3 (2 added role and name, 3 the public key);
// version 1 records are billing terminals without a name or key.
constexpr std::uint8_t terminal_version = 3;

void encode_terminal(const terminal_record& t, std::string& out) {
  writer w(out);
  w.u8(terminal_version);
  w.u8(static_cast<std::uint8_t>(t.status));
  w.str(t.merchant_id);
  w.u8(static_cast<std::uint8_t>(t.role));
  w.str(t.name);
  w.str(t.public_key);
}

result<terminal_record> decode_terminal(std::string_view id, std::string_view bytes) {
  reader r(bytes);
  const std::uint8_t version = r.u8();
  if (version < format_version || version > terminal_version) return store_error::corrupt;
  std::uint8_t status = r.u8();
  if (!valid_status(status)) return store_error::corrupt;
  terminal_record t;
  t.id = id;
  t.status = static_cast<party_status>(status);
  t.merchant_id = r.str();
  if (version >= 2) {
    const std::uint8_t role = r.u8();
    if (role != static_cast<std::uint8_t>(terminal_role::billing) &&
        role != static_cast<std::uint8_t>(terminal_role::order_centre)) {
      return store_error::corrupt;
    }
    t.role = static_cast<terminal_role>(role);
    t.name = r.str();
  }
  if (version >= 3) t.public_key = r.str();
  if (!r.done()) return store_error::corrupt;
  return t;
}

void encode_user(const user_record& u, std::string& out) {
  writer w(out);
  w.u8(format_version);
  w.u8(static_cast<std::uint8_t>(u.status));
  w.str(u.msisdn);
  w.str(u.display_name);
  w.str(u.account_id);
  w.str(u.currency);
  w.varint(u.attributes.size());
  for (const auto& [key, value] : u.attributes) {
    w.str(key);
    w.str(value);
  }
}

result<user_record> decode_user(std::string_view id, std::string_view bytes) {
  reader r(bytes);
  if (r.u8() != format_version) return store_error::corrupt;
  std::uint8_t status = r.u8();
  if (!valid_status(status)) return store_error::corrupt;
  user_record u;
  u.id = id;
  u.status = static_cast<party_status>(status);
  u.msisdn = r.str();
  u.display_name = r.str();
  u.account_id = r.str();
  u.currency = r.str();
  std::uint64_t n = r.varint();
  if (n > bytes.size()) return store_error::corrupt;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string_view key = r.str();
    std::string_view value = r.str();
    if (r.ok() && !u.attributes.emplace(key, value).second) r.fail();  // keys are unique
  }
  if (!r.done()) return store_error::corrupt;
  return u;
}

}  // namespace paysync::storage::codec
