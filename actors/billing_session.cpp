#include "actors/billing_session.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "actors/cluster_view.hpp"
#include "actors/payer_checks.hpp"
#include "actors/request_timeout.hpp"
#include "protocols/message_codec.hpp"
#include "protocols/money.hpp"
#include "protocols/qr_code.hpp"
#include "protocols/trusted_gateway.hpp"
#include "protocols/txn_ids.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::actors {

std::string_view to_string(txn_state s) noexcept {
  switch (s) {
    case txn_state::opening:
      return "opening";
    case txn_state::opened:
      return "opened";
    case txn_state::joined:
      return "joined";
    case txn_state::synchronized:
      return "synchronized";
    case txn_state::amount_offered:
      return "amount_offered";
    case txn_state::settling:
      return "settling";
    case txn_state::settled:
      return "settled";
    case txn_state::cancelled:
      return "cancelled";
    case txn_state::expired:
      return "expired";
    case txn_state::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

using protocols::wire_error;
using self_ptr = billing_session_actor::stateful_pointer<billing_session_state>;

session_io& io(self_ptr self) { return *self->state.io; }

billing_txn* find_txn(self_ptr self, const std::string& txn) {
  auto it = self->state.txns.find(txn);
  return it == self->state.txns.end() ? nullptr : &it->second;
}

registry_shard_actor shard_of(self_ptr self, const std::string& txn) {
  auto route = protocols::parse_id(protocols::id_kind::transaction, txn);
  return self->state.ctx->shard(route ? route->shard : 0);
}

std::chrono::milliseconds request_limit(self_ptr self) {
  return std::chrono::milliseconds(self->state.ctx->limits.request_timeout_ms);
}

template <class Handle>
caf::duration request_timeout(self_ptr self, const Handle& dest) {
  return request_timeout_for(self, dest, request_limit(self));
}

// A handset on another node can vanish with its node: watch it (docs/cluster.md).
void watch(self_ptr self, const paying_session_actor& handset) {
  if (handset && handset->node() != self->node()) self->monitor(handset);
}

// Quits once the connection is gone and nothing is left in flight.
void maybe_quit(self_ptr self) {
  if (!io(self).closed() || self->state.refunds_in_flight > 0) return;
  for (const auto& [id, t] : self->state.txns) {
    if (t.state == txn_state::settling || t.state == txn_state::opening) return;
  }
  if (self->state.identified) {
    self->send(self->state.ctx->presence_of(self->state.merchant.id), detach_atom::value,
               self->state.merchant.id, billing_session_actor{self});
  }
  self->quit();
}

// Moves a transaction to a final state and keeps only a bounded number of
// finished ones (for status queries and replayed confirmations).
void finish(self_ptr self, billing_txn& t, txn_state final_state) {
  auto& st = self->state;
  t.state = final_state;
  --st.live;
  t.handset = nullptr;
  st.finished.push(t.txn);
  while (st.finished.size() > st.ctx->limits.max_finished_remembered) {
    st.txns.erase(st.finished.front());
    st.finished.pop();
  }
}

struct end_notice {
  ending how;
  std::string by, reason;
  bool tell_billing;  // false when the billing terminal asked for it (it gets a reply)
  bool tell_handset;  // false when the handset asked for it
};

void end_txn(self_ptr self, billing_txn& t, const end_notice& n) {
  if (n.tell_billing) {
    if (n.how == ending::cancelled) {
      io(self).event(protocols::encode_cancelled({}, t.txn, n.by, n.reason));
    } else if (n.how == ending::expired) {
      io(self).event(protocols::encode_expired(t.txn));
    }
  }
  if (n.tell_handset && t.handset) {
    self->send(t.handset, ended_atom::value,
               txn_end{t.txn, n.how, n.by, n.reason, wire_error::internal});
  }
  self->send(shard_of(self, t.txn), close_atom::value, t.txn, n.how);
  finish(self, t, n.how == ending::cancelled ? txn_state::cancelled : txn_state::expired);
}

std::map<std::string, std::string> disclosed(const storage::merchant_record& m,
                                             const payer_card& payer) {
  std::map<std::string, std::string> out;
  for (const auto& name : m.disclosed_attributes) {
    if (name == "display_name") {
      out[name] = payer.display_name;
    } else if (auto it = payer.attributes.find(name); it != payer.attributes.end()) {
      out[name] = it->second;
    }
  }
  return out;
}

// Signs a settlement's facts (issue 7, signed receipts) once, here, for both
// the `settled` event and the payer's `receipt`.
void sign_settlement(const switch_context& ctx, protocols::settlement_view& v,
                     std::string_view payer_account) {
  if (!ctx.receipts) return;
  v.payer_ref = ctx.receipts->payer_ref(payer_account);
  v.key_id = ctx.receipts->key_id();
  v.signature = ctx.receipts->sign({v.txn, v.merchant_id, v.payer_ref, v.amount.amount_minor,
                                    v.amount.currency,
                                    protocols::format_timestamp(v.settled_unix_ms), v.sequence});
}

protocols::settlement_view settlement_of(self_ptr self, const billing_txn& t) {
  protocols::settlement_view v{t.txn,
                               self->state.card.id,
                               self->state.card.name,
                               {t.amount_minor, t.currency},
                               t.outcome.sequence,
                               t.outcome.settled_unix_ms,
                               t.reference};
  v.payer_ref = t.outcome.payer_ref;
  v.signature = t.outcome.signature;
  if (self->state.ctx->receipts) v.key_id = self->state.ctx->receipts->key_id();
  return v;
}

verdict check(self_ptr self, const billing_txn& t, std::int64_t amount_minor) {
  const auto& ctx = *self->state.ctx;
  return check_payer(*ctx.directory, *ctx.ledger_reads, t.payer.user_id, t.payer.account_id,
                     amount_minor, ctx.time->now_unix_ms(), ctx.limits.payer);
}

// A transaction id and link token for a new transaction on a random shard.
billing_txn new_txn(self_ptr self, std::int64_t ttl_ms) {
  const auto& ctx = *self->state.ctx;
  std::uint16_t shard = 0;
  protocols::random_bytes(&shard, sizeof(shard));
  const protocols::txn_route route{ctx.node_id,
                                   static_cast<std::uint8_t>(shard % ctx.shard_count())};
  const auto now = ctx.time->now_unix_ms();
  billing_txn t;
  t.txn = protocols::make_transaction_id(route, now);
  t.token = protocols::make_link_token(route);
  t.expires_unix_ms = now + ttl_ms;
  t.currency = self->state.merchant.currency;
  return t;
}

txn_ticket ticket_for(self_ptr self, const billing_txn& t) {
  txn_ticket ticket;
  ticket.txn = t.txn;
  ticket.token = t.token;
  ticket.merchant = self->state.card;
  ticket.amount_minor = t.amount_minor;
  ticket.currency = t.currency;
  ticket.expires_unix_ms = t.expires_unix_ms;
  ticket.billing = self;
  return ticket;
}

protocols::opened_view opened_view_of(self_ptr self, const billing_txn& t, std::int64_t ttl_ms) {
  const auto& mr = self->state.merchant;
  protocols::opened_view v;
  v.txn = t.txn;
  v.code = t.code;
  v.till = mr.till;
  v.link = self->state.ctx->public_base_url + "/pay/" + mr.id + "/" + t.token;
  v.expires_unix_ms = t.expires_unix_ms;
  v.ttl_s = ttl_ms / 1000;
  v.currency = t.currency;
  if (t.amount_minor > 0) v.amount = protocols::money_field{t.amount_minor, t.currency};
  v.reference = t.reference;
  v.initiated_by = t.initiated_by_payer ? "payer" : "merchant";
  if (t.qr == protocols::qr_format::png) {
    if (auto png = protocols::qr_png(v.link)) {
      v.qr_png.assign(png->begin(), png->end());
    } else {
      spdlog::warn("billing: no QR code for a link of {} bytes: {}", v.link.size(),
                   protocols::to_string(png.error()));
    }
  } else if (t.qr == protocols::qr_format::svg) {
    if (auto svg = protocols::qr_svg(v.link)) {
      v.qr_svg = std::move(*svg);
    } else {
      spdlog::warn("billing: no QR code for a link of {} bytes: {}", v.link.size(),
                   protocols::to_string(svg.error()));
    }
  }
  return v;
}

// Registers `t` with its shard, then calls `done(ok)` with the transaction
// recorded (state opened) or erased again. The record exists before the
// shard does, so a join racing the reply finds it.
template <class Done>
void register_txn(self_ptr self, billing_txn t, txn_ticket ticket, Done done) {
  const auto txn = t.txn;
  self->state.txns.emplace(txn, std::move(t));
  ++self->state.live;
  auto forget = [self, txn] {
    if (find_txn(self, txn)) {
      self->state.txns.erase(txn);
      --self->state.live;
    }
  };
  const auto shard = shard_of(self, txn);
  self->request(shard, request_timeout(self, shard), open_atom::value, std::move(ticket))
      .then(
          [=](open_grant& grant) {
            auto* t = find_txn(self, txn);
            if (!t) return;
            if (!grant.result.ok) {
              forget();
              done(nullptr, grant.result);
              return maybe_quit(self);
            }
            t->code = grant.code;
            if (t->state == txn_state::opening) t->state = txn_state::opened;
            ++self->state.ctx->metrics->transactions_opened;
            done(t, accepted());
            if (io(self).closed() && !is_finished(t->state)) {
              end_txn(
                  self, *t,
                  {ending::cancelled, "merchant", "billing terminal disconnected", false, true});
            }
            maybe_quit(self);
          },
          [=](caf::error&) {
            forget();
            done(nullptr, refused(wire_error::busy, "the registry did not answer in time; retry"));
            maybe_quit(self);
          });
}

// --- frames from the billing terminal ---------------------------------------

void on_hello(self_ptr self, const request_meta& req, const protocols::hello_msg& m) {
  auto& st = self->state;
  if (st.identified) {
    return io(self).error(req, wire_error::already_identified,
                          "this connection is already identified as " + st.terminal_id);
  }
  auto terminal = st.ctx->directory->find_terminal(m.terminal);
  if (!terminal || terminal->role != storage::terminal_role::billing) {
    if (!terminal && terminal.error() != storage::store_error::not_found) {
      return io(self).error(req, wire_error::internal, "the directory is unavailable");
    }
    return io(self).error(req, wire_error::unknown_terminal,
                          "no billing terminal is registered as \"" + m.terminal + "\"");
  }
  if (terminal->status != storage::party_status::active) {
    return io(self).error(req, wire_error::terminal_blocked,
                          "billing terminal \"" + m.terminal + "\" is suspended or revoked");
  }
  auto merchant = st.ctx->directory->find_merchant(terminal->merchant_id);
  if (!merchant) {
    return io(self).error(req, wire_error::internal,
                          "the terminal's merchant is missing from the directory");
  }
  if (merchant->status != storage::party_status::active) {
    return io(self).error(req, wire_error::merchant_inactive,
                          "merchant \"" + merchant->id + "\" is not active");
  }
  auto verdict = check_hello(*terminal, m.nonce, m.signature, st.challenge,
                             st.ctx->time->now_unix_ms(), st.ctx->limits.require_terminal_keys);
  if (verdict.what == hello_verdict::kind::challenge) {
    return io(self).reply(
        req, protocols::encode_challenge(req.ref, "terminal", m.terminal, verdict.nonce,
                                         hello_challenge_ttl_ms / 1000));
  }
  if (verdict.what == hello_verdict::kind::refuse) {
    io(self).error(req, verdict.error, verdict.message);
    if (verdict.error == wire_error::bad_signature &&
        ++st.bad_signatures >= st.ctx->limits.max_bad_signatures) {
      spdlog::warn("billing: connection {} closed after {} bad signatures for {}",
                   io(self).connection_id(), st.bad_signatures, m.terminal);
      io(self).close();
    }
    return;
  }
  st.identified = true;
  st.terminal_id = m.terminal;
  st.merchant = std::move(*merchant);
  const auto& mr = st.merchant;
  st.card =
      merchant_card{mr.id, mr.name, mr.till, mr.city, mr.category, mr.currency, mr.account_id};
  // Reachable for payer-initiated payments and order-centre orders from now on.
  self->send(st.ctx->presence_of(mr.id), attach_atom::value, mr.id, billing_session_actor{self});
  spdlog::info("billing: terminal {} of {} identified (connection {})", st.terminal_id, mr.id,
               io(self).connection_id());
  io(self).reply(
      req, protocols::encode_welcome(req.ref, st.terminal_id,
                                     {mr.id, mr.name, mr.till, mr.city, mr.category, mr.currency},
                                     st.ctx->time->now_unix_ms()));
}

bool check_currency(self_ptr self, const request_meta& req, const std::string& currency) {
  if (currency.empty() || currency == self->state.merchant.currency) return true;
  io(self).error(req, wire_error::currency_mismatch,
                 "merchant " + self->state.merchant.id + " settles in " +
                     self->state.merchant.currency + ", not " + currency);
  return false;
}

// Flow C: reaches the payer of a pushed transaction over their open
// connection, or else by SMS with the link; then answers `opened`.
void push_and_answer(self_ptr self, const request_meta& req, const std::string& txn,
                     const std::string& msisdn, std::int64_t ttl_ms) {
  auto* t = find_txn(self, txn);
  if (!t) return;
  push_notice notice{txn, self->state.card, t->amount_minor, t->currency, t->expires_unix_ms};
  self->request(self->state.ctx->presence_lookup(msisdn), request_limit(self), push_atom::value,
                msisdn, std::move(notice))
      .then(
          [=](std::uint32_t reached) {
            auto* t = find_txn(self, txn);
            if (!t) return;
            auto view = opened_view_of(self, *t, ttl_ms);
            if (reached > 0) {
              view.pushed_via = "handset";
              return io(self).reply(req, protocols::encode_opened(req.ref, view));
            }
            const auto& mr = self->state.merchant;
            sms_message sms{msisdn,
                            mr.name + " asks you to pay" +
                                (t->amount_minor > 0
                                     ? " " + protocols::format_money(t->amount_minor, t->currency)
                                     : std::string()) +
                                ". Open " + view.link + " or enter code " + t->code + " at till " +
                                mr.till + ". Valid until " +
                                protocols::format_timestamp(t->expires_unix_ms) + ".",
                            view.link, t->expires_unix_ms};
            self->request(self->state.ctx->sms, request_limit(self), sms_atom::value,
                          std::move(sms))
                .then(
                    [=](verdict& sent) {
                      auto* t = find_txn(self, txn);
                      if (!t) return;
                      if (!sent.ok) {
                        end_txn(self, *t,
                                {ending::cancelled, "switch", "the payer could not be reached",
                                 false, false});
                        return io(self).error(req, wire_error::internal,
                                              "the payer has no open connection and the SMS "
                                              "gateway failed; nothing was opened");
                      }
                      auto view = opened_view_of(self, *t, ttl_ms);
                      view.pushed_via = "sms";
                      io(self).reply(req, protocols::encode_opened(req.ref, view));
                    },
                    [=](caf::error&) {
                      io(self).error(req, wire_error::busy, "the SMS gateway did not answer");
                    });
          },
          [=](caf::error&) {
            io(self).error(req, wire_error::busy, "the switch did not answer in time; retry");
          });
}

void open_txn(self_ptr self, const request_meta& req, const protocols::open_msg& m,
              const std::string& push_msisdn) {
  auto& st = self->state;
  const auto& limits = st.ctx->limits;
  std::int64_t ttl_ms = limits.txn_ttl_ms;
  if (m.ttl_s && *m.ttl_s * 1000 < ttl_ms) ttl_ms = *m.ttl_s * 1000;
  auto t = new_txn(self, ttl_ms);
  t.reference = m.reference;
  t.qr = m.qr;
  if (m.amount) t.amount_minor = m.amount->amount_minor;
  auto ticket = ticket_for(self, t);
  ticket.bound_msisdn = push_msisdn;
  register_txn(self, std::move(t), std::move(ticket), [=](billing_txn* t, const verdict& v) {
    if (!t) return io(self).error(req, v.error, v.message);
    if (!push_msisdn.empty()) return push_and_answer(self, req, t->txn, push_msisdn, ttl_ms);
    io(self).reply(req, protocols::encode_opened(req.ref, opened_view_of(self, *t, ttl_ms)));
  });
}

// Flow C: the pushed payer must be registered, active and in our currency.
bool check_push_target(self_ptr self, const request_meta& req, const std::string& msisdn) {
  auto user = self->state.ctx->directory->find_user_by_msisdn(msisdn);
  if (!user) {
    io(self).error(req, wire_error::payer_unregistered,
                   "that number is not registered for payments");
    return false;
  }
  if (user->status != storage::party_status::active) {
    io(self).error(req, wire_error::payer_blocked, "that payer's account is not active");
    return false;
  }
  if (user->currency != self->state.merchant.currency) {
    io(self).error(req, wire_error::currency_mismatch,
                   "that payer's wallet is not in " + self->state.merchant.currency);
    return false;
  }
  return true;
}

void on_open(self_ptr self, const request_meta& req, const protocols::open_msg& m) {
  auto& st = self->state;
  if (st.live >= st.ctx->limits.max_open_per_terminal) {
    return io(self).error(
        req, wire_error::too_many_open,
        "this terminal already has " + std::to_string(st.live) + " open transactions (the limit)");
  }
  if (!check_currency(self, req, m.currency)) return;
  if (m.amount && !check_currency(self, req, m.amount->currency)) return;
  if (!m.push_msisdn.empty()) {
    const auto msisdn = protocols::normalize_msisdn(m.push_msisdn);
    if (msisdn.empty()) {
      return io(self).error(req, wire_error::bad_message,
                            "\"push_msisdn\" must be a phone number of 8 to 15 digits");
    }
    if (!check_push_target(self, req, msisdn)) return;
    return open_txn(self, req, m, msisdn);
  }
  if (!m.push_customer.empty()) {
    self->request(st.ctx->presence_lookup(st.merchant.id), request_limit(self), resolve_atom::value,
                  st.merchant.id, m.push_customer)
        .then(
            [=](resolve_grant& found) {
              if (!found.result.ok)
                return io(self).error(req, found.result.error, found.result.message);
              if (!check_push_target(self, req, found.msisdn)) return;
              open_txn(self, req, m, found.msisdn);
            },
            [=](caf::error&) {
              io(self).error(req, wire_error::busy, "the switch did not answer in time; retry");
            });
    return;
  }
  open_txn(self, req, m, {});
}

void offer_amount(self_ptr self, billing_txn& t) {
  t.state = txn_state::amount_offered;
  self->send(t.handset, offer_atom::value, amount_offer{t.txn, t.amount_minor, t.currency});
}

// The transaction `txn` of this connection, alive; or an error reply and nullptr.
billing_txn* live_txn(self_ptr self, const request_meta& req, const std::string& txn) {
  auto* t = find_txn(self, txn);
  if (!t || t->state == txn_state::opening) {
    io(self).error(req, wire_error::unknown_txn,
                   "no transaction " + txn + " was opened on this connection", txn);
    return nullptr;
  }
  if (is_finished(t->state)) {
    io(self).error(req, wire_error::txn_closed,
                   "the transaction is " + std::string(to_string(t->state)), txn);
    return nullptr;
  }
  if (t->state == txn_state::settling) {
    io(self).error(req, wire_error::wrong_state,
                   "the payer confirmed already; the settlement is in progress", txn);
    return nullptr;
  }
  return t;
}

bool payer_known(const billing_txn& t) {
  return t.state == txn_state::synchronized || t.state == txn_state::amount_offered;
}

void on_amount(self_ptr self, const request_meta& req, const protocols::amount_msg& m) {
  auto* t = live_txn(self, req, m.txn);
  if (!t) return;
  if (!check_currency(self, req, m.amount.currency)) return;
  if (payer_known(*t)) {
    // Refused before the payer is asked (claim 12); the transaction stays.
    auto v = check(self, *t, m.amount.amount_minor);
    if (!v.ok) return io(self).error(req, v.error, v.message, m.txn);
  }
  t->amount_minor = m.amount.amount_minor;
  if (payer_known(*t)) offer_amount(self, *t);
  io(self).reply(req, protocols::encode_ack(req.ref, "amount", m.txn));
}

void on_catalogue(self_ptr self, const request_meta& req, const protocols::catalogue_msg& m) {
  auto* t = live_txn(self, req, m.txn);
  if (!t) return;
  t->catalogue = m.items;
  t->catalogue_offered = payer_known(*t);
  if (t->catalogue_offered) {
    self->send(t->handset, catalogue_atom::value,
               catalogue_offer{t->txn, t->catalogue, t->currency});
  }
  io(self).reply(req, protocols::encode_ack(req.ref, "catalogue", m.txn));
}

void on_cancel(self_ptr self, const request_meta& req, const protocols::cancel_msg& m) {
  auto* t = live_txn(self, req, m.txn);
  if (!t) return;
  const std::string reason = m.reason.empty() ? "cancelled by the merchant" : m.reason;
  end_txn(self, *t, {ending::cancelled, "merchant", reason, false, true});
  io(self).reply(req, protocols::encode_cancelled(req.ref, m.txn, "merchant", reason));
}

// Whether a payment in a ledger partition credited this merchant: its own
// account on a single node, its clearing account of that partition in a
// cluster (docs/cluster.md).
bool credits_this_merchant(self_ptr self, const ledger_record& p) {
  const auto& merchant = self->state.merchant;
  return p.credit_account == merchant.account_id || p.credit_account == "clearing:" + merchant.id;
}

void reply_settled_status(self_ptr self, const request_meta& req, const std::string& txn,
                          const ledger_record& p) {
  protocols::status_view v;
  v.txn = txn;
  v.state = "settled";
  v.amount = protocols::money_field{p.amount_minor, p.currency};
  v.settlement = protocols::settlement_view{txn,
                                            self->state.card.id,
                                            self->state.card.name,
                                            {p.amount_minor, p.currency},
                                            p.sequence,
                                            p.settled_unix_ms,
                                            p.memo};
  sign_settlement(*self->state.ctx, *v.settlement, p.debit_account);
  io(self).reply(req, protocols::encode_status(req.ref, v));
}

// A transaction not (or no longer) on this connection: a settlement is in the
// ledger for good, so a terminal that reconnects, to any node, can still
// learn the outcome. In a cluster the payment is in the payer's partition,
// which the id does not name, so every node's ledger is asked; when one that
// may hold it is down or silent, the answer says so instead of unknown_txn.
void status_from_ledgers(self_ptr self, const request_meta& req, const std::string& txn) {
  const auto& ctx = *self->state.ctx;
  struct search {
    std::size_t waiting = 0;
    std::vector<std::uint8_t> unanswered;
    std::string disk_failure;  // a ledger that answered it cannot tell
    bool answered = false;
  };
  auto s = std::make_shared<search>();
  std::vector<std::pair<std::uint8_t, ledger_actor>> ask;
  if (!ctx.cluster) {
    ask.emplace_back(ctx.node_id, ctx.ledger);
  } else {
    for (const auto node : ctx.cluster->nodes()) {
      if (node == ctx.node_id) {
        ask.emplace_back(node, ctx.ledger);
      } else if (auto peer = ctx.cluster->ledger(node)) {
        ask.emplace_back(node, *peer);
      } else {
        s->unanswered.push_back(node);
      }
    }
  }
  s->waiting = ask.size();
  const auto none_found = [=] {
    if (!s->disk_failure.empty()) {
      return io(self).error(req, wire_error::internal,
                            "no settlement " + txn + " can be confirmed: " + s->disk_failure, txn);
    }
    if (s->unanswered.empty()) {
      return io(self).error(req, wire_error::unknown_txn,
                            "no live transaction and no settlement of this merchant has id " + txn,
                            txn);
    }
    std::string nodes;
    for (const auto n : s->unanswered) nodes += (nodes.empty() ? "" : ", ") + std::to_string(n);
    io(self).error(req, wire_error::node_unavailable,
                   "no settlement " + txn + " was found on the nodes that answered; node(s) " +
                       nodes + " did not, and the payment may have settled there: ask again later",
                   txn);
  };
  for (const auto& [node, ledger] : ask) {
    self->request(ledger, request_timeout(self, ledger), find_atom::value, txn)
        .then(
            [=, node = node](ledger_record& found) {
              if (s->answered) return;
              if (found.found && credits_this_merchant(self, found)) {
                s->answered = true;
                return reply_settled_status(self, req, txn, found);
              }
              if (!found.unavailable.empty()) {
                s->disk_failure = self->state.ctx->cluster
                                      ? "node " + std::to_string(node) + ": " + found.unavailable
                                      : found.unavailable;
              }
              if (--s->waiting == 0) none_found();
            },
            [=, node = node](caf::error&) {
              if (s->answered) return;
              s->unanswered.push_back(node);
              if (--s->waiting == 0) none_found();
            });
  }
}

void on_status(self_ptr self, const request_meta& req, const protocols::status_msg& m) {
  if (auto* t = find_txn(self, m.txn); t && t->state != txn_state::opening) {
    protocols::status_view v;
    v.txn = m.txn;
    v.state = std::string(to_string(t->state));
    if (t->amount_minor > 0) v.amount = protocols::money_field{t->amount_minor, t->currency};
    if (t->state == txn_state::settled) v.settlement = settlement_of(self, *t);
    return io(self).reply(req, protocols::encode_status(req.ref, v));
  }
  status_from_ledgers(self, req, m.txn);
}

// Refunds are new balanced entries tied to the payment (never more than was
// paid, checked by the ledger). Their idempotency key names the refund in the
// ledger for good, so a retry after a crash or a reconnect cannot refund twice.
void on_refund(self_ptr self, const request_meta& req, const protocols::refund_msg& m) {
  auto& st = self->state;
  if (req.idempotency_key.empty()) {
    return io(self).error(req, wire_error::bad_message,
                          "a refund needs an \"idempotency_key\", so that a retry cannot refund "
                          "twice");
  }
  if (!check_currency(self, req, m.amount.currency)) return;
  auto original = st.ctx->ledger_reads->find_entry(m.txn);
  if (!original || original->posting.kind != storage::entry_kind::payment ||
      original->posting.credit_account != st.merchant.account_id) {
    return io(self).error(req, wire_error::unknown_txn,
                          "no settled payment " + m.txn + " to this merchant", m.txn);
  }
  settlement_order order;
  order.settlement_id = "refund:" + st.merchant.id + ":" + req.idempotency_key;
  order.debit_account = st.merchant.account_id;
  order.credit_account = original->posting.debit_account;
  order.amount_minor = m.amount.amount_minor;
  order.currency = original->posting.currency;
  order.kind = posting_kind::refund;
  order.original_id = m.txn;
  order.memo = m.reason;
  const auto refund_id = order.settlement_id;
  ++st.refunds_in_flight;
  self->request(st.ctx->ledger, caf::infinite, settle_atom::value, std::move(order))
      .then(
          [=](settlement_outcome& outcome) {
            --self->state.refunds_in_flight;
            if (!outcome.ok) {
              io(self).error(req, outcome.error, outcome.message, m.txn);
            } else {
              if (!outcome.duplicate) ++self->state.ctx->metrics->refunds;
              auto total = self->state.ctx->ledger_reads->refunded_minor(m.txn);
              io(self).reply(req, protocols::encode_refunded(
                                      req.ref, {m.txn, refund_id, m.amount, total ? *total : 0,
                                                outcome.sequence, outcome.settled_unix_ms}));
            }
            maybe_quit(self);
          },
          [=](caf::error&) {
            --self->state.refunds_in_flight;
            io(self).error(req, wire_error::internal,
                           "the ledger is unavailable; nothing was refunded", m.txn);
            maybe_quit(self);
          });
}

void on_frame(self_ptr self, const std::string& frame) {
  auto decoded = protocols::decode_billing(frame);
  if (!decoded) {
    const auto& f = decoded.error();
    return io(self).error({f.ref, {}}, f.code, f.message);
  }
  const request_meta req{decoded->ref, decoded->idempotency_key};
  auto& body = decoded->body;
  if (std::holds_alternative<protocols::ping_msg>(body)) {
    return io(self).reply(req,
                          protocols::encode_pong(req.ref, self->state.ctx->time->now_unix_ms()));
  }
  if (!io(self).admit(req, decoded->fingerprint)) return;
  if (auto* hello = std::get_if<protocols::hello_msg>(&body)) return on_hello(self, req, *hello);
  if (!self->state.identified) {
    return io(self).error(req, wire_error::not_identified,
                          "send \"hello\" with your terminal id first");
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocols::open_msg>) on_open(self, req, m);
        if constexpr (std::is_same_v<T, protocols::amount_msg>) on_amount(self, req, m);
        if constexpr (std::is_same_v<T, protocols::catalogue_msg>) on_catalogue(self, req, m);
        if constexpr (std::is_same_v<T, protocols::cancel_msg>) on_cancel(self, req, m);
        if constexpr (std::is_same_v<T, protocols::status_msg>) on_status(self, req, m);
        if constexpr (std::is_same_v<T, protocols::refund_msg>) on_refund(self, req, m);
      },
      body);
}

