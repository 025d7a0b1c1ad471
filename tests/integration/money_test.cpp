// After settlement and around it: refunds, purchase history, the payer checks
// of claim 12 and idempotency keys — through the real binary.

#include <algorithm>
#include <thread>

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class Money : public switch_test {
 protected:
  void SetUp() override { start(); }
};

TEST_F(Money, PartialAndFullRefundsNeverExceedThePayment) {
  auto b = billing();
  auto h = handset();
  const auto txn = str(pay(b, h, 10000), "txn");
  const auto payer = balance("user:u-1001"), merchant = balance("merchant:m-kahawa");

  refused(b, {{"type", "refund"}, {"txn", txn}, {"amount", 100}}, "bad_message");  // no key
  auto first = call(b,
                    {{"type", "refund"},
                     {"txn", txn},
                     {"amount", 3000},
                     {"idempotency_key", "rf-1"},
                     {"reason", "cold coffee"}},
                    "refunded");
  EXPECT_EQ(first.at("refunded_total"), 3000);
  // A retry with the same key is the same refund, not another one.
  auto retry = call(b,
                    {{"type", "refund"},
                     {"txn", txn},
                     {"amount", 3000},
                     {"idempotency_key", "rf-1"},
                     {"reason", "cold coffee"},
                     {"ref", "again"}},
                    "refunded");
  EXPECT_EQ(retry.at("sequence"), first.at("sequence"));
  EXPECT_EQ(str(retry, "ref"), "again");
  refused(b, {{"type", "refund"}, {"txn", txn}, {"amount", 3500}, {"idempotency_key", "rf-1"}},
          "idempotency_conflict");
  refused(b, {{"type", "refund"}, {"txn", txn}, {"amount", 7001}, {"idempotency_key", "rf-2"}},
          "refund_exceeds_payment");
  auto rest =
      call(b, {{"type", "refund"}, {"txn", txn}, {"amount", 7000}, {"idempotency_key", "rf-3"}},
           "refunded");
  EXPECT_EQ(rest.at("refunded_total"), 10000);
  refused(b, {{"type", "refund"}, {"txn", txn}, {"amount", 1}, {"idempotency_key", "rf-4"}},
          "refund_exceeds_payment");
  EXPECT_EQ(balance("user:u-1001"), payer + 10000);
  EXPECT_EQ(balance("merchant:m-kahawa"), merchant - 10000);
  // Another merchant cannot refund Kahawa's payment.
  auto other = billing("t-mboga-01");
  refused(other, {{"type", "refund"}, {"txn", txn}, {"amount", 1}, {"idempotency_key", "x"}},
          "unknown_txn");
}

TEST_F(Money, ARefundKeyIsRememberedAcrossConnections) {
  auto b = billing();
  auto h = handset();
  const auto txn = str(pay(b, h, 5000), "txn");
  auto first =
      call(b, {{"type", "refund"}, {"txn", txn}, {"amount", 5000}, {"idempotency_key", "k"}},
           "refunded");
  b.close();
  auto again = billing("t-kahawa-02");
  auto retry =
      call(again, {{"type", "refund"}, {"txn", txn}, {"amount", 5000}, {"idempotency_key", "k"}},
           "refunded");
  EXPECT_EQ(retry.at("sequence"), first.at("sequence")) << "the ledger knows the key";
}

