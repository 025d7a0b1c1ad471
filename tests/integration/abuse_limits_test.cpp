// Abuse limits (issue 7): joins per number and per source address across
// connections, messages per connection, connections per address. Each
// refusal is clear, counted in the metrics, and loses nothing.

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class AbuseLimits : public switch_test {
 protected:
  std::string metrics() { return switch_process::http_get(process().operator_port(), "/metrics"); }
};

TEST_F(AbuseLimits, ReconnectingBuysNoMoreJoinsForANumberAndAGuessNeverPairs) {
  start({"--join-rate-per-msisdn", "3"});
  auto b = billing();
  auto opened = call(b, {{"type", "open"}}, "opened");
  for (int i = 0; i < 3; ++i) {
    auto h = handset();  // a new connection each time
    refused(h, {{"type", "join"}, {"code", "000000"}, {"till", "500100"}}, "unknown_txn");
  }
  auto h = handset();
  // Past the limit, even the right id is refused: guessing cannot pair.
  auto reply = refused(h, {{"type", "join"}, {"txn", str(opened, "txn")}}, "too_many_attempts");
  EXPECT_NE(str(reply, "message").find("this number"), std::string::npos) << str(reply, "message");
  // Another payer is not affected, and the transaction is still there for them.
  auto other = handset("254700000002");
  call(other, {{"type", "join"}, {"txn", str(opened, "txn")}}, "merchant");
  EXPECT_NE(metrics().find("paysync_refusals_total{reason=\"too_many_attempts\"} 1"),
            std::string::npos)
      << metrics();
}

TEST_F(AbuseLimits, JoinsFromOneAddressAreLimitedUnlessItIsAGateway) {
  // Loopback is no gateway here: numbers are ignored and the address counts.
  start({"--trusted-gateway", "10.0.0.0/8", "--join-rate-per-address", "2"});
  const json::object join{{"type", "join"}, {"txn", "tx00aaaaaaaaaaaaaaaaaaaaaaaaaaaa"}};
  for (int i = 0; i < 2; ++i) {
    auto h = handset();
    refused(h, join, "payer_unidentified");
  }
  auto h = handset();
  auto reply = refused(h, join, "too_many_attempts");
  EXPECT_NE(str(reply, "message").find("this address"), std::string::npos);
  expect_alive(h);
}

TEST_F(AbuseLimits, AFloodOfMessagesIsRefusedWhereItArrivesAndTheConnectionLives) {
  start({"--paying-message-rate", "5"});
  auto h = handset();
  // Five in a burst are fine; the rest of a fast burst are dropped with an error.
  int pongs = 0, limited = 0;
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(h.send({{"type", "ping"}, {"ref", i}}));
  for (int i = 0; i < 12; ++i) {
    auto got = h.receive(wait);
    ASSERT_TRUE(got) << protocols::to_string(got.error());
    if (str(*got, "type") == "pong") ++pongs;
    if (str(*got, "code") == "rate_limited") ++limited;
  }
  EXPECT_GE(pongs, 5);
  EXPECT_LE(pongs, 6) << "one more token may refill during the burst";
  EXPECT_EQ(pongs + limited, 12);
  EXPECT_NE(metrics().find("paysync_refusals_total{reason=\"rate_limited\"}"), std::string::npos);
  // Billing connections have their own, larger allowance and are unaffected.
  auto b = billing();
  call(b, {{"type", "open"}}, "opened");
}

TEST_F(AbuseLimits, TooManyConnectionsFromOneAddressAreRefusedAndASlotFreesOnClose) {
  // Loopback is no gateway here, so the cap applies to it.
  start({"--trusted-gateway", "10.0.0.0/8", "--max-connections-per-address", "3"});
  std::vector<protocols::terminal_session> open;
  for (int i = 0; i < 3; ++i) open.push_back(connect(process().paying_port(), {}));
  protocols::client_options o;
  o.port = process().billing_port();
  auto refused_upgrade = protocols::terminal_session::connect(o);
  EXPECT_FALSE(refused_upgrade) << "a fourth connection from 127.0.0.1, on either port";
  EXPECT_NE(metrics().find("paysync_connections_refused_total{reason=\"per_address\"} 1"),
            std::string::npos)
      << metrics();
  open.pop_back();  // closes one
  // The slot is freed when the switch has seen the close; poll for it.
  bool reconnected = false;
  for (int attempt = 0; attempt < 50 && !reconnected; ++attempt) {
    auto again = protocols::terminal_session::connect(o);
    reconnected = static_cast<bool>(again);
    if (!reconnected) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(reconnected);
}

}  // namespace
}  // namespace paysync::testing_support
