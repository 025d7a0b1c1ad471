#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/clock.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"

namespace paysync::actors {

struct registry_shard_config {
  std::uint8_t node_id = 0;
  std::uint16_t shard_index = 0;
  std::uint16_t shard_count = 1;
  // How often the shard looks for expired transactions; 0 = only on tick_atom
  // (tests drive it by hand with a manual clock).
  std::int64_t sweep_interval_ms = 250;
  std::size_t max_live = 1'000'000;  // live transactions in this shard
  // Closed ids are remembered (to answer "already settled" rather than
  // "unknown") for this long and up to this many.
  std::int64_t tombstone_ttl_ms = 600'000;
  std::size_t max_tombstones = 200'000;
  std::shared_ptr<const clock> time;
  switch_metrics* metrics = nullptr;  // open_transactions; may be null in tests
};

struct registry_entry {
  txn_ticket ticket;
  std::string code_key;          // "<till>:<code>"
  paying_session_actor handset;  // set while a handset has joined
};

struct registry_shard_state {
  registry_shard_config config;
  std::unordered_map<std::string, registry_entry> by_txn;
  std::unordered_map<std::string, std::string> txn_by_token;
  std::unordered_map<std::string, std::string> txn_by_code;
  // (expiry, txn), earliest first; entries closed earlier are skipped lazily.
  using deadline = std::pair<std::int64_t, std::string>;
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines;
  // txn ids and link tokens of closed transactions -> how they ended.
  std::unordered_map<std::string, ending> tombstones;
  std::deque<std::pair<std::int64_t, std::string>> tombstone_order;
  shard_stats stats;
  static inline const char* name = "registry_shard";
};

registry_shard_actor::behavior_type registry_shard(
    registry_shard_actor::stateful_pointer<registry_shard_state> self,
    registry_shard_config config);

}  // namespace paysync::actors
