// Flows B and C and the catalogue/order relay, through the real binary and
// real WebSockets (claims 15, 24, 25, 28, 29).

#include <fstream>

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class OtherFlows : public switch_test {
 protected:
  void SetUp() override { start(); }

  protocols::terminal_session order_centre() {
    return identified(process().billing_port(), "centre", "oc-nairobi", "/centre");
  }

  std::vector<json::object> sms_outbox() {
    std::vector<json::object> out;
    std::ifstream in(data_dir() + "/sms-outbox.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }
};

// Claim 28: the payer names the merchant (its till) first.
TEST_F(OtherFlows, FlowBPayerInitiatedWithCatalogueOrderAndAmount) {
  const auto payer = balance("user:u-1002"), merchant = balance("merchant:m-kahawa");
  auto b = billing();
  auto h = handset("254700000002");
  auto merchant_info = call(h, {{"type", "pay_merchant"}, {"till", "500100"}}, "merchant");
  const auto txn = str(merchant_info, "txn");
  EXPECT_EQ(str(merchant_info.at("merchant").as_object(), "name"), "Kahawa Coffee House");
  auto opened = event(b, "opened");
  EXPECT_EQ(str(opened, "txn"), txn);
  EXPECT_EQ(str(opened, "initiated_by"), "payer");
  EXPECT_FALSE(opened.contains("ref"));

  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  event(b, "synchronized");
  call(b,
       {{"type", "catalogue"},
        {"txn", txn},
        {"items",
         json::array{
             json::object{{"sku", "latte"}, {"name", "Latte"}, {"price", 35000}, {"max_qty", 3}},
             json::object{{"sku", "mandazi"}, {"name", "Mandazi"}, {"price", 5000}}}}},
       "ack");
  auto catalogue = event(h, "catalogue");
  EXPECT_EQ(catalogue.at("items").as_array().size(), 2u);
  refused(h,
          {{"type", "order"},
           {"txn", txn},
           {"lines", json::array{json::object{{"sku", "chai"}, {"qty", 1}}}}},
          "bad_message");
  refused(h,
          {{"type", "order"},
           {"txn", txn},
           {"lines", json::array{json::object{{"sku", "latte"}, {"qty", 4}}}}},
          "bad_message");
  call(h,
       {{"type", "order"},
        {"txn", txn},
        {"note", "to go"},
        {"lines", json::array{json::object{{"sku", "latte"}, {"qty", 2}},
                              json::object{{"sku", "mandazi"}, {"qty", 1}}}}},
       "ack");
  auto order = event(b, "order");
  EXPECT_EQ(order.at("lines").as_array().size(), 2u);
  EXPECT_EQ(str(order, "note"), "to go");
  // The merchant computes the amount from the order (claim 24).
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 75000}}, "ack");
  EXPECT_EQ(event(h, "amount").at("amount"), 75000);
  call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 75000}}, "receipt");
  event(b, "settled");
  EXPECT_EQ(balance("user:u-1002"), payer - 75000);
  EXPECT_EQ(balance("merchant:m-kahawa"), merchant + 75000);
}

TEST_F(OtherFlows, FlowBRefusesUnknownInactiveAndOfflineMerchants) {
  auto h = handset();
  refused(h, {{"type", "pay_merchant"}, {"till", "999999"}}, "unknown_merchant");
  refused(h, {{"type", "pay_merchant"}, {"till", "500900"}}, "merchant_inactive");
  refused(h, {{"type", "pay_merchant"}, {"till", "500300"}}, "merchant_offline");
  auto b = billing("t-dawa-01");
  call(h, {{"type", "pay_merchant"}, {"till", "500300"}}, "merchant");
}

