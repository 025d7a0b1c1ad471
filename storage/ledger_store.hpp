#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/environment.hpp"

namespace paysync::storage {

enum class account_kind : std::uint8_t {
  user = 1,      // a payer's wallet: may never go below zero
  merchant = 2,  // receives payments, pays refunds: may never go below zero
  system = 3,    // the float that funds wallets: may go negative (it is the issuer's liability)
};

struct account {
  std::string id;        // e.g. "user:u-1001", "merchant:m-kahawa", "system:float:KES"
  std::string currency;  // ISO 4217 alphabetic code, three upper-case letters
  account_kind kind = account_kind::user;
  std::int64_t balance_minor = 0;
  bool frozen = false;  // a frozen account can neither be debited nor credited
  friend bool operator==(const account&, const account&) = default;
};

enum class entry_kind : std::uint8_t {
  payment = 1,  // payer -> merchant
  refund = 2,   // merchant -> payer, tied to an earlier payment by `original_id`
  funding = 3,  // system float -> wallet (demo seeding, operator top-ups)
};

// A payer's spending limit over a sliding window, checked when a payment
// from a user account is committed (other debits ignore it): the payments the
// debit account made in the `window_ms` before the posting's time, plus this
// one, may number at most `max_count` and sum to at most `max_sum_minor`. Checked in the commit's
// own transaction, so it holds across racing payments and whichever node the payment came through
// (docs/cluster.md).
struct velocity_rule {
  std::int64_t window_ms = 0;  // > 0
  std::uint32_t max_count = 0;
  std::int64_t max_sum_minor = 0;
  friend bool operator==(const velocity_rule&, const velocity_rule&) = default;
};

// One balanced journal entry: `amount_minor` leaves `debit_account` and
// arrives in `credit_account`, so the sum of all balances never changes.
struct posting_request {
  std::string settlement_id;  // unique per entry; the idempotency key of the posting
  std::string debit_account;
  std::string credit_account;
  std::int64_t amount_minor = 0;  // > 0
  std::string currency;           // must equal both accounts' currency
  entry_kind kind = entry_kind::payment;
  std::string original_id;  // refunds only: the settlement_id of the payment refunded
  std::int64_t time_unix_ms = 0;
  std::string memo;  // free text kept with the entry (merchant reference), <= 256 bytes
  // Payments only: the payer's limit, checked at commit; not stored with the
  // entry and not part of its content (a retry may carry another rule).
  std::optional<velocity_rule> velocity;
  friend bool operator==(const posting_request&, const posting_request&) = default;
};

struct journal_entry {
  std::uint64_t sequence = 0;  // 1, 2, 3, ... in commit order; never reused
  posting_request posting;
  friend bool operator==(const journal_entry&, const journal_entry&) = default;
};

struct posting_outcome {
  // Set when the posting was refused; the batch's other postings are unaffected.
  std::optional<store_error> error;
  // The committed entry (the original one when `duplicate`).
  journal_entry entry;
  // True when `settlement_id` was already in the journal with the same content:
  // nothing was posted again and `entry` is the first posting.
  bool duplicate = false;
};

// The double-entry ledger. Balances, the journal, a settlement-id index (for
// exactly-once), a per-account history index and refund totals all live in one
// LMDB environment and change only together, inside one write transaction.
//
// Threading: post_batch() and create_account() write and must be called from
// one thread at a time (the ledger actor); every const method may be called
// from any thread concurrently.
class ledger_store {
 public:
  explicit ledger_store(environment& env);

  // REQUIRES: id non-empty (<= 128 bytes), currency is three upper-case letters.
  // Fails with already_exists when the id is taken (whatever its content).
  // Fails with invalid_argument when balance_minor != 0 or kind is not an
  // account_kind: money only ever enters an account through a posting, so that
  // balances always equal their journal (see audit()).
  result<void> create_account(const account& a);
  // create_account for up to 10000 accounts in ONE write transaction, all or
  // nothing: the first refused account's error is returned and none is created
  // (a batch naming one id twice fails with already_exists). For seeding.
  result<void> create_accounts(const std::vector<account>& accounts);
  result<account> find_account(std::string_view id) const;
  // Accounts whose id starts with `prefix`, in id order, at most `limit`
  // (<= 100000): the clearing accounts a settlement window nets
  // (docs/cluster.md).
  result<std::vector<account>> accounts_with_prefix(std::string_view prefix,
                                                    std::size_t limit) const;