// --- messages from handsets, the registry and the ledger ------------------------

void settle(self_ptr self, billing_txn& t) {
  t.state = txn_state::settling;
  settlement_order order;
  order.settlement_id = t.txn;
  order.debit_account = t.payer.account_id;
  order.credit_account = self->state.merchant.account_id;
  order.amount_minor = t.amount_minor;
  order.currency = t.currency;
  order.memo = t.reference;
  const auto txn = t.txn;
  const auto started = std::chrono::steady_clock::now();
  auto complete = [=](settlement_outcome outcome) {
    auto& metrics = *self->state.ctx->metrics;
    metrics.settle_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (outcome.ok) {
      ++metrics.settlements;
    } else {
      metrics.refused(outcome.error);
    }
    auto* t = find_txn(self, txn);
    if (!t) return;
    if (outcome.ok) {
      protocols::settlement_view signed_view = settlement_of(self, *t);
      signed_view.sequence = outcome.sequence;
      signed_view.settled_unix_ms = outcome.settled_unix_ms;
      sign_settlement(*self->state.ctx, signed_view, t->payer.account_id);
      outcome.payer_ref = std::move(signed_view.payer_ref);
      outcome.signature = std::move(signed_view.signature);
      outcome.key_id = std::move(signed_view.key_id);
    }
    t->outcome = outcome;
    for (auto& promise : t->confirmations) promise.deliver(outcome);
    t->confirmations.clear();
    if (outcome.ok) {
      io(self).event(protocols::encode_settled(settlement_of(self, *t)));
      self->send(shard_of(self, txn), close_atom::value, txn, ending::settled);
      finish(self, *t, txn_state::settled);
    } else {
      io(self).event(protocols::encode_failed(txn, outcome.error, outcome.message));
      self->send(shard_of(self, txn), close_atom::value, txn, ending::failed);
      finish(self, *t, txn_state::failed);
    }
    maybe_quit(self);
  };
  const auto& ctx = *self->state.ctx;
  auto ledger = ctx.ledger;
  bool remote = false;
  if (ctx.cluster) {
    // A cluster (docs/cluster.md): one durable commit on the payer's
    // partition, crediting the merchant's clearing account there; the
    // settlement window nets it into the merchant's account later.
    order.credit_account = "clearing:" + self->state.merchant.id;
    const auto home = ctx.cluster->home_of(order.debit_account);
    if (home != ctx.node_id) {
      auto peer = ctx.cluster->ledger(home);
      if (!peer) {
        return complete(settlement_outcome{
            false, wire_error::node_unavailable,
            "the payer's ledger node " + std::to_string(home) + " is down; nothing was charged", 0,
            0, false});
      }
      ledger = *peer;
      remote = true;
    }
  }
  // No timeout for this node's ledger: it always answers, and guessing would
  // be worse. A peer's ledger can vanish with its node: then the outcome is
  // unknown here (the payer's node knows it) and the terminal is told so.
  auto timeout = remote ? caf::duration{std::chrono::seconds(30)} : caf::infinite;
  self->request(ledger, timeout, settle_atom::value, std::move(order))
      .then([=](settlement_outcome& outcome) { complete(std::move(outcome)); },
            [=](caf::error& err) {
              spdlog::error("billing: ledger request failed: {}", caf::to_string(err));
              if (remote) {
                return complete(settlement_outcome{
                    false, wire_error::node_unavailable,
                    "the payer's ledger node did not answer; the payment may have settled there: "
                    "ask for its status later",
                    0, 0, false});
              }
              complete(settlement_outcome{false, wire_error::internal,
                                          "the ledger is unavailable; nothing was charged", 0, 0,
                                          false});
            });
}