TEST_F(Money, PurchaseHistoryNewestFirstAndPaginated) {
  auto b = billing();
  auto h = handset("254700000002");
  std::vector<std::string> txns;
  for (std::int64_t amount : {1000, 2000, 3000}) txns.push_back(str(pay(b, h, amount), "txn"));
  call(b, {{"type", "refund"}, {"txn", txns[0]}, {"amount", 400}, {"idempotency_key", "r"}},
       "refunded");
  auto page1 = call(h, {{"type", "history"}, {"limit", 2}}, "history");
  auto entries = page1.at("entries").as_array();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(str(entries[0].as_object(), "kind"), "refund");
  EXPECT_EQ(str(entries[0].as_object(), "txn"), txns[0]);
  EXPECT_EQ(entries[0].as_object().at("amount"), 400);
  EXPECT_EQ(str(entries[1].as_object(), "txn"), txns[2]);
  EXPECT_EQ(str(entries[1].as_object().at("merchant").as_object(), "name"), "Kahawa Coffee House");
  ASSERT_TRUE(page1.contains("next_before"));
  auto page2 =
      call(h, {{"type", "history"}, {"limit", 2}, {"before", page1.at("next_before")}}, "history");
  auto rest = page2.at("entries").as_array();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(str(rest[0].as_object(), "txn"), txns[1]);
  EXPECT_EQ(str(rest[1].as_object(), "txn"), txns[0]);
  auto page3 =
      call(h, {{"type", "history"}, {"limit", 2}, {"before", page2.at("next_before")}}, "history");
  EXPECT_TRUE(page3.at("entries").as_array().empty()) << "wallet top-ups are not purchases";
  EXPECT_FALSE(page3.contains("next_before"));
  // Only one's own history, and only with a trusted number.
  auto other = handset("254700000003");
  EXPECT_TRUE(call(other, {{"type", "history"}}, "history").at("entries").as_array().empty());
  auto anonymous = connect(process().paying_port(), {});
  refused(anonymous, {{"type", "history"}}, "payer_unidentified");
}

TEST_F(Money, IdempotentRetriesGetTheFirstAnswer) {
  auto b = billing();
  auto first = call(b, {{"type", "open"}, {"amount", 500}, {"idempotency_key", "o-1"}}, "opened");
  auto retry =
      call(b, {{"type", "open"}, {"amount", 500}, {"idempotency_key", "o-1"}, {"ref", "second"}},
           "opened");
  EXPECT_EQ(str(retry, "txn"), str(first, "txn")) << "one transaction, not two";
  EXPECT_EQ(str(retry, "ref"), "second");
  refused(b, {{"type", "open"}, {"amount", 501}, {"idempotency_key", "o-1"}},
          "idempotency_conflict");
  // The same applies to handsets.
  auto h = handset();
  const auto txn = str(first, "txn");
  call(h, {{"type", "join"}, {"txn", txn}, {"idempotency_key", "j"}}, "merchant");
  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  event(h, "amount");
  auto receipt =
      call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 500}, {"idempotency_key", "c"}},
           "receipt");
  auto again =
      call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 500}, {"idempotency_key", "c"}},
           "receipt");
  EXPECT_EQ(again.at("sequence"), receipt.at("sequence"));
}

// Issue 6: the operator port's Prometheus text reflects what happened.
TEST_F(Money, MetricsCountConnectionsSettlementsAndRefusals) {
  auto b = billing();
  auto h = handset();
  pay(b, h, 2500);
  refused(b, {{"type", "amount"}, {"txn", "tx00nothing"}, {"amount", 1}}, "unknown_txn");
  const std::vector<std::string> expectations{"paysync_connected_terminals{side=\"billing\"} 1\n",
                                              "paysync_connected_terminals{side=\"paying\"} 1\n",
                                              "paysync_settlements_total 1\n",
                                              "paysync_transactions_opened_total 1\n",
                                              "paysync_open_transactions 0\n",
                                              "paysync_refusals_total{reason=\"unknown_txn\"} 1\n",
                                              "paysync_ledger_commits_total ",
                                              "paysync_ledger_commit_seconds_bucket{le=\"+Inf\"} ",
                                              "paysync_settle_seconds_count 1\n"};
  // The registry shard closes the settled transaction after the receipt went
  // out, so the open-transactions gauge may lag a moment: poll, briefly.
  std::string text;
  for (int attempt = 0; attempt < 100; ++attempt) {
    text = switch_process::http_get(process().operator_port(), "/metrics");
    const bool all = std::all_of(expectations.begin(), expectations.end(),
                                 [&](const auto& e) { return text.find(e) != std::string::npos; });
    if (all) break;
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& expected : expectations) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  EXPECT_EQ(switch_process::http_get(process().operator_port(), "/healthz"), "ok\n");
}