  // Applies every request in order inside ONE write transaction and commits it
  // durably (fsync) before returning, so a caller may acknowledge each
  // successful outcome the moment this returns. Each request is checked against
  // the balances left by the requests before it; a refused request changes
  // nothing. Checks, in order: shape (amount > 0, currency, distinct accounts,
  // ids non-empty) -> invalid_argument; duplicate settlement_id (same content ->
  // duplicate outcome, different content -> idempotency_conflict); both accounts
  // exist -> unknown_account; neither frozen -> account_frozen; both in the
  // request's currency -> currency_mismatch; refunds: original exists and is a
  // payment between the same two accounts reversed -> original_not_found, and
  // the refunds so far plus this one <= the original amount ->
  // refund_exceeds_payment; a payment with a velocity rule stays within it
  // (counting the batch's earlier postings) -> velocity_limit; a user/merchant
  // debit never goes below zero -> insufficient_funds; a credit (or a system debit) that would
  // overflow int64
  // -> invalid_argument.
  // Shape in detail: settlement_id, debit_account, credit_account <= 128 bytes;
  // memo <= 256 bytes; kind is an entry_kind; original_id is non-empty (and not
  // the settlement_id itself) for refunds and empty otherwise; a velocity rule
  // only on payments, with window_ms > 0 and max_sum_minor >= 0.
  // "Same content" means every field except time_unix_ms (a retry is stamped
  // later than the original).
  // Returns one outcome per request, in order. Returns an error (and commits
  // nothing) only when the transaction itself fails (map_full, io_error, or
  // corrupt when a stored record no longer decodes), and invalid_argument when
  // the batch holds more than 10000 requests.
  result<std::vector<posting_outcome>> post_batch(const std::vector<posting_request>& requests);

  // The same commit with one flush (environment_options::single_flush_commits):
  // the batch is visible at once but durable only after the next flush,
  // which `earlier_commits_durable` says this commit was, for every batch
  // before it. Without single-flush commits it is post_batch, durable at once.
  struct unsynced_batch {
    std::vector<posting_outcome> outcomes;
    bool earlier_commits_durable = false;
    bool durable = false;  // this batch too: the environment flushes twice per commit
  };
  result<unsynced_batch> post_batch_before_sync(const std::vector<posting_request>& requests);
  // Flushes the file: every commit so far is durable when it returns.
  result<void> sync();

  result<journal_entry> find_entry(std::string_view settlement_id) const;

  // Entries touching `account_id`, newest first, with sequence < before_sequence
  // (0 = from the newest), at most `limit` (<= 1000).
  result<std::vector<journal_entry>> history(std::string_view account_id,
                                             std::uint64_t before_sequence,
                                             std::size_t limit) const;

  // The payments `account_id` made as the payer stamped at or after
  // `since_unix_ms`: how many, and their sum (saturating at INT64_MAX). Stops
  // counting at `count_cap`; below it the count and sum cover the whole
  // window. For the velocity check before a payment: unlike history(), it
  // allocates nothing per entry.
  struct spending {
    std::uint32_t count = 0;
    std::int64_t sum_minor = 0;
  };
  result<spending> spending_since(std::string_view account_id, std::int64_t since_unix_ms,
                                  std::uint32_t count_cap) const;

  // Journal entries with sequence >= from_sequence, oldest first, at most `limit`
  // (<= 1000).
  result<std::vector<journal_entry>> journal(std::uint64_t from_sequence, std::size_t limit) const;

  // Sum of the refunds already posted against a payment (0 when none).
  result<std::int64_t> refunded_minor(std::string_view original_id) const;

  // Sum of all account balances per currency. Double entry keeps every sum 0.
  result<std::map<std::string, std::int64_t>> balance_totals() const;

  // Recomputes every balance from the journal and compares it with the stored
  // balance; returns the ids of accounts that disagree (empty when consistent).
  result<std::vector<std::string>> audit() const;

  // Number of journal entries (== the last sequence).
  result<std::uint64_t> entry_count() const;

 private:
  result<unsynced_batch> post(const std::vector<posting_request>& requests, bool durable_now);
  environment& env_;
};

}  // namespace paysync::storage
