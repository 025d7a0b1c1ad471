#include "protocols/message_codec.hpp"

#include <array>
#include <boost/json.hpp>
#include <ctime>

#include "protocols/money.hpp"

namespace paysync::protocols {
namespace json = boost::json;

std::string_view to_code(wire_error e) noexcept {
  switch (e) {
    case wire_error::bad_json:
      return "bad_json";
    case wire_error::bad_message:
      return "bad_message";
    case wire_error::unknown_type:
      return "unknown_type";
    case wire_error::frame_too_large:
      return "frame_too_large";
    case wire_error::binary_not_allowed:
      return "binary_not_allowed";
    case wire_error::not_identified:
      return "not_identified";
    case wire_error::already_identified:
      return "already_identified";
    case wire_error::unknown_terminal:
      return "unknown_terminal";
    case wire_error::terminal_blocked:
      return "terminal_blocked";
    case wire_error::merchant_inactive:
      return "merchant_inactive";
    case wire_error::payer_unidentified:
      return "payer_unidentified";
    case wire_error::payer_unregistered:
      return "payer_unregistered";
    case wire_error::payer_blocked:
      return "payer_blocked";
    case wire_error::unknown_txn:
      return "unknown_txn";
    case wire_error::txn_taken:
      return "txn_taken";
    case wire_error::txn_closed:
      return "txn_closed";
    case wire_error::txn_expired:
      return "txn_expired";
    case wire_error::wrong_state:
      return "wrong_state";
    case wire_error::already_joined:
      return "already_joined";
    case wire_error::too_many_open:
      return "too_many_open";
    case wire_error::too_many_attempts:
      return "too_many_attempts";
    case wire_error::invalid_amount:
      return "invalid_amount";
    case wire_error::currency_mismatch:
      return "currency_mismatch";
    case wire_error::amount_mismatch:
      return "amount_mismatch";
    case wire_error::insufficient_funds:
      return "insufficient_funds";
    case wire_error::busy:
      return "busy";
    case wire_error::internal:
      return "internal";
  }
  return "internal";
}

namespace {

// Field access that turns every shape problem into a decode_failure naming the
// field, so a terminal developer reads exactly what to fix.
class fields {
 public:
  explicit fields(const json::object& o) : object_(o) {}

  decode_failure fail(std::string message) const {
    return decode_failure{wire_error::bad_message, std::move(message), {}};
  }

  // A required non-empty string of at most max_bytes.
  boost::system::result<std::string, decode_failure> string(std::string_view name,
                                                            std::size_t max_bytes) const {
    auto s = optional_string(name, max_bytes);
    if (!s) return s.error();
    if (s->empty()) return fail("field \"" + std::string(name) + "\" is required");
    return s;
  }

  // An optional string ("" when absent).
  boost::system::result<std::string, decode_failure> optional_string(std::string_view name,
                                                                     std::size_t max_bytes) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) return std::string{};
    if (!it->value().is_string()) {
      return fail("field \"" + std::string(name) + "\" must be a string");
    }
    const auto& s = it->value().get_string();
    if (s.size() > max_bytes) {
      return fail("field \"" + std::string(name) + "\" is longer than " +
                  std::to_string(max_bytes) + " bytes");
    }
    return std::string(s.data(), s.size());
  }

  bool has(std::string_view name) const {
    auto it = object_.find(name);
    return it != object_.end() && !it->value().is_null();
  }

  // A JSON integer (never a float, never a numeric string).
  boost::system::result<std::int64_t, decode_failure> integer(std::string_view name) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->value().is_null()) {
      return fail("field \"" + std::string(name) + "\" is required");
    }
    const auto& v = it->value();
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) {
      return decode_failure{
          wire_error::invalid_amount, "field \"" + std::string(name) + "\" is out of range", {}};
    }
    return fail("field \"" + std::string(name) + "\" must be an integer");
  }

  // "amount" (integer minor units) with an optional "currency".
  boost::system::result<money_field, decode_failure> money() const {
    auto it = object_.find("amount");
    if (it != object_.end() && it->value().is_double()) {
      return decode_failure{wire_error::invalid_amount,
                            "\"amount\" must be an integer number of minor units (e.g. 1250 "
                            "for 12.50), never a fraction",
                            {}};
    }
    auto amount = integer("amount");
    if (!amount) return amount.error();
    if (*amount <= 0 || *amount > max_amount_minor) {
      return decode_failure{wire_error::invalid_amount,
                            "\"amount\" must be between 1 and 999999999999 minor units",
                            {}};
    }
    auto currency = optional_string("currency", 3);
    if (!currency) return currency.error();
    if (!currency->empty() && !is_currency_code(*currency)) {
      return fail("\"currency\" must be an ISO 4217 code of three upper-case letters");
    }
    return money_field{*amount, std::move(*currency)};
  }

 private:
  const json::object& object_;
};

