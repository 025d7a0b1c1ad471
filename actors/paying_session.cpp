#include "actors/paying_session.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "actors/cluster_view.hpp"
#include "actors/request_timeout.hpp"
#include "protocols/message_codec.hpp"
#include "protocols/txn_ids.hpp"
#include "storage/directory_store.hpp"
#include "storage/factor_store.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::actors {
namespace {

using protocols::wire_error;
using self_ptr = paying_session_actor::stateful_pointer<paying_session_state>;

session_io& io(self_ptr self) { return *self->state.io; }

std::chrono::milliseconds request_limit(self_ptr self) {
  return std::chrono::milliseconds(self->state.ctx->limits.request_timeout_ms);
}

template <class Handle>
caf::duration request_timeout(self_ptr self, const Handle& dest) {
  return request_timeout_for(self, dest, request_limit(self));
}

handset_txn* current_for(self_ptr self, const std::string& txn) {
  auto& cur = self->state.current;
  return cur && cur->txn == txn ? &*cur : nullptr;
}

void not_joined(self_ptr self, const request_meta& req, const std::string& txn) {
  io(self).error(req, wire_error::unknown_txn, "this handset has not joined " + txn, txn);
}

// Guessing codes or ids costs a lockout after a few misses.
void count_failed_join(self_ptr self) {
  auto& st = self->state;
  if (++st.failed_joins >= st.ctx->limits.max_failed_joins) {
    st.failed_joins = 0;
    st.locked_until_unix_ms = st.ctx->time->now_unix_ms() + st.ctx->limits.join_lockout_ms;
  }
}

// Where a join goes: the registry shard named in the id or token, on this
// node or (in a cluster) on the peer that owns it (docs/cluster.md).
struct join_route {
  registry_shard_actor shard;  // null: refused with `error`
  wire_error error = wire_error::unknown_txn;
  std::string message = "no open transaction matches";
  bool remote = false;
};

join_route route_join(self_ptr self, const protocols::join_msg& m) {
  const auto& ctx = *self->state.ctx;
  // Codes carry no node: a code joins on the handset's own node.
  if (m.by == protocols::join_by::code) {
    auto shard = protocols::shard_of_code(m.key, ctx.shard_count());
    if (!shard) return {};
    return {ctx.shard(*shard), {}, {}, false};
  }
  auto kind = m.by == protocols::join_by::txn ? protocols::id_kind::transaction
                                              : protocols::id_kind::link_token;
  auto route = protocols::parse_id(kind, m.key);
  if (!route) return {};
  if (route->node == ctx.node_id) {
    if (route->shard >= ctx.shard_count()) return {};
    return {ctx.shard(route->shard), {}, {}, false};
  }
  // A single node owns no other node's ids, and no node owns a stranger's.
  if (!ctx.cluster || !ctx.cluster->is_member(route->node)) return {};
  if (auto shard = ctx.cluster->registry(route->node, route->shard)) {
    return {std::move(*shard), {}, {}, true};
  }
  return {registry_shard_actor{}, wire_error::node_unavailable,
          "node " + std::to_string(route->node) +
              ", which owns this transaction, is unavailable; retry later",
          true};
}

// Resolves the calling number to a registered, active payer (claim 12).
std::optional<payer_card> identify_payer(self_ptr self, const request_meta& req) {
  auto& st = self->state;
  if (st.msisdn.empty()) {
    io(self).error(req, wire_error::payer_unidentified,
                   "this connection carries no calling number from a trusted mobile gateway");
    return std::nullopt;
  }
  auto user = st.ctx->directory->find_user_by_msisdn(st.msisdn);
  if (!user) {
    if (user.error() == storage::store_error::not_found) {
      io(self).error(req, wire_error::payer_unregistered,
                     "the calling number is not registered for payments");
    } else {
      io(self).error(req, wire_error::internal, "the directory is unavailable");
    }
    return std::nullopt;
  }
  if (user->status != storage::party_status::active) {
    io(self).error(req, wire_error::payer_blocked,
                   user->status == storage::party_status::suspended
                       ? "the payer's account is suspended"
                       : "the payer's account is blocked");
    return std::nullopt;
  }
  st.payer = payer_card{user->id,       user->display_name, user->account_id,
                        user->currency, user->msisdn,       user->attributes};
  return st.payer;
}

void send_merchant(self_ptr self, const request_meta& req, const handset_txn& t) {
  std::optional<protocols::money_field> amount;
  if (t.offer.amount_minor > 0) {
    amount = protocols::money_field{t.offer.amount_minor, t.offer.currency};
  }
  const auto& m = t.merchant;
  io(self).reply(req, protocols::encode_merchant(
                          req.ref, t.txn, {m.id, m.name, m.till, m.city, m.category, m.currency},
                          amount, t.expires_unix_ms));
}

// Joins are limited per number and per source address across connections, so
// reconnecting does not buy more guesses: past the limit even a right code is
// refused, and a guessed id never pairs.
bool within_join_rate(self_ptr self, const request_meta& req, std::int64_t now) {
  auto& st = self->state;
  const auto& limits = st.ctx->join_limits;
  std::int64_t wait_ms = 0;
  std::string_view who;
  if (limits.by_msisdn && !st.msisdn.empty()) {
    wait_ms = limits.by_msisdn->take(st.msisdn, now);
    who = "this number";
  }
  if (wait_ms == 0 && limits.by_address && !st.source_address.empty()) {
    wait_ms = limits.by_address->take(st.source_address, now);
    who = "this address";
  }
  if (wait_ms == 0) return true;
  io(self).error(req, wire_error::too_many_attempts,
                 "too many joins from " + std::string(who) + "; try again in " +
                     std::to_string((wait_ms + 999) / 1000) + " s");
  return false;
}

// Common to join and pay_merchant: a handset may be in one transaction at a
// time, and must be an identified, active payer who is not locked out.
std::optional<payer_card> may_start(self_ptr self, const request_meta& req) {
  auto& st = self->state;
  if (st.current) {
    io(self).error(req, wire_error::already_joined,
                   st.current->step == handset_step::joining
                       ? "a join is already in progress"
                       : "finish or cancel the current transaction first",
                   st.current->txn);
    return std::nullopt;
  }
  const auto now = st.ctx->time->now_unix_ms();
  if (!within_join_rate(self, req, now)) return std::nullopt;
  if (now < st.locked_until_unix_ms) {
    io(self).error(req, wire_error::too_many_attempts,
                   "too many failed joins; try again in " +
                       std::to_string((st.locked_until_unix_ms - now + 999) / 1000) + " s");
    return std::nullopt;
  }
  return identify_payer(self, req);
}

void start_txn(self_ptr self, const request_meta& req, std::string txn,
               billing_session_actor billing, merchant_card merchant, std::int64_t amount_minor,
               std::string currency, std::int64_t expires_unix_ms) {
  auto& st = self->state;
  if (io(self).closed()) {
    self->send(billing, left_atom::value, txn, self);
    return self->quit();
  }
  st.failed_joins = 0;
  handset_txn t;
  t.txn = txn;
  t.step = handset_step::joined;
  // A billing session on another node can vanish with its node: watch it,
  // so the payer hears node_unavailable instead of silence.
  if (billing && billing->node() != self->node()) self->monitor(billing);
  t.billing = std::move(billing);
  t.merchant = std::move(merchant);
  t.expires_unix_ms = expires_unix_ms;
  t.offer = amount_offer{std::move(txn), amount_minor, std::move(currency)};
  st.current = std::move(t);
  send_merchant(self, req, *st.current);
}

void on_join(self_ptr self, const request_meta& req, const protocols::join_msg& m) {
  auto& st = self->state;
  if (st.current && m.by == protocols::join_by::txn && st.current->txn == m.key &&
      st.current->step != handset_step::joining) {
    return send_merchant(self, req, *st.current);
  }
  auto payer = may_start(self, req);
  if (!payer) return;
  auto route = route_join(self, m);
  if (!route.shard) {
    // A down node is no guess: it does not count towards the lockout.
    if (route.error == wire_error::unknown_txn) count_failed_join(self);
    return io(self).error(req, route.error, route.message);
  }
  st.current = handset_txn{};
  join_request request{m.by, m.key, m.till, self, std::move(*payer)};
  const bool remote = route.remote;
  self->request(route.shard, request_timeout(self, route.shard), join_atom::value,
                std::move(request))
      .then(
          [=](join_grant& grant) {
            self->state.current.reset();
            if (!grant.result.ok) {
              if (grant.result.error == wire_error::unknown_txn) count_failed_join(self);
              if (io(self).closed()) return self->quit();
              return io(self).error(req, grant.result.error, grant.result.message);
            }
            start_txn(self, req, grant.txn, grant.billing, grant.merchant, grant.amount_minor,
                      grant.currency, grant.expires_unix_ms);
          },
          [=](caf::error&) {
            self->state.current.reset();
            if (io(self).closed()) return self->quit();
            if (remote) {
              return io(self).error(req, wire_error::node_unavailable,
                                    "the node that owns this transaction did not answer");
            }
            io(self).error(req, wire_error::busy, "the registry did not answer in time; retry");
          });
}

// Flow B (claim 28): the payer names the merchant by its till; the switch
// reaches one of its billing terminals, which opens the transaction.
void on_pay_merchant(self_ptr self, const request_meta& req, const protocols::pay_merchant_msg& m) {
  auto& st = self->state;
  auto payer = may_start(self, req);
  if (!payer) return;
  auto merchant = st.ctx->directory->find_merchant_by_till(m.till);
  if (!merchant) {
    return io(self).error(req, wire_error::unknown_merchant, "no merchant has till " + m.till);
  }
  if (merchant->status != storage::party_status::active) {
    return io(self).error(req, wire_error::merchant_inactive,
                          merchant->name + " is not accepting payments");
  }
  st.current = handset_txn{};
  auto fail = [self, req](wire_error e, const std::string& message) {
    self->state.current.reset();
    if (io(self).closed()) return self->quit();
    io(self).error(req, e, message);
  };
  const auto name = merchant->name;
  self->request(st.ctx->presence_lookup(merchant->id), request_limit(self), reach_atom::value,
                merchant->id)
      .then(
          [=](reach_grant& reached) {
            if (!reached.result.ok) {
              return fail(wire_error::merchant_offline,
                          name + " has no billing terminal online; pay at the till");
            }
            auto billing = reached.billing;
            self->request(billing, request_timeout(self, billing), incoming_atom::value, *payer,
                          self)
                .then(
                    [=](incoming_grant& grant) {
                      if (!grant.result.ok) return fail(grant.result.error, grant.result.message);
                      self->state.current.reset();
                      start_txn(self, req, grant.txn, billing, grant.merchant, 0,
                                grant.merchant.currency, grant.expires_unix_ms);
                    },
                    [=](caf::error&) {
                      fail(wire_error::merchant_offline, name + "'s terminal did not answer");
                    });
          },
          [=](caf::error&) { fail(wire_error::busy, "the switch did not answer in time; retry"); });
}

void send_offer(self_ptr self, const handset_txn& t) {
  io(self).event(protocols::encode_amount_offer(t.txn, {t.offer.amount_minor, t.offer.currency},
                                                t.merchant.name));
}

void on_confirm_merchant(self_ptr self, const request_meta& req,
                         const protocols::confirm_merchant_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t || t->step == handset_step::joining) return not_joined(self, req, m.txn);
  if (t->step == handset_step::synchronized || t->step == handset_step::amount_offered) {
    return io(self).reply(req, protocols::encode_ack(req.ref, "confirm_merchant", m.txn));
  }
  if (t->step != handset_step::joined) {
    return io(self).error(req, wire_error::wrong_state,
                          "the merchant is already confirmed for this transaction", m.txn);
  }
  t->step = handset_step::confirming;
  const auto txn = m.txn;
  self->request(t->billing, request_timeout(self, t->billing), sync_atom::value, txn, self)
      .then(
          [=](sync_grant& grant) {
            auto* t = current_for(self, txn);
            if (!t) return;
            if (!grant.result.ok) {
              self->state.current.reset();
              return io(self).error(req, grant.result.error, grant.result.message, txn);
            }
            t->step = handset_step::synchronized;
            io(self).reply(req, protocols::encode_ack(req.ref, "confirm_merchant", txn));
            if (grant.has_amount) {
              t->step = handset_step::amount_offered;
              t->offer = grant.offer;
              send_offer(self, *t);
            }
          },
          [=](caf::error&) {
            if (!current_for(self, txn)) return;
            self->state.current.reset();
            io(self).error(req, wire_error::txn_closed,
                           "the merchant's terminal is gone; the transaction is closed", txn);
          });
}

