#include <sodium.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "protocols/message_codec.hpp"
#include "protocols/money.hpp"

// The switch -> terminal half of message_codec.hpp.
namespace paysync::protocols {
namespace json = boost::json;

namespace {

// An outbound frame's JSON lives only until it is serialised, so it is built
// in a buffer on the stack: each object key and longer string would
// otherwise be one allocation (~30 per settlement over its 8 outbound
// frames). A frame too big for the buffer continues on the heap.
class frame_arena {
 public:
  frame_arena() = default;
  frame_arena(const frame_arena&) = delete;
  frame_arena& operator=(const frame_arena&) = delete;
  json::storage_ptr storage() noexcept { return json::storage_ptr(&resource_); }

 private:
  alignas(std::max_align_t) unsigned char buffer_[2048];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
};

void put_ref(json::object& o, const json::value& ref) {
  if (!ref.is_null()) o["ref"] = ref;
}

json::object merchant_object(const merchant_view& m, json::storage_ptr storage = {}) {
  return json::object({{"id", m.id},
                       {"name", m.name},
                       {"till", m.till},
                       {"city", m.city},
                       {"category", m.category},
                       {"currency", m.currency}},
                      std::move(storage));
}

json::object settlement_object(std::string_view type, const json::value& ref,
                               const settlement_view& s, json::storage_ptr storage = {}) {
  json::object o({{"type", type}}, std::move(storage));
  put_ref(o, ref);
  o.insert({{"txn", s.txn},
            {"merchant", {{"id", s.merchant_id}, {"name", s.merchant_name}}},
            {"amount", s.amount.amount_minor},
            {"currency", s.amount.currency},
            {"sequence", s.sequence},
            {"settled_at", format_timestamp(s.settled_unix_ms)}});
  if (!s.reference.empty()) o["reference"] = s.reference;
  if (!s.signature.empty()) {
    o["payer_ref"] = s.payer_ref;
    o["key_id"] = s.key_id;
    o["signature"] = s.signature;
  }
  return o;
}

std::string finish(const json::object& o) { return json::serialize(o); }

}  // namespace

std::string format_timestamp(std::int64_t unix_ms) {
  namespace chrono = std::chrono;
  // Floors toward the past, so -1 ms is 23:59:59.999 the day before.
  const auto ms = chrono::sys_time<chrono::milliseconds>(chrono::milliseconds(unix_ms));
  const auto day = chrono::floor<chrono::days>(ms);
  const chrono::year_month_day date(day);
  const chrono::hh_mm_ss time(ms - day);
  const int year = static_cast<int>(date.year());
  // Written digit by digit: snprintf (with gmtime_r's time-zone lock) cost
  // about 5,000 instructions per call, several calls per payment.
  std::string out(24, '0');  // YYYY-MM-DDThh:mm:ss.mmmZ
  auto put = [&out](std::size_t at, unsigned value, std::size_t digits) {
    for (std::size_t i = digits; i-- > 0; value /= 10)
      out[at + i] = static_cast<char>('0' + value % 10);
  };
  if (year < 0 || year > 9999) {  // beyond four digits: no clock gets here, but stay exact
    std::array<char, 48> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()),
                  static_cast<int>(time.subseconds().count()));
    return buf.data();
  }
  put(0, static_cast<unsigned>(year), 4);
  out[4] = '-';
  put(5, static_cast<unsigned>(date.month()), 2);
  out[7] = '-';
  put(8, static_cast<unsigned>(date.day()), 2);
  out[10] = 'T';
  put(11, static_cast<unsigned>(time.hours().count()), 2);
  out[13] = ':';
  put(14, static_cast<unsigned>(time.minutes().count()), 2);
  out[16] = ':';
  put(17, static_cast<unsigned>(time.seconds().count()), 2);
  out[19] = '.';
  put(20, static_cast<unsigned>(time.subseconds().count()), 3);
  out[23] = 'Z';
  return out;
}

std::string encode_error(const json::value& ref, wire_error code, std::string_view message,
                         std::string_view txn) {
  frame_arena arena;
  json::object o({{"type", "error"}}, arena.storage());
  put_ref(o, ref);
  o["code"] = to_code(code);
  o["message"] = message;
  if (!txn.empty()) o["txn"] = txn;
  return finish(o);
}

std::string encode_pong(const json::value& ref, std::int64_t now_unix_ms) {
  frame_arena arena;
  json::object o({{"type", "pong"}}, arena.storage());
  put_ref(o, ref);
  o["server_time"] = format_timestamp(now_unix_ms);
  return finish(o);
}

std::string encode_challenge(const json::value& ref, std::string_view id_field, std::string_view id,
                             std::string_view nonce, std::int64_t expires_in_s) {
  frame_arena arena;
  json::object o({{"type", "challenge"}}, arena.storage());
  put_ref(o, ref);
  o[id_field] = id;
  o["nonce"] = nonce;
  o["sign"] = "paysync/hello/v1|" + std::string(id) + "|" + std::string(nonce);
  o["expires_in_s"] = expires_in_s;
  return finish(o);
}

