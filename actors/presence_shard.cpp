#include "actors/presence_shard.hpp"

#include <algorithm>
#include <caf/all.hpp>

#include "protocols/txn_ids.hpp"

namespace paysync::actors {
namespace {

using protocols::wire_error;
using self_ptr = presence_shard_actor::stateful_pointer<presence_shard_state>;

template <class Handle>
void remove_from(std::vector<Handle>& v, const Handle& h) {
  v.erase(std::remove(v.begin(), v.end(), h), v.end());
}

// 128 random bits, hex: a customer reference reveals nothing about the number.
std::string random_reference(std::string_view prefix) {
  unsigned char bytes[16];
  protocols::random_bytes(bytes, sizeof(bytes));
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(prefix);
  for (auto b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

void forget_expired_customers(self_ptr self) {
  auto& st = self->state;
  const auto now = st.config.time->now_unix_ms();
  while (!st.customer_order.empty()) {
    auto it = st.customers.find(st.customer_order.front());
    const bool expired = it == st.customers.end() || it->second.expires_unix_ms <= now;
    if (!expired && st.customers.size() <= st.config.max_customers) break;
    if (it != st.customers.end()) st.customers.erase(it);
    st.customer_order.pop_front();
  }
}

reach_grant reach(self_ptr self, const std::string& merchant_id) {
  auto it = self->state.merchants.find(merchant_id);
  if (it == self->state.merchants.end() || it->second.sessions.empty()) {
    return {refused(wire_error::merchant_offline, "the merchant has no billing terminal online"),
            billing_session_actor{}};
  }
  auto& m = it->second;
  auto session = m.sessions[m.next++ % m.sessions.size()];
  return {accepted(), session};
}

forward_grant forward(self_ptr self, const std::string& merchant_id, const std::string& msisdn,
                      centre_order& order) {
  auto reached = reach(self, merchant_id);
  if (!reached.result.ok) return {reached.result, {}};
  auto& st = self->state;
  forget_expired_customers(self);
  order.order_id =
      "or" + std::to_string(st.config.shard_index) + "-" + std::to_string(st.next_order++);
  order.customer = random_reference("cu");
  st.customers.emplace(
      order.customer,
      presence_shard_state::customer{merchant_id, msisdn,
                                     st.config.time->now_unix_ms() + st.config.customer_ttl_ms});
  st.customer_order.push_back(order.customer);
  auto order_id = order.order_id;
  self->send(reached.billing, centre_atom::value, std::move(order));
  return {accepted(), std::move(order_id)};
}

resolve_grant resolve(self_ptr self, const std::string& merchant_id, const std::string& ref) {
  forget_expired_customers(self);
  auto it = self->state.customers.find(ref);
  // Another merchant's customer is as unknown as no customer at all.
  if (it == self->state.customers.end() || it->second.merchant_id != merchant_id) {
    return {refused(wire_error::unknown_txn,
                    "no order-centre customer \"" + ref + "\" for this merchant (or it expired)"),
            {}};
  }
  return {accepted(), it->second.msisdn};
}

}  // namespace

presence_shard_actor::behavior_type presence_shard(self_ptr self, presence_shard_config config) {
  self->state.config = std::move(config);
  return {
      [=](attach_atom, const std::string& merchant_id, const billing_session_actor& session) {
        self->state.merchants[merchant_id].sessions.push_back(session);
      },
      [=](detach_atom, const std::string& merchant_id, const billing_session_actor& session) {
        auto it = self->state.merchants.find(merchant_id);
        if (it == self->state.merchants.end()) return;
        remove_from(it->second.sessions, session);
        if (it->second.sessions.empty()) self->state.merchants.erase(it);
      },
      [=](attach_atom, const std::string& msisdn, const paying_session_actor& session) {
        self->state.handsets[msisdn].push_back(session);
      },
      [=](detach_atom, const std::string& msisdn, const paying_session_actor& session) {
        auto it = self->state.handsets.find(msisdn);
        if (it == self->state.handsets.end()) return;
        remove_from(it->second, session);
        if (it->second.empty()) self->state.handsets.erase(it);
      },
      [=](reach_atom, const std::string& merchant_id) { return reach(self, merchant_id); },
      [=](forward_atom, const std::string& merchant_id, const std::string& msisdn,
          centre_order& order) { return forward(self, merchant_id, msisdn, order); },
      [=](resolve_atom, const std::string& merchant_id, const std::string& ref) {
        return resolve(self, merchant_id, ref);
      },
      [=](push_atom, const std::string& msisdn, const push_notice& notice) {
        auto it = self->state.handsets.find(msisdn);
        if (it == self->state.handsets.end()) return std::uint32_t{0};
        for (const auto& h : it->second) self->send(h, push_atom::value, notice);
        return static_cast<std::uint32_t>(it->second.size());
      },
  };
}

}  // namespace paysync::actors
