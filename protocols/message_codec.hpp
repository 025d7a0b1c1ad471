#pragma once

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocols/wire_error.hpp"

// JSON messages of docs/protocol.md <-> plain structs. Decoding is strict about
// the fields it reads (types, bounds) and ignores fields it does not know, so
// terminals may add their own. Pure functions: no I/O, no actors.
namespace paysync::protocols {

inline constexpr std::size_t max_ref_bytes = 64;
inline constexpr std::size_t max_id_bytes = 64;
inline constexpr std::size_t max_reference_bytes = 128;
inline constexpr std::size_t max_reason_bytes = 256;

struct money_field {
  std::int64_t amount_minor = 0;
  std::string currency;  // "" when the message left it out
  friend bool operator==(const money_field&, const money_field&) = default;
};

// --- billing terminal -> switch ---------------------------------------------
struct hello_msg {
  std::string terminal;
};
struct open_msg {
  std::optional<money_field> amount;  // known up front (flow A with a fixed price)
  std::string currency;               // "" = the merchant's currency
  std::string reference;              // the merchant's own order reference
  std::optional<std::int64_t> ttl_s;  // shorter than the switch's default, never longer
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
using billing_body =
    std::variant<hello_msg, open_msg, amount_msg, cancel_msg, status_msg, ping_msg>;

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
using paying_body =
    std::variant<join_msg, confirm_merchant_msg, confirm_amount_msg, cancel_msg, ping_msg>;

template <class Body>
struct inbound {
  boost::json::value ref;  // null when absent; echoed verbatim in the reply
  Body body;
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
};

// RFC 3339 UTC with milliseconds: "2026-11-25T08:01:02.345Z".
std::string format_timestamp(std::int64_t unix_ms);

std::string encode_error(const boost::json::value& ref, wire_error code, std::string_view message,
                         std::string_view txn = {});
std::string encode_pong(const boost::json::value& ref, std::int64_t now_unix_ms);
std::string encode_welcome(const boost::json::value& ref, std::string_view terminal,
                           const merchant_view& merchant, std::int64_t now_unix_ms);

struct opened_view {
  std::string txn, code, till, link;
  std::int64_t expires_unix_ms = 0;
  std::int64_t ttl_s = 0;
  std::optional<money_field> amount;
  std::string currency;
  std::string reference;
};
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

}  // namespace paysync::protocols