// Claims 25, 29: an order centre forwards a phoned-in order; the merchant
// opens a transaction pushed to that caller's handset.
TEST_F(OtherFlows, FlowCOrderCentrePushToAConnectedHandset) {
  auto b = billing("t-mboga-01");
  auto h = handset("254700000002");
  auto centre = order_centre();
  auto forwarded = call(centre,
                        {{"type", "forward_order"},
                         {"till", "500200"},
                         {"msisdn", "+254 700 000002"},
                         {"reference", "call-7"},
                         {"lines", json::array{json::object{{"sku", "sukuma"}, {"qty", 3}}}}},
                        "forwarded");
  auto order = event(b, "centre_order");
  EXPECT_EQ(str(order, "order_id"), str(forwarded, "order_id"));
  EXPECT_EQ(str(order.at("centre").as_object(), "name"), "Nairobi Order Centre");
  const auto customer = str(order, "customer");
  EXPECT_EQ(customer.find("2547"), std::string::npos) << "the merchant never sees the number";

  auto opened =
      call(b, {{"type", "open"}, {"amount", 12000}, {"push_customer", customer}}, "opened");
  EXPECT_EQ(str(opened, "pushed_via"), "handset");
  const auto txn = str(opened, "txn");
  auto push = event(h, "push");
  EXPECT_EQ(str(push, "txn"), txn);
  EXPECT_EQ(push.at("amount"), 12000);
  // Only the payer it was pushed to may join it.
  auto other = handset("254700000001");
  refused(other, {{"type", "join"}, {"txn", txn}}, "unknown_txn");
  call(h, {{"type", "join"}, {"txn", txn}}, "merchant");
  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  auto synced = event(b, "synchronized");
  // Mama Mboga's policy discloses the delivery address too.
  EXPECT_EQ(str(synced.at("payer").as_object(), "delivery_address"), "Moi Ave 3, Mombasa");
  event(h, "amount");
  call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 12000}}, "receipt");
  event(b, "settled");
  EXPECT_TRUE(sms_outbox().empty()) << "nothing was texted to a connected handset";
}

TEST_F(OtherFlows, FlowCTextsTheLinkToAHandsetWithoutAConnection) {
  auto b = billing();
  auto opened =
      call(b, {{"type", "open"}, {"amount", 9900}, {"push_msisdn", "254700000001"}}, "opened");
  EXPECT_EQ(str(opened, "pushed_via"), "sms");
  auto texts = sms_outbox();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(str(texts[0], "to"), "254700000001");
  EXPECT_EQ(str(texts[0], "link"), str(opened, "link"));
  EXPECT_NE(str(texts[0], "text").find("99.00 KES"), std::string::npos) << str(texts[0], "text");
  EXPECT_EQ(str(texts[0], "expires_at"), str(opened, "expires_at")) << "the push expires with it";
  // The payer opens the texted link later.
  auto h = handset("254700000001");
  const auto link = str(texts[0], "link");
  call(h, {{"type", "join"}, {"token", link.substr(link.rfind('/') + 1)}}, "merchant");
  call(h, {{"type", "confirm_merchant"}, {"txn", str(opened, "txn")}}, "ack");
  event(h, "amount");
  call(h, {{"type", "confirm_amount"}, {"txn", str(opened, "txn")}, {"amount", 9900}}, "receipt");
}

TEST_F(OtherFlows, FlowCRefusals) {
  auto b = billing();
  refused(b, {{"type", "open"}, {"push_msisdn", "254799999999"}}, "payer_unregistered");
  refused(b, {{"type", "open"}, {"push_msisdn", "254700000004"}}, "payer_blocked");
  refused(b, {{"type", "open"}, {"push_customer", "cu-made-up"}}, "unknown_txn");
  auto centre = order_centre();
  const json::array lines{json::object{{"sku", "x"}, {"qty", 1}}};
  refused(
      centre,
      {{"type", "forward_order"}, {"till", "500300"}, {"msisdn", "254700000001"}, {"lines", lines}},
      "merchant_offline");
  refused(
      centre,
      {{"type", "forward_order"}, {"till", "123"}, {"msisdn", "254700000001"}, {"lines", lines}},
      "unknown_merchant");
  refused(
      centre,
      {{"type", "forward_order"}, {"till", "500100"}, {"msisdn", "254799999999"}, {"lines", lines}},
      "payer_unregistered");
  // A customer reference works only for the merchant it was forwarded to.
  auto mboga = billing("t-mboga-01");
  call(
      centre,
      {{"type", "forward_order"}, {"till", "500200"}, {"msisdn", "254700000001"}, {"lines", lines}},
      "forwarded");
  const auto customer = str(event(mboga, "centre_order"), "customer");
  refused(b, {{"type", "open"}, {"push_customer", customer}}, "unknown_txn");
  // Order centres are not billing terminals, nor the other way round.
  auto not_a_terminal = connect(process().billing_port(), {});
  refused(not_a_terminal, {{"type", "hello"}, {"terminal", "oc-nairobi"}}, "unknown_terminal");
}

}  // namespace
}  // namespace paysync::testing_support
