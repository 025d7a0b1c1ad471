#include "storage/factor_store.hpp"

#include <algorithm>
#include <array>

#include "storage/environment_impl.hpp"
#include "storage/lmdb_handles.hpp"
#include "storage/record_codec.hpp"

namespace paysync::storage {
namespace {

using detail::as_val;
using detail::as_view;
using detail::lmdb_failure;

constexpr std::uint8_t factor_version = 1;
constexpr std::size_t max_id_bytes = 128;
constexpr std::size_t max_label_bytes = 256;
constexpr std::size_t max_secrets = 16;
constexpr std::size_t max_secret_bytes = 64 * 1024;

constexpr std::array<std::pair<factor_kind, std::string_view>, 7> kind_names{{
    {factor_kind::pin, "pin"},
    {factor_kind::password, "password"},
    {factor_kind::question, "question"},
    {factor_kind::face, "face"},
    {factor_kind::iris, "iris"},
    {factor_kind::fingerprint, "fingerprint"},
    {factor_kind::voice, "voice"},
}};

bool ids_ok(std::string_view user_id, std::string_view factor_id) noexcept {
  return !user_id.empty() && user_id.size() <= max_id_bytes && !factor_id.empty() &&
         factor_id.size() <= max_id_bytes && user_id.find('\0') == std::string_view::npos;
}

std::string key_of(std::string_view user_id, std::string_view factor_id) {
  std::string key(user_id);
  key.push_back('\0');
  key.append(factor_id);
  return key;
}

std::string encode(const factor_record& f) {
  std::string out;
  codec::writer w(out);
  w.u8(factor_version);
  w.u8(static_cast<std::uint8_t>(f.kind));
  w.u8(f.revoked ? 1 : 0);
  w.str(f.label);
  w.svarint(f.created_unix_ms);
  w.varint(f.template_version);
  w.varint(f.secrets.size());
  for (const auto& s : f.secrets) w.str(s);
  return out;
}

result<factor_record> decode(std::string_view user_id, std::string_view factor_id,
                             std::string_view bytes) {
  codec::reader r(bytes);
  if (r.u8() != factor_version) return store_error::corrupt;
  factor_record f;
  f.user_id = user_id;
  f.factor_id = factor_id;
  const auto kind = r.u8();
  if (!parse_factor_kind(to_string(static_cast<factor_kind>(kind)))) return store_error::corrupt;
  f.kind = static_cast<factor_kind>(kind);
  const auto revoked = r.u8();
  if (revoked > 1) return store_error::corrupt;
  f.revoked = revoked == 1;
  f.label = r.str();
  f.created_unix_ms = r.svarint();
  const auto version = r.varint();
  if (version > 0xFFFF) return store_error::corrupt;
  f.template_version = static_cast<std::uint16_t>(version);
  const auto n = r.varint();
  if (n > max_secrets) return store_error::corrupt;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) f.secrets.emplace_back(r.str());
  if (!r.done()) return store_error::corrupt;
  return f;
}

std::string encode(const attempt_state& a) {
  std::string out;
  codec::writer w(out);
  w.u8(factor_version);
  w.varint(a.failures);
  w.varint(a.lockouts);
  w.svarint(a.locked_until_unix_ms);
  return out;
}

result<attempt_state> decode_attempts(std::string_view bytes) {
  codec::reader r(bytes);
  if (r.u8() != factor_version) return store_error::corrupt;
  attempt_state a;
  a.failures = static_cast<std::uint32_t>(r.varint());
  a.lockouts = static_cast<std::uint32_t>(r.varint());
  a.locked_until_unix_ms = r.svarint();
  if (!r.done()) return store_error::corrupt;
  return a;
}

result<std::optional<std::string_view>> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = as_val(key);
  MDB_val v;
  const int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return lmdb_failure(rc, "mdb_get(auth)");
  return std::optional<std::string_view>(as_view(v));
}

result<void> put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = as_val(key);
  MDB_val v = as_val(value);
  const int rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc != 0) return lmdb_failure(rc, "mdb_put(auth)");
  return {};
}

}  // namespace

