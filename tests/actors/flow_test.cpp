// Flow A through the real session, registry and ledger actors, driven
// deterministically: frames in, frames out, a manual clock, real LMDB files.

#include "actor_fixture.hpp"

namespace paysync::actors::testing {
namespace {

class FlowA : public actor_test {
 protected:
  void SetUp() override { start_switch(); }
};

TEST_F(FlowA, SettlesAndTellsBothSides) {
  auto b = identified_billing();
  auto h = connect_handset();
  auto opened = open(b, {{"reference", "order-7"}});
  ASSERT_EQ(str(opened, "type"), "opened");
  const auto txn = str(opened, "txn");
  EXPECT_EQ(txn.size(), 32u);
  EXPECT_EQ(str(opened, "code").size(), 6u);
  EXPECT_EQ(str(opened, "till"), "500100");
  EXPECT_EQ(str(opened, "link").rfind("http://pay.test/pay/m-kahawa/lk", 0), 0u);

  send(h.actor, {{"type", "join"}, {"code", str(opened, "code")}, {"till", "500100"}});
  auto merchant = h.wire->take_one();
  ASSERT_EQ(str(merchant, "type"), "merchant") << json::serialize(merchant);
  EXPECT_EQ(str(merchant.at("merchant").as_object(), "name"), "Kahawa Coffee House");
  EXPECT_TRUE(b.wire->take().empty()) << "the merchant hears nothing before the payer confirms";

  send(h.actor, {{"type", "confirm_merchant"}, {"txn", txn}, {"ref", "c1"}});
  auto ack = h.wire->take_one();
  EXPECT_EQ(str(ack, "type"), "ack");
  EXPECT_EQ(str(ack, "ref"), "c1");
  auto synced = b.wire->take_one();
  ASSERT_EQ(str(synced, "type"), "synchronized");
  // Kahawa's disclosure policy names only the display name.
  EXPECT_EQ(synced.at("payer").as_object(), (json::object{{"display_name", "Amina Wanjiru"}}));

  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 12550}, {"currency", "KES"}});
  EXPECT_EQ(str(b.wire->take_one(), "type"), "ack");
  auto offer = h.wire->take_one();
  ASSERT_EQ(str(offer, "type"), "amount");
  EXPECT_EQ(offer.at("amount"), 12550);

  const auto payer_before = balance("user:u-1001");
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 12550}, {"ref", 5}});
  auto receipt = h.wire->take_one();
  ASSERT_EQ(str(receipt, "type"), "receipt") << json::serialize(receipt);
  EXPECT_EQ(receipt.at("ref"), 5);
  auto settled = b.wire->take_one();
  ASSERT_EQ(str(settled, "type"), "settled");
  EXPECT_EQ(str(settled, "reference"), "order-7");
  EXPECT_EQ(settled.at("sequence"), receipt.at("sequence"));

  EXPECT_EQ(balance("user:u-1001"), payer_before - 12550);
  EXPECT_EQ(balance("merchant:m-kahawa"), 12550);
  auto entry = ledger_store_->find_entry(txn);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->posting.amount_minor, 12550);
  expect_balanced_ledger();
}

TEST_F(FlowA, AmountGivenAtOpenIsOfferedOnSynchronization) {
  auto b = identified_billing();
  auto h = connect_handset();
  auto opened = open(b, {{"amount", 900}});
  const auto txn = str(opened, "txn");
  send(h.actor, {{"type", "join"}, {"txn", txn}});
  EXPECT_EQ(h.wire->take_one().at("amount"), 900);
  send(h.actor, {{"type", "confirm_merchant"}, {"txn", txn}});
  auto frames = h.wire->take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(str(frames[0], "type"), "ack");
  EXPECT_EQ(str(frames[1], "type"), "amount");
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 900}});
  EXPECT_EQ(str(h.wire->take_one(), "type"), "receipt");
}