void on_order(self_ptr self, const request_meta& req, const protocols::order_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t || t->step == handset_step::joining) return not_joined(self, req, m.txn);
  if (t->step != handset_step::synchronized && t->step != handset_step::amount_offered) {
    return io(self).error(req, wire_error::wrong_state,
                          t->step == handset_step::settling ? "the payment is being settled"
                                                            : "confirm the merchant first",
                          m.txn);
  }
  const auto txn = m.txn;
  self->request(t->billing, request_timeout(self, t->billing), order_atom::value,
                order_request{txn, m.lines, m.note}, self)
      .then(
          [=](verdict& v) {
            if (!v.ok) return io(self).error(req, v.error, v.message, txn);
            io(self).reply(req, protocols::encode_ack(req.ref, "order", txn));
          },
          [=](caf::error&) {
            io(self).error(req, wire_error::txn_closed, "the merchant's terminal is gone", txn);
          });
}

protocols::settlement_view receipt_of(const handset_txn& t, const settlement_outcome& outcome) {
  protocols::settlement_view v{t.txn,
                               t.merchant.id,
                               t.merchant.name,
                               {t.offer.amount_minor, t.offer.currency},
                               outcome.sequence,
                               outcome.settled_unix_ms,
                               {}};
  // Signed by the billing session (the same signature the merchant got), with
  // its node's key: in a cluster that need not be this node's.
  v.payer_ref = outcome.payer_ref;
  v.signature = outcome.signature;
  v.key_id = outcome.key_id;
  return v;
}

