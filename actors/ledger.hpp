#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actors/clock.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::actors {

struct ledger_config {
  storage::ledger_store* store = nullptr;  // outlives the actor
  std::size_t batch_max = 1024;            // postings per durable commit
  std::shared_ptr<const clock> time;
  switch_metrics* metrics = nullptr;  // may be null in tests
  // The payer velocity limit enforced at commit on this node's partition (the
  // sessions' own check at `amount` reads only their node's copy).
  std::optional<storage::velocity_rule> velocity;
};

struct ledger_state {
  ledger_config config;
  using waiting = std::pair<settlement_order, caf::typed_response_promise<settlement_outcome>>;
  using waiting_answer =
      std::pair<caf::typed_response_promise<settlement_outcome>, settlement_outcome>;
  std::vector<waiting> pending;
  bool flush_queued = false;
  // Committed and visible, answered only once flushed to disk: by the next
  // commit's flush, or by the durable_atom the ledger sends itself when no
  // commit follows (environment_options::single_flush_commits).
  std::vector<waiting_answer> unsynced;
  bool durable_queued = false;
  std::vector<storage::posting_request> batch;  // reused between commits
  ledger_stats stats;
  // Cluster accounts known to exist (docs/cluster.md): created on first use.
  std::unordered_set<std::string> cluster_accounts;
  // Set when the disk refused a flush; from then on the ledger vouches for
  // nothing (see fail_stop in ledger.cpp) until the switch is restarted.
  std::string disk_failure;
  static inline const char* name = "ledger";
};

// Group commit: every settle request that is in the mailbox when a flush runs
// goes into one LMDB write transaction; each caller hears back only after
// that commit is durable. With single-flush commits (the switch's setting)
// a commit flushes the file once and becomes durable with the next flush:
// the next batch's commit when one follows at once, else an explicit one. Spawn it detached (its
// own thread) so the fsync never blocks the scheduler's workers.
ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   ledger_config config);

}  // namespace paysync::actors
