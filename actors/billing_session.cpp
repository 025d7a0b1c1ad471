#include "actors/billing_session.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "protocols/message_codec.hpp"
#include "protocols/money.hpp"
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

namespace json = boost::json;
using protocols::wire_error;
using self_ptr = billing_session_actor::stateful_pointer<billing_session_state>;

void send_frame(self_ptr self, std::string frame) {
  if (!self->state.connection_closed) self->state.connection->send_text(std::move(frame));
}

void send_error(self_ptr self, const json::value& ref, wire_error code, std::string_view message,
                std::string_view txn = {}) {
  send_frame(self, protocols::encode_error(ref, code, message, txn));
}

billing_txn* find_txn(self_ptr self, const std::string& txn) {
  auto it = self->state.txns.find(txn);
  return it == self->state.txns.end() ? nullptr : &it->second;
}

registry_shard_actor shard_of(self_ptr self, const std::string& txn) {
  auto route = protocols::parse_id(protocols::id_kind::transaction, txn);
  return self->state.ctx->shard(route ? route->shard : 0);
}

void maybe_quit(self_ptr self) {
  if (!self->state.connection_closed) return;
  for (const auto& [id, t] : self->state.txns) {
    if (t.state == txn_state::settling || t.state == txn_state::opening) return;
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
  st.finished.push_back(t.txn);
  while (st.finished.size() > st.ctx->limits.max_finished_remembered) {
    st.txns.erase(st.finished.front());
    st.finished.pop_front();
  }
}

struct end_notice {
  ending how;
  std::string by, reason;
  bool frame_to_billing;  // false when the billing terminal asked for it (it gets a reply)
  bool tell_handset;      // false when the handset asked for it
};

void end_txn(self_ptr self, billing_txn& t, const end_notice& n) {
  if (n.frame_to_billing) {
    switch (n.how) {
      case ending::cancelled:
        send_frame(self, protocols::encode_cancelled({}, t.txn, n.by, n.reason));
        break;
      case ending::expired:
        send_frame(self, protocols::encode_expired(t.txn));
        break;
      default:
        break;
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

protocols::settlement_view settlement_of(self_ptr self, const billing_txn& t) {
  return {t.txn,
          self->state.card.id,
          self->state.card.name,
          {t.amount_minor, t.currency},
          t.outcome.sequence,
          t.outcome.settled_unix_ms,
          t.reference};
}

// --- frames from the billing terminal ---------------------------------------

void on_hello(self_ptr self, const json::value& ref, const protocols::hello_msg& m) {
  auto& st = self->state;
  if (st.identified) {
    return send_error(self, ref, wire_error::already_identified,
                      "this connection is already identified as " + st.terminal_id);
  }
  auto terminal = st.ctx->directory->find_terminal(m.terminal);
  if (!terminal) {
    if (terminal.error() == storage::store_error::not_found) {
      return send_error(self, ref, wire_error::unknown_terminal,
                        "no billing terminal is registered as \"" + m.terminal + "\"");
    }
    return send_error(self, ref, wire_error::internal, "the directory is unavailable");
  }
  if (terminal->status != storage::party_status::active) {
    return send_error(self, ref, wire_error::terminal_blocked,
                      "billing terminal \"" + m.terminal + "\" is suspended or revoked");
  }
  auto merchant = st.ctx->directory->find_merchant(terminal->merchant_id);
  if (!merchant) {
    return send_error(self, ref, wire_error::internal,
                      "the terminal's merchant is missing from the directory");
  }
  if (merchant->status != storage::party_status::active) {
    return send_error(self, ref, wire_error::merchant_inactive,
                      "merchant \"" + merchant->id + "\" is not active");
  }
  st.identified = true;
  st.terminal_id = m.terminal;
  st.merchant = std::move(*merchant);
  const auto& mr = st.merchant;
  st.card =
      merchant_card{mr.id, mr.name, mr.till, mr.city, mr.category, mr.currency, mr.account_id};
  spdlog::info("billing: terminal {} of {} identified (connection {})", st.terminal_id, mr.id,
               st.connection->id());
  send_frame(self,
             protocols::encode_welcome(ref, st.terminal_id,
                                       {mr.id, mr.name, mr.till, mr.city, mr.category, mr.currency},
                                       st.ctx->time->now_unix_ms()));
}

bool check_currency(self_ptr self, const json::value& ref, const std::string& currency) {
  if (currency.empty() || currency == self->state.merchant.currency) return true;
  send_error(self, ref, wire_error::currency_mismatch,
             "merchant " + self->state.merchant.id + " settles in " +
                 self->state.merchant.currency + ", not " + currency);
  return false;
}

void on_open(self_ptr self, const json::value& ref, protocols::open_msg& m) {
  auto& st = self->state;
  const auto& limits = st.ctx->limits;
  if (st.live >= limits.max_open_per_terminal) {
    return send_error(
        self, ref, wire_error::too_many_open,
        "this terminal already has " + std::to_string(st.live) + " open transactions (the limit)");
  }
  if (!check_currency(self, ref, m.currency)) return;
  if (m.amount && !check_currency(self, ref, m.amount->currency)) return;

  std::uint16_t shard = 0;
  protocols::random_bytes(&shard, sizeof(shard));
  shard = static_cast<std::uint16_t>(shard % st.ctx->shard_count());
  const protocols::txn_route route{st.ctx->node_id, static_cast<std::uint8_t>(shard)};
  const auto now = st.ctx->time->now_unix_ms();
  std::int64_t ttl_ms = limits.txn_ttl_ms;
  if (m.ttl_s && *m.ttl_s * 1000 < ttl_ms) ttl_ms = *m.ttl_s * 1000;

  billing_txn t;
  t.txn = protocols::make_id(protocols::id_kind::transaction, route);
  t.token = protocols::make_id(protocols::id_kind::link_token, route);
  t.reference = std::move(m.reference);
  t.expires_unix_ms = now + ttl_ms;
  t.currency = st.merchant.currency;
  if (m.amount) t.amount_minor = m.amount->amount_minor;

  txn_ticket ticket{t.txn, t.token, st.card, t.amount_minor, t.currency, t.expires_unix_ms, self};
  const auto txn = t.txn;
  // Recorded before the shard knows it, so a join that races the reply finds it.
  st.txns.emplace(txn, std::move(t));
  ++st.live;
  self->request(st.ctx->shard(shard), std::chrono::milliseconds(limits.request_timeout_ms),
                open_atom::value, std::move(ticket))
      .then(
          [=](open_grant& grant) {
            auto* t = find_txn(self, txn);
            if (!t) return;
            if (!grant.result.ok) {
              self->state.txns.erase(txn);
              --self->state.live;
              send_error(self, ref, grant.result.error, grant.result.message);
              return maybe_quit(self);
            }
            t->code = grant.code;
            if (t->state == txn_state::opening) t->state = txn_state::opened;
            if (self->state.connection_closed) {
              end_txn(
                  self, *t,
                  {ending::cancelled, "merchant", "billing terminal disconnected", false, true});
              return maybe_quit(self);
            }
            const auto& mr = self->state.merchant;
            protocols::opened_view v;
            v.txn = t->txn;
            v.code = t->code;
            v.till = mr.till;
            v.link = self->state.ctx->public_base_url + "/pay/" + mr.id + "/" + t->token;
            v.expires_unix_ms = t->expires_unix_ms;
            v.ttl_s = ttl_ms / 1000;
            v.currency = t->currency;
            if (t->amount_minor > 0)
              v.amount = protocols::money_field{t->amount_minor, t->currency};
            v.reference = t->reference;
            send_frame(self, protocols::encode_opened(ref, v));
          },
          [=](caf::error&) {
            if (find_txn(self, txn)) {
              self->state.txns.erase(txn);
              --self->state.live;
            }
            send_error(self, ref, wire_error::busy, "the registry did not answer in time; retry");
            maybe_quit(self);
          });
}

// A pre-check so the merchant hears "insufficient funds" before the payer is
// asked; the ledger checks again, authoritatively, when it commits.
bool payer_can_afford(self_ptr self, const billing_txn& t, std::int64_t amount_minor) {
  auto account = self->state.ctx->ledger_reads->find_account(t.payer.account_id);
  return account && account->balance_minor >= amount_minor;
}

void offer_amount(self_ptr self, billing_txn& t) {
  t.state = txn_state::amount_offered;
  self->send(t.handset, offer_atom::value, amount_offer{t.txn, t.amount_minor, t.currency});
}

void on_amount(self_ptr self, const json::value& ref, const protocols::amount_msg& m) {
  auto* t = find_txn(self, m.txn);
  if (!t) {
    return send_error(self, ref, wire_error::unknown_txn,
                      "no transaction " + m.txn + " was opened on this connection", m.txn);
  }
  if (is_finished(t->state)) {
    return send_error(self, ref, wire_error::txn_closed,
                      "the transaction is " + std::string(to_string(t->state)), m.txn);
  }
  if (t->state == txn_state::settling) {
    return send_error(self, ref, wire_error::wrong_state,
                      "the payer confirmed already; the settlement is in progress", m.txn);
  }
  if (!check_currency(self, ref, m.amount.currency)) return;
  const bool payer_known =
      t->state == txn_state::synchronized || t->state == txn_state::amount_offered;
  if (payer_known && !payer_can_afford(self, *t, m.amount.amount_minor)) {
    return send_error(self, ref, wire_error::insufficient_funds,
                      "the payer's available balance is below this amount", m.txn);
  }
  t->amount_minor = m.amount.amount_minor;
  if (payer_known) offer_amount(self, *t);
  send_frame(self, protocols::encode_ack(ref, "amount", m.txn));
}

void on_cancel(self_ptr self, const json::value& ref, const protocols::cancel_msg& m) {
  auto* t = find_txn(self, m.txn);
  if (!t || t->state == txn_state::opening) {
    return send_error(self, ref, wire_error::unknown_txn,
                      "no transaction " + m.txn + " was opened on this connection", m.txn);
  }
  if (is_finished(t->state)) {
    return send_error(self, ref, wire_error::txn_closed,
                      "the transaction is " + std::string(to_string(t->state)), m.txn);
  }
  if (t->state == txn_state::settling) {
    return send_error(self, ref, wire_error::wrong_state,
                      "the payer confirmed already; the settlement is in progress", m.txn);
  }
  const std::string reason = m.reason.empty() ? "cancelled by the merchant" : m.reason;
  end_txn(self, *t, {ending::cancelled, "merchant", reason, false, true});
  send_frame(self, protocols::encode_cancelled(ref, m.txn, "merchant", reason));
}

void on_status(self_ptr self, const json::value& ref, const protocols::status_msg& m) {
  protocols::status_view v;
  v.txn = m.txn;
  if (auto* t = find_txn(self, m.txn); t && t->state != txn_state::opening) {
    v.state = std::string(to_string(t->state));
    if (t->amount_minor > 0) v.amount = protocols::money_field{t->amount_minor, t->currency};
    if (t->state == txn_state::settled) v.settlement = settlement_of(self, *t);
    return send_frame(self, protocols::encode_status(ref, v));
  }
  // Not (or no longer) on this connection: a settlement is in the ledger for
  // good, so a terminal that reconnects can still learn the outcome.
  auto entry = self->state.ctx->ledger_reads->find_entry(m.txn);
  if (entry && entry->posting.credit_account == self->state.merchant.account_id) {
    const auto& p = entry->posting;
    v.state = "settled";
    v.amount = protocols::money_field{p.amount_minor, p.currency};
    v.settlement = protocols::settlement_view{m.txn,
                                              self->state.card.id,
                                              self->state.card.name,
                                              {p.amount_minor, p.currency},
                                              entry->sequence,
                                              p.time_unix_ms,
                                              p.memo};
    return send_frame(self, protocols::encode_status(ref, v));
  }
  send_error(self, ref, wire_error::unknown_txn,
             "no live transaction and no settlement of this merchant has id " + m.txn, m.txn);
}

void on_frame(self_ptr self, const std::string& frame) {
  auto decoded = protocols::decode_billing(frame);
  if (!decoded) {
    const auto& f = decoded.error();
    return send_error(self, f.ref, f.code, f.message);
  }
  auto& ref = decoded->ref;
  auto& body = decoded->body;
  if (std::holds_alternative<protocols::ping_msg>(body)) {
    return send_frame(self, protocols::encode_pong(ref, self->state.ctx->time->now_unix_ms()));
  }
  if (auto* hello = std::get_if<protocols::hello_msg>(&body)) return on_hello(self, ref, *hello);
  if (!self->state.identified) {
    return send_error(self, ref, wire_error::not_identified,
                      "send \"hello\" with your terminal id first");
  }
  if (auto* m = std::get_if<protocols::open_msg>(&body)) return on_open(self, ref, *m);
  if (auto* m = std::get_if<protocols::amount_msg>(&body)) return on_amount(self, ref, *m);
  if (auto* m = std::get_if<protocols::cancel_msg>(&body)) return on_cancel(self, ref, *m);
  if (auto* m = std::get_if<protocols::status_msg>(&body)) return on_status(self, ref, *m);
}

// --- messages from handsets and the ledger --------------------------------------

void settle(self_ptr self, billing_txn& t) {
  t.state = txn_state::settling;
  settlement_order order{t.txn,          t.payer.account_id, self->state.merchant.account_id,
                         t.amount_minor, t.currency,         self->state.ctx->time->now_unix_ms(),
                         t.reference};
  const auto txn = t.txn;
  auto complete = [=](settlement_outcome outcome) {
    auto* t = find_txn(self, txn);
    if (!t) return;
    t->outcome = outcome;
    for (auto& promise : t->confirmations) promise.deliver(outcome);
    t->confirmations.clear();
    if (outcome.ok) {
      send_frame(self, protocols::encode_settled(settlement_of(self, *t)));
      self->send(shard_of(self, txn), close_atom::value, txn, ending::settled);
      finish(self, *t, txn_state::settled);
    } else {
      send_frame(self, protocols::encode_failed(txn, outcome.error, outcome.message));
      self->send(shard_of(self, txn), close_atom::value, txn, ending::failed);
      finish(self, *t, txn_state::failed);
    }
    maybe_quit(self);
  };
  // No timeout: the ledger always answers, and guessing would be worse.
  self->request(self->state.ctx->ledger, caf::infinite, settle_atom::value, std::move(order))
      .then([=](settlement_outcome& outcome) { complete(std::move(outcome)); },
            [=](caf::error& err) {
              spdlog::error("billing: ledger request failed: {}", caf::to_string(err));
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

sync_grant on_sync(self_ptr self, const std::string& txn, const paying_session_actor& handset) {
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
    send_frame(self,
               protocols::encode_synchronized(txn, disclosed(self->state.merchant, t->payer)));
    if (t->amount_minor > 0) t->state = txn_state::amount_offered;
  } else if (t->state != txn_state::synchronized && t->state != txn_state::amount_offered) {
    return refuse_sync(wire_error::wrong_state, "the payment is already being settled");
  }
  if (t->state == txn_state::amount_offered) {
    grant.has_amount = true;
    grant.offer = amount_offer{txn, t->amount_minor, t->currency};
  }
  return grant;
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
  auto promise = self->make_response_promise<settlement_outcome>();
  t->confirmations.push_back(promise);
  settle(self, *t);
  return promise;
}

void on_closed(self_ptr self, protocols::close_reason why) {
  auto& st = self->state;
  st.connection_closed = true;
  spdlog::info("billing: connection {} of terminal {} closed ({})", st.connection->id(),
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
  self->state.ctx = std::move(ctx);
  self->state.connection = std::move(connection);
  return {
      [=](frame_atom, const std::string& frame) { on_frame(self, frame); },
      [=](binary_atom, const std::string&) {
        send_error(self, {}, wire_error::binary_not_allowed,
                   "billing terminals send JSON in text frames only");
      },
      [=](oversized_atom, std::uint64_t bytes) {
        send_error(self, {}, wire_error::frame_too_large,
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
        if (t->state == txn_state::joined) {
          // The payer had not confirmed yet: let them (or another) join again.
          t->state = txn_state::opened;
          t->handset = nullptr;
          self->send(shard_of(self, txn), release_atom::value, txn, handset);
        } else if (t->state < txn_state::settling) {
          end_txn(self, *t, {ending::cancelled, "payer", "the handset disconnected", true, false});
          maybe_quit(self);
        }
      },
  };
}

}  // namespace paysync::actors
