// Who may not pay or bill, and bad input of every kind: each gets an error
// with a stable code, the connection survives, and the ledger is untouched.

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class Refusals : public switch_test {
 protected:
  void SetUp() override { start({"--max-frame-bytes", "4096"}); }
};

TEST_F(Refusals, BillingTerminalsMustBeRegisteredAndActive) {
  auto s = connect(process().billing_port(), {});
  refused(s, {{"type", "open"}}, "not_identified");
  refused(s, {{"type", "hello"}, {"terminal", "t-nobody"}}, "unknown_terminal");
  refused(s, {{"type", "hello"}, {"terminal", "t-kahawa-99"}}, "terminal_blocked");
  refused(s, {{"type", "hello"}, {"terminal", "t-closed-01"}}, "merchant_inactive");
  auto keys = protocols::read_terminal_key_file(terminal_key_file("t-kahawa-01"));
  ASSERT_TRUE(keys);
  auto welcome = protocols::identify(s, "terminal", "t-kahawa-01", &*keys, wait);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(str(*welcome, "type"), "welcome") << json::serialize(*welcome);
  refused(s, {{"type", "hello"}, {"terminal", "t-kahawa-02"}}, "already_identified");
  expect_alive(s);
}

TEST_F(Refusals, PayersMustBeIdentifiedRegisteredAndActive) {
  auto b = billing();
  auto opened = call(b, {{"type", "open"}}, "opened");
  const json::object join{{"type", "join"}, {"txn", str(opened, "txn")}};
  auto anonymous = connect(process().paying_port(), {});
  refused(anonymous, join, "payer_unidentified");
  auto stranger = handset("254799999999");
  refused(stranger, join, "payer_unregistered");
  auto blocked = handset("254700000004");
  refused(blocked, join, "payer_blocked");
  auto suspended = handset("+254 700 000005");
  refused(suspended, join, "payer_blocked");
  expect_alive(suspended);
  // None of that touched the transaction: a registered payer can still join.
  auto ok = handset();
  call(ok, join, "merchant");
}

TEST_F(Refusals, MalformedFramesGetStableCodesAndTheConnectionLives) {
  const auto entries = journal_entries();
  auto b = billing();
  auto h = handset();
  for (auto* s : {&b, &h}) {
    ASSERT_TRUE(s->send_raw("{not json"));
    EXPECT_EQ(str(event(*s, "error"), "code"), "bad_json");
    ASSERT_TRUE(s->send_raw("[1,2,3]"));
    EXPECT_EQ(str(event(*s, "error"), "code"), "bad_json");
    ASSERT_TRUE(s->send_raw(R"({"ref":"r"})"));
    auto no_type = event(*s, "error");
    EXPECT_EQ(str(no_type, "code"), "bad_message");
    EXPECT_EQ(str(no_type, "ref"), "r");
    refused(*s, {{"type", "launch_rockets"}}, "unknown_type");
    refused(*s, {{"type", "cancel"}, {"txn", 42}}, "bad_message");
    ASSERT_TRUE(
        s->send_raw(std::string(R"({"type":"ping","pad":")") + std::string(10'000, 'x') + "\"}"));
    EXPECT_EQ(str(event(*s, "error"), "code"), "frame_too_large");
    ASSERT_TRUE(s->client().send_binary("\x89PNG"));
    EXPECT_EQ(str(event(*s, "error"), "code"), "binary_not_allowed");
    expect_alive(*s);
  }
  refused(b, {{"type", "open"}, {"amount", 12.5}}, "invalid_amount");
  refused(b, {{"type", "open"}, {"amount", -1}}, "invalid_amount");
  refused(b, {{"type", "open"}, {"amount", "100"}}, "bad_message");
  refused(b, {{"type", "open"}, {"currency", "USD"}}, "currency_mismatch");
  refused(b, {{"type", "amount"}, {"txn", "tx00nonsense"}, {"amount", 100}}, "unknown_txn");
  refused(h, {{"type", "join"}}, "bad_message");
  refused(h, {{"type", "confirm_amount"}, {"txn", "tx00nonsense"}, {"amount", 1}}, "unknown_txn");
  EXPECT_EQ(journal_entries(), entries) << "bad input never reaches the ledger";
  // And the switch still settles a payment on the same connections.
  pay(b, h, 300);
  EXPECT_EQ(journal_entries(), entries + 1);
}

TEST_F(Refusals, MessagesInTheWrongStateAreRefused) {
  auto b = billing();
  auto h = handset();
  auto opened = call(b, {{"type", "open"}}, "opened");
  const auto txn = str(opened, "txn");
  refused(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "unknown_txn");  // not joined yet
  call(h, {{"type", "join"}, {"txn", txn}}, "merchant");
  refused(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 100}}, "wrong_state");
  auto other = call(b, {{"type", "open"}}, "opened");
  refused(h, {{"type", "join"}, {"txn", str(other, "txn")}}, "already_joined");
  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  event(b, "synchronized");
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 100}}, "ack");
  event(h, "amount");
  refused(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 99}}, "amount_mismatch");
  call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 100}}, "receipt");
  refused(b, {{"type", "cancel"}, {"txn", txn}}, "txn_closed");
  refused(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 100}}, "txn_closed");
}

TEST_F(Refusals, AmountsAboveTheBalanceAreRefusedBeforeMoneyMoves) {
  const auto entries = journal_entries();
  auto b = billing();
  auto h = handset("254700000003");  // Chebet: 50.00 KES
  auto txn = synchronize(b, h);
  refused(b, {{"type", "amount"}, {"txn", txn}, {"amount", 5001}}, "insufficient_funds");
  EXPECT_EQ(journal_entries(), entries);
  EXPECT_EQ(balance("user:u-1003"), 5000);
}

TEST_F(Refusals, GuessingIdsEndsInALockout) {
  auto b = billing();
  auto opened = call(b, {{"type", "open"}}, "opened");
  auto h = handset();
  for (int i = 0; i < 5; ++i) {
    refused(h, {{"type", "join"}, {"code", "000000"}, {"till", "500100"}}, "unknown_txn");
  }
  refused(h, {{"type", "join"}, {"txn", str(opened, "txn")}}, "too_many_attempts");
}

TEST(RefusalsOfUntrustedGateways, ANumberFromAnUntrustedAddressIsIgnored) {
  scratch_directory dir;
  switch_process sw(dir.sub("data"), {"--trusted-gateway", "10.0.0.0/8"});
  protocols::client_options o;
  o.port = sw.paying_port();
  o.headers = {{"X-MSISDN", "254700000001"}};
  auto h = protocols::terminal_session::connect(o);
  ASSERT_TRUE(h);
  auto reply = h->request({{"type", "join"}, {"txn", "tx00aaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}, 5s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(str(*reply, "code"), "payer_unidentified");
}

}  // namespace
}  // namespace paysync::testing_support