struct envelope {
  json::value ref;
  std::string type;
};

// Parses the frame and reads the fields every message has.
boost::system::result<envelope, decode_failure> open_envelope(std::string_view frame,
                                                              json::value& parsed) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  parsed = json::parse(frame, ec, {}, options);
  if (ec) return decode_failure{wire_error::bad_json, "not valid JSON: " + ec.message(), {}};
  if (!parsed.is_object()) {
    return decode_failure{wire_error::bad_json, "a message must be a JSON object", {}};
  }
  const auto& o = parsed.get_object();
  envelope env;
  if (auto it = o.find("ref"); it != o.end() && !it->value().is_null()) {
    const auto& r = it->value();
    if (r.is_string() && r.get_string().size() <= max_ref_bytes) {
      env.ref = r;
    } else if (r.is_int64() || r.is_uint64()) {
      env.ref = r;
    } else {
      return decode_failure{wire_error::bad_message,
                            "\"ref\" must be a string of at most 64 bytes or an integer",
                            {}};
    }
  }
  auto t = o.find("type");
  if (t == o.end() || !t->value().is_string()) {
    return decode_failure{wire_error::bad_message, "field \"type\" (a string) is required",
                          env.ref};
  }
  env.type = std::string(t->value().get_string());
  return env;
}

template <class Body>
decode_result<Body> with_ref(boost::system::result<Body, decode_failure> body, json::value ref) {
  if (!body) {
    auto failure = body.error();
    failure.ref = std::move(ref);
    return failure;
  }
  return inbound<Body>{std::move(ref), std::move(*body)};
}

using billing_parse = boost::system::result<billing_body, decode_failure>;
using paying_parse = boost::system::result<paying_body, decode_failure>;

billing_parse parse_billing(const std::string& type, const fields& f) {
  if (type == "hello") {
    auto terminal = f.string("terminal", max_id_bytes);
    if (!terminal) return terminal.error();
    return hello_msg{std::move(*terminal)};
  }
  if (type == "open") {
    open_msg m;
    if (f.has("amount")) {
      auto amount = f.money();
      if (!amount) return amount.error();
      m.amount = std::move(*amount);
    }
    auto currency = f.optional_string("currency", 3);
    if (!currency) return currency.error();
    if (!currency->empty() && !is_currency_code(*currency)) {
      return f.fail("\"currency\" must be an ISO 4217 code of three upper-case letters");
    }
    m.currency = std::move(*currency);
    auto reference = f.optional_string("reference", max_reference_bytes);
    if (!reference) return reference.error();
    m.reference = std::move(*reference);
    if (f.has("ttl_s")) {
      auto ttl = f.integer("ttl_s");
      if (!ttl) return f.fail("\"ttl_s\" must be an integer number of seconds");
      if (*ttl < 1) return f.fail("\"ttl_s\" must be at least 1");
      m.ttl_s = *ttl;
    }
    return m;
  }
  if (type == "amount") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto amount = f.money();
    if (!amount) return amount.error();
    return amount_msg{std::move(*txn), std::move(*amount)};
  }
  if (type == "cancel") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto reason = f.optional_string("reason", max_reason_bytes);
    if (!reason) return reason.error();
    return cancel_msg{std::move(*txn), std::move(*reason)};
  }
  if (type == "status") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    return status_msg{std::move(*txn)};
  }
  if (type == "ping") return ping_msg{};
  return decode_failure{wire_error::unknown_type,
                        "unknown message type \"" + type.substr(0, 64) +
                            "\" for a billing terminal (expected hello, open, amount, cancel, "
                            "status or ping)",
                        {}};
}

