#include "actors/paying_session.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "protocols/message_codec.hpp"
#include "protocols/txn_ids.hpp"
#include "storage/directory_store.hpp"

namespace paysync::actors {
namespace {

namespace json = boost::json;
using protocols::wire_error;
using self_ptr = paying_session_actor::stateful_pointer<paying_session_state>;

void send_frame(self_ptr self, std::string frame) {
  if (!self->state.connection_closed) self->state.connection->send_text(std::move(frame));
}

void send_error(self_ptr self, const json::value& ref, wire_error code, std::string_view message,
                std::string_view txn = {}) {
  send_frame(self, protocols::encode_error(ref, code, message, txn));
}

handset_txn* current_for(self_ptr self, const std::string& txn) {
  auto& cur = self->state.current;
  return cur && cur->txn == txn ? &*cur : nullptr;
}

void not_joined(self_ptr self, const json::value& ref, const std::string& txn) {
  send_error(self, ref, wire_error::unknown_txn, "this handset has not joined " + txn, txn);
}

// Guessing codes or ids costs a lockout after a few misses.
void count_failed_join(self_ptr self) {
  auto& st = self->state;
  if (++st.failed_joins >= st.ctx->limits.max_failed_joins) {
    st.failed_joins = 0;
    st.locked_until_unix_ms = st.ctx->time->now_unix_ms() + st.ctx->limits.join_lockout_ms;
  }
}

std::optional<std::uint16_t> shard_for(self_ptr self, const protocols::join_msg& m) {
  const auto& ctx = *self->state.ctx;
  if (m.by == protocols::join_by::code) return protocols::shard_of_code(m.key, ctx.shard_count());
  auto kind = m.by == protocols::join_by::txn ? protocols::id_kind::transaction
                                              : protocols::id_kind::link_token;
  auto route = protocols::parse_id(kind, m.key);
  if (!route || route->node != ctx.node_id || route->shard >= ctx.shard_count()) {
    return std::nullopt;
  }
  return route->shard;
}

// Resolves the calling number to a registered, active payer (claim 12).
std::optional<payer_card> identify_payer(self_ptr self, const json::value& ref) {
  auto& st = self->state;
  if (st.msisdn.empty()) {
    send_error(self, ref, wire_error::payer_unidentified,
               "this connection carries no calling number from a trusted mobile gateway");
    return std::nullopt;
  }
  auto user = st.ctx->directory->find_user_by_msisdn(st.msisdn);
  if (!user) {
    if (user.error() == storage::store_error::not_found) {
      send_error(self, ref, wire_error::payer_unregistered,
                 "the calling number is not registered for payments");
    } else {
      send_error(self, ref, wire_error::internal, "the directory is unavailable");
    }
    return std::nullopt;
  }
  if (user->status != storage::party_status::active) {
    send_error(self, ref, wire_error::payer_blocked,
               user->status == storage::party_status::suspended ? "the payer's account is suspended"
                                                                : "the payer's account is blocked");
    return std::nullopt;
  }
  return payer_card{user->id,       user->display_name, user->account_id,
                    user->currency, user->msisdn,       user->attributes};
}

void send_merchant(self_ptr self, const json::value& ref, const handset_txn& t) {
  std::optional<protocols::money_field> amount;
  if (t.offer.amount_minor > 0)
    amount = protocols::money_field{t.offer.amount_minor, t.offer.currency};
  const auto& m = t.merchant;
  send_frame(self, protocols::encode_merchant(
                       ref, t.txn, {m.id, m.name, m.till, m.city, m.category, m.currency}, amount,
                       t.expires_unix_ms));
}

void on_join(self_ptr self, const json::value& ref, const protocols::join_msg& m) {
  auto& st = self->state;
  if (st.current) {
    if (m.by == protocols::join_by::txn && st.current->txn == m.key &&
        st.current->step != handset_step::joining) {
      return send_merchant(self, ref, *st.current);
    }
    return send_error(self, ref, wire_error::already_joined,
                      "finish or cancel the current transaction first", st.current->txn);
  }
  const auto now = st.ctx->time->now_unix_ms();
  if (now < st.locked_until_unix_ms) {
    return send_error(self, ref, wire_error::too_many_attempts,
                      "too many failed joins; try again in " +
                          std::to_string((st.locked_until_unix_ms - now + 999) / 1000) + " s");
  }
  auto payer = identify_payer(self, ref);
  if (!payer) return;
  st.payer = *payer;
  auto shard = shard_for(self, m);
  if (!shard) {
    count_failed_join(self);
    return send_error(self, ref, wire_error::unknown_txn, "no open transaction matches");
  }
  st.current = handset_txn{};
  join_request request{m.by, m.key, m.till, self, std::move(*payer)};
  self->request(st.ctx->shard(*shard), std::chrono::milliseconds(st.ctx->limits.request_timeout_ms),
                join_atom::value, std::move(request))
      .then(
          [=](join_grant& grant) {
            auto& st = self->state;
            st.current.reset();
            if (!grant.result.ok) {
              if (grant.result.error == wire_error::unknown_txn) count_failed_join(self);
              return send_error(self, ref, grant.result.error, grant.result.message);
            }
            if (st.connection_closed) {
              self->send(grant.billing, left_atom::value, grant.txn, self);
              return self->quit();
            }
            st.failed_joins = 0;
            handset_txn t;
            t.txn = grant.txn;
            t.step = handset_step::joined;
            t.billing = grant.billing;
            t.merchant = grant.merchant;
            t.expires_unix_ms = grant.expires_unix_ms;
            t.offer = amount_offer{grant.txn, grant.amount_minor, grant.currency};
            st.current = std::move(t);
            send_merchant(self, ref, *st.current);
          },
          [=](caf::error&) {
            self->state.current.reset();
            if (self->state.connection_closed) return self->quit();
            send_error(self, ref, wire_error::busy, "the registry did not answer in time; retry");
          });
}

void send_offer(self_ptr self, const handset_txn& t) {
  send_frame(self, protocols::encode_amount_offer(t.txn, {t.offer.amount_minor, t.offer.currency},
                                                  t.merchant.name));
}

void on_confirm_merchant(self_ptr self, const json::value& ref,
                         const protocols::confirm_merchant_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t || t->step == handset_step::joining) return not_joined(self, ref, m.txn);
  if (t->step == handset_step::synchronized || t->step == handset_step::amount_offered) {
    return send_frame(self, protocols::encode_ack(ref, "confirm_merchant", m.txn));
  }
  if (t->step != handset_step::joined) {
    return send_error(self, ref, wire_error::wrong_state,
                      "the merchant is already confirmed for this transaction", m.txn);
  }
  t->step = handset_step::confirming;
  const auto txn = m.txn;
  self->request(t->billing, std::chrono::milliseconds(self->state.ctx->limits.request_timeout_ms),
                sync_atom::value, txn, self)
      .then(
          [=](sync_grant& grant) {
            auto* t = current_for(self, txn);
            if (!t) return;
            if (!grant.result.ok) {
              self->state.current.reset();
              return send_error(self, ref, grant.result.error, grant.result.message, txn);
            }
            t->step = handset_step::synchronized;
            send_frame(self, protocols::encode_ack(ref, "confirm_merchant", txn));
            if (grant.has_amount) {
              t->step = handset_step::amount_offered;
              t->offer = grant.offer;
              send_offer(self, *t);
            }
          },
          [=](caf::error&) {
            if (!current_for(self, txn)) return;
            self->state.current.reset();
            send_error(self, ref, wire_error::txn_closed,
                       "the merchant's terminal is gone; the transaction is closed", txn);
          });
}

protocols::settlement_view receipt_of(const handset_txn& t, const settlement_outcome& outcome) {
  return {t.txn,
          t.merchant.id,
          t.merchant.name,
          {t.offer.amount_minor, t.offer.currency},
          outcome.sequence,
          outcome.settled_unix_ms,
          {}};
}

void on_confirm_amount(self_ptr self, const json::value& ref,
                       const protocols::confirm_amount_msg& m) {
  auto& st = self->state;
  auto* t = current_for(self, m.txn);
  if (!t) {
    if (st.last_settled_txn == m.txn) {
      return send_error(self, ref, wire_error::txn_closed,
                        "this payment is already settled (sequence " +
                            std::to_string(st.last_outcome.sequence) + ")",
                        m.txn);
    }
    return not_joined(self, ref, m.txn);
  }
  if (t->step != handset_step::amount_offered && t->step != handset_step::settling) {
    return send_error(self, ref, wire_error::wrong_state, "no amount has been offered yet", m.txn);
  }
  t->step = handset_step::settling;
  const auto txn = m.txn;
  const handset_txn confirming = *t;  // a repeated confirmation's answer outlives `current`
  amount_offer confirmed{txn, m.amount.amount_minor, m.amount.currency};
  // No timeout: the answer comes after the ledger's durable commit.
  self->request(t->billing, caf::infinite, confirm_atom::value, std::move(confirmed), self)
      .then(
          [=](settlement_outcome& outcome) {
            auto& st = self->state;
            if (outcome.ok) {
              send_frame(self, protocols::encode_receipt(ref, receipt_of(confirming, outcome),
                                                         st.payer ? st.payer->display_name : ""));
              st.last_settled_txn = txn;
              st.last_outcome = outcome;
              if (current_for(self, txn)) st.current.reset();
              return;
            }
            auto* t = current_for(self, txn);
            if (!t) return;
            if (outcome.error == wire_error::amount_mismatch ||
                outcome.error == wire_error::wrong_state) {
              t->step = handset_step::amount_offered;
              return send_error(self, ref, outcome.error, outcome.message, txn);
            }
            self->state.current.reset();
            send_frame(self, protocols::encode_failed(txn, outcome.error, outcome.message, ref));
          },
          [=](caf::error&) {
            if (!current_for(self, txn)) return;
            self->state.current.reset();
            send_frame(
                self, protocols::encode_failed(txn, wire_error::internal,
                                               "the merchant's session ended before the settlement "
                                               "answered; ask the merchant for its status",
                                               ref));
          });
}

void on_cancel(self_ptr self, const json::value& ref, const protocols::cancel_msg& m) {
  auto* t = current_for(self, m.txn);
  if (!t || t->step == handset_step::joining) return not_joined(self, ref, m.txn);
  if (t->step == handset_step::settling) {
    return send_error(self, ref, wire_error::wrong_state,
                      "the payment is being settled and can no longer be cancelled", m.txn);
  }
  const std::string reason = m.reason.empty() ? "the payer declined" : m.reason;
  self->send(t->billing, cancel_atom::value, m.txn, self, reason);
  self->state.current.reset();
  send_frame(self, protocols::encode_cancelled(ref, m.txn, "payer", reason));
}

void on_frame(self_ptr self, const std::string& frame) {
  auto decoded = protocols::decode_paying(frame);
  if (!decoded) {
    const auto& f = decoded.error();
    return send_error(self, f.ref, f.code, f.message);
  }
  const auto& ref = decoded->ref;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, protocols::join_msg>) {
          on_join(self, ref, body);
        } else if constexpr (std::is_same_v<T, protocols::confirm_merchant_msg>) {
          on_confirm_merchant(self, ref, body);
        } else if constexpr (std::is_same_v<T, protocols::confirm_amount_msg>) {
          on_confirm_amount(self, ref, body);
        } else if constexpr (std::is_same_v<T, protocols::cancel_msg>) {
          on_cancel(self, ref, body);
        } else {
          send_frame(self, protocols::encode_pong(ref, self->state.ctx->time->now_unix_ms()));
        }
      },
      decoded->body);
}

