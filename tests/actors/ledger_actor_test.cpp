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

// One message at a time: the ledger answers a commit only once the file has
// been flushed after it (single-flush commits: the commit's own flush covers
// its data pages, the meta page that makes it count needs one more).
class LedgerActorStepByStep : public LedgerActor {
 protected:
  bool answered(settlement_outcome& out) {
    bool got = false;
    probe_->receive([&](settlement_outcome& o) { out = o, got = true; },
                    caf::after(std::chrono::seconds(0)) >> [] {});
    return got;
  }
};

TEST_F(LedgerActorStepByStep, AnswersACommitOnlyAfterTheNextFlush) {
  probe_->send(context_->ledger, settle_atom::value, order("tx-flush", 700));
  sched_->run_once();  // settle: queued for the next commit
  sched_->run_once();  // flush: committed, visible, not yet answered
  settlement_outcome out;
  EXPECT_FALSE(answered(out)) << "answered before its meta page reached the disk";
  EXPECT_EQ(balance("merchant:m-kahawa"), 700) << "a commit is visible at once";
  sched_->run_once();  // durable: the file is flushed, then the answer goes out
  ASSERT_TRUE(answered(out));
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(stats().commits, 1u);
}

TEST_F(LedgerActorStepByStep, TheNextCommitsFlushAnswersTheBatchBeforeIt) {
  probe_->send(context_->ledger, settle_atom::value, order("tx-first", 100));
  sched_->run_once();  // settle first
  probe_->send(context_->ledger, settle_atom::value, order("tx-second", 200));
  sched_->run_once();  // flush: commits the first; a durable request goes behind the second
  sched_->run_once();  // settle second: queues the next commit
  sched_->run_once();  // durable: a commit is coming, so no flush of its own
  settlement_outcome out;
  EXPECT_FALSE(answered(out));
  sched_->run_once();  // flush: commits the second, whose flush makes the first durable
  ASSERT_TRUE(answered(out));
  EXPECT_TRUE(out.ok);
  EXPECT_FALSE(answered(out)) << "the second is not durable yet";
  sched_->run_once();  // durable
  ASSERT_TRUE(answered(out));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(stats().commits, 2u);
  EXPECT_EQ(balance("merchant:m-kahawa"), 300);
}

TEST_F(LedgerActorStepByStep, AStoppedLedgerFlushesAndAnswersWhatItCommitted) {
  probe_->send(context_->ledger, settle_atom::value, order("tx-last", 900));
  sched_->run_once();  // settle
  sched_->run_once();  // flush: committed, not yet answered
  caf::anon_send_exit(context_->ledger, caf::exit_reason::user_shutdown);
  sched_->run();
  settlement_outcome out;
  ASSERT_TRUE(answered(out)) << "the money moved: the terminal must hear so";
  EXPECT_TRUE(out.ok) << out.message;
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
