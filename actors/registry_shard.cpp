#include "actors/registry_shard.hpp"

#include <caf/all.hpp>

#include "protocols/txn_ids.hpp"

namespace paysync::actors {
namespace {

using protocols::wire_error;
using self_ptr = registry_shard_actor::stateful_pointer<registry_shard_state>;

constexpr int max_code_draws = 16;

std::string code_key(std::string_view till, std::string_view code) {
  std::string key;
  key.reserve(till.size() + 1 + code.size());
  key.append(till).push_back(':');
  key.append(code);
  return key;
}

void remember_closed(self_ptr self, const registry_entry& entry, ending how) {
  auto& st = self->state;
  const auto now = st.config.time->now_unix_ms();
  for (const auto* id : {&entry.ticket.txn, &entry.ticket.token}) {
    st.tombstones[*id] = how;
    st.tombstone_order.emplace_back(now, *id);
  }
  while (!st.tombstone_order.empty() &&
         (st.tombstone_order.size() > st.config.max_tombstones ||
          st.tombstone_order.front().first + st.config.tombstone_ttl_ms < now)) {
    st.tombstones.erase(st.tombstone_order.front().second);
    st.tombstone_order.pop_front();
  }
}

void forget(self_ptr self, std::unordered_map<std::string, registry_entry>::iterator it,
            ending how) {
  auto& st = self->state;
  remember_closed(self, it->second, how);
  st.txn_by_token.erase(it->second.ticket.token);
  st.txn_by_code.erase(it->second.code_key);
  if (it->second.handset) --st.stats.joined;
  st.by_txn.erase(it);
  if (st.config.metrics) --st.config.metrics->open_transactions;
  st.stats.open = st.by_txn.size();
}

// The billing session owns the state machine: the shard only tells it the time
// is up and stops pairing. The billing session tells the handset, unless the
// payment is already settling.
void expire(self_ptr self, std::unordered_map<std::string, registry_entry>::iterator it) {
  self->send(it->second.ticket.billing, expire_atom::value, it->first);
  ++self->state.stats.expired_total;
  forget(self, it, ending::expired);
}

void sweep(self_ptr self) {
  auto& st = self->state;
  const auto now = st.config.time->now_unix_ms();
  while (!st.deadlines.empty() && st.deadlines.top().first <= now) {
    auto txn = st.deadlines.top().second;
    st.deadlines.pop();
    auto it = st.by_txn.find(txn);
    if (it != st.by_txn.end() && it->second.ticket.expires_unix_ms <= now) expire(self, it);
  }
}

open_grant open(self_ptr self, txn_ticket& ticket) {
  auto& st = self->state;
  auto route = protocols::parse_id(protocols::id_kind::transaction, ticket.txn);
  if (!route || route->shard != st.config.shard_index) {
    return {refused(wire_error::internal, "transaction id routed to the wrong shard"), {}};
  }
  if (st.by_txn.size() >= st.config.max_live) {
    return {refused(wire_error::busy, "the switch holds too many open transactions; retry"), {}};
  }
  std::string code, key;
  for (int i = 0; i < max_code_draws; ++i) {
    code = protocols::make_code(st.config.shard_index, st.config.shard_count);
    key = code_key(ticket.merchant.till, code);
    if (!st.txn_by_code.count(key)) break;
    key.clear();
  }
  if (key.empty()) {
    return {refused(wire_error::busy, "no free short code for this merchant; retry"), {}};
  }
  st.deadlines.emplace(ticket.expires_unix_ms, ticket.txn);
  st.txn_by_token.emplace(ticket.token, ticket.txn);
  st.txn_by_code.emplace(key, ticket.txn);
  auto txn = ticket.txn;
  auto handset = ticket.handset;  // flow B: the payer who opened it has joined
  if (handset) ++st.stats.joined;
  st.by_txn.emplace(std::move(txn), registry_entry{std::move(ticket), std::move(key), handset});
  st.stats.open = st.by_txn.size();
  ++st.stats.opened_total;
  if (st.config.metrics) ++st.config.metrics->open_transactions;
  return {accepted(), std::move(code)};
}

join_grant refuse_join(wire_error e, std::string message) {
  join_grant g;
  g.result = refused(e, std::move(message));
  return g;
}

join_grant unknown_or_closed(self_ptr self, const std::string& id) {
  auto& tombs = self->state.tombstones;
  if (auto t = tombs.find(id); t != tombs.end()) {
    if (t->second == ending::expired) {
      return refuse_join(wire_error::txn_expired, "the transaction has expired");
    }
    return refuse_join(wire_error::txn_closed, t->second == ending::settled
                                                   ? "the transaction is already settled"
                                                   : "the transaction is already closed");
  }
  return refuse_join(wire_error::unknown_txn, "no open transaction matches");
}

join_grant join(self_ptr self, join_request& request) {
  auto& st = self->state;
  std::string txn;
  switch (request.by) {
    case protocols::join_by::txn:
      txn = request.key;
      break;
    case protocols::join_by::token: {
      auto it = st.txn_by_token.find(request.key);
      if (it == st.txn_by_token.end()) return unknown_or_closed(self, request.key);
      txn = it->second;
      break;
    }
    case protocols::join_by::code: {
      auto it = st.txn_by_code.find(code_key(request.till, request.key));
      if (it == st.txn_by_code.end()) {
        return refuse_join(wire_error::unknown_txn,
                           "no open transaction has this code at this till");
      }
      txn = it->second;
      break;
    }
  }
  auto it = st.by_txn.find(txn);
  if (it == st.by_txn.end()) return unknown_or_closed(self, txn);
  auto& entry = it->second;
  if (entry.ticket.expires_unix_ms <= st.config.time->now_unix_ms()) {
    expire(self, it);
    return refuse_join(wire_error::txn_expired, "the transaction has expired");
  }
  // A transaction pushed to one payer (flow C) is unknown to everybody else.
  if (!entry.ticket.bound_msisdn.empty() && entry.ticket.bound_msisdn != request.payer.msisdn) {
    return refuse_join(wire_error::unknown_txn, "no open transaction matches");
  }
  if (entry.handset && entry.handset != request.handset) {
    return refuse_join(wire_error::txn_taken, "another handset has joined this transaction");
  }
  if (request.payer.currency != entry.ticket.merchant.currency) {
    return refuse_join(wire_error::currency_mismatch,
                       "the merchant is paid in " + entry.ticket.merchant.currency +
                           " and this wallet holds " + request.payer.currency);
  }
  if (!entry.handset) {
    entry.handset = request.handset;
    ++st.stats.joined;
    // Sent before the reply, so it is in the billing session's mailbox before
    // the handset can send anything the billing session must match with it.
    self->send(entry.ticket.billing, joined_atom::value, txn, request.handset,
               std::move(request.payer));
  }
  join_grant g;
  g.result = accepted();
  g.txn = txn;
  g.merchant = entry.ticket.merchant;
  g.amount_minor = entry.ticket.amount_minor;
  g.currency = entry.ticket.currency;
  g.expires_unix_ms = entry.ticket.expires_unix_ms;
  g.billing = entry.ticket.billing;
  return g;
}

}  // namespace

registry_shard_actor::behavior_type registry_shard(self_ptr self, registry_shard_config config) {
  self->state.config = std::move(config);
  if (self->state.config.sweep_interval_ms > 0) {
    self->delayed_send(self, std::chrono::milliseconds(self->state.config.sweep_interval_ms),
                       tick_atom::value);
  }
  return {
      [=](open_atom, txn_ticket& ticket) { return open(self, ticket); },
      [=](join_atom, join_request& request) { return join(self, request); },
      [=](release_atom, const std::string& txn, const paying_session_actor& handset) {
        auto it = self->state.by_txn.find(txn);
        if (it != self->state.by_txn.end() && it->second.handset == handset) {
          it->second.handset = nullptr;
          --self->state.stats.joined;
        }
      },
      [=](close_atom, const std::string& txn, ending how) {
        auto it = self->state.by_txn.find(txn);
        if (it != self->state.by_txn.end()) forget(self, it, how);
      },
      [=](tick_atom) {
        sweep(self);
        if (self->state.config.sweep_interval_ms > 0) {
          self->delayed_send(self, std::chrono::milliseconds(self->state.config.sweep_interval_ms),
                             tick_atom::value);
        }
      },
      [=](stats_atom) { return self->state.stats; },
  };
}

}  // namespace paysync::actors
