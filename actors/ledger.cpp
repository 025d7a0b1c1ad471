#include "actors/ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>

namespace paysync::actors {
namespace {

using protocols::wire_error;
using self_ptr = ledger_actor::stateful_pointer<ledger_state>;

settlement_outcome refusal(storage::store_error e) {
  settlement_outcome out;
  out.ok = false;
  switch (e) {
    case storage::store_error::insufficient_funds:
      out.error = wire_error::insufficient_funds;
      out.message = "the available balance of the account to debit is below the amount";
      break;
    case storage::store_error::currency_mismatch:
      out.error = wire_error::currency_mismatch;
      out.message = "the payer's and the merchant's accounts are in different currencies";
      break;
    case storage::store_error::account_frozen:
      out.error = wire_error::payer_blocked;
      out.message = "an account of this payment is frozen";
      break;
    case storage::store_error::refund_exceeds_payment:
      out.error = wire_error::refund_exceeds_payment;
      out.message = "refunds would exceed the amount paid";
      break;
    case storage::store_error::original_not_found:
      out.error = wire_error::unknown_txn;
      out.message = "the payment to refund is not in the ledger";
      break;
    case storage::store_error::velocity_limit:
      out.error = wire_error::velocity_limit;
      out.message =
          "the payer's payments in the velocity window would exceed the count or sum allowed; "
          "nothing was charged";
      break;
    case storage::store_error::idempotency_conflict:
      out.error = wire_error::idempotency_conflict;
      out.message = "this idempotency key was used for a different posting";
      break;
    default:
      out.error = wire_error::internal;
      out.message = "the ledger refused the settlement (" + std::string(storage::to_string(e)) +
                    "); nothing was charged";
      break;
  }
  return out;
}

// In a cluster, settlements credit a per-partition clearing account of the
// merchant and windows move money through per-peer internode accounts
// (docs/cluster.md). Both are system accounts (they may go negative: an
// internode account is what one node owes another) and are made on first use,
// here, by the ledger's single writer.
void ensure_cluster_accounts(self_ptr self, const settlement_order& order) {
  auto& st = self->state;
  for (const auto* id : {&order.debit_account, &order.credit_account}) {
    if (id->rfind("clearing:", 0) != 0 && id->rfind("internode:", 0) != 0) continue;
    if (st.cluster_accounts.count(*id) > 0) continue;
    if (!st.config.store->find_account(*id)) {
      auto made = st.config.store->create_account(
          storage::account{*id, order.currency, storage::account_kind::system, 0, false});
      if (!made && made.error() != storage::store_error::already_exists) {
        spdlog::error("ledger: cannot create account {}: {}", *id,
                      storage::to_string(made.error()));
        continue;  // the posting is then refused as unknown_account
      }
    }
    st.cluster_accounts.insert(*id);
  }
}

// A flush the disk refused leaves every commit since the last good flush in
// doubt, visible as they are: Linux may drop the dirty pages it failed to
// write, and a later flush that succeeds does not write them again. So from
// then on the ledger vouches for nothing: no settlement is taken, and `find`
// and `history` answer that the ledger cannot tell, instead of reporting as
// settled a payment that a power cut could undo. It lasts until the switch is
// restarted (by then an operator has looked at the disk).
void fail_stop(self_ptr self, storage::store_error e) {
  auto& st = self->state;
  if (!st.disk_failure.empty()) return;
  st.disk_failure = "the ledger's disk failed (" + std::string(storage::to_string(e)) +
                    "); the switch takes no settlement and confirms none until it is restarted";
  spdlog::critical(
      "ledger: the disk failed ({}): settlements are refused from now on and no past payment "
      "is confirmed; check the disk, then restart the switch",
      storage::to_string(e));
}

// What a settlement hears while the ledger is stopped by a disk failure.
settlement_outcome refused_for_disk_failure(const ledger_state& st) {
  settlement_outcome out;
  out.error = wire_error::internal;
  out.message = st.disk_failure + "; nothing was charged";
  return out;
}

// Answers the settlements whose commits are now on disk.
void answer_unsynced(self_ptr self) {
  auto& st = self->state;
  for (auto& [promise, outcome] : st.unsynced) promise.deliver(std::move(outcome));
  st.unsynced.clear();
}

// Flushes the file so that every commit so far is durable, then answers them.
void make_unsynced_durable(self_ptr self) {
  auto& st = self->state;
  if (st.unsynced.empty()) return;
  if (auto synced = st.config.store->sync(); !synced) {
    // Committed and visible, but the disk refused the flush: whether they
    // survive a power cut is unknown, so no one is told they settled.
    spdlog::error("ledger: flushing {} committed postings failed: {}", st.unsynced.size(),
                  storage::to_string(synced.error()));
    fail_stop(self, synced.error());
    for (auto& [promise, outcome] : st.unsynced) {
      settlement_outcome out;
      out.error = wire_error::internal;
      out.message = "the ledger committed the settlement but the disk refused to flush it (" +
                    std::string(storage::to_string(synced.error())) +
                    "); ask for its status after the switch restarts";
      promise.deliver(std::move(out));
    }
    st.unsynced.clear();
    return;
  }
  answer_unsynced(self);
}

ledger_record record_of(const storage::journal_entry& e) {
  const auto& p = e.posting;
  ledger_record out;
  out.found = true;
  out.settlement_id = p.settlement_id;
  out.kind = p.kind == storage::entry_kind::refund ? posting_kind::refund : posting_kind::payment;
  out.original_id = p.original_id;
  out.debit_account = p.debit_account;
  out.credit_account = p.credit_account;
  out.amount_minor = p.amount_minor;
  out.currency = p.currency;
  out.sequence = e.sequence;
  out.settled_unix_ms = p.time_unix_ms;
  out.memo = p.memo;
  return out;
}

// Claim 14: an account's payments and refunds, newest first. Top-ups are no
// purchases: they are skipped, and pages are read until `limit` entries are
// found or the journal of the account ends.
history_page history_of(const storage::ledger_store& store, const std::string& account,
                        std::uint64_t before, std::uint32_t limit) {
  history_page out;
  bool exhausted = false;
  while (out.entries.size() < limit && !exhausted) {
    auto page = store.history(account, before, limit);
    if (!page) {
      out.ok = false;
      return out;
    }
    exhausted = page->size() < limit;
    for (const auto& e : *page) {
      before = e.sequence;
      if (e.posting.kind != storage::entry_kind::payment &&
          e.posting.kind != storage::entry_kind::refund) {
        continue;
      }
      out.entries.push_back(record_of(e));
      if (out.entries.size() == limit) break;
    }
  }
  // A full page may be followed by more: the next page starts below its last entry.
  if (out.entries.size() == limit) out.next_before = out.entries.back().sequence;
  return out;
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) return;
  if (!st.disk_failure.empty()) {
    // Accepted before the disk failed: a commit now could succeed and be
    // confirmed while earlier ones stay in doubt.
    for (auto& [order, promise] : st.pending) promise.deliver(refused_for_disk_failure(st));
    st.pending.clear();
    return;
  }
  const std::size_t n = std::min(st.pending.size(), st.config.batch_max);
  const auto now = st.config.time->now_unix_ms();
  st.batch.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& order = st.pending[i].first;
    ensure_cluster_accounts(self, order);
    storage::posting_request p;
    p.settlement_id = order.settlement_id;
    p.debit_account = order.debit_account;
    p.credit_account = order.credit_account;
    p.amount_minor = order.amount_minor;
    p.currency = order.currency;
    p.kind = order.kind == posting_kind::refund ? storage::entry_kind::refund
                                                : storage::entry_kind::payment;
    p.original_id = order.original_id;
    p.time_unix_ms = now;
    p.memo = order.memo;
    if (order.kind == posting_kind::payment) p.velocity = st.config.velocity;
    st.batch.push_back(std::move(p));
  }
  const auto started = std::chrono::steady_clock::now();
  auto posted = st.config.store->post_batch_before_sync(st.batch);
  if (auto* m = st.config.metrics) {
    ++m->ledger_commits;
    m->ledger_postings += posted ? n : 0;
    m->ledger_commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    m->ledger_batch_size.observe(static_cast<double>(n));
  }
  ++st.stats.commits;
  st.stats.largest_batch = std::max<std::uint64_t>(st.stats.largest_batch, n);
  // This commit's flush made the earlier ones durable; if it flushed nothing
  // (it failed, or wrote nothing) they still need one.
  if (posted && posted->earlier_commits_durable) {
    answer_unsynced(self);
  } else {
    make_unsynced_durable(self);
  }
  for (std::size_t i = 0; i < n; ++i) {
    settlement_outcome out;
    if (!posted) {
      out.error = wire_error::internal;
      out.message = "the ledger could not commit (" +
                    std::string(storage::to_string(posted.error())) + "); nothing was charged";
    } else if (const auto& o = posted->outcomes[i]; o.error) {
      out = refusal(*o.error);
      ++st.stats.refusals;
    } else {
      out.ok = true;
      out.sequence = o.entry.sequence;
      out.settled_unix_ms = o.entry.posting.time_unix_ms;
      out.duplicate = o.duplicate;
      ++st.stats.postings;
    }
    // A refusal or a failed commit changed nothing on disk, but it is
    // answered in order with the rest: a refusal may depend on a posting of
    // an earlier, not yet durable, batch.
    if (posted && !posted->durable) {
      st.unsynced.emplace_back(std::move(st.pending[i].second), std::move(out));
    } else {
      st.pending[i].second.deliver(std::move(out));
    }
  }
  if (!posted) {
    spdlog::error("ledger: commit of {} postings failed: {}", n,
                  storage::to_string(posted.error()));
    // The commit flushes its pages first: io_error may be the disk refusing
    // that flush (a full map is no disk failure).
    if (posted.error() == storage::store_error::io_error) fail_stop(self, posted.error());
  }
  st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(n));
  if (!st.pending.empty()) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  } else if (!st.unsynced.empty() && !st.durable_queued) {
    // Behind every settle request that arrives meanwhile: if one does, its
    // commit's flush serves instead.
    st.durable_queued = true;
    self->send(self, durable_atom::value);
  }
}

}  // namespace

