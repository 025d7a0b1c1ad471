// SIGTERM is a clean stop whatever the peers do: the switch closes every
// connection, lets its actors finish and exits 0, even when a terminal never
// answers the close frame (it is busy, or has vanished without a FIN).

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class Shutdown : public switch_test {};

TEST_F(Shutdown, TerminalsThatNeverAnswerTheCloseAreDroppedAndTheSwitchExitsCleanly) {
  start();
  const auto entries = journal_entries();
  auto b = billing();
  auto h = handset();
  // A payment under way, so both sessions have something to end.
  const auto txn = synchronize(b, h);
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 500}}, "ack");
  // From here neither client reads: the switch's close frames go unanswered.
  ASSERT_EQ(process().stop(), 0) << process().output();
  const auto out = process().output();
  EXPECT_NE(out.find("connections did not finish closing; dropping them"), std::string::npos)
      << out;
  EXPECT_NE(out.find("of terminal t-kahawa-01 closed (closed_by_server)"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("actors still running"), std::string::npos) << out;
  // Nothing was charged for the payment cut short.
  start();
  EXPECT_EQ(journal_entries(), entries);
  auto again = billing();
  refused(again, {{"type", "status"}, {"txn", txn}}, "unknown_txn");
}

}  // namespace
}  // namespace paysync::testing_support
