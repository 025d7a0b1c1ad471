#include "actors/node_directory.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

namespace paysync::actors {

node_directory_actor::behavior_type node_directory(
    node_directory_actor::stateful_pointer<node_directory_state> self,
    node_directory_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  for (const auto& p : st.config.peers) {
    st.members[p.node] = member_status{p.node, false, p.host + ":" + std::to_string(p.port), 0, 0};
    st.config.metrics->cluster_peer_configured[p.node].store(true, std::memory_order_relaxed);
  }
  return {
      // A peer's link asks what this node offers.
      [=](greet_atom, std::uint8_t from) {
        spdlog::debug("cluster: node {} greeted node {}", from, self->state.config.local.node);
        return self->state.config.local;
      },
      [=](member_atom, node_card& card) {
        auto& st = self->state;
        const auto node = card.node;
        auto it = st.members.find(node);
        if (it == st.members.end()) {
          spdlog::warn("cluster: node {} is not a configured peer; ignored", node);
          return;
        }
        st.config.map->up(std::move(card));
        it->second.up = true;
        it->second.since_unix_ms = st.config.time->now_unix_ms();
        st.config.metrics->cluster_peer_up[node].store(true, std::memory_order_relaxed);
        spdlog::info("cluster: node {} ({}) is up", node, it->second.address);
      },
      [=](lost_atom, std::uint8_t node) {
        auto& st = self->state;
        auto it = st.members.find(node);
        if (it == st.members.end() || !it->second.up) return;
        st.config.map->down(node);
        it->second.up = false;
        ++it->second.downs;
        it->second.since_unix_ms = st.config.time->now_unix_ms();
        st.config.metrics->cluster_peer_up[node].store(false, std::memory_order_relaxed);
        st.config.metrics->cluster_peer_downs.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("cluster: node {} ({}) is down; its transactions are unavailable", node,
                     it->second.address);
      },
      [=](members_atom) {
        std::vector<member_status> out;
        for (const auto& [node, m] : self->state.members) out.push_back(m);
        return out;
      },
  };
}

}  // namespace paysync::actors