ledger_actor::behavior_type ledger(self_ptr self, ledger_config config) {
  self->state.config = std::move(config);
  self->state.batch.reserve(self->state.config.batch_max);
  // Told to stop: what is committed gets flushed and answered (it is money
  // that moved); requests not yet committed are dropped, and their sessions
  // say nothing was charged.
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    make_unsynced_durable(self);
    self->quit(msg.reason);
  });
  return {
      [=](settle_atom, settlement_order& order) {
        auto promise = self->make_response_promise<settlement_outcome>();
        if (!self->state.disk_failure.empty()) {
          promise.deliver(refused_for_disk_failure(self->state));
          return promise;
        }
        self->state.pending.emplace_back(std::move(order), promise);
        // The flush goes to the back of the mailbox, behind every settle
        // request already waiting: they all share its commit.
        if (!self->state.flush_queued) {
          self->state.flush_queued = true;
          self->send(self, flush_atom::value);
        }
        return promise;
      },
      [=](flush_atom) { flush(self); },
      [=](durable_atom) {
        self->state.durable_queued = false;
        // A commit is on its way: its flush makes these durable.
        if (self->state.flush_queued) return;
        make_unsynced_durable(self);
      },
      [=](find_atom, const std::string& txn) {
        // A commit not yet flushed is visible to readers; flushing first means
        // a status query never reports a payment that a power cut could undo.
        make_unsynced_durable(self);
        if (!self->state.disk_failure.empty()) {
          ledger_record out;
          out.unavailable = self->state.disk_failure;
          return out;
        }
        auto entry = self->state.config.store->find_entry(txn);
        if (!entry || entry->posting.kind != storage::entry_kind::payment) return ledger_record{};
        return record_of(*entry);
      },
      [=](history_atom, const std::string& account, std::uint64_t before, std::uint32_t limit) {
        make_unsynced_durable(self);
        if (!self->state.disk_failure.empty()) {
          history_page out;
          out.ok = false;
          return out;
        }
        return history_of(*self->state.config.store, account, before, limit);
      },
      [=](stats_atom) { return self->state.stats; },
  };
}

}  // namespace paysync::actors
