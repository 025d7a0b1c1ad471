#pragma once

// Who is up in the cluster (docs/cluster.md). One per node, published on the
// node's cluster port (CAF remoting). A peer's link greets it to learn this
// node's actors; this node's own peer links tell it when a peer comes up (with
// the peer's card) and when it goes down (their monitor fired). It keeps the
// cluster_map the sessions route by and the paysync_cluster_peer_up metric.

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
  static inline const char* name = "node_directory";
};

node_directory_actor::behavior_type node_directory(
    node_directory_actor::stateful_pointer<node_directory_state> self,
    node_directory_config config);

}  // namespace paysync::actors
