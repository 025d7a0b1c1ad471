#pragma once

#include <cstdint>
#include <string_view>

namespace paysync::protocols {

// Every error a terminal can receive, as a stable lower_snake_case code in the
// "code" field of an "error" message. docs/protocol.md lists them all; never
// rename one — terminals switch on them.
enum class wire_error : std::uint8_t {
  // the frame itself
  bad_json = 1,        // not UTF-8 JSON, or not a JSON object
  bad_message,         // a field missing, of the wrong type, or out of bounds
  unknown_type,        // "type" names no message of this side
  frame_too_large,     // the frame exceeded the size limit and was discarded
  binary_not_allowed,  // a binary frame where none is expected
  rate_limited,        // the connection sent more messages than its rate allows
  // who is talking
  not_identified,      // billing: "hello" must come first
  already_identified,  // billing: a second "hello"
  unknown_terminal,
  terminal_key_required,  // the terminal has no key registered, and the switch requires one
  bad_signature,          // the signed hello did not verify (wrong key, nonce or terminal)
  terminal_blocked,       // the terminal is suspended or revoked
  merchant_inactive,      // the terminal's merchant is suspended or blocked
  payer_unidentified,     // handset: no calling number from a trusted gateway
  payer_unregistered,     // handset: the calling number belongs to no user
  payer_blocked,          // handset: the user is blocked or suspended
  // the transaction
  unknown_txn,  // no such transaction, code or link token (or not yours)
  txn_taken,    // another handset has joined it
  txn_closed,   // already settled, cancelled or failed
  txn_expired,
  wrong_state,        // the message is not allowed in the transaction's state
  already_joined,     // handset: it is already in another transaction
  too_many_open,      // billing: the per-terminal limit of open transactions
  too_many_attempts,  // handset: too many failed joins; wait
  // money
  invalid_amount,     // not a positive integer <= 999999999999 minor units
  currency_mismatch,  // not the merchant's or the payer's currency
  amount_mismatch,    // confirm_amount does not match the amount on offer
  insufficient_funds,
  velocity_limit,          // the payer's recent payments exceed the count or sum allowed
  refund_exceeds_payment,  // refunds would exceed what was paid
  idempotency_conflict,    // an idempotency key reused with different content
  // authentication (claims 16-19)
  auth_mismatch,        // the answer or sample did not match; attempts remain
  auth_failed,          // authentication failed for good: the payment ends
  auth_locked,          // every eligible factor is locked after failures; wait
  auth_unavailable,     // the payer has no factor strong enough for this payment
  auth_sample_refused,  // the image or recording was unusable (the message says why)
  // merchants and orders
  unknown_merchant,  // no merchant has this till (or id)
  merchant_offline,  // the merchant has no billing terminal connected
  // the switch
  busy,      // a bounded queue is full; retry later
  internal,  // a fault inside the switch; nothing was charged
  // the cluster (docs/cluster.md); last, so older codes keep their numbers
  // between nodes of different versions
  node_unavailable,  // the node that owns the transaction or account is down or unreachable
};

std::string_view to_code(wire_error e) noexcept;

}  // namespace paysync::protocols
