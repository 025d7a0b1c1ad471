#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/auth_policy.hpp"
#include "actors/interfaces.hpp"
#include "actors/session_io.hpp"
#include "actors/switch_context.hpp"

namespace paysync::actors {

// Where the handset stands in its current transaction.
enum class handset_step : std::uint8_t {
  joining,         // the registry is looking the key up
  joined,          // shown the merchant; waiting for confirm_merchant
  confirming,      // confirm_merchant sent to the billing session
  synchronized,    // waiting for the merchant's amount
  amount_offered,  // shown the amount; waiting for confirm_amount
  authenticating,  // confirm_amount received; the payer must answer an auth_challenge
  settling,        // confirm_amount sent; waiting for the ledger
};

// The challenge a payer must answer before the confirmation goes on (claims 16-19).
struct pending_auth {
  storage::factor_record factor;
  std::uint32_t attempts_left = 0;
  std::uint32_t sample_refusals = 0;
  bool checking = false;             // an answer is with the auth pool
  request_meta confirm;              // the confirm_amount it answers, replied at the end
  protocols::money_field confirmed;  // what the payer confirmed
};

struct handset_txn {
  std::string txn;
  handset_step step = handset_step::joining;
  billing_session_actor billing;
  merchant_card merchant;
  amount_offer offer;  // valid from amount_offered on
  std::int64_t expires_unix_ms = 0;
  std::optional<pending_auth> auth;
  auth_level authenticated = auth_level::none;  // proven in this transaction
};

struct paying_session_state {
  std::shared_ptr<const switch_context> ctx;
  std::unique_ptr<session_io> io;
  // The calling number from a trusted gateway's header; empty when the
  // connection did not come through one (claim 12).
  std::string msisdn;
  std::string source_address;       // empty behind a trusted gateway (no per-address limit)
  std::optional<payer_card> payer;  // looked up on the first join
  std::optional<handset_txn> current;
  // The last receipt, so a repeated confirm_amount gets it again.
  std::string last_settled_txn;
  settlement_outcome last_outcome;
  std::uint32_t failed_joins = 0;
  std::int64_t locked_until_unix_ms = 0;
  static inline const char* name = "paying_session";
};

paying_session_actor::behavior_type paying_session(
    paying_session_actor::stateful_pointer<paying_session_state> self,
    std::shared_ptr<const switch_context> ctx, std::shared_ptr<protocols::ws_connection> connection,
    std::string msisdn, std::string source_address);

}  // namespace paysync::actors
