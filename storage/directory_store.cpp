#include "storage/directory_store.hpp"

#include <optional>

#include "storage/environment_impl.hpp"
#include "storage/lmdb_handles.hpp"
#include "storage/record_codec.hpp"

namespace paysync::storage {

namespace {

using detail::as_val;
using detail::as_view;
using detail::lmdb_failure;

constexpr std::size_t max_merchant_id_bytes = 64;
constexpr std::size_t max_id_bytes = 128;
constexpr std::size_t max_till_digits = 16;
constexpr std::size_t max_msisdn_digits = 15;  // E.164
constexpr std::size_t max_text_bytes = 256;
constexpr std::size_t max_attributes = 32;
constexpr std::size_t max_attribute_name_bytes = 64;
constexpr std::size_t max_attribute_value_bytes = 1024;
constexpr std::size_t max_batch_records = 10000;

bool bounded_id(std::string_view id, std::size_t max) noexcept {
  return !id.empty() && id.size() <= max;
}
bool merchant_id_ok(std::string_view id) noexcept {
  if (!bounded_id(id, max_merchant_id_bytes)) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}
bool digits_ok(std::string_view s, std::size_t max) noexcept {
  if (!bounded_id(s, max)) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
bool currency_ok(std::string_view c) noexcept {
  if (c.empty()) return true;
  if (c.size() != 3) return false;
  for (char ch : c) {
    if (ch < 'A' || ch > 'Z') return false;
  }
  return true;
}
bool status_ok(party_status s) noexcept {
  return s == party_status::active || s == party_status::suspended || s == party_status::blocked;
}

bool valid(const merchant_record& m) noexcept {
  if (!merchant_id_ok(m.id) || !digits_ok(m.till, max_till_digits) ||
      m.name.size() > max_text_bytes || m.city.size() > max_text_bytes ||
      m.category.size() > max_text_bytes || m.account_id.size() > max_id_bytes ||
      !currency_ok(m.currency) || !status_ok(m.status) ||
      m.disclosed_attributes.size() > max_attributes) {
    return false;
  }
  for (const auto& a : m.disclosed_attributes) {
    if (!bounded_id(a, max_attribute_name_bytes)) return false;
  }
  return true;
}
bool valid(const terminal_record& t) noexcept {
  const bool merchant_ok = t.role == terminal_role::order_centre ? t.merchant_id.empty()
                           : t.role == terminal_role::billing    ? merchant_id_ok(t.merchant_id)
                                                                 : false;
  return bounded_id(t.id, max_id_bytes) && merchant_ok && status_ok(t.status) &&
         t.name.size() <= max_text_bytes && (t.public_key.empty() || t.public_key.size() == 32);
}
bool valid(const user_record& u) noexcept {
  if (!bounded_id(u.id, max_id_bytes) || !digits_ok(u.msisdn, max_msisdn_digits) ||
      u.display_name.size() > max_text_bytes || u.account_id.size() > max_id_bytes ||
      !currency_ok(u.currency) || !status_ok(u.status) || u.attributes.size() > max_attributes) {
    return false;
  }
  for (const auto& [name, value] : u.attributes) {
    if (!bounded_id(name, max_attribute_name_bytes) || value.size() > max_attribute_value_bytes)
      return false;
  }
  return true;
}

// The value under `key`, or nullopt. The view points into LMDB memory: use it
// before the next write in the transaction.
result<std::optional<std::string_view>> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                            const char* what) {
  MDB_val k = as_val(key);
  MDB_val v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return lmdb_failure(rc, what);
  return std::optional<std::string_view>(as_view(v));
}

result<void> put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value,
                 const char* what) {
  MDB_val k = as_val(key);
  MDB_val v = as_val(value);
  int rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc != 0) return lmdb_failure(rc, what);
  return {};
}

result<void> del(MDB_txn* txn, MDB_dbi dbi, std::string_view key, const char* what) {
  MDB_val k = as_val(key);
  int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_failure(rc, what);
  return {};
}

// Inserts or replaces a record that owns a unique code (a merchant's till, a
// user's msisdn) kept in `index` (code -> id). `old_code_of` extracts the code
// of the record being replaced.
template <class OldCode>
result<void> put_indexed(MDB_txn* txn, MDB_dbi records, MDB_dbi index, std::string_view id,
                         std::string_view code, std::string_view encoded, OldCode old_code_of) {
  auto owner = get(txn, index, code, "mdb_get(index)");
  if (!owner) return owner.error();
  if (*owner && **owner != id) return store_error::already_exists;

  auto previous = get(txn, records, id, "mdb_get(record)");
  if (!previous) return previous.error();
  if (*previous) {
    auto old_code = old_code_of(**previous);
    if (!old_code) return old_code.error();
    if (*old_code != code) {
      // Free the old code only if it still points at this record.
      auto old_owner = get(txn, index, *old_code, "mdb_get(index)");
      if (!old_owner) return old_owner.error();
      if (*old_owner && **old_owner == id) {
        if (auto r = del(txn, index, *old_code, "mdb_del(index)"); !r) return r.error();
      }
    }
  }
  if (auto r = put(txn, records, id, encoded, "mdb_put(record)"); !r) return r.error();
  if (!*owner) {
    if (auto r = put(txn, index, code, id, "mdb_put(index)"); !r) return r.error();
  }
  return {};
}

result<void> put_merchant_in(MDB_txn* txn, const database_handles& dbs, const merchant_record& m,
                             std::string& buffer) {
  if (!valid(m)) return store_error::invalid_argument;
  buffer.clear();
  codec::encode_merchant(m, buffer);
  return put_indexed(txn, dbs.directory_merchants, dbs.directory_tills, m.id, m.till, buffer,
                     [&](std::string_view bytes) -> result<std::string> {
                       auto old = codec::decode_merchant(m.id, bytes);
                       if (!old) return old.error();
                       return std::move(old->till);
                     });
}

