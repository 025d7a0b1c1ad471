#include "protocols/message_codec.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>

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
    case wire_error::rate_limited:
      return "rate_limited";
    case wire_error::terminal_key_required:
      return "terminal_key_required";
    case wire_error::bad_signature:
      return "bad_signature";
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
    case wire_error::velocity_limit:
      return "velocity_limit";
    case wire_error::refund_exceeds_payment:
      return "refund_exceeds_payment";
    case wire_error::idempotency_conflict:
      return "idempotency_conflict";
    case wire_error::unknown_merchant:
      return "unknown_merchant";
    case wire_error::merchant_offline:
      return "merchant_offline";
    case wire_error::auth_mismatch:
      return "auth_mismatch";
    case wire_error::auth_failed:
      return "auth_failed";
    case wire_error::auth_locked:
      return "auth_locked";
    case wire_error::auth_unavailable:
      return "auth_unavailable";
    case wire_error::auth_sample_refused:
      return "auth_sample_refused";
    case wire_error::busy:
      return "busy";
    case wire_error::internal:
      return "internal";
    case wire_error::node_unavailable:
      return "node_unavailable";
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

  // A JSON array field of objects, each read by `read_one` (which gets the
  // element's fields and its index). Bounded by `max_count`.
  template <class T, class Read>
  boost::system::result<std::vector<T>, decode_failure> list(std::string_view name,
                                                             std::size_t max_count,
                                                             Read read_one) const {
    auto it = object_.find(name);
    if (it == object_.end() || !it->value().is_array()) {
      return fail("field \"" + std::string(name) + "\" (an array) is required");
    }
    const auto& array = it->value().get_array();
    if (array.empty() || array.size() > max_count) {
      return fail("\"" + std::string(name) + "\" must hold 1 to " + std::to_string(max_count) +
                  " entries");
    }
    std::vector<T> out;
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (!array[i].is_object()) {
        return fail("\"" + std::string(name) + "\"[" + std::to_string(i) + "] must be an object");
      }
      auto one = read_one(fields(array[i].get_object()), i);
      if (!one) {
        auto failure = one.error();
        failure.message = std::string(name) + "[" + std::to_string(i) + "]: " + failure.message;
        return failure;
      }
      out.push_back(std::move(*one));
    }
    return out;
  }

  // An integer in [low, high].
  boost::system::result<std::int64_t, decode_failure> bounded(std::string_view name,
                                                              std::int64_t low,
                                                              std::int64_t high) const {
    auto v = integer(name);
    if (!v) return fail("field \"" + std::string(name) + "\" must be an integer");
    if (*v < low || *v > high) {
      return fail("\"" + std::string(name) + "\" must be between " + std::to_string(low) + " and " +
                  std::to_string(high));
    }
    return v;
  }

  boost::system::result<std::vector<order_line>, decode_failure> order_lines() const {
    return list<order_line>(
        "lines", max_order_lines,
        [](const fields& f, std::size_t) -> boost::system::result<order_line, decode_failure> {
          auto sku = f.string("sku", max_sku_bytes);
          if (!sku) return sku.error();
          auto qty = f.bounded("qty", 1, max_item_quantity);
          if (!qty) return qty.error();
          return order_line{std::move(*sku), *qty};
        });
  }

 private:
  const json::object& object_;
};

struct envelope {
  json::value ref;
  std::string type;
  std::string idempotency_key;
  std::string fingerprint;
};

// Serialises with every object's keys sorted, so a retry whose client wrote
// the fields in another order has the same content.
void write_canonical(const json::value& v, std::string& out) {
  if (!v.is_object()) {
    if (v.is_array()) {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_canonical(e, out);
      }
      out.push_back(']');
    } else {
      out += json::serialize(v);
    }
    return;
  }
  std::vector<const json::key_value_pair*> members;
  for (const auto& kv : v.get_object()) members.push_back(&kv);
  std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
  out.push_back('{');
  bool first = true;
  for (const auto* kv : members) {
    if (!first) out.push_back(',');
    first = false;
    out += json::serialize(json::value(kv->key()));
    out.push_back(':');
    write_canonical(kv->value(), out);
  }
  out.push_back('}');
}

