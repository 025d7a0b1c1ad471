// The registry shard alone: pairing by id, token and code; duplicate and
// unknown joins; expiry on a manual clock. Scoped actors stand in for the
// billing and paying sessions.

#include "actor_fixture.hpp"
#include "protocols/txn_ids.hpp"

namespace paysync::actors::testing {
namespace {

class RegistryShard : public actor_test {
 protected:
  void SetUp() override { start_switch(1); }

  registry_shard_actor shard() { return context_->shards[0]; }

  txn_ticket ticket(std::int64_t ttl_ms = 60'000) {
    txn_ticket t;
    t.txn = protocols::make_transaction_id({0, 0}, clock_->now_unix_ms());
    t.token = protocols::make_link_token({0, 0});
    t.merchant = merchant_card{"m-kahawa", "Kahawa", "500100",           "Nairobi",
                               "cafe",     "KES",    "merchant:m-kahawa"};
    t.currency = "KES";
    t.expires_unix_ms = clock_->now_unix_ms() + ttl_ms;
    t.billing = caf::actor_cast<billing_session_actor>(billing_);
    return t;
  }

  open_grant open(txn_ticket t) {
    open_grant out;
    auto handle = probe_->request(shard(), caf::infinite, open_atom::value, std::move(t));
    sched_->run();
    handle.receive([&](open_grant& g) { out = std::move(g); },
                   [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  }

  join_grant join(protocols::join_by by, std::string key, std::string till,
                  const caf::scoped_actor& handset, std::string currency = "KES") {
    join_request r;
    r.by = by;
    r.key = std::move(key);
    r.till = std::move(till);
    r.handset = caf::actor_cast<paying_session_actor>(handset);
    r.payer.user_id = "u-1";
    r.payer.currency = std::move(currency);
    join_grant out;
    auto handle = probe_->request(shard(), caf::infinite, join_atom::value, std::move(r));
    sched_->run();
    handle.receive([&](join_grant& g) { out = std::move(g); },
                   [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  }

  // What the billing stand-in received, as the atom's name ("joined", "expire").
  std::vector<std::string> billing_inbox() {
    std::vector<std::string> got;
    bool more = true;
    while (more) {
      billing_->receive([&](joined_atom, std::string&, paying_session_actor&,
                            payer_card&) { got.push_back("joined"); },
                        [&](expire_atom, std::string&) { got.push_back("expire"); },
                        caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    }
    return got;
  }

  caf::scoped_actor billing_{*system_};
  caf::scoped_actor probe_{*system_};
  caf::scoped_actor handset_a_{*system_};
  caf::scoped_actor handset_b_{*system_};
};

TEST_F(RegistryShard, PairsByIdTokenAndCode) {
  auto t = ticket();
  auto opened = open(t);
  ASSERT_TRUE(opened.result.ok);
  ASSERT_EQ(opened.code.size(), 6u);

  auto by_txn = join(protocols::join_by::txn, t.txn, "", handset_a_);
  ASSERT_TRUE(by_txn.result.ok) << by_txn.result.message;
  EXPECT_EQ(by_txn.txn, t.txn);
  EXPECT_EQ(by_txn.merchant.name, "Kahawa");
  EXPECT_EQ(billing_inbox(), std::vector<std::string>{"joined"});
  // The same handset again: granted, and the billing side is not told twice.
  EXPECT_TRUE(join(protocols::join_by::token, t.token, "", handset_a_).result.ok);
  EXPECT_TRUE(join(protocols::join_by::code, opened.code, "500100", handset_a_).result.ok);
  EXPECT_TRUE(billing_inbox().empty());
}

TEST_F(RegistryShard, RefusesASecondHandset) {
  auto t = ticket();
  open(t);
  ASSERT_TRUE(join(protocols::join_by::txn, t.txn, "", handset_a_).result.ok);
  auto second = join(protocols::join_by::txn, t.txn, "", handset_b_);
  EXPECT_FALSE(second.result.ok);
  EXPECT_EQ(second.result.error, protocols::wire_error::txn_taken);
  // Released by the billing session (the first handset left): joinable again.
  caf::anon_send(shard(), release_atom::value, t.txn,
                 caf::actor_cast<paying_session_actor>(handset_a_));
  sched_->run();
  EXPECT_TRUE(join(protocols::join_by::txn, t.txn, "", handset_b_).result.ok);
}

TEST_F(RegistryShard, UnknownIdsCodesAndTillsAreUnknown) {
  auto t = ticket();
  auto opened = open(t);
  auto other = protocols::make_transaction_id({0, 0}, clock_->now_unix_ms());
  EXPECT_EQ(join(protocols::join_by::txn, other, "", handset_a_).result.error,
            protocols::wire_error::unknown_txn);
  EXPECT_EQ(join(protocols::join_by::token, t.txn, "", handset_a_).result.error,
            protocols::wire_error::unknown_txn)
      << "a txn id is not a link token";
  EXPECT_EQ(join(protocols::join_by::code, opened.code, "500200", handset_a_).result.error,
            protocols::wire_error::unknown_txn)
      << "a code is bound to its merchant's till";
  EXPECT_TRUE(billing_inbox().empty());
}

TEST_F(RegistryShard, RefusesAPayerInAnotherCurrency) {
  auto t = ticket();
  open(t);
  auto g = join(protocols::join_by::txn, t.txn, "", handset_a_, "TZS");
  EXPECT_EQ(g.result.error, protocols::wire_error::currency_mismatch);
  EXPECT_TRUE(billing_inbox().empty());
}

TEST_F(RegistryShard, ExpiresOnTheClockAndRemembersWhy) {
  auto t = ticket(10'000);
  open(t);
  clock_->advance_ms(9'999);
  caf::anon_send(shard(), tick_atom::value);
  sched_->run();
  EXPECT_TRUE(billing_inbox().empty());
  clock_->advance_ms(1);
  caf::anon_send(shard(), tick_atom::value);
  sched_->run();
  EXPECT_EQ(billing_inbox(), std::vector<std::string>{"expire"});
  EXPECT_EQ(join(protocols::join_by::txn, t.txn, "", handset_a_).result.error,
            protocols::wire_error::txn_expired);
  EXPECT_EQ(join(protocols::join_by::token, t.token, "", handset_a_).result.error,
            protocols::wire_error::txn_expired);
}

TEST_F(RegistryShard, ClosedTransactionsAreClosedNotUnknown) {
  auto t = ticket();
  open(t);
  caf::anon_send(shard(), close_atom::value, t.txn, ending::settled);
  sched_->run();
  auto g = join(protocols::join_by::txn, t.txn, "", handset_a_);
  EXPECT_EQ(g.result.error, protocols::wire_error::txn_closed);
  EXPECT_NE(g.result.message.find("settled"), std::string::npos);
}

TEST_F(RegistryShard, CodesAreUniquePerTillAmongLiveTransactions) {
  std::set<std::string> codes;
  for (int i = 0; i < 500; ++i) {
    auto g = open(ticket());
    ASSERT_TRUE(g.result.ok);
    EXPECT_TRUE(codes.insert(g.code).second) << g.code;
  }
  shard_stats stats;
  auto handle = probe_->request(shard(), caf::infinite, stats_atom::value);
  sched_->run();
  handle.receive([&](shard_stats& s) { stats = s; }, [](caf::error&) {});
  EXPECT_EQ(stats.open, 500u);
}

TEST_F(RegistryShard, RefusesATicketRoutedElsewhere) {
  auto t = ticket();
  t.txn = protocols::make_transaction_id({0, 7}, clock_->now_unix_ms());
  EXPECT_FALSE(open(t).result.ok);
}

}  // namespace
}  // namespace paysync::actors::testing