std::string_view to_string(factor_kind k) noexcept {
  for (const auto& [kind, name] : kind_names) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::optional<factor_kind> parse_factor_kind(std::string_view name) noexcept {
  for (const auto& [kind, n] : kind_names) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

factor_store::factor_store(environment& env) : env_(env) {}

result<void> factor_store::put(const factor_record& f) {
  if (!ids_ok(f.user_id, f.factor_id) || f.label.size() > max_label_bytes || f.secrets.empty() ||
      f.secrets.size() > max_secrets ||
      std::any_of(f.secrets.begin(), f.secrets.end(),
                  [](const auto& s) { return s.empty() || s.size() > max_secret_bytes; })) {
    return store_error::invalid_argument;
  }
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  if (auto r = storage::put(txn->get(), env_.impl().dbs().auth_factors,
                            key_of(f.user_id, f.factor_id), encode(f));
      !r) {
    return r.error();
  }
  return txn->commit();
}

result<factor_record> factor_store::find(std::string_view user_id,
                                         std::string_view factor_id) const {
  if (!ids_ok(user_id, factor_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  auto bytes = get(txn->get(), env_.impl().dbs().auth_factors, key_of(user_id, factor_id));
  if (!bytes) return bytes.error();
  if (!*bytes) return store_error::not_found;
  return decode(user_id, factor_id, **bytes);
}

result<std::vector<factor_record>> factor_store::list(std::string_view user_id) const {
  if (!ids_ok(user_id, "x")) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  auto cur = detail::cursor::open(txn->get(), env_.impl().dbs().auth_factors);
  if (!cur) return cur.error();
  std::string prefix(user_id);
  prefix.push_back('\0');
  MDB_val k = as_val(prefix);
  MDB_val v;
  std::vector<factor_record> out;
  int rc = mdb_cursor_get(cur->get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    const auto key = as_view(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    auto f = decode(user_id, key.substr(prefix.size()), as_view(v));
    if (!f) return f.error();
    out.push_back(std::move(*f));
    rc = mdb_cursor_get(cur->get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(auth)");
  return out;
}

result<void> factor_store::revoke(std::string_view user_id, std::string_view factor_id) {
  if (!ids_ok(user_id, factor_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  const auto key = key_of(user_id, factor_id);
  auto bytes = get(txn->get(), env_.impl().dbs().auth_factors, key);
  if (!bytes) return bytes.error();
  if (!*bytes) return store_error::not_found;
  auto f = decode(user_id, factor_id, **bytes);
  if (!f) return f.error();
  f->revoked = true;
  // Revoking forgets the secrets too: nothing of a revoked factor is kept.
  f->secrets = {"revoked"};
  if (auto r = storage::put(txn->get(), env_.impl().dbs().auth_factors, key, encode(*f)); !r) {
    return r.error();
  }
  return txn->commit();
}

result<attempt_state> factor_store::attempts(std::string_view user_id,
                                             std::string_view factor_id) const {
  if (!ids_ok(user_id, factor_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  auto bytes = get(txn->get(), env_.impl().dbs().auth_attempts, key_of(user_id, factor_id));
  if (!bytes) return bytes.error();
  if (!*bytes) return attempt_state{};
  return decode_attempts(**bytes);
}

result<attempt_state> factor_store::record_failure(std::string_view user_id,
                                                   std::string_view factor_id,
                                                   std::int64_t now_unix_ms,
                                                   const lockout_policy& policy) {
  if (!ids_ok(user_id, factor_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  const auto key = key_of(user_id, factor_id);
  auto bytes = get(txn->get(), env_.impl().dbs().auth_attempts, key);
  if (!bytes) return bytes.error();
  attempt_state a;
  if (*bytes) {
    auto decoded = decode_attempts(**bytes);
    if (!decoded) return decoded.error();
    a = *decoded;
  }
  if (++a.failures >= policy.max_failures) {
    std::int64_t lock = policy.first_lockout_ms;
    for (std::uint32_t i = 0; i < a.lockouts && lock < policy.max_lockout_ms; ++i) lock *= 2;
    a.locked_until_unix_ms = now_unix_ms + std::min(lock, policy.max_lockout_ms);
    ++a.lockouts;
    a.failures = 0;
  }
  if (auto r = storage::put(txn->get(), env_.impl().dbs().auth_attempts, key, encode(a)); !r) {
    return r.error();
  }
  if (auto r = txn->commit(); !r) return r.error();
  return a;
}

result<void> factor_store::record_success(std::string_view user_id, std::string_view factor_id) {
  if (!ids_ok(user_id, factor_id)) return store_error::invalid_argument;
  auto current = attempts(user_id, factor_id);
  if (!current) return current.error();
  if (current->failures == 0) return {};  // the common case writes nothing
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  attempt_state a = *current;
  a.failures = 0;
  if (auto r = storage::put(txn->get(), env_.impl().dbs().auth_attempts, key_of(user_id, factor_id),
                            encode(a));
      !r) {
    return r.error();
  }
  return txn->commit();
}

}  // namespace paysync::storage