sync_grant refuse_sync(wire_error e, std::string message) {
  sync_grant g;
  g.result = refused(e, std::move(message));
  return g;
}

caf::result<sync_grant> on_sync(self_ptr self, const std::string& txn,
                                const paying_session_actor& handset) {
  auto* t = find_txn(self, txn);
  if (!t || t->handset != handset) {
    return refuse_sync(wire_error::unknown_txn, "this handset has not joined " + txn);
  }
  if (is_finished(t->state)) {
    return refuse_sync(wire_error::txn_closed,
                       "the transaction is " + std::string(to_string(t->state)));
  }
  sync_grant grant;
  grant.result = accepted();
  if (t->state == txn_state::joined) {
    t->state = txn_state::synchronized;
    io(self).event(protocols::encode_synchronized(txn, disclosed(self->state.merchant, t->payer)));
    if (t->amount_minor > 0) t->state = txn_state::amount_offered;
  } else if (!payer_known(*t)) {
    return refuse_sync(wire_error::wrong_state, "the payment is already being settled");
  }
  if (t->state == txn_state::amount_offered) {
    grant.has_amount = true;
    grant.offer = amount_offer{txn, t->amount_minor, t->currency};
  }
  if (t->catalogue.empty() || t->catalogue_offered) return grant;
  // The catalogue follows the answer, so the handset sees the ack first.
  t->catalogue_offered = true;
  auto promise = self->make_response_promise<sync_grant>();
  promise.deliver(grant);
  self->send(handset, catalogue_atom::value, catalogue_offer{txn, t->catalogue, t->currency});
  return promise;
}