// Sends the final confirmation to the billing session (which settles) and
// answers `req` with the receipt or the failure.
void confirm_with_billing(self_ptr self, const request_meta& req, const std::string& txn,
                          const protocols::money_field& amount) {
  auto* t = current_for(self, txn);
  if (!t) return;
  t->step = handset_step::settling;
  // One shared copy for both handlers: CAF copies a response handler's
  // captures several times while it builds the behavior. The transaction is
  // copied because a repeated confirmation's answer outlives `current`.
  struct awaiting {
    request_meta req;
    std::string txn;
    handset_txn confirming;
  };
  auto w = std::make_shared<const awaiting>(awaiting{req, txn, *t});
  amount_offer confirmed{txn, amount.amount_minor, amount.currency};
  // No timeout: the answer comes after the ledger's durable commit.
  self->request(t->billing, caf::infinite, confirm_atom::value, std::move(confirmed), self)
      .then(
          [self, w](settlement_outcome& outcome) {
            auto& st = self->state;
            const auto& [req, txn, confirming] = *w;
            if (outcome.ok) {
              io(self).reply(req,
                             protocols::encode_receipt(req.ref, receipt_of(confirming, outcome),
                                                       st.payer ? st.payer->display_name : ""));
              st.last_settled_txn = txn;
              st.last_outcome = std::move(outcome);
              if (current_for(self, txn)) st.current.reset();
              return;
            }
            auto* t = current_for(self, txn);
            if (!t) return;
            if (outcome.error == wire_error::amount_mismatch ||
                outcome.error == wire_error::wrong_state) {
              t->step = handset_step::amount_offered;
              return io(self).error(req, outcome.error, outcome.message, txn);
            }
            self->state.current.reset();
            io(self).reply(req,
                           protocols::encode_failed(txn, outcome.error, outcome.message, req.ref));
          },
          [self, w](caf::error&) {
            const auto& [req, txn, confirming] = *w;
            if (!current_for(self, txn)) return;
            self->state.current.reset();
            io(self).reply(
                req, protocols::encode_failed(txn, wire_error::internal,
                                              "the merchant's session ended before the settlement "
                                              "answered; ask the merchant for its status",
                                              req.ref));
          });
}