void on_ended(self_ptr self, const txn_end& e) {
  if (!current_for(self, e.txn)) return;
  switch (e.how) {
    case ending::expired:
      send_frame(self, protocols::encode_expired(e.txn));
      break;
    case ending::failed:
      send_frame(self, protocols::encode_failed(e.txn, e.code, e.reason));
      break;
    default:
      send_frame(self, protocols::encode_cancelled({}, e.txn, e.by, e.reason));
      break;
  }
  self->state.current.reset();
}

void on_closed(self_ptr self) {
  auto& st = self->state;
  st.connection_closed = true;
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
    std::shared_ptr<protocols::ws_connection> connection, std::string msisdn) {
  self->state.ctx = std::move(ctx);
  self->state.connection = std::move(connection);
  self->state.msisdn = std::move(msisdn);
  return {
      [=](frame_atom, const std::string& frame) { on_frame(self, frame); },
      [=](binary_atom, const std::string&) {
        send_error(self, {}, wire_error::binary_not_allowed,
                   "handsets send JSON in text frames only");
      },
      [=](oversized_atom, std::uint64_t bytes) {
        send_error(self, {}, wire_error::frame_too_large,
                   "a frame of " + std::to_string(bytes) + " bytes was discarded (limit " +
                       std::to_string(self->state.ctx->limits.max_frame_bytes) + " bytes)");
      },
      [=](closed_atom, protocols::close_reason) { on_closed(self); },
      [=](offer_atom, const amount_offer& offer) {
        auto* t = current_for(self, offer.txn);
        if (!t ||
            (t->step != handset_step::synchronized && t->step != handset_step::amount_offered)) {
          return;
        }
        t->step = handset_step::amount_offered;
        t->offer = offer;
        send_offer(self, *t);
      },
      [=](ended_atom, const txn_end& e) { on_ended(self, e); },
  };
}

}  // namespace paysync::actors