caf::result<settlement_outcome> on_confirm(self_ptr self, const amount_offer& confirmed,
                                           const paying_session_actor& handset) {
  auto refuse = [](wire_error e, std::string message) {
    return settlement_outcome{false, e, std::move(message), 0, 0, false};
  };
  auto* t = find_txn(self, confirmed.txn);
  if (!t) return refuse(wire_error::unknown_txn, "no such transaction on this terminal");
  // A repeated confirmation gets the first answer: it never charges twice.
  if (t->state == txn_state::settled || t->state == txn_state::failed) return t->outcome;
  if (t->handset != handset) return refuse(wire_error::unknown_txn, "this handset has not joined");
  if (t->state == txn_state::settling) {
    auto promise = self->make_response_promise<settlement_outcome>();
    t->confirmations.push_back(promise);
    return promise;
  }
  if (is_finished(t->state)) {
    return refuse(wire_error::txn_closed, "the transaction is " + std::string(to_string(t->state)));
  }
  if (t->state != txn_state::amount_offered) {
    return refuse(wire_error::wrong_state, "no amount has been offered yet");
  }
  const auto currency = confirmed.currency.empty() ? t->currency : confirmed.currency;
  if (confirmed.amount_minor != t->amount_minor || currency != t->currency) {
    return refuse(wire_error::amount_mismatch,
                  "the amount on offer is " +
                      protocols::format_money(t->amount_minor, t->currency) +
                      "; confirm exactly that");
  }
  // The checks of claim 12 once more, right before money moves.
  if (auto v = check(self, *t, t->amount_minor); !v.ok) {
    self->state.ctx->metrics->refused(v.error);
    t->outcome = refuse(v.error, v.message);
    io(self).event(protocols::encode_failed(t->txn, v.error, v.message));
    self->send(shard_of(self, t->txn), close_atom::value, t->txn, ending::failed);
    finish(self, *t, txn_state::failed);
    return t->outcome;
  }
  auto promise = self->make_response_promise<settlement_outcome>();
  t->confirmations.push_back(promise);
  settle(self, *t);
  return promise;
}

