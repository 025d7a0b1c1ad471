#include "actors/peer_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <cassert>

namespace paysync::actors {
namespace {

using self_ptr = peer_link_actor::stateful_pointer<peer_link_state>;

void retry_later(self_ptr self) {
  auto& st = self->state;
  st.connecting = false;
  ++st.attempts;
  // Log the first failure and then only now and then: a peer down for an
  // hour must not fill the log.
  if (st.attempts == 1 || st.attempts % 100 == 0) {
    spdlog::info("cluster: node {} ({}:{}) not reachable yet (attempt {}); retrying",
                 st.config.peer.node, st.config.peer.host, st.config.peer.port, st.attempts);
  }
  self->delayed_send(self, st.backoff, retry_atom::value);
  st.backoff = std::min(st.backoff * 2, st.config.reconnect_max);
}

void connect(self_ptr self) {
  auto& st = self->state;
  if (st.connecting || st.remote) return;
  st.connecting = true;
  const auto& peer = st.config.peer;
  self->request(st.config.connector, std::chrono::seconds(10), caf::connect_atom::value, peer.host,
                peer.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            if (!ptr) return retry_later(self);
            auto remote = caf::actor_cast<node_directory_actor>(std::move(ptr));
            const auto& cfg = self->state.config;
            self->request(remote, cfg.greet_timeout, greet_atom::value, cfg.self_card)
                .then(
                    [=](node_card& card) {
                      auto& st = self->state;
                      if (card.node != st.config.peer.node) {
                        spdlog::error("cluster: {}:{} is node {}, not node {} as configured",
                                      st.config.peer.host, st.config.peer.port, card.node,
                                      st.config.peer.node);
                        return retry_later(self);
                      }
                      st.connecting = false;
                      st.remote = remote;
                      st.attempts = 0;
                      st.backoff = st.config.reconnect_min;
                      self->monitor(remote);
                      self->send(st.config.directory, member_atom::value, std::move(card));
                    },
                    [=](caf::error& err) {
                      if (self->state.attempts == 0) {
                        spdlog::warn("cluster: greeting node {} failed: {}",
                                     self->state.config.peer.node, caf::to_string(err));
                      }
                      retry_later(self);
                    });
          },
          [=](caf::error&) { retry_later(self); });
}

}  // namespace

peer_link_actor::behavior_type peer_link(self_ptr self, peer_link_config config) {
  assert(config.self_card.node < config.peer.node);
  self->state.config = std::move(config);
  self->state.backoff = self->state.config.reconnect_min;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.remote || msg.source != st.remote.address()) return;
    spdlog::warn("cluster: lost node {} ({})", st.config.peer.node, caf::to_string(msg.reason));
    st.remote = nullptr;
    st.backoff = st.config.reconnect_min;
    self->send(st.config.directory, lost_atom::value, st.config.peer.node);
    retry_later(self);
  });
  self->send(self, retry_atom::value);
  return {
      [=](retry_atom) { connect(self); },
  };
}

}  // namespace paysync::actors
