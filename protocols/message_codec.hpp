#pragma once

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocols/wire_error.hpp"

// JSON messages of docs/protocol.md <-> plain structs. Decoding is strict about
// the fields it reads (types, bounds) and ignores fields it does not know, so
// terminals may add their own. Pure functions: no I/O, no actors.
namespace paysync::protocols {

inline constexpr std::size_t max_ref_bytes = 64;
inline constexpr std::size_t max_id_bytes = 64;
inline constexpr std::size_t max_reference_bytes = 128;
inline constexpr std::size_t max_reason_bytes = 256;
inline constexpr std::size_t max_idempotency_key_bytes = 64;
inline constexpr std::size_t max_catalogue_items = 200;
inline constexpr std::size_t max_order_lines = 50;
inline constexpr std::size_t max_sku_bytes = 32;
inline constexpr std::size_t max_item_name_bytes = 80;
inline constexpr std::int64_t max_item_quantity = 999;
inline constexpr std::size_t max_note_bytes = 256;
inline constexpr std::size_t max_history_page = 50;
inline constexpr std::size_t max_answer_bytes = 256;

struct money_field {
  std::int64_t amount_minor = 0;
  std::string currency;  // "" when the message left it out
  friend bool operator==(const money_field&, const money_field&) = default;
};

// Item-ordering information (claims 15, 24): what the merchant offers.
struct catalogue_item {
  std::string sku;
  std::string name;
  std::int64_t price_minor = 0;  // >= 0; the merchant computes the amount, not the switch
  std::int64_t max_qty = 1;      // 1..999
  friend bool operator==(const catalogue_item&, const catalogue_item&) = default;
};

// One line of a payer's order.
struct order_line {
  std::string sku;
  std::int64_t qty = 1;  // 1..999
  friend bool operator==(const order_line&, const order_line&) = default;
};

enum class qr_format : std::uint8_t { none, png, svg };

// --- billing terminal -> switch ---------------------------------------------
struct hello_msg {
  std::string terminal;
  // The answer to the switch's challenge: its nonce, and the Ed25519
  // signature of "paysync/hello/v1|<terminal>|<nonce>" (base64url).
  std::string nonce, signature;
};
struct open_msg {
  std::optional<money_field> amount;  // known up front (flow A with a fixed price)
  std::string currency;               // "" = the merchant's currency
  std::string reference;              // the merchant's own order reference
  std::optional<std::int64_t> ttl_s;  // shorter than the switch's default, never longer
  // Flow C: push the transaction to this payer (claims 25, 29) — by number,
  // or by the customer reference of an order-centre order.
  std::string push_msisdn;
  std::string push_customer;
  qr_format qr = qr_format::none;  // also return the link as a QR code
};
struct catalogue_msg {
  std::string txn;
  std::vector<catalogue_item> items;
};
struct refund_msg {
  std::string txn;     // the payment refunded
  money_field amount;  // part or all of it
  std::string reason;
};
struct amount_msg {
  std::string txn;
  money_field amount;
};
struct cancel_msg {
  std::string txn;
  std::string reason;
};
struct status_msg {
  std::string txn;
};
struct ping_msg {};
using billing_body = std::variant<hello_msg, open_msg, amount_msg, cancel_msg, status_msg, ping_msg,
                                  catalogue_msg, refund_msg>;

// --- handset -> switch ------------------------------------------------------
enum class join_by : std::uint8_t { txn, token, code };
struct join_msg {
  join_by by = join_by::txn;
  std::string key;   // the txn id, the link token or the six-digit code
  std::string till;  // with a code: the merchant's till
};
struct confirm_merchant_msg {
  std::string txn;
};
struct confirm_amount_msg {
  std::string txn;
  money_field amount;  // what the payer saw; must equal the amount on offer
};
struct pay_merchant_msg {  // flow B (claim 28): the payer names the merchant first
  std::string till;
};
struct order_msg {  // claims 15, 24, 28
  std::string txn;
  std::vector<order_line> lines;
  std::string note;
};
struct history_msg {         // claim 14
  std::uint64_t before = 0;  // a sequence from a previous page; 0 = the newest
  std::size_t limit = 20;
};
struct auth_answer_msg {  // claims 17-19: the answer to a knowledge challenge
  std::string txn;
  std::string answer;  // a PIN, a password or the answer to the question
};
using paying_body =
    std::variant<join_msg, confirm_merchant_msg, confirm_amount_msg, cancel_msg, ping_msg,
                 pay_merchant_msg, order_msg, history_msg, auth_answer_msg>;

// --- order-receiving centre -> switch (flow C) ----------------------------------
struct centre_hello_msg {
  std::string centre;
  std::string nonce, signature;  // as in hello_msg
};
struct forward_order_msg {
  std::string till;    // the merchant
  std::string msisdn;  // the customer who phoned in the order
  std::vector<order_line> lines;
  std::string note;
  std::string reference;  // the centre's own reference
};
using centre_body = std::variant<centre_hello_msg, forward_order_msg, ping_msg>;

template <class Body>
struct inbound {
  boost::json::value ref;  // null when absent; echoed verbatim in the reply
  Body body;
  // Present on any state-changing request; a retry with the same key and the
  // same content gets the first answer again.
  std::string idempotency_key;
  // A digest of the message without "ref" and "idempotency_key" (object keys
  // sorted), set when idempotency_key is; compares retries' content.
  std::string fingerprint;
};

struct decode_failure {
  wire_error code = wire_error::bad_message;
  std::string message;
  boost::json::value ref;  // the frame's ref when it could be read
};

template <class Body>
using decode_result = boost::system::result<inbound<Body>, decode_failure>;

decode_result<billing_body> decode_billing(std::string_view frame);
decode_result<paying_body> decode_paying(std::string_view frame);
decode_result<centre_body> decode_centre(std::string_view frame);

// --- switch -> terminals ------------------------------------------------------
struct merchant_view {
  std::string id, name, till, city, category, currency;
};

struct settlement_view {
  std::string txn;
  std::string merchant_id;
  std::string merchant_name;
  money_field amount;
  std::uint64_t sequence = 0;  // the ledger's journal sequence
  std::int64_t settled_unix_ms = 0;
  std::string reference;  // the merchant's reference, if any
  // Signed receipts (docs/protocol.md): set on every settlement the switch
  // reports; empty only in tests that run without a signer.
  std::string payer_ref{}, key_id{}, signature{};
};

// RFC 3339 UTC with milliseconds: "2026-11-25T08:01:02.345Z".
std::string format_timestamp(std::int64_t unix_ms);

std::string encode_error(const boost::json::value& ref, wire_error code, std::string_view message,
                         std::string_view txn = {});
std::string encode_pong(const boost::json::value& ref, std::int64_t now_unix_ms);
// The switch's answer to an unsigned hello: sign this nonce (docs/protocol.md).
std::string encode_challenge(const boost::json::value& ref, std::string_view id_field,
                             std::string_view id, std::string_view nonce,
                             std::int64_t expires_in_s);
std::string encode_welcome(const boost::json::value& ref, std::string_view terminal,
                           const merchant_view& merchant, std::int64_t now_unix_ms);

struct opened_view {
  std::string txn, code, till, link;
  std::int64_t expires_unix_ms = 0;
  std::int64_t ttl_s = 0;
  std::optional<money_field> amount;
  std::string currency;
  std::string reference;
  std::string initiated_by = "merchant";  // or "payer" (flow B)
  std::string pushed_via;                 // flow C: "handset" or "sms"
  std::string qr_svg;                     // when the terminal asked for one
  std::string qr_png;                     // PNG bytes (sent base64)
};
// The reply to `open`, or (ref null) the event telling a terminal that a payer
// opened a transaction with it (flow B).
std::string encode_opened(const boost::json::value& ref, const opened_view& opened);

// {"type":"ack","ref":…,"for":"amount","txn":…} for requests whose effect shows
// up as a later event.
std::string encode_ack(const boost::json::value& ref, std::string_view for_type,
                       std::string_view txn);

std::string encode_synchronized(std::string_view txn,
                                const std::map<std::string, std::string>& payer);
std::string encode_settled(const settlement_view& s);
// Unsolicited endings: "cancelled" (with by/reason), "expired", "failed" (with code).
std::string encode_cancelled(const boost::json::value& ref, std::string_view txn,
                             std::string_view by, std::string_view reason);
std::string encode_expired(std::string_view txn);
std::string encode_failed(std::string_view txn, wire_error code, std::string_view message,
                          const boost::json::value& ref = {});

struct status_view {
  std::string txn;
  std::string state;  // opened, joined, synchronized, amount_offered, settling, settled, …
  std::optional<money_field> amount;
  std::optional<settlement_view> settlement;
};
std::string encode_status(const boost::json::value& ref, const status_view& status);

std::string encode_merchant(const boost::json::value& ref, std::string_view txn,
                            const merchant_view& merchant, const std::optional<money_field>& amount,
                            std::int64_t expires_unix_ms);
std::string encode_amount_offer(std::string_view txn, const money_field& amount,
                                std::string_view merchant_name);
std::string encode_receipt(const boost::json::value& ref, const settlement_view& s,
                           std::string_view payer_name);

std::string encode_catalogue(std::string_view txn, const std::vector<catalogue_item>& items,
                             std::string_view currency);
std::string encode_order(std::string_view txn, const std::vector<order_line>& lines,
                         std::string_view note);

struct centre_order_view {
  std::string order_id;
  std::string centre_id, centre_name;
  std::string customer;  // an opaque reference to the caller; `open` with push_customer uses it
  std::vector<order_line> lines;
  std::string note, reference;
};
std::string encode_centre_order(const centre_order_view& order);
std::string encode_centre_welcome(const boost::json::value& ref, std::string_view centre,
                                  std::string_view name, std::int64_t now_unix_ms);
std::string encode_forwarded(const boost::json::value& ref, std::string_view order_id,
                             std::string_view merchant_id, std::string_view merchant_name);

std::string encode_push(std::string_view txn, const merchant_view& merchant,
                        const std::optional<money_field>& amount, std::int64_t expires_unix_ms);

struct history_entry_view {
  std::string txn;
  std::string kind;       // "payment" or "refund"
  std::string direction;  // "debit" (money left the payer) or "credit"
  std::uint64_t sequence = 0;
  std::string merchant_id, merchant_name;
  money_field amount;
  std::int64_t at_unix_ms = 0;
};
std::string encode_history(const boost::json::value& ref,
                           const std::vector<history_entry_view>& entries,
                           std::uint64_t next_before);

struct refund_view {
  std::string txn, refund_id;
  money_field amount;
  std::int64_t refunded_total_minor = 0;
  std::uint64_t sequence = 0;
  std::int64_t at_unix_ms = 0;
};
std::string encode_refunded(const boost::json::value& ref, const refund_view& refund);

struct auth_challenge_view {
  std::string txn;
  std::string factor;     // "pin", "password", "question", "face", "iris", "fingerprint", "voice"
  std::string question;   // for "question"
  std::string answer_as;  // "text", "image" or "audio"
  std::vector<std::string> formats;  // images: jpeg, png, pgm, tiff; audio: wav
  std::size_t max_bytes = 0;
  std::uint32_t attempts_left = 0;
};
std::string encode_auth_challenge(const auth_challenge_view& challenge);

}  // namespace paysync::protocols