// Flow B (claim 28): a payer at the till named this merchant. The switch
// opens the transaction on the terminal's behalf, with the payer joined.
caf::result<incoming_grant> on_incoming(self_ptr self, payer_card& payer,
                                        const paying_session_actor& handset) {
  auto& st = self->state;
  auto refuse = [](wire_error e, std::string message) {
    incoming_grant g;
    g.result = refused(e, std::move(message));
    return g;
  };
  if (io(self).closed()) return refuse(wire_error::merchant_offline, "the terminal went away");
  if (st.live >= st.ctx->limits.max_open_per_terminal) {
    return refuse(wire_error::busy, "the merchant's terminal is at its limit of open transactions");
  }
  if (payer.currency != st.merchant.currency) {
    return refuse(wire_error::currency_mismatch, "the merchant is paid in " + st.merchant.currency +
                                                     " and this wallet holds " + payer.currency);
  }
  const auto ttl_ms = st.ctx->limits.txn_ttl_ms;
  auto t = new_txn(self, ttl_ms);
  t.initiated_by_payer = true;
  t.handset = handset;
  watch(self, handset);
  t.payer = payer;
  auto ticket = ticket_for(self, t);
  ticket.handset = handset;
  ticket.bound_msisdn = payer.msisdn;
  auto promise = self->make_response_promise<incoming_grant>();
  register_txn(self, std::move(t), std::move(ticket), [=](billing_txn* t, const verdict& v) {
    auto answer = promise;
    if (!t) {
      incoming_grant g;
      g.result = v;
      answer.deliver(g);
      return;
    }
    t->state = txn_state::joined;
    io(self).event(protocols::encode_opened({}, opened_view_of(self, *t, ttl_ms)));
    answer.deliver(incoming_grant{accepted(), t->txn, self->state.card, t->expires_unix_ms});
  });
  return promise;
}