TEST_F(FlowA, ARepeatedConfirmationChargesOnce) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 1000}});
  b.wire->take();
  h.wire->take();
  const auto before = balance("user:u-1001");
  // Both confirmations are in the mailbox before anything runs.
  caf::anon_send(h.actor, frame_atom::value,
                 json::serialize(json::object{
                     {"type", "confirm_amount"}, {"txn", txn}, {"amount", 1000}, {"ref", 1}}));
  caf::anon_send(h.actor, frame_atom::value,
                 json::serialize(json::object{
                     {"type", "confirm_amount"}, {"txn", txn}, {"amount", 1000}, {"ref", 2}}));
  sched_->run();
  auto replies = h.wire->take();
  ASSERT_EQ(replies.size(), 2u) << recording_connection::describe(replies);
  EXPECT_EQ(str(replies[0], "type"), "receipt");
  EXPECT_EQ(str(replies[1], "type"), "receipt");
  EXPECT_EQ(replies[0].at("sequence"), replies[1].at("sequence"));
  EXPECT_EQ(balance("user:u-1001"), before - 1000);
  EXPECT_EQ(b.wire->take().size(), 1u) << "one settled notice";
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 1000}});
  EXPECT_EQ(str(h.wire->take_one(), "code"), "txn_closed");
  EXPECT_EQ(balance("user:u-1001"), before - 1000);
}

TEST_F(FlowA, ConfirmingAnAmountThePayerDidNotSeeIsRefused) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 1000}});
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 1500}});
  b.wire->take();
  EXPECT_EQ(h.wire->take().size(), 2u) << "each amount is offered";
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 1000}});
  EXPECT_EQ(str(h.wire->take_one(), "code"), "amount_mismatch");
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 1500}});
  EXPECT_EQ(str(h.wire->take_one(), "type"), "receipt");
  EXPECT_EQ(ledger_store_->find_entry(txn)->posting.amount_minor, 1500);
}

TEST_F(FlowA, TooLargeAnAmountIsRefusedBeforeTheePayerIsAsked) {
  auto b = identified_billing();
  auto h = connect_handset("254700000003");  // Chebet: 50.00 KES
  const auto txn = synchronize(b, h);
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 5001}, {"ref", "a"}});
  auto refusal = b.wire->take_one();
  EXPECT_EQ(str(refusal, "code"), "insufficient_funds");
  EXPECT_TRUE(h.wire->take().empty());
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 5000}});
  EXPECT_EQ(str(b.wire->take_one(), "type"), "ack");
  EXPECT_EQ(h.wire->take_one().at("amount"), 5000);
}

TEST_F(FlowA, TheLedgerRefusesAnOverdraftAtCommit) {
  auto b = identified_billing();
  auto h = connect_handset("254700000003");   // Chebet: 50.00 KES
  auto opened = open(b, {{"amount", 7000}});  // known at open: no pre-check with no payer yet
  const auto txn = str(opened, "txn");
  send(h.actor, {{"type", "join"}, {"txn", txn}});
  send(h.actor, {{"type", "confirm_merchant"}, {"txn", txn}});
  h.wire->take();
  b.wire->take();
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 7000}});
  auto failed = h.wire->take_one();
  EXPECT_EQ(str(failed, "type"), "failed");
  EXPECT_EQ(str(failed, "code"), "insufficient_funds");
  auto notice = b.wire->take_one();
  EXPECT_EQ(str(notice, "type"), "failed");
  EXPECT_EQ(balance("user:u-1003"), 5000);
  EXPECT_FALSE(ledger_store_->find_entry(txn));
  expect_balanced_ledger();
}

TEST_F(FlowA, MerchantCancelTellsTheHandset) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  send(b.actor, {{"type", "cancel"}, {"txn", txn}, {"ref", "x"}, {"reason", "customer left"}});
  auto reply = b.wire->take_one();
  EXPECT_EQ(str(reply, "type"), "cancelled");
  EXPECT_EQ(str(reply, "ref"), "x");
  auto notice = h.wire->take_one();
  EXPECT_EQ(str(notice, "type"), "cancelled");
  EXPECT_EQ(str(notice, "by"), "merchant");
  EXPECT_EQ(str(notice, "reason"), "customer left");
  send(b.actor, {{"type", "status"}, {"txn", txn}});
  EXPECT_EQ(str(b.wire->take_one(), "state"), "cancelled");
}

TEST_F(FlowA, PayerCancelTellsTheMerchant) {
  auto b = identified_billing();
  auto h = connect_handset();
  auto opened = open(b);
  const auto txn = str(opened, "txn");
  send(h.actor, {{"type", "join"}, {"txn", txn}});
  h.wire->take();
  send(h.actor, {{"type", "cancel"}, {"txn", txn}});
  EXPECT_EQ(str(h.wire->take_one(), "by"), "payer");
  auto notice = b.wire->take_one();
  EXPECT_EQ(str(notice, "type"), "cancelled");
  EXPECT_EQ(str(notice, "by"), "payer");
}

