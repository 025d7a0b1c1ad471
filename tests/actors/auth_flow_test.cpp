// Authentication inside the actors, on CAF's deterministic scheduler with a
// manual clock: lockouts that end when the clock says so, without sleeping.

#include "actor_fixture.hpp"

namespace paysync::actors::testing {
namespace {

class AuthFlow : public actor_test {
 protected:
  void SetUp() override {
    start_switch();
    // Every payment of 10.00 or more needs a knowledge factor.
    context_->auth.policy.defaults = {1000, 1'000'000};
    context_->auth.lockout = {3, 60'000, 86'400'000};
  }

  // Chebet (a password only) confirms 20.00 and gets the challenge.
  std::string challenged(billing_terminal& b, handset& h) {
    auto opened = open(b, {{"amount", 2000}});
    const auto txn = str(opened, "txn");
    send(h.actor, {{"type", "join"}, {"txn", txn}});
    send(h.actor, {{"type", "confirm_merchant"}, {"txn", txn}});
    h.wire->take();
    b.wire->take();
    send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 2000}, {"ref", "c"}});
    auto challenge = h.wire->take_one();
    EXPECT_EQ(str(challenge, "type"), "auth_challenge") << json::serialize(challenge);
    EXPECT_EQ(str(challenge, "factor"), "password");
    return txn;
  }

  // The frames the answer brought: the verdict first, then what followed it.
  std::vector<json::object> answer(handset& h, const std::string& txn, const std::string& text) {
    send(h.actor, {{"type", "auth_answer"}, {"txn", txn}, {"answer", text}, {"ref", "a"}});
    auto frames = h.wire->take();
    EXPECT_FALSE(frames.empty());
    return frames;
  }
  std::string first_code(const std::vector<json::object>& frames) {
    return frames.empty() ? "" : str(frames.front(), "code");
  }
};

TEST_F(AuthFlow, ALockoutEndsWhenTheClockSaysSo) {
  auto b = identified_billing();
  auto h = connect_handset("254700000003");
  auto txn = challenged(b, h);
  EXPECT_EQ(first_code(answer(h, txn, "wrong-1")), "auth_mismatch");
  EXPECT_EQ(first_code(answer(h, txn, "wrong-2")), "auth_mismatch");
  auto failed = answer(h, txn, "wrong-3").front();
  EXPECT_EQ(str(failed, "type"), "failed");
  EXPECT_EQ(str(failed, "code"), "auth_failed");
  EXPECT_EQ(str(failed, "ref"), "c");
  EXPECT_EQ(str(b.wire->take_one(), "code"), "auth_failed");

  auto locked_txn = str(open(b, {{"amount", 2000}}), "txn");
  send(h.actor, {{"type", "join"}, {"txn", locked_txn}});
  send(h.actor, {{"type", "confirm_merchant"}, {"txn", locked_txn}});
  h.wire->take();
  b.wire->take();
  send(h.actor, {{"type", "confirm_amount"}, {"txn", locked_txn}, {"amount", 2000}});
  auto locked = h.wire->take_one();
  EXPECT_EQ(str(locked, "code"), "auth_locked");
  EXPECT_NE(str(locked, "message").find("60 s"), std::string::npos) << str(locked, "message");

  clock_->advance_ms(59'000);
  send(h.actor, {{"type", "confirm_amount"}, {"txn", locked_txn}, {"amount", 2000}});
  EXPECT_EQ(str(h.wire->take_one(), "code"), "auth_locked") << "one second to go";
  clock_->advance_ms(1'001);
  send(h.actor, {{"type", "confirm_amount"}, {"txn", locked_txn}, {"amount", 2000}, {"ref", "c"}});
  EXPECT_EQ(str(h.wire->take_one(), "type"), "auth_challenge");
  auto passed = answer(h, locked_txn, "chebet-secret");
  ASSERT_EQ(passed.size(), 2u);
  EXPECT_EQ(str(passed[0], "type"), "ack");
  EXPECT_EQ(str(passed[1], "type"), "receipt");
}

TEST_F(AuthFlow, ASecondLockoutLastsTwiceAsLong) {
  auto b = identified_billing();
  auto h = connect_handset("254700000003");
  for (int round = 0; round < 2; ++round) {
    auto txn = challenged(b, h);
    for (int i = 0; i < 3; ++i) answer(h, txn, "wrong");
    b.wire->take();
    if (round == 0) clock_->advance_ms(60'001);
  }
  auto attempts = factors_->list("u-1003");
  ASSERT_TRUE(attempts && attempts->size() == 1);
  auto state = factors_->attempts("u-1003", (*attempts)[0].factor_id);
  EXPECT_EQ(state->locked_until_unix_ms, clock_->now_unix_ms() + 120'000);
}

TEST_F(AuthFlow, TheChallengeSurvivesAnAmountChangeAndTheConfirmationFollowsIt) {
  auto b = identified_billing();
  auto h = connect_handset("254700000003");
  auto txn = challenged(b, h);
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 3000}});
  b.wire->take();
  EXPECT_EQ(h.wire->take_one().at("amount"), 3000) << "the payer sees the new amount";
  auto passed = answer(h, txn, "chebet-secret");
  ASSERT_EQ(passed.size(), 2u);
  EXPECT_EQ(str(passed[0], "type"), "ack");
  EXPECT_EQ(str(passed[1], "code"), "amount_mismatch") << "20.00 is no longer on offer";
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 3000}});
  EXPECT_EQ(str(h.wire->take_one(), "type"), "receipt") << "proven once per transaction";
}

}  // namespace
}  // namespace paysync::actors::testing