std::string answer_kind(storage::factor_kind k) {
  if (!storage::is_biometric(k)) return "text";
  return k == storage::factor_kind::voice ? "audio" : "image";
}

void send_challenge(self_ptr self, const handset_txn& t) {
  const auto& a = *t.auth;
  const auto& cfg = self->state.ctx->auth;
  protocols::auth_challenge_view c;
  c.txn = t.txn;
  c.factor = std::string(storage::to_string(a.factor.kind));
  if (a.factor.kind == storage::factor_kind::question) c.question = a.factor.label;
  c.answer_as = answer_kind(a.factor.kind);
  if (c.answer_as == "image") {
    c.formats = {"jpeg", "png", "pgm", "tiff"};
    c.max_bytes = cfg.max_image_bytes;
  } else if (c.answer_as == "audio") {
    c.formats = {"wav"};
    c.max_bytes = cfg.max_audio_bytes;
  } else {
    c.max_bytes = protocols::max_answer_bytes;
  }
  c.attempts_left = a.attempts_left;
  io(self).event(protocols::encode_auth_challenge(c));
}

// Picks the factor to ask for (claims 17, 18): among the payer's factors
// strong enough for `level` and not locked, one at random. Answers the
// confirmation with an error when there is none.
bool start_auth(self_ptr self, handset_txn& t, const request_meta& req,
                const protocols::money_field& confirmed, auth_level level) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  auto factors = ctx.factors->list(st.payer->user_id);
  if (!factors) {
    io(self).error(req, wire_error::internal, "the factor store is unavailable", t.txn);
    return false;
  }
  const auto now = ctx.time->now_unix_ms();
  std::vector<const storage::factor_record*> eligible, unlocked;
  std::vector<storage::attempt_state> states;
  std::int64_t earliest_unlock = 0;
  for (const auto& f : *factors) {
    if (f.revoked || !meets(f.kind, level)) continue;
    eligible.push_back(&f);
    auto a = ctx.factors->attempts(f.user_id, f.factor_id);
    const auto until = a ? a->locked_until_unix_ms : 0;
    if (until > now) {
      earliest_unlock = earliest_unlock == 0 ? until : std::min(earliest_unlock, until);
      continue;
    }
    unlocked.push_back(&f);
  }
  if (eligible.empty()) {
    io(self).error(req, wire_error::auth_unavailable,
                   "this payment needs a " + std::string(to_string(level)) +
                       " factor and none is registered for this payer",
                   t.txn);
    return false;
  }
  if (unlocked.empty()) {
    io(self).error(req, wire_error::auth_locked,
                   "every eligible factor is locked after failed attempts; try again in " +
                       std::to_string((earliest_unlock - now + 999) / 1000) + " s",
                   t.txn);
    return false;
  }
  const auto& chosen = choose_at_random(unlocked);
  auto attempts = ctx.factors->attempts(chosen.user_id, chosen.factor_id);
  const auto used = attempts ? attempts->failures : 0;
  pending_auth a;
  a.factor = chosen;
  a.attempts_left = ctx.auth.lockout.max_failures > used ? ctx.auth.lockout.max_failures - used : 1;
  a.confirm = req;
  a.confirmed = confirmed;
  t.auth = std::move(a);
  t.step = handset_step::authenticating;
  send_challenge(self, t);
  return true;
}

