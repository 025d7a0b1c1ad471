#include "storage/ledger_store.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "storage/assert.hpp"
#include "storage/environment_impl.hpp"
#include "storage/lmdb_handles.hpp"
#include "storage/record_codec.hpp"

namespace paysync::storage {

namespace {

using detail::as_val;
using detail::as_view;
using detail::get_be64;
using detail::lmdb_failure;
using detail::put_be64;

constexpr std::size_t max_id_bytes = 128;
constexpr std::size_t max_memo_bytes = 256;
constexpr std::size_t max_batch_requests = 10000;
constexpr std::size_t max_page_entries = 1000;
constexpr std::string_view last_sequence_key = "last_sequence";
constexpr char empty_value[1] = {0};

bool valid_id(std::string_view id) noexcept { return !id.empty() && id.size() <= max_id_bytes; }

bool valid_currency(std::string_view c) noexcept {
  if (c.size() != 3) return false;
  for (char ch : c) {
    if (ch < 'A' || ch > 'Z') return false;
  }
  return true;
}

bool valid_kind(account_kind k) noexcept {
  return k == account_kind::user || k == account_kind::merchant || k == account_kind::system;
}

bool floored(account_kind k) noexcept { return k != account_kind::system; }

std::optional<store_error> check_account(const account& a) noexcept {
  if (!valid_id(a.id) || !valid_currency(a.currency) || !valid_kind(a.kind) ||
      a.balance_minor != 0) {
    return store_error::invalid_argument;
  }
  return std::nullopt;
}

std::optional<store_error> check_shape(const posting_request& r) noexcept {
  bool ok = r.amount_minor > 0 && valid_currency(r.currency) && valid_id(r.settlement_id) &&
            valid_id(r.debit_account) && valid_id(r.credit_account) &&
            r.debit_account != r.credit_account && r.memo.size() <= max_memo_bytes;
  if (r.velocity) {
    ok = ok && r.kind == entry_kind::payment && r.velocity->window_ms > 0 &&
         r.velocity->max_sum_minor >= 0;
  }
  switch (r.kind) {
    case entry_kind::payment:
    case entry_kind::funding:
      ok = ok && r.original_id.empty();
      break;
    case entry_kind::refund:
      ok = ok && valid_id(r.original_id) && r.original_id != r.settlement_id;
      break;
    default:
      ok = false;
  }
  if (!ok) return store_error::invalid_argument;
  return std::nullopt;
}

// Key of ledger.by_account: [u8 id length][id][big-endian sequence]. The length
// prefix keeps one account's keys contiguous whatever bytes the ids hold.
class account_index_key {
 public:
  // REQUIRES: valid_id(id).
  account_index_key(std::string_view id, std::uint64_t sequence) noexcept {
    PAYSYNC_ASSERT(valid_id(id));
    bytes_[0] = static_cast<char>(id.size());
    std::memcpy(&bytes_[1], id.data(), id.size());
    size_ = 1 + id.size() + 8;
    put_be64(&bytes_[1 + id.size()], sequence);
  }
  MDB_val val() const noexcept { return as_val(bytes_.data(), size_); }
  std::string_view prefix() const noexcept { return {bytes_.data(), size_ - 8}; }

  // The sequence of `key` when it belongs to the account of `prefix`.
  static std::optional<std::uint64_t> sequence_of(std::string_view key,
                                                  std::string_view prefix) noexcept {
    if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) {
      return std::nullopt;
    }
    return get_be64(key.data() + prefix.size());
  }

