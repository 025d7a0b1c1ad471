#include "protocols/message_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

namespace paysync::protocols {
namespace json = boost::json;

namespace {

json::object parse(const std::string& s) { return json::parse(s).as_object(); }

template <class T, class Result>
const T& body_as(const Result& r) {
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().message);
  return std::get<T>(r->body);
}

}  // namespace

TEST(MessageCodec, DecodesHelloWithAStringRef) {
  auto r = decode_billing(R"({"type":"hello","ref":"r1","terminal":"t-kahawa-01"})");
  EXPECT_EQ(body_as<hello_msg>(r).terminal, "t-kahawa-01");
  EXPECT_EQ(r->ref, json::value("r1"));
}

TEST(MessageCodec, KeepsIntegerRefsAndIgnoresUnknownFields) {
  auto r = decode_billing(R"({"type":"ping","ref":42,"vendor_extension":{"x":1}})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::holds_alternative<ping_msg>(r->body));
  EXPECT_EQ(r->ref, json::value(42));
}

TEST(MessageCodec, DecodesOpenWithAndWithoutAmount) {
  auto bare = decode_billing(R"({"type":"open"})");
  EXPECT_FALSE(body_as<open_msg>(bare).amount);
  auto full = decode_billing(
      R"({"type":"open","amount":1250,"currency":"KES","reference":"order-7","ttl_s":60})");
  const auto& m = body_as<open_msg>(full);
  ASSERT_TRUE(m.amount);
  EXPECT_EQ(m.amount->amount_minor, 1250);
  EXPECT_EQ(m.amount->currency, "KES");
  EXPECT_EQ(m.reference, "order-7");
  EXPECT_EQ(m.ttl_s, 60);
}

TEST(MessageCodec, RefusesMalformedJson) {
  for (const char* frame : {"", "{", "not json", "[1,2]", "\"hello\"", "{\"type\":\"hello\",}"}) {
    auto r = decode_billing(frame);
    ASSERT_FALSE(r) << frame;
    EXPECT_EQ(r.error().code, wire_error::bad_json) << frame;
  }
}

TEST(MessageCodec, RefusesDeepNesting) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto r = decode_billing(R"({"type":"ping","x":)" + deep + "}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire_error::bad_json);
}

TEST(MessageCodec, NamesTheFieldWithTheWrongType) {
  auto r = decode_billing(R"({"type":"hello","ref":"a","terminal":17})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire_error::bad_message);
  EXPECT_NE(r.error().message.find("terminal"), std::string::npos);
  EXPECT_EQ(r.error().ref, json::value("a")) << "the error still echoes the ref";

  auto missing_type = decode_billing(R"({"ref":"b"})");
  ASSERT_FALSE(missing_type);
  EXPECT_EQ(missing_type.error().code, wire_error::bad_message);
  EXPECT_EQ(missing_type.error().ref, json::value("b"));

  auto bad_ref = decode_billing(R"({"type":"ping","ref":{"a":1}})");
  ASSERT_FALSE(bad_ref);
  EXPECT_EQ(bad_ref.error().code, wire_error::bad_message);
}

TEST(MessageCodec, RefusesUnknownTypesPerSide) {
  auto r = decode_billing(R"({"type":"join","txn":"x"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire_error::unknown_type);
  auto p = decode_paying(R"({"type":"open"})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, wire_error::unknown_type);
}

TEST(MessageCodec, AmountsAreStrictIntegers) {
  struct cases {
    const char* frame;
    wire_error code;
  };
  for (auto c : {cases{R"({"type":"amount","txn":"t","amount":12.5,"currency":"KES"})",
                       wire_error::invalid_amount},
                 cases{R"({"type":"amount","txn":"t","amount":0,"currency":"KES"})",
                       wire_error::invalid_amount},
                 cases{R"({"type":"amount","txn":"t","amount":-5,"currency":"KES"})",
                       wire_error::invalid_amount},
                 cases{R"({"type":"amount","txn":"t","amount":1000000000000,"currency":"KES"})",
                       wire_error::invalid_amount},
                 cases{R"({"type":"amount","txn":"t","amount":18446744073709551615})",
                       wire_error::invalid_amount},
                 cases{R"({"type":"amount","txn":"t","amount":"100","currency":"KES"})",
                       wire_error::bad_message},
                 cases{R"({"type":"amount","txn":"t","amount":100,"currency":"kes"})",
                       wire_error::bad_message},
                 cases{R"({"type":"amount","txn":"t"})", wire_error::bad_message}}) {
    auto r = decode_billing(c.frame);
    ASSERT_FALSE(r) << c.frame;
    EXPECT_EQ(r.error().code, c.code) << c.frame;
  }
  auto ok = decode_billing(R"({"type":"amount","txn":"t","amount":999999999999})");
  EXPECT_EQ(body_as<amount_msg>(ok).amount.amount_minor, 999999999999);
  EXPECT_EQ(body_as<amount_msg>(ok).amount.currency, "");
}

TEST(MessageCodec, JoinNeedsExactlyOneKey) {
  EXPECT_EQ(body_as<join_msg>(decode_paying(R"({"type":"join","txn":"tx1"})")).by, join_by::txn);
  EXPECT_EQ(body_as<join_msg>(decode_paying(R"({"type":"join","token":"lk1"})")).by,
            join_by::token);
  auto code = decode_paying(R"({"type":"join","code":"123456","till":"500100"})");
  EXPECT_EQ(body_as<join_msg>(code).by, join_by::code);
  EXPECT_EQ(body_as<join_msg>(code).till, "500100");
  for (const char* frame : {R"({"type":"join"})", R"({"type":"join","txn":"a","token":"b"})",
                            R"({"type":"join","code":"123456"})"}) {
    auto r = decode_paying(frame);
    ASSERT_FALSE(r) << frame;
    EXPECT_EQ(r.error().code, wire_error::bad_message) << frame;
  }
}

TEST(MessageCodec, BoundsStringFields) {
  std::string long_terminal(65, 'a');
  auto r = decode_billing(R"({"type":"hello","terminal":")" + long_terminal + "\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire_error::bad_message);
  auto empty = decode_billing(R"({"type":"hello","terminal":""})");
  ASSERT_FALSE(empty);
}

TEST(MessageCodec, ConfirmAmountCarriesWhatThePayerSaw) {
  auto r = decode_paying(R"({"type":"confirm_amount","txn":"tx1","amount":500,"currency":"KES"})");
  EXPECT_EQ(body_as<confirm_amount_msg>(r).amount, (money_field{500, "KES"}));
  EXPECT_FALSE(decode_paying(R"({"type":"confirm_amount","txn":"tx1"})"));
}

TEST(MessageCodec, EncodesErrorsWithCodeRefAndTxn) {
  auto o = parse(encode_error(json::value("r9"), wire_error::unknown_txn, "no such txn", "tx1"));
  EXPECT_EQ(o["type"], "error");
  EXPECT_EQ(o["ref"], "r9");
  EXPECT_EQ(o["code"], "unknown_txn");
  EXPECT_EQ(o["message"], "no such txn");
  EXPECT_EQ(o["txn"], "tx1");
  auto bare = parse(encode_error({}, wire_error::bad_json, "x"));
  EXPECT_FALSE(bare.contains("ref"));
  EXPECT_FALSE(bare.contains("txn"));
}

TEST(MessageCodec, EncodesOpenedAndSettlementMessages) {
  opened_view v;
  v.txn = "tx0001abc";
  v.code = "123456";
  v.till = "500100";
  v.link = "http://h/pay/m/lk";
  v.expires_unix_ms = 1764057600000;
  v.ttl_s = 300;
  v.amount = money_field{1250, "KES"};
  v.currency = "KES";
  v.reference = "order-1";
  auto o = parse(encode_opened(json::value(3), v));
  EXPECT_EQ(o["type"], "opened");
  EXPECT_EQ(o["ref"], 3);
  EXPECT_EQ(o["code"], "123456");
  EXPECT_EQ(o["amount"], 1250);
  EXPECT_EQ(o["expires_at"], "2025-11-25T08:00:00.000Z");

  settlement_view s{"tx1", "m-kahawa", "Kahawa", {1250, "KES"}, 17, 1764057600123, "order-1"};
  auto settled = parse(encode_settled(s));
  EXPECT_EQ(settled["type"], "settled");
  EXPECT_EQ(settled["sequence"], 17);
  EXPECT_EQ(settled["settled_at"], "2025-11-25T08:00:00.123Z");
  auto receipt = parse(encode_receipt({}, s, "Amina"));
  EXPECT_EQ(receipt["type"], "receipt");
  EXPECT_EQ(receipt["display"], "12.50 KES");
  EXPECT_EQ(receipt["merchant"].as_object()["name"], "Kahawa");
}

TEST(MessageCodec, DecodesCataloguesStrictly) {
  auto ok = decode_billing(
      R"({"type":"catalogue","txn":"tx1","items":[{"sku":"latte","name":"Latte","price":350,)"
      R"("max_qty":4},{"sku":"bun","name":"Bun","price":0}]})");
  const auto& c = body_as<catalogue_msg>(ok);
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_EQ(c.items[0], (catalogue_item{"latte", "Latte", 350, 4}));
  EXPECT_EQ(c.items[1].max_qty, 999) << "max_qty defaults to the limit";
  for (const char* frame :
       {R"({"type":"catalogue","txn":"t","items":[]})",
        R"({"type":"catalogue","txn":"t","items":{}})",
        R"({"type":"catalogue","txn":"t","items":[1]})",
        R"({"type":"catalogue","txn":"t","items":[{"sku":"a","name":"A","price":-1}]})",
        R"({"type":"catalogue","txn":"t","items":[{"sku":"a","name":"A","price":1.5}]})",
        R"({"type":"catalogue","txn":"t","items":[{"sku":"a","name":"A","price":1,"max_qty":0}]})",
        R"({"type":"catalogue","txn":"t","items":[{"sku":"a","price":1}]})",
        R"({"type":"catalogue","txn":"t","items":[{"sku":"a","name":"A","price":1},)"
        R"({"sku":"a","name":"B","price":2}]})"}) {
    auto r = decode_billing(frame);
    ASSERT_FALSE(r) << frame;
    EXPECT_EQ(r.error().code, wire_error::bad_message) << frame;
  }
  std::string many = R"({"type":"catalogue","txn":"t","items":[)";
  for (int i = 0; i < 201; ++i) {
    many += (i ? "," : "") + std::string(R"({"sku":"s)") + std::to_string(i) +
            R"(","name":"n","price":1})";
  }
  EXPECT_FALSE(decode_billing(many + "]}")) << "at most 200 items";
}

TEST(MessageCodec, DecodesOrdersPaymentsToMerchantsAndHistory) {
  auto order = decode_paying(
      R"({"type":"order","txn":"tx1","lines":[{"sku":"latte","qty":2}],"note":"no sugar"})");
  EXPECT_EQ(body_as<order_msg>(order).lines, (std::vector<order_line>{{"latte", 2}}));
  EXPECT_EQ(body_as<order_msg>(order).note, "no sugar");
  EXPECT_FALSE(decode_paying(R"({"type":"order","txn":"tx1","lines":[{"sku":"x","qty":0}]})"));
  EXPECT_FALSE(decode_paying(R"({"type":"order","txn":"tx1","lines":[{"sku":"x","qty":1000}]})"));
  EXPECT_FALSE(decode_paying(R"({"type":"order","txn":"tx1"})"));
  EXPECT_EQ(
      body_as<pay_merchant_msg>(decode_paying(R"({"type":"pay_merchant","till":"500100"})")).till,
      "500100");
  auto history = decode_paying(R"({"type":"history","before":17,"limit":5})");
  EXPECT_EQ(body_as<history_msg>(history).before, 17u);
  EXPECT_EQ(body_as<history_msg>(history).limit, 5u);
  EXPECT_EQ(body_as<history_msg>(decode_paying(R"({"type":"history"})")).limit, 20u);
  EXPECT_FALSE(decode_paying(R"({"type":"history","limit":51})"));
  EXPECT_FALSE(decode_paying(R"({"type":"history","before":0})"));
}

TEST(MessageCodec, DecodesOpenForPushAndQr) {
  auto r = decode_billing(R"({"type":"open","push_msisdn":"254700000001","qr":"svg"})");
  EXPECT_EQ(body_as<open_msg>(r).push_msisdn, "254700000001");
  EXPECT_EQ(body_as<open_msg>(r).qr, qr_format::svg);
  EXPECT_FALSE(decode_billing(R"({"type":"open","qr":"gif"})"));
  EXPECT_FALSE(decode_billing(R"({"type":"open","push_msisdn":"1","push_customer":"c"})"));
}

TEST(MessageCodec, DecodesOrderCentreMessages) {
  auto hello = decode_centre(R"({"type":"hello","centre":"oc-nairobi"})");
  EXPECT_EQ(body_as<centre_hello_msg>(hello).centre, "oc-nairobi");
  auto fwd = decode_centre(R"({"type":"forward_order","till":"500200","msisdn":"254700000002",)"
                           R"("lines":[{"sku":"sukuma","qty":3}],"reference":"call-88"})");
  EXPECT_EQ(body_as<forward_order_msg>(fwd).msisdn, "254700000002");
  EXPECT_EQ(body_as<forward_order_msg>(fwd).reference, "call-88");
  EXPECT_FALSE(decode_centre(R"({"type":"forward_order","till":"500200","lines":[]})"));
  EXPECT_EQ(decode_centre(R"({"type":"open"})").error().code, wire_error::unknown_type);
}

TEST(MessageCodec, IdempotencyFingerprintsIgnoreRefAndKeyOrder) {
  auto a = decode_billing(
      R"({"type":"amount","ref":1,"idempotency_key":"k1","txn":"t","amount":5,"currency":"KES"})");
  auto b = decode_billing(
      R"({"currency":"KES","amount":5,"txn":"t","idempotency_key":"k1","type":"amount","ref":"x"})");
  auto c = decode_billing(
      R"({"type":"amount","idempotency_key":"k1","txn":"t","amount":6,"currency":"KES"})");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->idempotency_key, "k1");
  EXPECT_EQ(a->fingerprint.size(), 16u);
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  EXPECT_NE(a->fingerprint, c->fingerprint);
  auto none = decode_billing(R"({"type":"ping"})");
  EXPECT_TRUE(none->idempotency_key.empty());
  EXPECT_TRUE(none->fingerprint.empty());
  EXPECT_FALSE(decode_billing(R"({"type":"ping","idempotency_key":""})"));
  EXPECT_FALSE(decode_billing(R"({"type":"ping","idempotency_key":7})"));
}

