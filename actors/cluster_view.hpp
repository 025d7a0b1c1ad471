#pragma once

// The cluster as the sessions see it (docs/cluster.md):
// - cluster_map: which peer nodes are up and the handles of their registry
//   shards, presence shards and ledger. Written by node_directory, read by
//   every session when it routes a transaction id to the node that owns it.
// - cluster_view: an actor with the presence interface that asks this node's
//   presence shard first, then every peer that is up, so a merchant or a
//   handset connected to any node is found (flows B and C).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "actors/interfaces.hpp"

namespace paysync::actors {

// The presence shard of `key` among `count` (the same on every node: the
// same binary hashes the same way).
std::size_t presence_index(std::string_view key, std::size_t count);

// Thread-safe: sessions on any CAF worker read it under a shared lock.
class cluster_map {
 public:
  // `nodes`: every node of the cluster, this one included (the partitions).
  cluster_map(std::uint8_t self, std::vector<std::uint8_t> nodes);
  cluster_map(const cluster_map&) = delete;
  cluster_map& operator=(const cluster_map&) = delete;

  std::uint8_t self() const { return self_; }
  // The node whose ledger partition holds `account_id` (a payer's wallet, a
  // merchant's account): a stable hash of the id over the sorted node list,
  // the same on every node configured with the same nodes.
  std::uint8_t home_of(std::string_view account_id) const;
  void up(node_card card);
  void down(std::uint8_t node);
  bool is_up(std::uint8_t node) const;
  bool is_member(std::uint8_t node) const;                           // configured, up or not
  const std::vector<std::uint8_t>& nodes() const { return nodes_; }  // sorted, self included
  // A peer's registry shard (a remote proxy); nullopt when the node is not up
  // or has no such shard.
  std::optional<registry_shard_actor> registry(std::uint8_t node, std::uint8_t shard) const;
  // A peer's ledger; nullopt when the node is not up.
  std::optional<ledger_actor> ledger(std::uint8_t node) const;
  // A peer's settlement window; nullopt when the node is not up.
  std::optional<settlement_window_actor> windows(std::uint8_t node) const;
  // Every peer that is up, in node order (copies: handles are reference-counted).
  std::vector<node_card> peers_up() const;

 private:
  const std::uint8_t self_;
  const std::vector<std::uint8_t> nodes_;  // sorted
  mutable std::shared_mutex mutex_;
  std::map<std::uint8_t, node_card> up_;  // peers only, never self
};

struct cluster_view_config {
  std::shared_ptr<const cluster_map> map;
  std::vector<presence_shard_actor> local;        // this node's presence shards
  std::chrono::milliseconds peer_timeout{2'000};  // per peer asked
};

struct cluster_view_state {
  cluster_view_config config;
  static inline const char* name = "cluster_view";
};

// REQUIRES: config.local is not empty.
presence_shard_actor::behavior_type cluster_view(
    presence_shard_actor::stateful_pointer<cluster_view_state> self, cluster_view_config config);

}  // namespace paysync::actors