 private:
  std::array<char, 1 + max_id_bytes + 8> bytes_;
  std::size_t size_ = 0;
};

// Puts a cursor on ledger.by_account at the last key before `start` (the
// newest entry of its account below its sequence, or an earlier account's
// key, which sequence_of() rejects); returns the LMDB status.
int seek_before(MDB_cursor* index, const account_index_key& start, MDB_val& key, MDB_val& value) {
  key = start.val();
  int rc = mdb_cursor_get(index, &key, &value, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return mdb_cursor_get(index, &key, &value, MDB_LAST);
  if (rc == 0) return mdb_cursor_get(index, &key, &value, MDB_PREV);
  return rc;
}

result<std::uint64_t> read_last_sequence(MDB_txn* txn, const database_handles& dbs) {
  MDB_val key = as_val(last_sequence_key);
  MDB_val value;
  int rc = mdb_get(txn, dbs.ledger_meta, &key, &value);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return lmdb_failure(rc, "mdb_get(meta)");
  if (value.mv_size != 8) return store_error::corrupt;
  return get_be64(static_cast<const char*>(value.mv_data));
}

// The sequence a settlement id was posted under, or nullopt.
result<std::optional<std::uint64_t>> find_sequence(MDB_txn* txn, const database_handles& dbs,
                                                   std::string_view settlement_id) {
  MDB_val key = as_val(settlement_id);
  MDB_val value;
  int rc = mdb_get(txn, dbs.ledger_by_settlement, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::uint64_t>();
  if (rc != 0) return lmdb_failure(rc, "mdb_get(by_settlement)");
  if (value.mv_size != 8) return store_error::corrupt;
  return std::optional<std::uint64_t>(get_be64(static_cast<const char*>(value.mv_data)));
}

// A journal entry that an index points at; its absence is corruption.
result<codec::posting_view> read_journal(MDB_txn* txn, const database_handles& dbs,
                                         std::uint64_t sequence) {
  char key_bytes[8];
  put_be64(key_bytes, sequence);
  MDB_val key = as_val(key_bytes, sizeof key_bytes);
  MDB_val value;
  int rc = mdb_get(txn, dbs.ledger_journal, &key, &value);
  if (rc == MDB_NOTFOUND) return store_error::corrupt;
  if (rc != 0) return lmdb_failure(rc, "mdb_get(journal)");
  return codec::decode_posting(as_view(value));
}

// Calls `visit(amount_minor)` for each payment `account` made (as the debit
// side) stamped at or after `since_unix_ms`, newest first, until `visit`
// returns false. Reads the journal in place: nothing is allocated per entry.
template <class Visit>
result<void> for_each_payment_since(MDB_txn* txn, const database_handles& dbs,
                                    std::string_view account, std::int64_t since_unix_ms,
                                    Visit visit) {
  auto index = detail::cursor::open(txn, dbs.ledger_by_account);
  if (!index) return index.error();
  account_index_key start(account, UINT64_MAX);
  MDB_val key;
  MDB_val value;
  int rc = seek_before(index->get(), start, key, value);
  for (; rc == 0; rc = mdb_cursor_get(index->get(), &key, &value, MDB_PREV)) {
    auto sequence = account_index_key::sequence_of(as_view(key), start.prefix());
    if (!sequence) return {};  // walked past this account's first entry
    auto entry = read_journal(txn, dbs, *sequence);
    if (!entry) return entry.error();
    if (entry->time_unix_ms < since_unix_ms) return {};
    if (entry->kind != entry_kind::payment || entry->debit_account != account) continue;
    if (!visit(entry->amount_minor)) return {};
  }
  if (rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(by_account)");
  return {};
}

// Positions `accounts` (a cursor on ledger.accounts) on `id` and decodes it,
// so that the update can overwrite it in place (MDB_CURRENT) without a second
// search.
result<std::optional<codec::account_state>> seek_account(MDB_cursor* accounts,
                                                         std::string_view id) {
  MDB_val key = as_val(id);
  MDB_val value;
  int rc = mdb_cursor_get(accounts, &key, &value, MDB_SET_KEY);
  if (rc == MDB_NOTFOUND) return std::optional<codec::account_state>();
  if (rc != 0) return lmdb_failure(rc, "mdb_cursor_get(accounts)");
  auto state = codec::decode_account(as_view(value));
  if (!state) return state.error();
  // A floored account below zero can only come from a damaged store.
  if (floored(state->kind) && state->balance_minor < 0) return store_error::corrupt;
  return std::optional<codec::account_state>(*state);
}

result<std::int64_t> read_refunded(MDB_txn* txn, const database_handles& dbs,
                                   std::string_view original_id) {
  MDB_val key = as_val(original_id);
  MDB_val value;
  int rc = mdb_get(txn, dbs.ledger_refunds, &key, &value);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return lmdb_failure(rc, "mdb_get(refunds)");
  if (value.mv_size != 8) return store_error::corrupt;
  auto total = static_cast<std::int64_t>(get_be64(static_cast<const char*>(value.mv_data)));
  if (total < 0) return store_error::corrupt;
  return total;
}

result<void> put(MDB_txn* txn, MDB_dbi dbi, MDB_val key, MDB_val value, const char* what) {
  int rc = mdb_put(txn, dbi, &key, &value, 0);
  if (rc != 0) return lmdb_failure(rc, what);
  return {};
}

result<void> insert_account(MDB_txn* txn, const database_handles& dbs, const account& a) {
  auto value = codec::encode_account(codec::to_state(a));
  MDB_val key = as_val(a.id);
  MDB_val data = as_val(value.data(), value.size());
  int rc = mdb_put(txn, dbs.ledger_accounts, &key, &data, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return store_error::already_exists;
  if (rc != 0) return lmdb_failure(rc, "mdb_put(accounts)");
  return {};
}

result<posting_outcome> failed(store_error e) {
  return result<posting_outcome>(boost::system::in_place_error, e);
}

// Applies the postings of one batch inside one write transaction.
//
// Lifetime: lives inside the transaction's scope; destroyed (closing its
// cursors) before the transaction commits or aborts.
class batch_writer {
 public:
  static result<batch_writer> open(MDB_txn* txn, const database_handles& dbs) {
    auto last = read_last_sequence(txn, dbs);
    if (!last) return last.error();
    auto journal = detail::cursor::open(txn, dbs.ledger_journal);
    if (!journal) return journal.error();
    auto debit = detail::cursor::open(txn, dbs.ledger_accounts);
    if (!debit) return debit.error();
    auto credit = detail::cursor::open(txn, dbs.ledger_accounts);
    if (!credit) return credit.error();
    return batch_writer(txn, dbs, *last, std::move(*journal), std::move(*debit),
                        std::move(*credit));
  }

  // One outcome per request; an error only when the whole transaction must
  // be abandoned. (posting_outcome is constructible from a store_error, so
  // result<posting_outcome> needs the error spelled out: see failed().)
  result<posting_outcome> apply(const posting_request& r) {
    posting_outcome outcome;
    outcome.entry.posting = r;
    if (auto e = check_shape(r)) {
      outcome.error = e;
      return outcome;
    }

    // Exactly-once: claim the settlement id for the next sequence. If it is
    // taken, this request is a retry (or a reuse) of an earlier posting.
    const std::uint64_t sequence = last_sequence_ + 1;
    char sequence_bytes[8];
    put_be64(sequence_bytes, sequence);
    MDB_val id_key = as_val(r.settlement_id);
    MDB_val id_value = as_val(sequence_bytes, sizeof sequence_bytes);
    int rc = mdb_put(txn_, dbs_.ledger_by_settlement, &id_key, &id_value, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      if (id_value.mv_size != 8) return failed(store_error::corrupt);
      std::uint64_t existing = get_be64(static_cast<const char*>(id_value.mv_data));
      auto original = read_journal(txn_, dbs_, existing);
      if (!original) return failed(original.error());
      if (codec::same_content(*original, r)) {
        outcome.duplicate = true;
        outcome.entry.sequence = existing;
        outcome.entry.posting = codec::to_request(*original);
      } else {
        outcome.error = store_error::idempotency_conflict;
      }
      return outcome;
    }
    if (rc != 0) return failed(lmdb_failure(rc, "mdb_put(by_settlement)"));

    // From here a refusal must release the claim.
    auto refuse = [&](store_error e) -> result<posting_outcome> {
      MDB_val key = as_val(r.settlement_id);
      int del_rc = mdb_del(txn_, dbs_.ledger_by_settlement, &key, nullptr);
      if (del_rc != 0) return failed(lmdb_failure(del_rc, "mdb_del(by_settlement)"));
      outcome.error = e;
      return outcome;
    };

    auto debit = seek_account(debit_.get(), r.debit_account);
    if (!debit) return failed(debit.error());
    auto credit = seek_account(credit_.get(), r.credit_account);
    if (!credit) return failed(credit.error());
    if (!*debit || !*credit) return refuse(store_error::unknown_account);
    codec::account_state& from = **debit;
    codec::account_state& to = **credit;
    if (from.frozen || to.frozen) return refuse(store_error::account_frozen);
    if (from.currency_view() != r.currency || to.currency_view() != r.currency) {
      return refuse(store_error::currency_mismatch);
    }

    std::int64_t refunded_after = 0;
    if (r.kind == entry_kind::refund) {
      auto original_sequence = find_sequence(txn_, dbs_, r.original_id);
      if (!original_sequence) return failed(original_sequence.error());
      if (!*original_sequence) return refuse(store_error::original_not_found);
      auto original = read_journal(txn_, dbs_, **original_sequence);
      if (!original) return failed(original.error());
      // A refund reverses a payment: merchant -> payer, in the payment's currency.
      if (original->kind != entry_kind::payment || original->debit_account != r.credit_account ||
          original->credit_account != r.debit_account || original->currency != r.currency) {
        return refuse(store_error::original_not_found);
      }
      const std::int64_t original_amount = original->amount_minor;
      auto refunded = read_refunded(txn_, dbs_, r.original_id);
      if (!refunded) return failed(refunded.error());
      if (__builtin_add_overflow(*refunded, r.amount_minor, &refunded_after) ||
          refunded_after > original_amount) {
        return refuse(store_error::refund_exceeds_payment);
      }
    }

    if (r.velocity && from.kind == account_kind::user) {
      auto within = within_velocity(r);
      if (!within) return failed(within.error());
      if (!*within) return refuse(store_error::velocity_limit);
    }

    if (floored(from.kind) && from.balance_minor < r.amount_minor) {
      return refuse(store_error::insufficient_funds);
    }
    std::int64_t from_after = 0;
    std::int64_t to_after = 0;
    if (__builtin_sub_overflow(from.balance_minor, r.amount_minor, &from_after) ||
        __builtin_add_overflow(to.balance_minor, r.amount_minor, &to_after)) {
      return refuse(store_error::invalid_argument);
    }

    // Invariants: floors hold, and the posting moves money without making any.
    PAYSYNC_ASSERT(!floored(from.kind) || from_after >= 0);
    PAYSYNC_ASSERT(!floored(to.kind) || to_after >= 0);
    PAYSYNC_ASSERT(static_cast<__int128>(from_after) + to_after ==
                   static_cast<__int128>(from.balance_minor) + to.balance_minor);
    batch_delta_ += (static_cast<__int128>(from_after) - from.balance_minor) +
                    (static_cast<__int128>(to_after) - to.balance_minor);
    from.balance_minor = from_after;
    to.balance_minor = to_after;

    // Both cursors still sit on their accounts (everything since the seek
    // only read, or wrote other databases; LMDB keeps the cursors of one
    // transaction valid across each other's writes), so overwrite in place.
    for (auto [cursor, id, state] : {std::tuple(debit_.get(), &r.debit_account, &from),
                                     std::tuple(credit_.get(), &r.credit_account, &to)}) {
      auto bytes = codec::encode_account(*state);
      MDB_val key = as_val(*id);
      MDB_val data = as_val(bytes.data(), bytes.size());
      rc = mdb_cursor_put(cursor, &key, &data, MDB_CURRENT);
      if (rc != 0) return failed(lmdb_failure(rc, "mdb_cursor_put(accounts)"));
    }

    // The journal key is always the next sequence: append without a search.
    buffer_.clear();
    codec::encode_posting(r, buffer_);
    MDB_val journal_key = as_val(sequence_bytes, sizeof sequence_bytes);
    MDB_val journal_value = as_val(buffer_);
    rc = mdb_cursor_put(journal_.get(), &journal_key, &journal_value, MDB_APPEND);
    if (rc == MDB_KEYEXIST) return failed(store_error::corrupt);  // meta is behind the journal
    if (rc != 0) return failed(lmdb_failure(rc, "mdb_cursor_put(journal)"));

    for (std::string_view id :
         {std::string_view(r.debit_account), std::string_view(r.credit_account)}) {
      account_index_key key(id, sequence);
      if (auto w = put(txn_, dbs_.ledger_by_account, key.val(), as_val(empty_value, 0),
                       "mdb_put(by_account)");
          !w) {
        return failed(w.error());
      }
    }

    if (r.kind == entry_kind::refund) {
      char total_bytes[8];
      put_be64(total_bytes, static_cast<std::uint64_t>(refunded_after));
      if (auto w = put(txn_, dbs_.ledger_refunds, as_val(r.original_id),
                       as_val(total_bytes, sizeof total_bytes), "mdb_put(refunds)");
          !w) {
        return failed(w.error());
      }
    }

    PAYSYNC_ASSERT(sequence == last_sequence_ + 1);
    last_sequence_ = sequence;
    outcome.entry.sequence = sequence;
    return outcome;
  }

  // Whether the payer's payments in the rule's window, this one included,
  // stay within its count and sum. Walks the debit account's history newest
  // first, in this transaction, so the batch's earlier postings count too.
  result<bool> within_velocity(const posting_request& r) {
    const velocity_rule& rule = *r.velocity;
    const std::int64_t since = r.time_unix_ms - rule.window_ms;
    std::uint64_t count = 1;
    __int128 sum = r.amount_minor;
    auto within = [&] { return count <= rule.max_count && sum <= rule.max_sum_minor; };
    auto walked = for_each_payment_since(txn_, dbs_, r.debit_account, since, [&](std::int64_t a) {
      sum += a;
      ++count;
      return within();
    });
    if (!walked) return walked.error();
    return within();
  }

  // Records the new last sequence (read once per batch, written once).
  result<void> finish() {
    PAYSYNC_ASSERT(batch_delta_ == 0);
    PAYSYNC_ASSERT(last_sequence_ >= first_sequence_);
    if (last_sequence_ == first_sequence_) return {};
    char bytes[8];
    put_be64(bytes, last_sequence_);
    return put(txn_, dbs_.ledger_meta, as_val(last_sequence_key), as_val(bytes, sizeof bytes),
               "mdb_put(meta)");
  }

 private:
  batch_writer(MDB_txn* txn, const database_handles& dbs, std::uint64_t last_sequence,
               detail::cursor journal, detail::cursor debit, detail::cursor credit)
      : txn_(txn),
        dbs_(dbs),
        first_sequence_(last_sequence),
        last_sequence_(last_sequence),
        journal_(std::move(journal)),
        debit_(std::move(debit)),
        credit_(std::move(credit)) {
    buffer_.reserve(512);
  }

  MDB_txn* txn_;
  const database_handles& dbs_;
  std::uint64_t first_sequence_;
  std::uint64_t last_sequence_;
  detail::cursor journal_;
  detail::cursor debit_;   // on ledger.accounts, at the posting's debit account
  detail::cursor credit_;  // on ledger.accounts, at the posting's credit account
  std::string buffer_;
  __int128 batch_delta_ = 0;
};

result<journal_entry> to_entry(std::uint64_t sequence, result<codec::posting_view> view) {
  if (!view) return view.error();
  return journal_entry{sequence, codec::to_request(*view)};
}

}  // namespace

ledger_store::ledger_store(environment& env) : env_(env) {}

result<void> ledger_store::create_account(const account& a) {
  if (auto e = check_account(a)) return *e;
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  if (auto r = insert_account(txn->get(), env_.impl().dbs(), a); !r) return r.error();
  return txn->commit();
}

result<void> ledger_store::create_accounts(const std::vector<account>& accounts) {
  if (accounts.size() > max_batch_requests) return store_error::invalid_argument;
  for (const auto& a : accounts) {
    if (auto e = check_account(a)) return *e;
  }
  if (accounts.empty()) return {};
  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  for (const auto& a : accounts) {
    if (auto r = insert_account(txn->get(), env_.impl().dbs(), a); !r) return r.error();
  }
  return txn->commit();
}

result<account> ledger_store::find_account(std::string_view id) const {
  if (!valid_id(id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  MDB_val key = as_val(id);
  MDB_val value;
  int rc = mdb_get(txn->get(), env_.impl().dbs().ledger_accounts, &key, &value);
  if (rc != 0) return lmdb_failure(rc, "mdb_get(accounts)");
  auto state = codec::decode_account(as_view(value));
  if (!state) return state.error();
  return codec::to_account(id, *state);
}

result<std::vector<account>> ledger_store::accounts_with_prefix(std::string_view prefix,
                                                                std::size_t limit) const {
  if (prefix.empty() || prefix.size() > 128 || limit > 100'000) {
    return store_error::invalid_argument;
  }
  std::vector<account> out;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  auto accounts = detail::cursor::open(txn->get(), env_.impl().dbs().ledger_accounts);
  if (!accounts) return accounts.error();
  MDB_val key = as_val(prefix);
  MDB_val value;
  // Keys sort bytewise: every id with the prefix follows the first one >= it.
  int rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_SET_RANGE);
  for (; rc == 0 && out.size() < limit;
       rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_NEXT)) {
    const auto id = as_view(key);
    if (id.substr(0, prefix.size()) != prefix) break;
    auto state = codec::decode_account(as_view(value));
    if (!state) return state.error();
    out.push_back(codec::to_account(id, *state));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(accounts)");
  return out;
}

result<std::vector<posting_outcome>> ledger_store::post_batch(
    const std::vector<posting_request>& requests) {
  auto posted = post(requests, true);
  if (!posted) return posted.error();
  return std::move(posted->outcomes);
}

result<ledger_store::unsynced_batch> ledger_store::post_batch_before_sync(
    const std::vector<posting_request>& requests) {
  return post(requests, false);
}

result<void> ledger_store::sync() {
  const int rc = mdb_env_sync(env_.impl().env(), 1);
  if (rc != 0) return lmdb_failure(rc, "mdb_env_sync");
  return {};
}

result<ledger_store::unsynced_batch> ledger_store::post(
    const std::vector<posting_request>& requests, bool durable_now) {
  if (requests.size() > max_batch_requests) return store_error::invalid_argument;
  unsynced_batch batch;
  auto& outcomes = batch.outcomes;
  outcomes.reserve(requests.size());
  if (requests.empty()) return batch;

  auto txn = env_.impl().begin_write();
  if (!txn) return txn.error();
  {
    auto writer = batch_writer::open(txn->get(), env_.impl().dbs());
    if (!writer) return writer.error();
    for (const auto& request : requests) {
      auto outcome = writer->apply(request);
      if (!outcome) return outcome.error();  // the transaction aborts: nothing lands
      outcomes.push_back(std::move(*outcome));
    }
    if (auto finished = writer->finish(); !finished) return finished.error();
  }  // the journal cursor closes here, before the commit
  PAYSYNC_ASSERT(outcomes.size() == requests.size());
  unsigned flags = 0;
  mdb_env_get_flags(env_.impl().env(), &flags);
  if (durable_now || (flags & MDB_NOMETASYNC) == 0) {
    batch.durable = true;
    if (auto committed = txn->commit(); !committed) return committed.error();
    batch.earlier_commits_durable = true;
    return batch;
  }
  auto committed = txn->commit_before_meta_sync();
  if (!committed) return committed.error();
  batch.earlier_commits_durable = *committed;
  return batch;
}

result<journal_entry> ledger_store::find_entry(std::string_view settlement_id) const {
  if (!valid_id(settlement_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  const auto& dbs = env_.impl().dbs();
  auto sequence = find_sequence(txn->get(), dbs, settlement_id);
  if (!sequence) return sequence.error();
  if (!*sequence) return store_error::not_found;
  return to_entry(**sequence, read_journal(txn->get(), dbs, **sequence));
}

result<std::vector<journal_entry>> ledger_store::history(std::string_view account_id,
                                                         std::uint64_t before_sequence,
                                                         std::size_t limit) const {
  if (!valid_id(account_id) || limit > max_page_entries) return store_error::invalid_argument;
  std::vector<journal_entry> entries;
  if (limit == 0) return entries;
  entries.reserve(limit);
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  const auto& dbs = env_.impl().dbs();
  {
    auto index = detail::cursor::open(txn->get(), dbs.ledger_by_account);
    if (!index) return index.error();
    const std::uint64_t bound = before_sequence == 0 ? UINT64_MAX : before_sequence;
    account_index_key start(account_id, bound);
    MDB_val key;
    MDB_val value;
    int rc = seek_before(index->get(), start, key, value);
    while (rc == 0 && entries.size() < limit) {
      auto sequence = account_index_key::sequence_of(as_view(key), start.prefix());
      if (!sequence) break;  // walked past this account's first entry
      PAYSYNC_ASSERT(*sequence < bound);
      auto entry = to_entry(*sequence, read_journal(txn->get(), dbs, *sequence));
      if (!entry) return entry.error();
      entries.push_back(std::move(*entry));
      rc = mdb_cursor_get(index->get(), &key, &value, MDB_PREV);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(by_account)");
  }
  return entries;
}

result<ledger_store::spending> ledger_store::spending_since(std::string_view account_id,
                                                            std::int64_t since_unix_ms,
                                                            std::uint32_t count_cap) const {
  if (!valid_id(account_id)) return store_error::invalid_argument;
  spending out;
  if (count_cap == 0) return out;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  __int128 sum = 0;
  auto walked = for_each_payment_since(txn->get(), env_.impl().dbs(), account_id, since_unix_ms,
                                       [&](std::int64_t amount_minor) {
                                         sum += amount_minor;
                                         return ++out.count < count_cap;
                                       });
  if (!walked) return walked.error();
  out.sum_minor = sum > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(sum);
  return out;
}

result<std::vector<journal_entry>> ledger_store::journal(std::uint64_t from_sequence,
                                                         std::size_t limit) const {
  if (limit > max_page_entries) return store_error::invalid_argument;
  std::vector<journal_entry> entries;
  if (limit == 0) return entries;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  {
    auto journal = detail::cursor::open(txn->get(), env_.impl().dbs().ledger_journal);
    if (!journal) return journal.error();
    char start[8];
    put_be64(start, from_sequence);
    MDB_val key = as_val(start, sizeof start);
    MDB_val value;
    int rc = mdb_cursor_get(journal->get(), &key, &value, MDB_SET_RANGE);
    std::uint64_t previous = 0;
    while (rc == 0 && entries.size() < limit) {
      if (key.mv_size != 8) return store_error::corrupt;
      std::uint64_t sequence = get_be64(static_cast<const char*>(key.mv_data));
      PAYSYNC_ASSERT(sequence >= from_sequence && sequence > previous);
      previous = sequence;
      auto entry = to_entry(sequence, codec::decode_posting(as_view(value)));
      if (!entry) return entry.error();
      entries.push_back(std::move(*entry));
      rc = mdb_cursor_get(journal->get(), &key, &value, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(journal)");
  }
  return entries;
}

result<std::int64_t> ledger_store::refunded_minor(std::string_view original_id) const {
  if (!valid_id(original_id)) return store_error::invalid_argument;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  return read_refunded(txn->get(), env_.impl().dbs(), original_id);
}

result<std::map<std::string, std::int64_t>> ledger_store::balance_totals() const {
  std::map<std::string, __int128, std::less<>> sums;
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  {
    auto accounts = detail::cursor::open(txn->get(), env_.impl().dbs().ledger_accounts);
    if (!accounts) return accounts.error();
    MDB_val key;
    MDB_val value;
    int rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_NEXT)) {
      auto state = codec::decode_account(as_view(value));
      if (!state) return state.error();
      auto it = sums.find(state->currency_view());
      if (it == sums.end()) it = sums.emplace(std::string(state->currency_view()), 0).first;
      it->second += state->balance_minor;
    }
    if (rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(accounts)");
  }
  std::map<std::string, std::int64_t> totals;
  for (const auto& [currency, sum] : sums) {
    if (sum < INT64_MIN || sum > INT64_MAX) return store_error::corrupt;
    totals.emplace(currency, static_cast<std::int64_t>(sum));
  }
  return totals;
}

result<std::vector<std::string>> ledger_store::audit() const {
  // One snapshot for both passes, so concurrent postings cannot skew it.
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  const auto& dbs = env_.impl().dbs();
  std::map<std::string, __int128, std::less<>> expected;
  auto add = [&](std::string_view id, __int128 delta) {
    auto it = expected.find(id);
    if (it == expected.end()) it = expected.emplace(std::string(id), 0).first;
    it->second += delta;
  };
  std::vector<std::string> disagreeing;
  {
    auto journal = detail::cursor::open(txn->get(), dbs.ledger_journal);
    if (!journal) return journal.error();
    MDB_val key;
    MDB_val value;
    int rc = mdb_cursor_get(journal->get(), &key, &value, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(journal->get(), &key, &value, MDB_NEXT)) {
      auto posting = codec::decode_posting(as_view(value));
      if (!posting) return posting.error();
      add(posting->debit_account, -static_cast<__int128>(posting->amount_minor));
      add(posting->credit_account, posting->amount_minor);
    }
    if (rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(journal)");

    auto accounts = detail::cursor::open(txn->get(), dbs.ledger_accounts);
    if (!accounts) return accounts.error();
    rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(accounts->get(), &key, &value, MDB_NEXT)) {
      std::string_view id = as_view(key);
      auto state = codec::decode_account(as_view(value));
      auto it = expected.find(id);
      __int128 computed = it == expected.end() ? 0 : it->second;
      // An undecodable balance cannot agree with anything.
      if (!state || computed != state->balance_minor) disagreeing.emplace_back(id);
      if (it != expected.end()) expected.erase(it);
    }
    if (rc != MDB_NOTFOUND) return lmdb_failure(rc, "mdb_cursor_get(accounts)");
  }
  // Accounts the journal names that no longer exist at all.
  for (const auto& [id, computed] : expected) disagreeing.push_back(id);
  std::sort(disagreeing.begin(), disagreeing.end());
  return disagreeing;
}

result<std::uint64_t> ledger_store::entry_count() const {
  auto txn = env_.impl().begin_read();
  if (!txn) return txn.error();
  return read_last_sequence(txn->get(), env_.impl().dbs());
}

}  // namespace paysync::storage