paying_parse parse_paying(const std::string& type, const fields& f) {
  if (type == "join") {
    const int keys = f.has("txn") + f.has("token") + f.has("code");
    if (keys != 1) {
      return f.fail("\"join\" needs exactly one of \"txn\", \"token\" or \"code\" (with \"till\")");
    }
    join_msg m;
    if (f.has("txn")) {
      auto txn = f.string("txn", max_id_bytes);
      if (!txn) return txn.error();
      m.by = join_by::txn;
      m.key = std::move(*txn);
    } else if (f.has("token")) {
      auto token = f.string("token", max_id_bytes);
      if (!token) return token.error();
      m.by = join_by::token;
      m.key = std::move(*token);
    } else {
      auto code = f.string("code", 16);
      if (!code) return code.error();
      auto till = f.string("till", 32);
      if (!till) return f.fail("\"join\" by \"code\" needs the merchant's \"till\" too");
      m.by = join_by::code;
      m.key = std::move(*code);
      m.till = std::move(*till);
    }
    return m;
  }
  if (type == "confirm_merchant") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    return confirm_merchant_msg{std::move(*txn)};
  }
  if (type == "confirm_amount") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto amount = f.money();
    if (!amount) return amount.error();
    return confirm_amount_msg{std::move(*txn), std::move(*amount)};
  }
  if (type == "cancel") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto reason = f.optional_string("reason", max_reason_bytes);
    if (!reason) return reason.error();
    return cancel_msg{std::move(*txn), std::move(*reason)};
  }
  if (type == "ping") return ping_msg{};
  return decode_failure{wire_error::unknown_type,
                        "unknown message type \"" + type.substr(0, 64) +
                            "\" for a handset (expected join, confirm_merchant, confirm_amount, "
                            "cancel or ping)",
                        {}};
}

template <class Body, class Parser>
decode_result<Body> decode(std::string_view frame, Parser parse) {
  json::value parsed;
  auto env = open_envelope(frame, parsed);
  if (!env) return env.error();
  fields f(parsed.get_object());
  return with_ref<Body>(parse(env->type, f), std::move(env->ref));
}

void put_ref(json::object& o, const json::value& ref) {
  if (!ref.is_null()) o["ref"] = ref;
}

json::object merchant_object(const merchant_view& m) {
  return json::object{{"id", m.id},     {"name", m.name},         {"till", m.till},
                      {"city", m.city}, {"category", m.category}, {"currency", m.currency}};
}

json::object settlement_object(std::string_view type, const json::value& ref,
                               const settlement_view& s) {
  json::object o{{"type", type}};
  put_ref(o, ref);
  o.insert({{"txn", s.txn},
            {"merchant", json::object{{"id", s.merchant_id}, {"name", s.merchant_name}}},
            {"amount", s.amount.amount_minor},
            {"currency", s.amount.currency},
            {"sequence", s.sequence},
            {"settled_at", format_timestamp(s.settled_unix_ms)}});
  if (!s.reference.empty()) o["reference"] = s.reference;
  return o;
}

std::string finish(const json::object& o) { return json::serialize(o); }

}  // namespace

decode_result<billing_body> decode_billing(std::string_view frame) {
  return decode<billing_body>(frame, parse_billing);
}

decode_result<paying_body> decode_paying(std::string_view frame) {
  return decode<paying_body>(frame, parse_paying);
}

std::string format_timestamp(std::int64_t unix_ms) {
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf.data();
}

std::string encode_error(const json::value& ref, wire_error code, std::string_view message,
                         std::string_view txn) {
  json::object o{{"type", "error"}};
  put_ref(o, ref);
  o["code"] = to_code(code);
  o["message"] = message;
  if (!txn.empty()) o["txn"] = txn;
  return finish(o);
}

std::string encode_pong(const json::value& ref, std::int64_t now_unix_ms) {
  json::object o{{"type", "pong"}};
  put_ref(o, ref);
  o["server_time"] = format_timestamp(now_unix_ms);
  return finish(o);
}