TEST_F(FlowA, AHandsetThatLeavesBeforeConfirmingFreesTheTransaction) {
  auto b = identified_billing();
  auto first = connect_handset();
  auto opened = open(b);
  const auto txn = str(opened, "txn");
  send(first.actor, {{"type", "join"}, {"txn", txn}});
  first.wire->take();
  auto second = connect_handset("254700000002");
  send(second.actor, {{"type", "join"}, {"txn", txn}});
  EXPECT_EQ(str(second.wire->take_one(), "code"), "txn_taken");
  disconnect(first.actor);
  EXPECT_TRUE(b.wire->take().empty());
  send(second.actor, {{"type", "join"}, {"txn", txn}});
  EXPECT_EQ(str(second.wire->take_one(), "type"), "merchant");
}

TEST_F(FlowA, AHandsetThatLeavesAfterConfirmingCancels) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  disconnect(h.actor);
  auto notice = b.wire->take_one();
  EXPECT_EQ(str(notice, "type"), "cancelled");
  EXPECT_EQ(str(notice, "by"), "payer");
}

TEST_F(FlowA, ABillingTerminalThatLeavesCancelsItsTransactions) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  disconnect(b.actor);
  auto notice = h.wire->take_one();
  EXPECT_EQ(str(notice, "type"), "cancelled");
  EXPECT_EQ(str(notice, "by"), "merchant");
  auto again = connect_handset("254700000002");
  send(again.actor, {{"type", "join"}, {"txn", txn}});
  EXPECT_EQ(str(again.wire->take_one(), "code"), "txn_closed");
}

TEST_F(FlowA, ExpiryEndsTheTransactionForBothSidesWithoutSleeping) {
  auto b = identified_billing();
  auto h = connect_handset();
  const auto txn = synchronize(b, h);
  clock_->advance_ms(299'000);
  for (auto& shard : context_->shards) caf::anon_send(shard, tick_atom::value);
  sched_->run();
  EXPECT_TRUE(b.wire->take().empty()) << "not yet";
  clock_->advance_ms(1'001);
  for (auto& shard : context_->shards) caf::anon_send(shard, tick_atom::value);
  sched_->run();
  EXPECT_EQ(str(b.wire->take_one(), "type"), "expired");
  EXPECT_EQ(str(h.wire->take_one(), "type"), "expired");
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 100}});
  EXPECT_EQ(str(b.wire->take_one(), "code"), "txn_closed");
  auto late = connect_handset("254700000002");
  send(late.actor, {{"type", "join"}, {"txn", txn}});
  EXPECT_EQ(str(late.wire->take_one(), "code"), "txn_expired");
}

TEST_F(FlowA, AJoinAfterTheDeadlineFindsItExpiredBeforeAnySweep) {
  auto b = identified_billing();
  auto opened = open(b, {{"ttl_s", 30}});
  clock_->advance_ms(30'000);
  auto h = connect_handset();
  send(h.actor, {{"type", "join"}, {"txn", str(opened, "txn")}});
  EXPECT_EQ(str(h.wire->take_one(), "code"), "txn_expired");
  EXPECT_EQ(str(b.wire->take_one(), "type"), "expired");
}

TEST_F(FlowA, StatusOfASettledPaymentSurvivesTheConnection) {
  std::string txn;
  {
    auto b = identified_billing();
    auto h = connect_handset();
    txn = synchronize(b, h);
    send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 700}});
    send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 700}});
    disconnect(b.actor);
  }
  auto again = identified_billing("t-kahawa-02");  // same merchant, another terminal
  send(again.actor, {{"type", "status"}, {"txn", txn}});
  auto status = again.wire->take_one();
  EXPECT_EQ(str(status, "state"), "settled");
  EXPECT_EQ(status.at("amount"), 700);
  auto other = identified_billing("t-mboga-01");  // another merchant sees nothing
  send(other.actor, {{"type", "status"}, {"txn", txn}});
  EXPECT_EQ(str(other.wire->take_one(), "code"), "unknown_txn");
}

}  // namespace
}  // namespace paysync::actors::testing