void on_confirm_amount(self_ptr self, const request_meta& req,
                       const protocols::confirm_amount_msg& m) {
  auto& st = self->state;
  auto* t = current_for(self, m.txn);
  if (!t) {
    if (st.last_settled_txn == m.txn) {
      return io(self).error(req, wire_error::txn_closed,
                            "this payment is already settled (sequence " +
                                std::to_string(st.last_outcome.sequence) + ")",
                            m.txn);
    }
    return not_joined(self, req, m.txn);
  }
  if (t->step == handset_step::authenticating) {
    return io(self).error(req, wire_error::wrong_state,
                          "answer the auth_challenge first (auth_answer, or a binary frame)",
                          m.txn);
  }
  if (t->step != handset_step::amount_offered && t->step != handset_step::settling) {
    return io(self).error(req, wire_error::wrong_state, "no amount has been offered yet", m.txn);
  }
  if (t->step == handset_step::amount_offered) {
    const auto level = st.ctx->auth.policy.required(t->merchant.id, t->offer.amount_minor);
    if (level > t->authenticated) {
      start_auth(self, *t, req, m.amount, level);
      return;
    }
  }
  confirm_with_billing(self, req, m.txn, m.amount);
}

// The payer failed for good: the payment ends; the merchant hears only
// "authentication failed".
void fail_auth(self_ptr self, handset_txn& t, const std::string& why) {
  const auto req = t.auth->confirm;
  const auto txn = t.txn;
  self->send(t.billing, auth_fail_atom::value, txn, self);
  self->state.current.reset();
  io(self).reply(req, protocols::encode_failed(txn, wire_error::auth_failed, why, req.ref));
}

