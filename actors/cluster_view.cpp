#include "actors/cluster_view.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <functional>
#include <mutex>

namespace paysync::actors {

std::size_t presence_index(std::string_view key, std::size_t count) {
  return std::hash<std::string_view>{}(key) % count;
}

namespace {
std::vector<std::uint8_t> sorted(std::vector<std::uint8_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}
}  // namespace

cluster_map::cluster_map(std::uint8_t self, std::vector<std::uint8_t> nodes)
    : self_(self), nodes_(sorted(std::move(nodes))) {}

std::uint8_t cluster_map::home_of(std::string_view account_id) const {
  if (nodes_.empty()) return self_;
  // FNV-1a, 64 bits: stable across builds and platforms, unlike std::hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : account_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return nodes_[h % nodes_.size()];
}

void cluster_map::up(node_card card) {
  std::unique_lock lock(mutex_);
  const auto node = card.node;
  up_[node] = std::move(card);
}

void cluster_map::down(std::uint8_t node) {
  std::unique_lock lock(mutex_);
  up_.erase(node);
}

bool cluster_map::is_up(std::uint8_t node) const {
  std::shared_lock lock(mutex_);
  return up_.count(node) > 0;
}

bool cluster_map::is_member(std::uint8_t node) const {
  return std::binary_search(nodes_.begin(), nodes_.end(), node);
}

std::optional<registry_shard_actor> cluster_map::registry(std::uint8_t node,
                                                          std::uint8_t shard) const {
  std::shared_lock lock(mutex_);
  auto it = up_.find(node);
  if (it == up_.end() || shard >= it->second.shards.size()) return std::nullopt;
  return it->second.shards[shard];
}

std::optional<ledger_actor> cluster_map::ledger(std::uint8_t node) const {
  std::shared_lock lock(mutex_);
  auto it = up_.find(node);
  if (it == up_.end() || !it->second.ledger) return std::nullopt;
  return it->second.ledger;
}

std::optional<settlement_window_actor> cluster_map::windows(std::uint8_t node) const {
  std::shared_lock lock(mutex_);
  auto it = up_.find(node);
  if (it == up_.end() || !it->second.windows) return std::nullopt;
  return it->second.windows;
}

std::vector<node_card> cluster_map::peers_up() const {
  std::shared_lock lock(mutex_);
  std::vector<node_card> out;
  out.reserve(up_.size());
  for (const auto& [node, card] : up_) out.push_back(card);
  return out;
}

namespace {

using self_ptr = presence_shard_actor::stateful_pointer<cluster_view_state>;

// The presence shards to ask about `key`: this node's first (most lookups
// are local), then each peer's that is up.
std::vector<presence_shard_actor> targets_for(self_ptr self, std::string_view key) {
  const auto& cfg = self->state.config;
  std::vector<presence_shard_actor> out{cfg.local[presence_index(key, cfg.local.size())]};
  for (const auto& peer : cfg.map->peers_up()) {
    if (!peer.presence.empty()) {
      out.push_back(peer.presence[presence_index(key, peer.presence.size())]);
    }
  }
  spdlog::debug("cluster: looking up {} on {} node(s)", key, out.size());
  return out;
}

// Asks the targets one after the other until one says yes; answers the last
// "no" otherwise. One at a time, not all at once: a centre order must reach
// exactly one billing terminal.
template <class Grant>
struct in_turn {
  std::vector<presence_shard_actor> targets;
  std::size_t next = 0;
  Grant last;
  caf::typed_response_promise<Grant> promise;
  std::function<caf::message()> question;  // the request, rebuilt for each target
};

template <class Grant>
void ask_next(self_ptr self, std::shared_ptr<in_turn<Grant>> turn) {
  if (turn->next >= turn->targets.size()) {
    turn->promise.deliver(std::move(turn->last));
    return;
  }
  auto target = caf::actor_cast<caf::actor>(turn->targets[turn->next++]);
  self->request(target, self->state.config.peer_timeout, turn->question())
      .then(
          [=](Grant& grant) {
            if (grant.result.ok) {
              turn->promise.deliver(std::move(grant));
              return;
            }
            spdlog::debug("cluster: target {} said {}", turn->next - 1, grant.result.message);
            turn->last = std::move(grant);
            ask_next(self, turn);
          },
          [=](caf::error& err) {
            // A peer gone or slow: try the next.
            spdlog::warn("cluster: a presence lookup failed: {}", self->system().render(err));
            ask_next(self, turn);
          });
}

template <class Grant>
caf::typed_response_promise<Grant> ask_in_turn(self_ptr self, std::string_view key, Grant none,
                                               std::function<caf::message()> question) {
  auto turn = std::make_shared<in_turn<Grant>>();
  turn->targets = targets_for(self, key);
  turn->last = std::move(none);
  turn->promise = self->template make_response_promise<Grant>();
  turn->question = std::move(question);
  ask_next(self, turn);
  return turn->promise;
}

struct push_tally {
  std::size_t pending = 0;
  std::uint32_t reached = 0;
  caf::typed_response_promise<std::uint32_t> promise;
  void one_done(std::uint32_t n) {
    reached += n;
    if (--pending == 0) promise.deliver(reached);
  }
};

}  // namespace

presence_shard_actor::behavior_type cluster_view(self_ptr self, cluster_view_config config) {
  self->state.config = std::move(config);
  auto local = [self](std::string_view key) {
    const auto& l = self->state.config.local;
    return l[presence_index(key, l.size())];
  };
  return {
      // Sessions attach to their own node's shards directly; these only
      // keep the interface whole.
      [=](attach_atom a, const std::string& key, const billing_session_actor& s) {
        self->send(local(key), a, key, s);
      },
      [=](detach_atom d, const std::string& key, const billing_session_actor& s) {
        self->send(local(key), d, key, s);
      },
      [=](attach_atom a, const std::string& key, const paying_session_actor& s) {
        self->send(local(key), a, key, s);
      },
      [=](detach_atom d, const std::string& key, const paying_session_actor& s) {
        self->send(local(key), d, key, s);
      },
      [=](reach_atom, const std::string& merchant_id) {
        return ask_in_turn<reach_grant>(
            self, merchant_id,
            {refused(protocols::wire_error::merchant_offline,
                     "the merchant has no billing terminal online"),
             {}},
            [merchant_id] { return caf::make_message(reach_atom::value, merchant_id); });
      },
      [=](forward_atom, const std::string& merchant_id, const std::string& msisdn,
          const centre_order& order) {
        return ask_in_turn<forward_grant>(self, merchant_id,
                                          {refused(protocols::wire_error::merchant_offline,
                                                   "the merchant has no billing terminal online"),
                                           {}},
                                          [merchant_id, msisdn, order] {
                                            return caf::make_message(forward_atom::value,
                                                                     merchant_id, msisdn, order);
                                          });
      },
      [=](resolve_atom, const std::string& merchant_id, const std::string& ref) {
        return ask_in_turn<resolve_grant>(
            self, merchant_id,
            {refused(protocols::wire_error::unknown_txn,
                     "no order-centre customer \"" + ref + "\" for this merchant (or it expired)"),
             {}},
            [merchant_id, ref] {
              return caf::make_message(resolve_atom::value, merchant_id, ref);
            });
      },
      // A push goes to every handset of the number on every node: all at once.
      [=](push_atom, const std::string& msisdn, const push_notice& notice) {
        auto tally = std::make_shared<push_tally>();
        auto targets = targets_for(self, msisdn);
        tally->pending = targets.size();
        tally->promise = self->make_response_promise<std::uint32_t>();
        for (const auto& t : targets) {
          self->request(t, self->state.config.peer_timeout, push_atom::value, msisdn, notice)
              .then([=](std::uint32_t n) { tally->one_done(n); },
                    [=](caf::error&) { tally->one_done(0); });
        }
        return tally->promise;
      },
  };
}

}  // namespace paysync::actors
