// "settled" means durable: kill the switch with SIGKILL the moment the
// terminal hears it, restart on the same files, and find the payment there
// exactly once.

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class CrashSafety : public switch_test {};

TEST_F(CrashSafety, ASettlementAcknowledgedBeforeSigkillIsThereExactlyOnceAfterRestart) {
  start();
  const auto payer = balance("user:u-1001");
  const auto entries = journal_entries();
  std::string txn;
  std::uint64_t sequence = 0;
  {
    auto b = billing();
    auto h = handset();
    txn = synchronize(b, h);
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 7300}}, "ack");
    event(h, "amount");
    ASSERT_TRUE(h.send({{"type", "confirm_amount"}, {"txn", txn}, {"amount", 7300}}));
    auto settled = event(b, "settled");
    sequence = settled.at("sequence").to_number<std::uint64_t>();
    process().kill_hard();
  }
  start();
  EXPECT_EQ(journal_entries(), entries + 1);
  EXPECT_EQ(balance("user:u-1001"), payer - 7300);
  with_ledger([&](storage::ledger_store& l) {
    auto entry = l.find_entry(txn);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->sequence, sequence);
    EXPECT_EQ(entry->posting.amount_minor, 7300);
  });
  auto b = billing();
  auto status = call(b, {{"type", "status"}, {"txn", txn}}, "status");
  EXPECT_EQ(str(status, "state"), "settled");
  // The restarted switch keeps numbering after the entry it acknowledged.
  auto h = handset();
  auto receipt = pay(b, h, 100);
  EXPECT_EQ(receipt.at("sequence").to_number<std::uint64_t>(), sequence + 1);
}

TEST_F(CrashSafety, TransactionsCaughtMidFlightEndUnsettled) {
  start();
  const auto entries = journal_entries();
  std::string txn;
  {
    auto b = billing();
    auto h = handset();
    txn = synchronize(b, h);
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 500}}, "ack");
    process().kill_hard();
  }
  start();
  EXPECT_EQ(journal_entries(), entries);
  auto h = handset();
  refused(h, {{"type", "join"}, {"txn", txn}}, "unknown_txn");
  auto b = billing();
  refused(b, {{"type", "status"}, {"txn", txn}}, "unknown_txn");
}

}  // namespace
}  // namespace paysync::testing_support