std::string fingerprint_of(json::object message) {
  message.erase("ref");
  message.erase("idempotency_key");
  std::string canonical;
  write_canonical(message, canonical);
  std::string digest(16, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(digest.data()), digest.size(),
                     reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
                     nullptr, 0);
  return digest;
}

// Parses the frame and reads the fields every message has.
boost::system::result<envelope, decode_failure> open_envelope(std::string_view frame,
                                                              json::value& parsed) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  parsed = json::parse(frame, ec, parsed.storage(), options);
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
  if (auto k = o.find("idempotency_key"); k != o.end() && !k->value().is_null()) {
    if (!k->value().is_string() || k->value().get_string().empty() ||
        k->value().get_string().size() > max_idempotency_key_bytes) {
      return decode_failure{wire_error::bad_message,
                            "\"idempotency_key\" must be a string of 1 to 64 bytes", env.ref};
    }
    env.idempotency_key = std::string(k->value().get_string());
    env.fingerprint = fingerprint_of(o);
  }
  return env;
}

template <class Body>
decode_result<Body> with_envelope(boost::system::result<Body, decode_failure> body, envelope env) {
  if (!body) {
    auto failure = body.error();
    failure.ref = std::move(env.ref);
    return failure;
  }
  return inbound<Body>{std::move(env.ref), std::move(*body), std::move(env.idempotency_key),
                       std::move(env.fingerprint)};
}

using billing_parse = boost::system::result<billing_body, decode_failure>;
using paying_parse = boost::system::result<paying_body, decode_failure>;

billing_parse parse_billing(const std::string& type, const fields& f) {
  if (type == "hello") {
    auto terminal = f.string("terminal", max_id_bytes);
    if (!terminal) return terminal.error();
    auto nonce = f.optional_string("nonce", 64);
    if (!nonce) return nonce.error();
    auto signature = f.optional_string("signature", 128);
    if (!signature) return signature.error();
    return hello_msg{std::move(*terminal), std::move(*nonce), std::move(*signature)};
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
    auto push_msisdn = f.optional_string("push_msisdn", 20);
    if (!push_msisdn) return push_msisdn.error();
    auto push_customer = f.optional_string("push_customer", max_id_bytes);
    if (!push_customer) return push_customer.error();
    if (!push_msisdn->empty() && !push_customer->empty()) {
      return f.fail("give \"push_msisdn\" or \"push_customer\", not both");
    }
    m.push_msisdn = std::move(*push_msisdn);
    m.push_customer = std::move(*push_customer);
    auto qr = f.optional_string("qr", 8);
    if (!qr) return qr.error();
    if (*qr == "png") {
      m.qr = qr_format::png;
    } else if (*qr == "svg") {
      m.qr = qr_format::svg;
    } else if (!qr->empty()) {
      return f.fail("\"qr\" must be \"png\" or \"svg\"");
    }
    return m;
  }
  if (type == "catalogue") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto items = f.list<catalogue_item>(
        "items", max_catalogue_items,
        [](const fields& item,
           std::size_t) -> boost::system::result<catalogue_item, decode_failure> {
          auto sku = item.string("sku", max_sku_bytes);
          if (!sku) return sku.error();
          auto name = item.string("name", max_item_name_bytes);
          if (!name) return name.error();
          auto price = item.bounded("price", 0, max_amount_minor);
          if (!price) return price.error();
          std::int64_t max_qty = max_item_quantity;
          if (item.has("max_qty")) {
            auto q = item.bounded("max_qty", 1, max_item_quantity);
            if (!q) return q.error();
            max_qty = *q;
          }
          return catalogue_item{std::move(*sku), std::move(*name), *price, max_qty};
        });
    if (!items) return items.error();
    for (std::size_t i = 0; i < items->size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if ((*items)[i].sku == (*items)[j].sku) {
          return f.fail("items: sku \"" + (*items)[i].sku + "\" appears twice");
        }
      }
    }
    return catalogue_msg{std::move(*txn), std::move(*items)};
  }
  if (type == "refund") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto amount = f.money();
    if (!amount) return amount.error();
    auto reason = f.optional_string("reason", max_reason_bytes);
    if (!reason) return reason.error();
    return refund_msg{std::move(*txn), std::move(*amount), std::move(*reason)};
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
                            "\" for a billing terminal (expected hello, open, amount, catalogue, "
                            "cancel, refund, status or ping)",
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
  if (type == "pay_merchant") {
    auto till = f.string("till", 32);
    if (!till) return till.error();
    return pay_merchant_msg{std::move(*till)};
  }
  if (type == "order") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto lines = f.order_lines();
    if (!lines) return lines.error();
    auto note = f.optional_string("note", max_note_bytes);
    if (!note) return note.error();
    return order_msg{std::move(*txn), std::move(*lines), std::move(*note)};
  }
  if (type == "history") {
    history_msg m;
    if (f.has("before")) {
      auto before = f.bounded("before", 1, INT64_MAX);
      if (!before) return before.error();
      m.before = static_cast<std::uint64_t>(*before);
    }
    if (f.has("limit")) {
      auto limit = f.bounded("limit", 1, static_cast<std::int64_t>(max_history_page));
      if (!limit) return limit.error();
      m.limit = static_cast<std::size_t>(*limit);
    }
    return m;
  }
  if (type == "auth_answer") {
    auto txn = f.string("txn", max_id_bytes);
    if (!txn) return txn.error();
    auto answer = f.string("answer", max_answer_bytes);
    if (!answer) return answer.error();
    return auth_answer_msg{std::move(*txn), std::move(*answer)};
  }
  if (type == "ping") return ping_msg{};
  return decode_failure{
      wire_error::unknown_type,
      "unknown message type \"" + type.substr(0, 64) +
          "\" for a handset (expected join, pay_merchant, confirm_merchant, order, "
          "confirm_amount, auth_answer, cancel, history or ping)",
      {}};
}

