#pragma once

// One per configured peer (docs/cluster.md): connects to the peer's published
// node_directory through CAF's middleman (plain TCP, or TLS through
// caf_openssl's manager: both take the same connect request), greets it,
// monitors it, and on a failure or a down message tells this node's
// directory and retries with exponential backoff. Never blocks: the connect
// is a request to the middleman actor.

#include <caf/io/middleman_actor.hpp>
#include <chrono>
#include <cstdint>

#include "actors/cluster_config.hpp"
#include "actors/interfaces.hpp"

namespace paysync::actors {

struct peer_link_config {
  std::uint8_t self_node = 0;
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