class PayerChecks : public switch_test {
 protected:
  void SetUp() override {
    // Authentication stays out of the way: these payments are about the checks.
    start({"--velocity-max-count", "2", "--velocity-max-minor", "250000", "--auth-none-below-minor",
           "100000000"});
  }
};

TEST_F(PayerChecks, EachCheckSaysWhichRefused) {
  const auto entries = journal_entries();
  auto b = billing();
  auto h = handset();  // Amina: 5,000.00 KES
  pay(b, h, 100000);
  auto txn = synchronize(b, h);
  // 1,000.00 + 1,600.00 > 2,500.00 in the window
  auto sum = refused(b, {{"type", "amount"}, {"txn", txn}, {"amount", 160000}}, "velocity_limit");
  EXPECT_NE(str(sum, "message").find("above"), std::string::npos) << str(sum, "message");
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 1000}}, "ack");
  event(h, "amount");
  call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 1000}}, "receipt");
  auto third = synchronize(b, h);
  auto count = refused(b, {{"type", "amount"}, {"txn", third}, {"amount", 1000}}, "velocity_limit");
  EXPECT_NE(str(count, "message").find("2 payments"), std::string::npos) << str(count, "message");
  EXPECT_EQ(journal_entries(), entries + 2);

  auto poor = handset("254700000003");  // Chebet: 50.00 KES
  auto t = synchronize(b, poor);
  refused(b, {{"type", "amount"}, {"txn", t}, {"amount", 6000}}, "insufficient_funds");
  auto blocked = connect(process().paying_port(), {{"X-MSISDN", "254700000004"}});
  refused(blocked, {{"type", "pay_merchant"}, {"till", "500100"}}, "payer_blocked");
}

// Two payments of one payer confirmed at the same moment, with room for only
// one more in the window: both passed the check at `amount`, and both may
// pass the billing session's check at confirmation before either commits;
// the ledger checks again inside its commit (storage's VelocityRule tests), so
// exactly one settles whichever check stops the other.
TEST_F(PayerChecks, TwoPaymentsConfirmedTogetherCannotBothPassTheLimit) {
  const auto entries = journal_entries();
  auto b = billing();
  auto first_phone = handset();  // Amina
  pay(b, first_phone, 1000);
  auto second_phone = handset();  // Amina again, on another connection
  const auto one = synchronize(b, first_phone);
  const auto two = synchronize(b, second_phone);
  for (const auto& [txn, phone] : {std::pair{one, &first_phone}, std::pair{two, &second_phone}}) {
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 1000}}, "ack");
    event(*phone, "amount");
  }
  auto ref_one = first_phone.send({{"type", "confirm_amount"}, {"txn", one}, {"amount", 1000}});
  auto ref_two = second_phone.send({{"type", "confirm_amount"}, {"txn", two}, {"amount", 1000}});
  ASSERT_TRUE(ref_one && ref_two);
  auto answer_one = first_phone.wait_for_ref(*ref_one, wait);
  auto answer_two = second_phone.wait_for_ref(*ref_two, wait);
  ASSERT_TRUE(answer_one && answer_two);
  std::vector<std::string> types{str(*answer_one, "type"), str(*answer_two, "type")};
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"failed", "receipt"}))
      << json::serialize(*answer_one) << "\n"
      << json::serialize(*answer_two);
  const auto& refusal = str(*answer_one, "type") == "failed" ? *answer_one : *answer_two;
  EXPECT_EQ(str(refusal, "code"), "velocity_limit") << json::serialize(refusal);
  EXPECT_EQ(journal_entries(), entries + 2);
}

}  // namespace
}  // namespace paysync::testing_support
