#include "protocols/message_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

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
  opened_view v{"tx0001abc",
                "123456",
                "500100",
                "http://h/pay/m/lk",
                1764057600000,
                300,
                money_field{1250, "KES"},
                "KES",
                "order-1"};
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

TEST(MessageCodec, FormatsTimestampsInUtc) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace paysync::protocols
