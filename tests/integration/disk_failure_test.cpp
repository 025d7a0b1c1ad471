// A disk that refuses a flush: the ledger stops vouching for anything. No
// settlement is taken, and `status` or `history` never report as settled a
// payment that a power cut could undo; after a restart on a sound disk the
// switch answers from the ledger again. The failing disk is a preloaded
// library (tests/support/failing_fsync.cpp) that makes fsync and fdatasync
// return EIO once a trigger file exists.

#include <fstream>

#include "switch_fixture.hpp"

#ifndef PAYSYNC_FAILING_FSYNC_LIBRARY
#error "PAYSYNC_FAILING_FSYNC_LIBRARY names the preloaded library that fails flushes"
#endif

namespace paysync::testing_support {
namespace {

class DiskFailure : public switch_test {
 protected:
  void start_on_failing_disk() {
    const char* asan = std::getenv("ASAN_OPTIONS");
    process_ = std::make_unique<switch_process>(
        data_dir(), std::vector<std::string>{},
        std::vector<std::string>{
            std::string("LD_PRELOAD=") + PAYSYNC_FAILING_FSYNC_LIBRARY,
            "PAYSYNC_FAIL_FSYNC_WHEN=" + trigger(),
            // Under AddressSanitizer the preloaded library comes before its runtime.
            std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                "verify_asan_link_order=0"});
  }
  std::string trigger() const { return dir_.sub("disk-failed"); }
  void fail_the_disk() { std::ofstream(trigger()) << "EIO from now on\n"; }

  // A payment up to its final confirmation, which must be answered `failed`
  // `internal` (a settlement that fails, docs/protocol.md); returns that answer.
  json::object confirmation_refused(protocols::terminal_session& b, protocols::terminal_session& h,
                                    const std::string& txn, std::int64_t amount) {
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", amount}}, "ack");
    event(h, "amount");
    auto answer = call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", amount}}, "failed");
    EXPECT_EQ(str(answer, "code"), "internal") << json::serialize(answer);
    return answer;
  }
};

TEST_F(DiskFailure, AfterARefusedFlushNothingSettlesAndNoPaymentIsConfirmedUntilRestart) {
  start_on_failing_disk();
  const auto payer = balance("user:u-1001");
  std::string paid, refused_txn;
  {
    auto b = billing();
    auto h = handset();
    auto receipt = pay(b, h, 2500);
    paid = str(receipt, "txn");

    fail_the_disk();
    refused_txn = synchronize(b, h);
    auto answer = confirmation_refused(b, h, refused_txn, 4000);
    EXPECT_NE(str(answer, "message").find("nothing was charged"), std::string::npos)
        << json::serialize(answer);
    auto failed = event(b, "failed");
    EXPECT_EQ(str(failed, "code"), "internal") << json::serialize(failed);

    // The payment settled before the failure is not confirmed either: its
    // pages may be among those the disk dropped.
    auto again = billing();
    auto status = refused(again, {{"type", "status"}, {"txn", paid}}, "internal");
    EXPECT_NE(str(status, "message").find("disk failed"), std::string::npos)
        << json::serialize(status);
    refused(h, {{"type", "history"}}, "internal");

    // And no new payment is taken.
    auto refused_next = confirmation_refused(b, h, synchronize(b, h), 100);
    EXPECT_NE(str(refused_next, "message").find("until it is restarted"), std::string::npos)
        << json::serialize(refused_next);
    expect_alive(b);
    expect_alive(h);
  }
  EXPECT_NE(process().output().find("the disk failed"), std::string::npos) << process().output();
  process().stop();

  // A restart on a sound disk answers from the ledger again.
  start();
  EXPECT_EQ(balance("user:u-1001"), payer - 2500);
  auto b = billing();
  auto status = call(b, {{"type", "status"}, {"txn", paid}}, "status");
  EXPECT_EQ(str(status, "state"), "settled") << json::serialize(status);
  refused(b, {{"type", "status"}, {"txn", refused_txn}}, "unknown_txn");
}

}  // namespace
}  // namespace paysync::testing_support
