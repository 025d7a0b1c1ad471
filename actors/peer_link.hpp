#pragma once

// One per configured peer with a HIGHER node id than this node's
// (docs/cluster.md, who dials): connects to the peer's published
// node_directory through CAF's middleman (plain TCP, or TLS through
// caf_openssl's manager: both take the same connect request), greets it with
// this node's card, monitors it, and on a failure or a down message tells
// this node's directory and retries with exponential backoff. Peers with a
// lower id dial this node instead: two nodes dialling each other make two
// BASP connections between one pair and CAF closes the redundant one, a
// needless failure that over TLS used to take the healthy connection with it
// (openssl_error_queue.cpp). Never blocks: the connect is a request to the
// middleman actor.

#include <caf/io/middleman_actor.hpp>
#include <chrono>
#include <cstdint>

#include "actors/cluster_config.hpp"
#include "actors/interfaces.hpp"

namespace paysync::actors {

struct peer_link_config {
  node_card self_card;  // what this node offers; REQUIRES: self_card.node < peer.node
  peer_address peer;
  node_directory_actor directory;  // this node's
  caf::io::middleman_actor connector;
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{2'000};
  std::chrono::milliseconds greet_timeout{5'000};
};

struct peer_link_state {
  peer_link_config config;
  node_directory_actor remote;  // the peer's directory while connected
  std::chrono::milliseconds backoff{0};
  std::uint64_t attempts = 0;  // failed attempts since the last success
  bool connecting = false;
  static inline const char* name = "peer_link";
};

peer_link_actor::behavior_type peer_link(peer_link_actor::stateful_pointer<peer_link_state> self,
                                         peer_link_config config);

}  // namespace paysync::actors
