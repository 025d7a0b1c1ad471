#include "actors/node_directory.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "actors/settlement_window.hpp"

namespace paysync::actors {

namespace {

// The windows of every node, collected into one audit report: per merchant,
// what every partition netted for it and what its home node booked.
struct window_collection {
  std::size_t waiting = 0;
  std::vector<window_report> reports;
  std::vector<std::string> errors;
  caf::typed_response_promise<std::string> promise;

  void one_done() {
    if (--waiting > 0) return;
    namespace json = boost::json;
    json::array windows;
    json::object merchants;
    std::int64_t booked = 0, delivered = 0;
    std::uint64_t pending = 0;
    bool balanced = true;
    for (const auto& r : reports) {
      windows.push_back(json::parse(to_json(r)));
      pending += r.pending;
      balanced = balanced && r.ledger_balanced;
      for (const auto& l : r.lines) {
        if (!l.booked_here) continue;
        auto& m = merchants[l.merchant_id];
        if (!m.is_object()) {
          m = json::object{{"home_node", l.home_node},
                           {"currency", l.currency},
                           {"netted_minor", 0},
                           {"delivered_minor", 0}};
        }
        auto& mo = m.as_object();
        mo["netted_minor"] = mo["netted_minor"].to_number<std::int64_t>() + l.amount_minor;
        booked += l.amount_minor;
        if (l.delivered) {
          mo["delivered_minor"] = mo["delivered_minor"].to_number<std::int64_t>() + l.amount_minor;
          delivered += l.amount_minor;
        }
      }
    }
    json::array errs;
    for (const auto& e : errors) errs.push_back(json::string(e));
    json::object report{{"windows", std::move(windows)},
                        {"merchants", std::move(merchants)},
                        {"netted_minor", booked},
                        {"delivered_minor", delivered},
                        {"pending_transfers", pending},
                        {"ledgers_balanced", balanced},
                        {"balanced", balanced && booked == delivered && pending == 0},
                        {"unreachable", std::move(errs)}};
    promise.deliver(json::serialize(report));
  }
};

using directory_ptr = node_directory_actor::stateful_pointer<node_directory_state>;

// A configured peer is up with `card`: routable, counted, logged. A second
// call for a peer already up (a fresh incarnation greeting before the old
// one's monitor fired) replaces its handles.
void mark_up(directory_ptr self, node_card card) {
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
}

void mark_down(directory_ptr self, std::uint8_t node) {
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
}

// A peer with a lower id greets with its card: it is up for as long as the
// greeting peer_link (a remote proxy, killed when the connection drops) lives.
caf::result<node_card> accept_greet(directory_ptr self, node_card& card) {
  auto& st = self->state;
  const auto node = card.node;
  const auto self_node = st.config.local.node;
  if (st.members.count(node) == 0) {
    spdlog::warn("cluster: node {} greeted but is not a configured peer; refused", node);
    return caf::make_error(caf::sec::invalid_argument, "not a configured peer");
  }
  if (node > self_node) {
    // The rule is that only the lower id dials: accepting would make a second
    // connection between the two nodes, the collision this rule avoids.
    spdlog::error("cluster: node {} dialled node {}, but only the lower id dials; refused", node,
                  self_node);
    return caf::make_error(caf::sec::invalid_argument, "only the lower node id dials");
  }
  auto greeter = caf::actor_cast<caf::actor>(self->current_sender());
  if (!greeter) return caf::make_error(caf::sec::invalid_argument, "anonymous greet");
  auto& known = st.greeters[node];
  if (known != greeter.address()) {
    if (known) self->demonitor(known);
    known = greeter.address();
    self->monitor(greeter);
  }
  spdlog::debug("cluster: node {} greeted node {}", node, self_node);
  mark_up(self, std::move(card));
  return st.config.local;
}

}  // namespace

node_directory_actor::behavior_type node_directory(directory_ptr self,
                                                   node_directory_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  for (const auto& p : st.config.peers) {
    st.members[p.node] = member_status{p.node, false, p.host + ":" + std::to_string(p.port), 0, 0};
    st.config.metrics->cluster_peer_configured[p.node].store(true, std::memory_order_relaxed);
  }
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& greeters = self->state.greeters;
    for (auto it = greeters.begin(); it != greeters.end(); ++it) {
      if (it->second != msg.source) continue;
      const auto node = it->first;
      greeters.erase(it);
      spdlog::warn("cluster: lost node {} ({})", node, caf::to_string(msg.reason));
      mark_down(self, node);
      return;
    }
    // Otherwise an older incarnation's link, replaced by a fresh greet.
  });
  return {
      // A peer with a lower id dials this node: what this node offers, for
      // the peer's card.
      [=](greet_atom, node_card& card) { return accept_greet(self, card); },
      // This node's own peer_link reached a peer with a higher id.
      [=](member_atom, node_card& card) { mark_up(self, std::move(card)); },
      // ... and lost it.
      [=](lost_atom, std::uint8_t node) { mark_down(self, node); },
      // Closes the settlement window on every node that is up, this one
      // first, and answers the cluster's audit report (JSON).
      [=](window_atom) -> caf::result<std::string> {
        std::vector<settlement_window_actor> windows{self->state.config.local.windows};
        for (const auto& peer : self->state.config.map->peers_up()) {
          if (peer.windows) windows.push_back(peer.windows);
        }
        auto run = std::make_shared<window_collection>();
        run->waiting = windows.size();
        run->promise = self->make_response_promise<std::string>();
        for (const auto& w : windows) {
          self->request(w, std::chrono::seconds(30), window_atom::value)
              .then(
                  [=](window_report& r) {
                    run->reports.push_back(std::move(r));
                    run->one_done();
                  },
                  [=](caf::error& err) {
                    run->errors.push_back(caf::to_string(err));
                    run->one_done();
                  });
        }
        return run->promise;
      },
      [=](members_atom) {
        std::vector<member_status> out;
        for (const auto& [node, m] : self->state.members) out.push_back(m);
        return out;
      },
  };
}

}  // namespace paysync::actors