void on_verdict(self_ptr self, const request_meta& answer_req, const std::string& txn,
                const auth_verdict& v) {
  auto* t = current_for(self, txn);
  if (!t || t->step != handset_step::authenticating || !t->auth) return;
  auto& a = *t->auth;
  a.checking = false;
  const auto& ctx = *self->state.ctx;
  if (v.busy) {
    return io(self).error(answer_req, wire_error::busy,
                          "the switch is busy checking other payers; send the answer again", txn);
  }
  if (!v.refusal.empty()) {
    if (++a.sample_refusals > ctx.auth.max_sample_refusals) {
      return fail_auth(self, *t, "too many unusable samples");
    }
    return io(self).error(answer_req, wire_error::auth_sample_refused,
                          "the sample was refused (" + v.refusal + "); send another", txn);
  }
  if (v.matched) {
    (void)ctx.factors->record_success(a.factor.user_id, a.factor.factor_id);
    // The answer is acknowledged; the receipt answers the confirmation itself.
    io(self).reply(answer_req, protocols::encode_ack(answer_req.ref, "auth_answer", txn));
    t->authenticated = ctx.auth.policy.required(t->merchant.id, t->offer.amount_minor);
    const auto confirm = a.confirm;
    const auto amount = a.confirmed;
    t->auth.reset();
    return confirm_with_billing(self, confirm, txn, amount);
  }
  auto state = ctx.factors->record_failure(a.factor.user_id, a.factor.factor_id,
                                           ctx.time->now_unix_ms(), ctx.auth.lockout);
  const bool locked = state && state->locked_until_unix_ms > ctx.time->now_unix_ms();
  if (locked || a.attempts_left <= 1) {
    return fail_auth(
        self, *t,
        locked ? "authentication failed; this factor is locked for " +
                     std::to_string((state->locked_until_unix_ms - ctx.time->now_unix_ms() + 999) /
                                    1000) +
                     " s"
               : "authentication failed");
  }
  --a.attempts_left;
  io(self).error(answer_req, wire_error::auth_mismatch,
                 "that does not match; " + std::to_string(a.attempts_left) +
                     (a.attempts_left == 1 ? " attempt" : " attempts") + " left",
                 txn);
  send_challenge(self, *t);
}

// Sends the answer (text) or sample (binary frame) to the right pool.
void check_answer(self_ptr self, const request_meta& req, handset_txn& t, std::string answer) {
  auto& a = *t.auth;
  a.checking = true;
  const bool biometric = storage::is_biometric(a.factor.kind);
  auth_job job{a.factor.user_id, a.factor.factor_id, static_cast<std::uint8_t>(a.factor.kind),
               a.factor.secrets, std::move(answer)};
  sodium_memzero(answer.data(), answer.size());
  if (biometric) {
    const auto index = static_cast<std::size_t>(a.factor.kind) -
                       static_cast<std::size_t>(storage::factor_kind::face);
    job.threshold = self->state.ctx->auth.biometric_thresholds.at(index);
  }
  const auto txn = t.txn;
  const auto& ctx = *self->state.ctx;
  self->request(biometric ? ctx.biometric_checks : ctx.knowledge_checks,
                std::chrono::milliseconds(60'000), verify_atom::value, std::move(job))
      .then([=](auth_verdict& v) { on_verdict(self, req, txn, v); },
            [=](caf::error&) {
              auth_verdict busy;
              busy.busy = true;
              on_verdict(self, req, txn, busy);
            });
}

void on_auth_answer(self_ptr self, const request_meta& req, protocols::auth_answer_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t) return not_joined(self, req, m.txn);
  if (t->step != handset_step::authenticating || !t->auth) {
    return io(self).error(req, wire_error::wrong_state, "no auth_challenge is pending", m.txn);
  }
  if (storage::is_biometric(t->auth->factor.kind)) {
    return io(self).error(
        req, wire_error::bad_message,
        "this challenge needs an " + answer_kind(t->auth->factor.kind) + ", sent as a binary frame",
        m.txn);
  }
  if (t->auth->checking) {
    return io(self).error(req, wire_error::wrong_state, "the previous answer is being checked",
                          m.txn);
  }
  check_answer(self, req, *t, std::move(m.answer));
  sodium_memzero(m.answer.data(), m.answer.size());
}

// A binary frame is the sample a biometric challenge asked for.
void on_binary(self_ptr self, std::string sample) {
  auto& st = self->state;
  auto* t = st.current ? &*st.current : nullptr;
  if (!t || t->step != handset_step::authenticating || !t->auth ||
      !storage::is_biometric(t->auth->factor.kind)) {
    sodium_memzero(sample.data(), sample.size());
    return io(self).error({}, wire_error::binary_not_allowed,
                          "binary frames answer a biometric auth_challenge only");
  }
  const auto limit = t->auth->factor.kind == storage::factor_kind::voice
                         ? st.ctx->auth.max_audio_bytes
                         : st.ctx->auth.max_image_bytes;
  if (sample.size() > limit) {
    sodium_memzero(sample.data(), sample.size());
    return io(self).error({}, wire_error::frame_too_large,
                          "the sample is larger than " + std::to_string(limit) + " bytes", t->txn);
  }
  if (t->auth->checking) {
    sodium_memzero(sample.data(), sample.size());
    return io(self).error({}, wire_error::wrong_state, "the previous sample is being checked",
                          t->txn);
  }
  check_answer(self, {}, *t, std::move(sample));
}

void on_cancel(self_ptr self, const request_meta& req, const protocols::cancel_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t || t->step == handset_step::joining) return not_joined(self, req, m.txn);
  if (t->step == handset_step::settling) {
    return io(self).error(req, wire_error::wrong_state,
                          "the payment is being settled and can no longer be cancelled", m.txn);
  }
  const std::string reason = m.reason.empty() ? "the payer declined" : m.reason;
  self->send(t->billing, cancel_atom::value, m.txn, self, reason);
  self->state.current.reset();
  io(self).reply(req, protocols::encode_cancelled(req.ref, m.txn, "payer", reason));
}