std::string encode_welcome(const json::value& ref, std::string_view terminal,
                           const merchant_view& merchant, std::int64_t now_unix_ms) {
  json::object o{{"type", "welcome"}};
  put_ref(o, ref);
  o["terminal"] = terminal;
  o["merchant"] = merchant_object(merchant);
  o["server_time"] = format_timestamp(now_unix_ms);
  return finish(o);
}

std::string encode_opened(const json::value& ref, const opened_view& v) {
  json::object o{{"type", "opened"}};
  put_ref(o, ref);
  o["txn"] = v.txn;
  o["code"] = v.code;
  o["till"] = v.till;
  o["link"] = v.link;
  o["expires_at"] = format_timestamp(v.expires_unix_ms);
  o["ttl_s"] = v.ttl_s;
  o["currency"] = v.currency;
  if (v.amount) o["amount"] = v.amount->amount_minor;
  if (!v.reference.empty()) o["reference"] = v.reference;
  return finish(o);
}

std::string encode_ack(const json::value& ref, std::string_view for_type, std::string_view txn) {
  json::object o{{"type", "ack"}};
  put_ref(o, ref);
  o["for"] = for_type;
  o["txn"] = txn;
  return finish(o);
}

std::string encode_synchronized(std::string_view txn,
                                const std::map<std::string, std::string>& payer) {
  json::object attributes;
  for (const auto& [k, v] : payer) attributes[k] = v;
  return finish(json::object{{"type", "synchronized"}, {"txn", txn}, {"payer", attributes}});
}

std::string encode_settled(const settlement_view& s) {
  return finish(settlement_object("settled", {}, s));
}

std::string encode_cancelled(const json::value& ref, std::string_view txn, std::string_view by,
                             std::string_view reason) {
  json::object o{{"type", "cancelled"}};
  put_ref(o, ref);
  o["txn"] = txn;
  o["by"] = by;
  if (!reason.empty()) o["reason"] = reason;
  return finish(o);
}

std::string encode_expired(std::string_view txn) {
  return finish(json::object{{"type", "expired"}, {"txn", txn}});
}

std::string encode_failed(std::string_view txn, wire_error code, std::string_view message,
                          const json::value& ref) {
  json::object o{{"type", "failed"}};
  put_ref(o, ref);
  o["txn"] = txn;
  o["code"] = to_code(code);
  o["message"] = message;
  return finish(o);
}

std::string encode_status(const json::value& ref, const status_view& v) {
  json::object o{{"type", "status"}};
  put_ref(o, ref);
  o["txn"] = v.txn;
  o["state"] = v.state;
  if (v.amount) {
    o["amount"] = v.amount->amount_minor;
    o["currency"] = v.amount->currency;
  }
  if (v.settlement) {
    auto settlement = settlement_object("settled", {}, *v.settlement);
    settlement.erase("type");
    o["settlement"] = std::move(settlement);
  }
  return finish(o);
}

std::string encode_merchant(const json::value& ref, std::string_view txn,
                            const merchant_view& merchant, const std::optional<money_field>& amount,
                            std::int64_t expires_unix_ms) {
  json::object o{{"type", "merchant"}};
  put_ref(o, ref);
  o["txn"] = txn;
  o["merchant"] = merchant_object(merchant);
  if (amount) {
    o["amount"] = amount->amount_minor;
    o["currency"] = amount->currency;
  }
  o["expires_at"] = format_timestamp(expires_unix_ms);
  return finish(o);
}

std::string encode_amount_offer(std::string_view txn, const money_field& amount,
                                std::string_view merchant_name) {
  json::object o{{"type", "amount"},
                 {"txn", txn},
                 {"amount", amount.amount_minor},
                 {"currency", amount.currency},
                 {"merchant_name", merchant_name}};
  o["display"] = format_money(amount.amount_minor, amount.currency);
  return finish(o);
}

std::string encode_receipt(const json::value& ref, const settlement_view& s,
                           std::string_view payer_name) {
  json::object o = settlement_object("receipt", ref, s);
  o["payer_name"] = payer_name;
  o["display"] = format_money(s.amount.amount_minor, s.amount.currency);
  return finish(o);
}

}  // namespace paysync::protocols