verdict on_order(self_ptr self, const order_request& order, const paying_session_actor& handset) {
  auto* t = find_txn(self, order.txn);
  if (!t || t->handset != handset) {
    return refused(wire_error::unknown_txn, "this handset has not joined " + order.txn);
  }
  if (!payer_known(*t)) {
    return refused(wire_error::wrong_state, is_finished(t->state)
                                                ? "the transaction is closed"
                                                : "confirm the merchant before ordering");
  }
  // The switch checks the order's shape against the catalogue, never prices.
  if (!t->catalogue.empty()) {
    for (const auto& line : order.lines) {
      auto it = std::find_if(t->catalogue.begin(), t->catalogue.end(),
                             [&](const auto& item) { return item.sku == line.sku; });
      if (it == t->catalogue.end()) {
        return refused(wire_error::bad_message, "\"" + line.sku + "\" is not in the catalogue");
      }
      if (line.qty > it->max_qty) {
        return refused(wire_error::bad_message, "at most " + std::to_string(it->max_qty) +
                                                    " of \"" + line.sku + "\" may be ordered");
      }
    }
  }
  io(self).event(protocols::encode_order(order.txn, order.lines, order.note));
  return accepted();
}

void on_closed(self_ptr self, protocols::close_reason why) {
  auto& st = self->state;
  io(self).mark_closed();
  spdlog::info("billing: connection {} of terminal {} closed ({})", io(self).connection_id(),
               st.identified ? st.terminal_id : "-", protocols::to_string(why));
  for (auto& [id, t] : st.txns) {
    if (t.state < txn_state::settling && t.state != txn_state::opening) {
      end_txn(self, t,
              {ending::cancelled, "merchant", "billing terminal disconnected", false, true});
    }
  }
  maybe_quit(self);
}

}  // namespace

