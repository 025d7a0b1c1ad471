#pragma once

// Who is up in the cluster (docs/cluster.md). One per node, published on the
// node's cluster port (CAF remoting). Only the lower node id of a pair dials
// (one BASP connection per pair, docs/cluster.md), so a node learns
// of another in one of two ways:
// - a peer with a higher id: this node's own peer_link dials it and tells the
//   directory when it comes up (with the peer's card) and when it goes down;
// - a peer with a lower id: its peer_link greets this directory with its own
//   card; the directory marks it up, monitors the greeting peer_link (a remote
//   proxy) and marks the peer down when that monitor fires.
// It keeps the cluster_map the sessions route by and the
// paysync_cluster_peer_up metric.

#include <caf/actor_addr.hpp>
#include <map>
#include <memory>
#include <vector>

#include "actors/clock.hpp"
#include "actors/cluster_config.hpp"
#include "actors/cluster_view.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"

namespace paysync::actors {

struct node_directory_config {
  node_card local;                   // this node's shards and ledger
  std::vector<peer_address> peers;   // every configured peer, up or not
  std::shared_ptr<cluster_map> map;  // written here only
  std::shared_ptr<const clock> time;
  switch_metrics* metrics = nullptr;  // never null
};

struct node_directory_state {
  node_directory_config config;
  std::map<std::uint8_t, member_status> members;  // configured peers
  // Peers with a lower id: the peer_link that greeted last (monitored). A
  // down message from any other address comes from an older incarnation of
  // that peer, already replaced by a fresh greet, and is ignored.
  std::map<std::uint8_t, caf::actor_addr> greeters;
  static inline const char* name = "node_directory";
};

node_directory_actor::behavior_type node_directory(
    node_directory_actor::stateful_pointer<node_directory_state> self,
    node_directory_config config);

}  // namespace paysync::actors