TEST(MessageCodec, EncodesTheCommerceMessages) {
  auto cat = parse(encode_catalogue("tx1", {{"latte", "Latte", 350, 4}}, "KES"));
  EXPECT_EQ(cat["items"].as_array()[0].as_object()["display"], "3.50 KES");
  auto order = parse(encode_order("tx1", {{"latte", 2}}, ""));
  EXPECT_EQ(order["lines"].as_array()[0].as_object()["qty"], 2);
  EXPECT_FALSE(order.contains("note"));
  auto history = parse(
      encode_history(json::value("h"),
                     {{"tx1", "payment", "debit", 9, "m-kahawa", "Kahawa", {350, "KES"}, 0}}, 9));
  EXPECT_EQ(history["entries"].as_array().size(), 1u);
  EXPECT_EQ(history["next_before"], 9);
  auto refunded = parse(encode_refunded({}, {"tx1", "rf1", {100, "KES"}, 300, 12, 0}));
  EXPECT_EQ(refunded["refunded_total"], 300);
  opened_view v;
  v.txn = "tx1";
  v.qr_png = std::string("\x89PNG", 4);
  auto opened = parse(encode_opened({}, v));
  EXPECT_EQ(opened["qr_png"], "data:image/png;base64,iVBORw==");
  EXPECT_EQ(opened["initiated_by"], "merchant");
}

TEST(MessageCodec, FormatsTimestampsInUtc) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(951'782'400'000), "2000-02-29T00:00:00.000Z");  // a leap day
  EXPECT_EQ(format_timestamp(1'764'691'199'999), "2025-12-02T15:59:59.999Z");
  EXPECT_EQ(format_timestamp(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(253'402'300'800'000), "10000-01-01T00:00:00.000Z");
  // The same text as the C library's gmtime_r over a spread of instants.
  for (std::int64_t ms = -86'400'000LL * 366 * 3; ms < 4'102'444'800'000LL;
       ms += 7'777'777'777LL + 13) {
    std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char expected[64];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(((ms % 1000) + 1000) % 1000));
    ASSERT_EQ(format_timestamp(ms), expected) << ms;
  }
}

}  // namespace paysync::protocols
