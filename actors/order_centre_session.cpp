#include "actors/order_centre_session.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "protocols/message_codec.hpp"
#include "protocols/trusted_gateway.hpp"
#include "storage/directory_store.hpp"

namespace paysync::actors {
namespace {

using protocols::wire_error;
using self_ptr = order_centre_session_actor::stateful_pointer<order_centre_session_state>;

void on_hello(self_ptr self, const request_meta& req, const protocols::centre_hello_msg& m) {
  auto& st = self->state;
  if (st.identified) {
    return st.io->error(req, wire_error::already_identified,
                        "this connection is already identified as " + st.centre_id);
  }
  auto centre = st.ctx->directory->find_terminal(m.centre);
  if (!centre || centre->role != storage::terminal_role::order_centre) {
    return st.io->error(req, wire_error::unknown_terminal,
                        "no order-receiving centre is registered as \"" + m.centre + "\"");
  }
  if (centre->status != storage::party_status::active) {
    return st.io->error(req, wire_error::terminal_blocked,
                        "order centre \"" + m.centre + "\" is suspended or revoked");
  }
  auto verdict = check_hello(*centre, m.nonce, m.signature, st.challenge,
                             st.ctx->time->now_unix_ms(), st.ctx->limits.require_terminal_keys);
  if (verdict.what == hello_verdict::kind::challenge) {
    return st.io->reply(req, protocols::encode_challenge(req.ref, "centre", m.centre, verdict.nonce,
                                                         hello_challenge_ttl_ms / 1000));
  }
  if (verdict.what == hello_verdict::kind::refuse) {
    st.io->error(req, verdict.error, verdict.message);
    if (verdict.error == wire_error::bad_signature &&
        ++st.bad_signatures >= st.ctx->limits.max_bad_signatures) {
      st.io->close();
    }
    return;
  }
  st.identified = true;
  st.centre_id = centre->id;
  st.centre_name = centre->name;
  spdlog::info("centre: {} identified (connection {})", st.centre_id, st.io->connection_id());
  st.io->reply(req, protocols::encode_centre_welcome(req.ref, st.centre_id, st.centre_name,
                                                     st.ctx->time->now_unix_ms()));
}

void on_forward(self_ptr self, const request_meta& req, const protocols::forward_order_msg& m) {
  auto& st = self->state;
  const auto msisdn = protocols::normalize_msisdn(m.msisdn);
  if (msisdn.empty()) {
    return st.io->error(req, wire_error::bad_message,
                        "\"msisdn\" must be a phone number of 8 to 15 digits");
  }
  auto merchant = st.ctx->directory->find_merchant_by_till(m.till);
  if (!merchant) {
    return st.io->error(req, wire_error::unknown_merchant, "no merchant has till " + m.till);
  }
  if (merchant->status != storage::party_status::active) {
    return st.io->error(req, wire_error::merchant_inactive,
                        "merchant \"" + merchant->id + "\" is not active");
  }
  auto user = st.ctx->directory->find_user_by_msisdn(msisdn);
  if (!user) {
    return st.io->error(req, wire_error::payer_unregistered,
                        "the caller's number is not registered for payments");
  }
  if (user->status != storage::party_status::active) {
    return st.io->error(req, wire_error::payer_blocked, "the caller's account is not active");
  }
  centre_order order{{}, st.centre_id, st.centre_name, {}, m.lines, m.note, m.reference};
  const auto merchant_id = merchant->id;
  const auto merchant_name = merchant->name;
  self->request(st.ctx->presence_lookup(merchant_id),
                std::chrono::milliseconds(st.ctx->limits.request_timeout_ms), forward_atom::value,
                merchant_id, msisdn, std::move(order))
      .then(
          [=](forward_grant& grant) {
            auto& st = self->state;
            if (!grant.result.ok)
              return st.io->error(req, grant.result.error, grant.result.message);
            st.io->reply(req, protocols::encode_forwarded(req.ref, grant.order_id, merchant_id,
                                                          merchant_name));
          },
          [=](caf::error&) {
            self->state.io->error(req, wire_error::busy,
                                  "the switch did not answer in time; retry");
          });
}

void on_frame(self_ptr self, const std::string& frame) {
  auto& st = self->state;
  auto decoded = protocols::decode_centre(frame);
  if (!decoded) {
    const auto& f = decoded.error();
    return st.io->error({f.ref, {}}, f.code, f.message);
  }
  request_meta req{decoded->ref, decoded->idempotency_key};
  if (!st.io->admit(req, decoded->fingerprint)) return;
  auto& body = decoded->body;
  if (std::holds_alternative<protocols::ping_msg>(body)) {
    return st.io->reply(req, protocols::encode_pong(req.ref, st.ctx->time->now_unix_ms()));
  }
  if (auto* hello = std::get_if<protocols::centre_hello_msg>(&body))
    return on_hello(self, req, *hello);
  if (!st.identified) {
    return st.io->error(req, wire_error::not_identified,
                        "send \"hello\" with your centre id first");
  }
  if (auto* m = std::get_if<protocols::forward_order_msg>(&body)) return on_forward(self, req, *m);
}

}  // namespace

order_centre_session_actor::behavior_type order_centre_session(
    self_ptr self, std::shared_ptr<const switch_context> ctx,
    std::shared_ptr<protocols::ws_connection> connection) {
  self->state.io = std::make_unique<session_io>(std::move(connection),
                                                ctx->limits.max_idempotency_keys, ctx->metrics);
  self->state.ctx = std::move(ctx);
  auto* metrics = self->state.ctx->metrics;
  ++metrics->centre_connections;
  self->attach_functor([metrics] { --metrics->centre_connections; });
  return {
      [=](frame_atom, const std::string& frame) { on_frame(self, frame); },
      [=](binary_atom, const std::string&) {
        self->state.io->error({}, wire_error::binary_not_allowed,
                              "order centres send JSON in text frames only");
      },
      [=](oversized_atom, std::uint64_t bytes) {
        self->state.io->error(
            {}, wire_error::frame_too_large,
            "a frame of " + std::to_string(bytes) + " bytes was discarded (limit " +
                std::to_string(self->state.ctx->limits.max_frame_bytes) + " bytes)");
      },
      [=](closed_atom, protocols::close_reason) {
        self->state.io->mark_closed();
        self->quit();
      },
  };
}

}  // namespace paysync::actors
