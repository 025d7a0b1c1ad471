// The ledger actor: group commit and refusals, on real LMDB files.

#include "actor_fixture.hpp"

namespace paysync::actors::testing {
namespace {

class LedgerActor : public actor_test {
 protected:
  void SetUp() override { start_switch(1); }

  settlement_order order(std::string txn, std::int64_t amount, std::string payer = "user:u-1001") {
    settlement_order o;
    o.settlement_id = std::move(txn);
    o.debit_account = std::move(payer);
    o.credit_account = "merchant:m-kahawa";
    o.amount_minor = amount;
    o.currency = "KES";
    o.memo = "memo";
    return o;
  }

  ledger_stats stats() {
    ledger_stats out;
    auto h = probe_->request(context_->ledger, caf::infinite, stats_atom::value);
    sched_->run();
    h.receive([&](ledger_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  caf::scoped_actor probe_{*system_};
};

TEST_F(LedgerActor, GroupsConcurrentSettlementsIntoOneCommit) {
  constexpr int n = 50;
  std::vector<settlement_outcome> outcomes;
  for (int i = 0; i < n; ++i) {
    probe_->send(context_->ledger, settle_atom::value, order("tx-batch-" + std::to_string(i), 100));
  }
  sched_->run();
  for (int i = 0; i < n; ++i) {
    probe_->receive([&](settlement_outcome& o) { outcomes.push_back(o); });
  }
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(n));
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok) << o.message;
  auto s = stats();
  EXPECT_EQ(s.commits, 1u) << "every request in the mailbox shares one durable commit";
  EXPECT_EQ(s.postings, static_cast<std::uint64_t>(n));
  EXPECT_EQ(s.largest_batch, static_cast<std::uint64_t>(n));
  EXPECT_EQ(balance("merchant:m-kahawa"), 100 * n);
  expect_balanced_ledger();
}

TEST_F(LedgerActor, RefusesAnOverdraftAndSettlesTheRestOfTheBatch) {
  probe_->send(context_->ledger, settle_atom::value, order("tx-a", 4000, "user:u-1003"));
  probe_->send(context_->ledger, settle_atom::value, order("tx-b", 4000, "user:u-1003"));
  sched_->run();
  std::vector<settlement_outcome> outcomes;
  for (int i = 0; i < 2; ++i)
    probe_->receive([&](settlement_outcome& o) { outcomes.push_back(o); });
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_FALSE(outcomes[1].ok);
  EXPECT_EQ(outcomes[1].error, protocols::wire_error::insufficient_funds);
  EXPECT_EQ(balance("user:u-1003"), 1000);
  expect_balanced_ledger();
}

TEST_F(LedgerActor, ARepeatedSettlementIsTheFirstOne) {
  probe_->send(context_->ledger, settle_atom::value, order("tx-once", 500));
  sched_->run();
  settlement_outcome first, second;
  probe_->receive([&](settlement_outcome& o) { first = o; });
  probe_->send(context_->ledger, settle_atom::value, order("tx-once", 500));
  sched_->run();
  probe_->receive([&](settlement_outcome& o) { second = o; });
  EXPECT_TRUE(second.ok);
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.sequence, first.sequence);
  EXPECT_EQ(balance("merchant:m-kahawa"), 500);
}

}  // namespace
}  // namespace paysync::actors::testing