result<void> put_terminal_in(MDB_txn* txn, const database_handles& dbs, const terminal_record& t,
                             std::string& buffer) {
  if (!valid(t)) return store_error::invalid_argument;
  buffer.clear();
  codec::encode_terminal(t, buffer);
  return put(txn, dbs.directory_terminals, t.id, buffer, "mdb_put(terminals)");
}

result<void> put_user_in(MDB_txn* txn, const database_handles& dbs, const user_record& u,
                         std::string& buffer) {
  if (!valid(u)) return store_error::invalid_argument;
  buffer.clear();
  codec::encode_user(u, buffer);
  return put_indexed(txn, dbs.directory_users, dbs.directory_msisdns, u.id, u.msisdn, buffer,
                     [&](std::string_view bytes) -> result<std::string> {
                       auto old = codec::decode_user(u.id, bytes);
                       if (!old) return old.error();
                       return std::move(old->msisdn);
                     });
}

template <class Record, class PutIn>
result<void> put_one(environment& env, const Record& record, PutIn put_in) {
  auto txn = env.impl().begin_write();
  if (!txn) return txn.error();
  std::string buffer;
  if (auto r = put_in(txn->get(), env.impl().dbs(), record, buffer); !r) return r.error();
  return txn->commit();
}

template <class Decode>
auto find_by_id(environment& env, MDB_dbi dbi, std::string_view id, Decode decode)
    -> decltype(decode(id, id)) {
  if (id.empty() || id.size() > max_id_bytes) return store_error::invalid_argument;
  auto txn = env.impl().begin_read();
  if (!txn) return txn.error();
  auto bytes = get(txn->get(), dbi, id, "mdb_get(record)");
  if (!bytes) return bytes.error();
  if (!*bytes) return store_error::not_found;
  return decode(id, **bytes);
}

template <class Decode>
auto find_by_code(environment& env, MDB_dbi index, MDB_dbi records, std::string_view code,
                  Decode decode) -> decltype(decode(code, code)) {
  if (code.empty() || code.size() > max_id_bytes) return store_error::invalid_argument;
  auto txn = env.impl().begin_read();
  if (!txn) return txn.error();
  auto id = get(txn->get(), index, code, "mdb_get(index)");
  if (!id) return id.error();
  if (!*id) return store_error::not_found;
  auto bytes = get(txn->get(), records, **id, "mdb_get(record)");
  if (!bytes) return bytes.error();
  if (!*bytes) return store_error::corrupt;  // the index points at nothing
  return decode(**id, **bytes);
}

}  // namespace

directory_store::directory_store(environment& env) : env_(env) {}

result<void> directory_store::put_merchant(const merchant_record& m) {
  return put_one(env_, m, put_merchant_in);
}

result<void> directory_store::put_terminal(const terminal_record& t) {
  return put_one(env_, t, put_terminal_in);
}

result<void> directory_store::put_user(const user_record& u) {
  return put_one(env_, u, put_user_in);
}

result<void> directory_store::put_many(const std::vector<merchant_record>& merchants,
                                       const std::vector<terminal_record>& terminals,
                                       const std::vector<user_record>& users) {
  if (merchants.size() + terminals.size() + users.size() > max_batch_records) {
    return store_error::invalid_argument;
  }
  if (merchants.empty() && terminals.empty() && users.empty()) return {};
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  const auto& dbs = env_.impl().dbs();
  std::string buffer;
  buffer.reserve(256);
  for (const auto& m : merchants) {
    if (auto r = put_merchant_in(txn->get(), dbs, m, buffer); !r) return r.error();
  }
  for (const auto& t : terminals) {
    if (auto r = put_terminal_in(txn->get(), dbs, t, buffer); !r) return r.error();
  }
  for (const auto& u : users) {
    if (auto r = put_user_in(txn->get(), dbs, u, buffer); !r) return r.error();
  }
  return txn->commit();
}

result<merchant_record> directory_store::find_merchant(std::string_view id) const {
  return find_by_id(env_, env_.impl().dbs().directory_merchants, id, codec::decode_merchant);
}

result<merchant_record> directory_store::find_merchant_by_till(std::string_view till) const {
  const auto& dbs = env_.impl().dbs();
  return find_by_code(env_, dbs.directory_tills, dbs.directory_merchants, till,
                      codec::decode_merchant);
}

result<terminal_record> directory_store::find_terminal(std::string_view id) const {
  return find_by_id(env_, env_.impl().dbs().directory_terminals, id, codec::decode_terminal);
}

result<user_record> directory_store::find_user(std::string_view id) const {
  return find_by_id(env_, env_.impl().dbs().directory_users, id, codec::decode_user);
}

result<user_record> directory_store::find_user_by_msisdn(std::string_view msisdn) const {
  const auto& dbs = env_.impl().dbs();
  return find_by_code(env_, dbs.directory_msisdns, dbs.directory_users, msisdn, codec::decode_user);
}

result<directory_store::counts> directory_store::count() const {
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  const auto& dbs = env_.impl().dbs();
  counts c;
  const std::pair<MDB_dbi, std::size_t*> tables[] = {{dbs.directory_merchants, &c.merchants},
                                                     {dbs.directory_terminals, &c.terminals},
                                                     {dbs.directory_users, &c.users}};
  for (const auto& [dbi, out] : tables) {
    MDB_stat stat;
    int rc = mdb_stat(txn->get(), dbi, &stat);
    if (rc != 0) return lmdb_failure(rc, "mdb_stat");
    *out = stat.ms_entries;
  }
  return c;
}

}  // namespace paysync::storage