// The merchant a payment credited or a refund debited: its own account on a
// single node, its clearing account of the payer's partition in a cluster.
std::string merchant_of_account(const std::string& account) {
  for (std::string_view prefix : {"merchant:", "clearing:"}) {
    if (account.compare(0, prefix.size(), prefix) == 0) return account.substr(prefix.size());
  }
  return account;
}

// Claim 14: the payer's purchases and refunds, newest first, from the ledger
// of the payer's partition (this node's, or in a cluster the account's home
// node, docs/cluster.md).
void on_history(self_ptr self, const request_meta& req, const protocols::history_msg& m) {
  auto payer = identify_payer(self, req);
  if (!payer) return;
  const auto& ctx = *self->state.ctx;
  auto ledger = ctx.ledger;
  if (ctx.cluster) {
    const auto home = ctx.cluster->home_of(payer->account_id);
    if (home != ctx.node_id) {
      auto peer = ctx.cluster->ledger(home);
      if (!peer) {
        return io(self).error(req, wire_error::node_unavailable,
                              "the node that keeps your wallet's ledger (" + std::to_string(home) +
                                  ") is down: ask again later");
      }
      ledger = *peer;
    }
  }
  self->request(ledger, request_timeout(self, ledger), history_atom::value, payer->account_id,
                m.before, static_cast<std::uint32_t>(m.limit))
      .then(
          [=](history_page& page) {
            if (!page.ok)
              return io(self).error(req, wire_error::internal, "the ledger is unavailable");
            std::vector<protocols::history_entry_view> entries;
            entries.reserve(page.entries.size());
            for (const auto& r : page.entries) {
              const bool payment = r.kind == posting_kind::payment;
              auto merchant_id = merchant_of_account(payment ? r.credit_account : r.debit_account);
              auto merchant = self->state.ctx->directory->find_merchant(merchant_id);
              entries.push_back({payment ? r.settlement_id : r.original_id,
                                 payment ? "payment" : "refund",
                                 payment ? "debit" : "credit",
                                 r.sequence,
                                 std::move(merchant_id),
                                 merchant ? merchant->name : std::string(),
                                 {r.amount_minor, r.currency},
                                 r.settled_unix_ms});
            }
            io(self).reply(req, protocols::encode_history(req.ref, entries, page.next_before));
          },
          [=](caf::error&) {
            io(self).error(req, wire_error::node_unavailable,
                           "the node that keeps your wallet's ledger did not answer: ask again "
                           "later");
          });
}

void on_frame(self_ptr self, const std::string& frame) {
  auto decoded = protocols::decode_paying(frame);
  if (!decoded) {
    const auto& f = decoded.error();
    return io(self).error({f.ref, {}}, f.code, f.message);
  }
  const request_meta req{decoded->ref, decoded->idempotency_key};
  if (!io(self).admit(req, decoded->fingerprint)) return;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocols::join_msg>) on_join(self, req, m);
        if constexpr (std::is_same_v<T, protocols::pay_merchant_msg>) on_pay_merchant(self, req, m);
        if constexpr (std::is_same_v<T, protocols::confirm_merchant_msg>) {
          on_confirm_merchant(self, req, m);
        }
        if constexpr (std::is_same_v<T, protocols::order_msg>) on_order(self, req, m);
        if constexpr (std::is_same_v<T, protocols::confirm_amount_msg>) {
          on_confirm_amount(self, req, m);
        }
        if constexpr (std::is_same_v<T, protocols::cancel_msg>) on_cancel(self, req, m);
        if constexpr (std::is_same_v<T, protocols::history_msg>) on_history(self, req, m);
        if constexpr (std::is_same_v<T, protocols::auth_answer_msg>) {
          on_auth_answer(self, req, m);
        }
        if constexpr (std::is_same_v<T, protocols::ping_msg>) {
          io(self).reply(req,
                         protocols::encode_pong(req.ref, self->state.ctx->time->now_unix_ms()));
        }
      },
      decoded->body);
}

