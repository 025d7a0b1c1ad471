#pragma once

// Settlement windows across ledger partitions (docs/cluster.md).
//
// In a cluster every settlement is one durable commit on the payer's
// partition: it debits the payer and credits `clearing:<merchant>` there.
// Closing a window nets each clearing account with a positive balance: one
// commit here moves it to the merchant's account (merchant homed here) or to
// `internode:<home>:<currency>` (homed elsewhere); then the home node's window
// books `internode:<this node>:<currency>` -> `merchant:<id>`. Each posting has
// a settlement id derived from the window, so a transfer sent twice is booked
// once; a transfer whose home node is down stays pending here and is sent
// again at every later close and when this node starts (read back from the
// internode accounts' history). No distributed transaction, and nothing is
// lost when a node dies mid-window: every step is a local durable commit
// that the next step can redo.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/clock.hpp"
#include "actors/cluster_view.hpp"
#include "actors/interfaces.hpp"

namespace paysync::storage {
class ledger_store;
}

namespace paysync::actors {

struct settlement_window_config {
  std::uint8_t node = 0;
  std::shared_ptr<const cluster_map> map;
  ledger_actor ledger;                           // this node's (the single writer)
  const storage::ledger_store* reads = nullptr;  // this node's, for balances and history
  std::shared_ptr<const clock> time;
  std::string report_directory;           // one JSON file per closed window
  std::chrono::milliseconds interval{0};  // 0: close only on command
  std::chrono::milliseconds peer_timeout{5'000};
  std::size_t max_clearing_accounts = 100'000;  // per close
};

struct settlement_window_state {
  settlement_window_config config;
  std::vector<netting_transfer> undelivered;  // booked here, not yet at their home node
  bool closing = false;
  static inline const char* name = "settlement_window";
};

settlement_window_actor::behavior_type settlement_window(
    settlement_window_actor::stateful_pointer<settlement_window_state> self,
    settlement_window_config config);

// The report of one partition as JSON (also written to the report directory).
std::string to_json(const window_report& r);

}  // namespace paysync::actors