std::string encode_welcome(const json::value& ref, std::string_view terminal,
                           const merchant_view& merchant, std::int64_t now_unix_ms) {
  frame_arena arena;
  json::object o({{"type", "welcome"}}, arena.storage());
  put_ref(o, ref);
  o["terminal"] = terminal;
  o["merchant"] = merchant_object(merchant, o.storage());
  o["server_time"] = format_timestamp(now_unix_ms);
  return finish(o);
}

std::string encode_opened(const json::value& ref, const opened_view& v) {
  frame_arena arena;
  json::object o({{"type", "opened"}}, arena.storage());
  put_ref(o, ref);
  o["txn"] = v.txn;
  o["initiated_by"] = v.initiated_by;
  o["code"] = v.code;
  o["till"] = v.till;
  o["link"] = v.link;
  o["expires_at"] = format_timestamp(v.expires_unix_ms);
  o["ttl_s"] = v.ttl_s;
  o["currency"] = v.currency;
  if (v.amount) o["amount"] = v.amount->amount_minor;
  if (!v.reference.empty()) o["reference"] = v.reference;
  if (!v.pushed_via.empty()) o["pushed_via"] = v.pushed_via;
  if (!v.qr_svg.empty()) o["qr_svg"] = v.qr_svg;
  if (!v.qr_png.empty()) {
    std::string b64(sodium_base64_ENCODED_LEN(v.qr_png.size(), sodium_base64_VARIANT_ORIGINAL),
                    '\0');
    sodium_bin2base64(b64.data(), b64.size(),
                      reinterpret_cast<const unsigned char*>(v.qr_png.data()), v.qr_png.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    b64.resize(std::strlen(b64.c_str()));
    o["qr_png"] = "data:image/png;base64," + b64;
  }
  return finish(o);
}

std::string encode_ack(const json::value& ref, std::string_view for_type, std::string_view txn) {
  frame_arena arena;
  json::object o({{"type", "ack"}}, arena.storage());
  put_ref(o, ref);
  o["for"] = for_type;
  o["txn"] = txn;
  return finish(o);
}

std::string encode_synchronized(std::string_view txn,
                                const std::map<std::string, std::string>& payer) {
  frame_arena arena;
  json::object o({{"type", "synchronized"}, {"txn", txn}}, arena.storage());
  auto& attributes = o["payer"].emplace_object();
  for (const auto& [k, v] : payer) attributes[k] = v;
  return finish(o);
}

std::string encode_settled(const settlement_view& s) {
  frame_arena arena;
  return finish(settlement_object("settled", {}, s, arena.storage()));
}

std::string encode_cancelled(const json::value& ref, std::string_view txn, std::string_view by,
                             std::string_view reason) {
  frame_arena arena;
  json::object o({{"type", "cancelled"}}, arena.storage());
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
  frame_arena arena;
  json::object o({{"type", "failed"}}, arena.storage());
  put_ref(o, ref);
  o["txn"] = txn;
  o["code"] = to_code(code);
  o["message"] = message;
  return finish(o);
}

std::string encode_status(const json::value& ref, const status_view& v) {
  frame_arena arena;
  json::object o({{"type", "status"}}, arena.storage());
  put_ref(o, ref);
  o["txn"] = v.txn;
  o["state"] = v.state;
  if (v.amount) {
    o["amount"] = v.amount->amount_minor;
    o["currency"] = v.amount->currency;
  }
  if (v.settlement) {
    auto settlement = settlement_object("settled", {}, *v.settlement, o.storage());
    settlement.erase("type");
    o["settlement"] = std::move(settlement);
  }
  return finish(o);
}

std::string encode_merchant(const json::value& ref, std::string_view txn,
                            const merchant_view& merchant, const std::optional<money_field>& amount,
                            std::int64_t expires_unix_ms) {
  frame_arena arena;
  json::object o({{"type", "merchant"}}, arena.storage());
  put_ref(o, ref);
  o["txn"] = txn;
  o["merchant"] = merchant_object(merchant, o.storage());
  if (amount) {
    o["amount"] = amount->amount_minor;
    o["currency"] = amount->currency;
  }
  o["expires_at"] = format_timestamp(expires_unix_ms);
  return finish(o);
}

std::string encode_amount_offer(std::string_view txn, const money_field& amount,
                                std::string_view merchant_name) {
  frame_arena arena;
  json::object o({{"type", "amount"},
                  {"txn", txn},
                  {"amount", amount.amount_minor},
                  {"currency", amount.currency},
                  {"merchant_name", merchant_name}},
                 arena.storage());
  o["display"] = format_money(amount.amount_minor, amount.currency);
  return finish(o);
}

std::string encode_receipt(const json::value& ref, const settlement_view& s,
                           std::string_view payer_name) {
  frame_arena arena;
  json::object o = settlement_object("receipt", ref, s, arena.storage());
  o["payer_name"] = payer_name;
  o["display"] = format_money(s.amount.amount_minor, s.amount.currency);
  return finish(o);
}

static json::array lines_array(const std::vector<order_line>& lines) {
  json::array out;
  for (const auto& l : lines) out.push_back(json::object{{"sku", l.sku}, {"qty", l.qty}});
  return out;
}

std::string encode_catalogue(std::string_view txn, const std::vector<catalogue_item>& items,
                             std::string_view currency) {
  json::array array;
  for (const auto& i : items) {
    array.push_back(json::object{{"sku", i.sku},
                                 {"name", i.name},
                                 {"price", i.price_minor},
                                 {"max_qty", i.max_qty},
                                 {"display", format_money(i.price_minor, currency)}});
  }
  return finish(json::object{
      {"type", "catalogue"}, {"txn", txn}, {"currency", currency}, {"items", std::move(array)}});
}

std::string encode_order(std::string_view txn, const std::vector<order_line>& lines,
                         std::string_view note) {
  json::object o{{"type", "order"}, {"txn", txn}, {"lines", lines_array(lines)}};
  if (!note.empty()) o["note"] = note;
  return finish(o);
}

std::string encode_centre_order(const centre_order_view& v) {
  json::object o{{"type", "centre_order"},
                 {"order_id", v.order_id},
                 {"centre", json::object{{"id", v.centre_id}, {"name", v.centre_name}}},
                 {"customer", v.customer},
                 {"lines", lines_array(v.lines)}};
  if (!v.note.empty()) o["note"] = v.note;
  if (!v.reference.empty()) o["reference"] = v.reference;
  return finish(o);
}

std::string encode_centre_welcome(const json::value& ref, std::string_view centre,
                                  std::string_view name, std::int64_t now_unix_ms) {
  frame_arena arena;
  json::object o({{"type", "welcome"}}, arena.storage());
  put_ref(o, ref);
  o["centre"] = json::object{{"id", centre}, {"name", name}};
  o["server_time"] = format_timestamp(now_unix_ms);
  return finish(o);
}

std::string encode_forwarded(const json::value& ref, std::string_view order_id,
                             std::string_view merchant_id, std::string_view merchant_name) {
  frame_arena arena;
  json::object o({{"type", "forwarded"}}, arena.storage());
  put_ref(o, ref);
  o["order_id"] = order_id;
  o["merchant"] = json::object{{"id", merchant_id}, {"name", merchant_name}};
  return finish(o);
}

std::string encode_push(std::string_view txn, const merchant_view& merchant,
                        const std::optional<money_field>& amount, std::int64_t expires_unix_ms) {
  json::object o{{"type", "push"}, {"txn", txn}, {"merchant", merchant_object(merchant)}};
  if (amount) {
    o["amount"] = amount->amount_minor;
    o["currency"] = amount->currency;
    o["display"] = format_money(amount->amount_minor, amount->currency);
  }
  o["expires_at"] = format_timestamp(expires_unix_ms);
  return finish(o);
}

std::string encode_history(const json::value& ref, const std::vector<history_entry_view>& entries,
                           std::uint64_t next_before) {
  json::array array;
  for (const auto& e : entries) {
    array.push_back(
        json::object{{"txn", e.txn},
                     {"kind", e.kind},
                     {"direction", e.direction},
                     {"sequence", e.sequence},
                     {"merchant", json::object{{"id", e.merchant_id}, {"name", e.merchant_name}}},
                     {"amount", e.amount.amount_minor},
                     {"currency", e.amount.currency},
                     {"display", format_money(e.amount.amount_minor, e.amount.currency)},
                     {"at", format_timestamp(e.at_unix_ms)}});
  }
  frame_arena arena;
  json::object o({{"type", "history"}}, arena.storage());
  put_ref(o, ref);
  o["entries"] = std::move(array);
  if (next_before > 0) o["next_before"] = next_before;
  return finish(o);
}

std::string encode_refunded(const json::value& ref, const refund_view& r) {
  frame_arena arena;
  json::object o({{"type", "refunded"}}, arena.storage());
  put_ref(o, ref);
  o["txn"] = r.txn;
  o["refund_id"] = r.refund_id;
  o["amount"] = r.amount.amount_minor;
  o["currency"] = r.amount.currency;
  o["refunded_total"] = r.refunded_total_minor;
  o["sequence"] = r.sequence;
  o["refunded_at"] = format_timestamp(r.at_unix_ms);
  return finish(o);
}

std::string encode_auth_challenge(const auth_challenge_view& c) {
  json::array formats;
  for (const auto& f : c.formats) formats.emplace_back(f);
  json::object o{{"type", "auth_challenge"}, {"txn", c.txn},
                 {"factor", c.factor},       {"answer_as", c.answer_as},
                 {"max_bytes", c.max_bytes}, {"attempts_left", c.attempts_left}};
  if (!c.question.empty()) o["question"] = c.question;
  if (!formats.empty()) o["formats"] = std::move(formats);
  return finish(o);
}

}  // namespace paysync::protocols