void on_ended(self_ptr self, const txn_end& e) {
  if (!current_for(self, e.txn)) return;
  switch (e.how) {
    case ending::expired:
      io(self).event(protocols::encode_expired(e.txn));
      break;
    case ending::failed:
      io(self).event(protocols::encode_failed(e.txn, e.code, e.reason));
      break;
    default:
      io(self).event(protocols::encode_cancelled({}, e.txn, e.by, e.reason));
      break;
  }
  self->state.current.reset();
}

void on_closed(self_ptr self) {
  auto& st = self->state;
  io(self).mark_closed();
  if (!st.msisdn.empty()) {
    self->send(st.ctx->presence_of(st.msisdn), detach_atom::value, st.msisdn,
               paying_session_actor{self});
  }
  if (st.current) {
    switch (st.current->step) {
      case handset_step::joining:
        return;  // quit once the registry answers, releasing a join it granted
      case handset_step::settling:
        break;  // the settlement completes without us; the merchant hears of it
      default:
        self->send(st.current->billing, left_atom::value, st.current->txn, self);
        break;
    }
  }
  self->quit();
}

}  // namespace

paying_session_actor::behavior_type paying_session(
    self_ptr self, std::shared_ptr<const switch_context> ctx,
    std::shared_ptr<protocols::ws_connection> connection, std::string msisdn,
    std::string source_address) {
  self->state.io = std::make_unique<session_io>(std::move(connection),
                                                ctx->limits.max_idempotency_keys, ctx->metrics);
  self->state.ctx = std::move(ctx);
  auto* metrics = self->state.ctx->metrics;
  ++metrics->paying_connections;
  self->attach_functor([metrics] { --metrics->paying_connections; });
  self->state.msisdn = std::move(msisdn);
  self->state.source_address = std::move(source_address);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& cur = self->state.current;
    // A billing session ends its transactions before it quits normally; only
    // a lost node (or a crash) takes one away mid-transaction.
    if (!cur || !cur->billing || msg.source != cur->billing.address() ||
        msg.reason == caf::exit_reason::normal) {
      return;
    }
    const auto txn = cur->txn;
    const bool settling = cur->step == handset_step::settling;
    cur.reset();
    io(self).event(protocols::encode_failed(
        txn, wire_error::node_unavailable,
        settling ? "the node that owns this transaction went down during settlement; ask the "
                   "merchant or check history for the outcome"
                 : "the node that owns this transaction went down; nothing was charged"));
  });
  // Reachable for pushes (flow C) while connected.
  if (!self->state.msisdn.empty()) {
    self->send(self->state.ctx->presence_of(self->state.msisdn), attach_atom::value,
               self->state.msisdn, paying_session_actor{self});
  }
  return {
      [=](frame_atom, const std::string& frame) { on_frame(self, frame); },
      [=](binary_atom, std::string& sample) { on_binary(self, std::move(sample)); },
      [=](oversized_atom, std::uint64_t bytes) {
        io(self).error({}, wire_error::frame_too_large,
                       "a frame of " + std::to_string(bytes) + " bytes was discarded (limit " +
                           std::to_string(self->state.ctx->limits.max_frame_bytes) + " bytes)");
      },
      [=](closed_atom, protocols::close_reason) { on_closed(self); },
      [=](offer_atom, const amount_offer& offer) {
        auto* t = current_for(self, offer.txn);
        if (!t ||
            (t->step != handset_step::synchronized && t->step != handset_step::amount_offered &&
             t->step != handset_step::authenticating)) {
          return;
        }
        // A new amount during a challenge: the challenge stays, and the
        // confirmation it guards names the old amount (amount_mismatch), so
        // the payer confirms the new one, re-authenticated if it needs more.
        if (t->step != handset_step::authenticating) t->step = handset_step::amount_offered;
        t->offer = offer;
        send_offer(self, *t);
      },
      [=](ended_atom, const txn_end& e) { on_ended(self, e); },
      [=](catalogue_atom, const catalogue_offer& offer) {
        if (!current_for(self, offer.txn)) return;
        io(self).event(protocols::encode_catalogue(offer.txn, offer.items, offer.currency));
      },
      [=](push_atom, const push_notice& n) {
        const auto& m = n.merchant;
        std::optional<protocols::money_field> amount;
        if (n.amount_minor > 0) amount = protocols::money_field{n.amount_minor, n.currency};
        io(self).event(
            protocols::encode_push(n.txn, {m.id, m.name, m.till, m.city, m.category, m.currency},
                                   amount, n.expires_unix_ms));
      },
  };
}

}  // namespace paysync::actors