billing_session_actor::behavior_type billing_session(
    self_ptr self, std::shared_ptr<const switch_context> ctx,
    std::shared_ptr<protocols::ws_connection> connection) {
  self->state.io = std::make_unique<session_io>(std::move(connection),
                                                ctx->limits.max_idempotency_keys, ctx->metrics);
  self->state.ctx = std::move(ctx);
  auto* metrics = self->state.ctx->metrics;
  ++metrics->billing_connections;
  self->attach_functor([metrics] { --metrics->billing_connections; });
  self->set_down_handler([=](caf::down_msg& msg) {
    // A handset quits normally only after telling us (left); anything else
    // is its node going away: the payment cannot finish, say so.
    if (msg.reason == caf::exit_reason::normal) return;
    for (auto& [id, t] : self->state.txns) {
      if (!t.handset || t.handset.address() != msg.source || t.state >= txn_state::settling) {
        continue;
      }
      t.outcome = settlement_outcome{false,
                                     wire_error::node_unavailable,
                                     "the payer's node went down; nothing was charged",
                                     0,
                                     0,
                                     false};
      self->state.ctx->metrics->refused(wire_error::node_unavailable);
      io(self).event(protocols::encode_failed(t.txn, wire_error::node_unavailable,
                                              "the payer's node went down; nothing was charged"));
      self->send(shard_of(self, t.txn), close_atom::value, t.txn, ending::failed);
      finish(self, t, txn_state::failed);
    }
    maybe_quit(self);
  });
  return {
      [=](frame_atom, const std::string& frame) { on_frame(self, frame); },
      [=](binary_atom, const std::string&) {
        io(self).error({}, wire_error::binary_not_allowed,
                       "billing terminals send JSON in text frames only");
      },
      [=](oversized_atom, std::uint64_t bytes) {
        io(self).error({}, wire_error::frame_too_large,
                       "a frame of " + std::to_string(bytes) + " bytes was discarded (limit " +
                           std::to_string(self->state.ctx->limits.max_frame_bytes) + " bytes)");
      },
      [=](closed_atom, protocols::close_reason why) { on_closed(self, why); },
      [=](joined_atom, const std::string& txn, const paying_session_actor& handset,
          payer_card& payer) {
        auto* t = find_txn(self, txn);
        if (!t || is_finished(t->state)) {
          // Closed while the join was in flight: tell the handset at once.
          self->send(handset, ended_atom::value,
                     txn_end{txn, ending::cancelled, "switch", "the transaction is closed",
                             wire_error::txn_closed});
          return;
        }
        if (t->state == txn_state::opened || t->state == txn_state::opening) {
          t->state = txn_state::joined;
          t->handset = handset;
          watch(self, handset);
          t->payer = std::move(payer);
        }
      },
      [=](expire_atom, const std::string& txn) {
        auto* t = find_txn(self, txn);
        if (t && t->state < txn_state::settling) {
          end_txn(self, *t, {ending::expired, "switch", "the transaction expired", true, true});
          maybe_quit(self);
        }
      },
      [=](sync_atom, const std::string& txn, const paying_session_actor& handset) {
        return on_sync(self, txn, handset);
      },
      [=](confirm_atom, const amount_offer& confirmed, const paying_session_actor& handset) {
        return on_confirm(self, confirmed, handset);
      },
      [=](cancel_atom, const std::string& txn, const paying_session_actor& handset,
          const std::string& reason) {
        auto* t = find_txn(self, txn);
        if (t && t->handset == handset && t->state < txn_state::settling) {
          end_txn(self, *t,
                  {ending::cancelled, "payer", reason.empty() ? "the payer declined" : reason, true,
                   false});
          maybe_quit(self);
        }
      },
      [=](left_atom, const std::string& txn, const paying_session_actor& handset) {
        auto* t = find_txn(self, txn);
        if (!t || t->handset != handset) return;
        if (t->state == txn_state::joined && !t->initiated_by_payer) {
          // The payer had not confirmed yet: let them (or another) join again.
          t->state = txn_state::opened;
          t->handset = nullptr;
          self->send(shard_of(self, txn), release_atom::value, txn, handset);
        } else if (t->state < txn_state::settling) {
          end_txn(self, *t, {ending::cancelled, "payer", "the handset disconnected", true, false});
          maybe_quit(self);
        }
      },
      [=](incoming_atom, payer_card& payer, const paying_session_actor& handset) {
        return on_incoming(self, payer, handset);
      },
      [=](order_atom, const order_request& order, const paying_session_actor& handset) {
        return on_order(self, order, handset);
      },
      [=](auth_fail_atom, const std::string& txn, const paying_session_actor& handset) {
        auto* t = find_txn(self, txn);
        if (!t || t->handset != handset || t->state >= txn_state::settling) return;
        // The merchant learns only that authentication failed, never how.
        t->outcome = settlement_outcome{
            false, wire_error::auth_failed, "authentication failed", 0, 0, false};
        self->state.ctx->metrics->refused(wire_error::auth_failed);
        io(self).event(
            protocols::encode_failed(txn, wire_error::auth_failed, "authentication failed"));
        self->send(shard_of(self, txn), close_atom::value, txn, ending::failed);
        finish(self, *t, txn_state::failed);
        maybe_quit(self);
      },
      [=](centre_atom, centre_order& order) {
        io(self).event(protocols::encode_centre_order({order.order_id, order.centre_id,
                                                       order.centre_name, order.customer,
                                                       order.lines, order.note, order.reference}));
      },
  };
}

}  // namespace paysync::actors