using centre_parse = boost::system::result<centre_body, decode_failure>;

centre_parse parse_centre(const std::string& type, const fields& f) {
  if (type == "hello") {
    auto centre = f.string("centre", max_id_bytes);
    if (!centre) return centre.error();
    auto nonce = f.optional_string("nonce", 64);
    if (!nonce) return nonce.error();
    auto signature = f.optional_string("signature", 128);
    if (!signature) return signature.error();
    return centre_hello_msg{std::move(*centre), std::move(*nonce), std::move(*signature)};
  }
  if (type == "forward_order") {
    forward_order_msg m;
    auto till = f.string("till", 32);
    if (!till) return till.error();
    auto msisdn = f.string("msisdn", 20);
    if (!msisdn) return msisdn.error();
    auto lines = f.order_lines();
    if (!lines) return lines.error();
    auto note = f.optional_string("note", max_note_bytes);
    if (!note) return note.error();
    auto reference = f.optional_string("reference", max_reference_bytes);
    if (!reference) return reference.error();
    return forward_order_msg{std::move(*till), std::move(*msisdn), std::move(*lines),
                             std::move(*note), std::move(*reference)};
  }
  if (type == "ping") return ping_msg{};
  return decode_failure{wire_error::unknown_type,
                        "unknown message type \"" + type.substr(0, 64) +
                            "\" for an order centre (expected hello, forward_order or ping)",
                        {}};
}

template <class Body, class Parser>
decode_result<Body> decode(std::string_view frame, Parser parse) {
  // The parsed tree lives only while the frame is decoded (what outlives it
  // is copied out), so it is built in a buffer on the stack: every object
  // key and string would otherwise be one allocation, ~20 per settlement.
  // A frame too big for the buffer continues on the heap.
  alignas(std::max_align_t) unsigned char buffer[4096];
  json::monotonic_resource scratch(buffer, sizeof buffer);
  json::value parsed(json::storage_ptr{&scratch});
  auto env = open_envelope(frame, parsed);
  if (!env) return env.error();
  fields f(parsed.get_object());
  auto body = parse(env->type, f);
  return with_envelope<Body>(std::move(body), std::move(*env));
}

}  // namespace

decode_result<billing_body> decode_billing(std::string_view frame) {
  return decode<billing_body>(frame, parse_billing);
}

decode_result<paying_body> decode_paying(std::string_view frame) {
  return decode<paying_body>(frame, parse_paying);
}

decode_result<centre_body> decode_centre(std::string_view frame) {
  return decode<centre_body>(frame, parse_centre);
}

}  // namespace paysync::protocols
