#include "storage/ledger_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "storage/environment_impl.hpp"
#include "storage/record_codec.hpp"
#include "tests/storage/storage_fixture.hpp"

namespace paysync::storage {
namespace {

constexpr const char* kFloat = "system:float:KES";
constexpr const char* kAmina = "user:u-1001";
constexpr const char* kBrian = "user:u-1002";
constexpr const char* kKahawa = "merchant:m-kahawa";
constexpr const char* kMboga = "merchant:m-mboga";

class LedgerStore : public testing::storage_test {
 protected:
  void SetUp() override {
    storage_test::SetUp();
    create(kFloat, account_kind::system);
    create(kAmina, account_kind::user);
    create(kBrian, account_kind::user);
    create(kKahawa, account_kind::merchant);
    create(kMboga, account_kind::merchant);
  }

  void create(const std::string& id, account_kind kind, const std::string& currency = "KES",
              bool frozen = false) {
    auto created = ledger().create_account({id, currency, kind, 0, frozen});
    ASSERT_TRUE(created.has_value()) << id << ": " << to_string(created.error());
  }

  static posting_request request(std::string id, std::string debit, std::string credit,
                                 std::int64_t amount, entry_kind kind = entry_kind::payment,
                                 std::string original = {}) {
    posting_request r;
    r.settlement_id = std::move(id);
    r.debit_account = std::move(debit);
    r.credit_account = std::move(credit);
    r.amount_minor = amount;
    r.currency = "KES";
    r.kind = kind;
    r.original_id = std::move(original);
    r.time_unix_ms = 1'700'000'000'000;
    r.memo = "ref " + r.settlement_id;
    return r;
  }
  static posting_request funding(std::string id, std::string wallet, std::int64_t amount) {
    return request(std::move(id), kFloat, std::move(wallet), amount, entry_kind::funding);
  }

  std::vector<posting_outcome> post(const std::vector<posting_request>& requests) {
    auto outcomes = ledger().post_batch(requests);
    EXPECT_TRUE(outcomes.has_value()) << to_string(outcomes.error());
    if (!outcomes) return {};
    EXPECT_EQ(outcomes->size(), requests.size());
    expect_balanced();
    return std::move(*outcomes);
  }
  posting_outcome post_one(const posting_request& r) {
    auto outcomes = post({r});
    return outcomes.empty() ? posting_outcome{} : outcomes.front();
  }
  // The refusal of a single posting (nullopt when it landed).
  std::optional<store_error> refusal(const posting_request& r) { return post_one(r).error; }

  std::int64_t balance(const std::string& id) {
    auto a = ledger().find_account(id);
    EXPECT_TRUE(a.has_value()) << id;
    return a ? a->balance_minor : INT64_MIN;
  }
  std::uint64_t count() {
    auto n = ledger().entry_count();
    EXPECT_TRUE(n.has_value());
    return n ? *n : UINT64_MAX;
  }
  void expect_balanced() {
    auto totals = ledger().balance_totals();
    ASSERT_TRUE(totals.has_value());
    for (const auto& [currency, total] : *totals) EXPECT_EQ(total, 0) << currency;
  }
  void expect_audit_clean() {
    auto disagreeing = ledger().audit();
    ASSERT_TRUE(disagreeing.has_value());
    EXPECT_TRUE(disagreeing->empty()) << disagreeing->front();
  }
  std::vector<std::uint64_t> sequences(const std::vector<journal_entry>& entries) {
    std::vector<std::uint64_t> out;
    for (const auto& e : entries) out.push_back(e.sequence);
    return out;
  }
};

// ---- accounts ------------------------------------------------------------

TEST_F(LedgerStore, CreatesAndFindsAccounts) {
  auto amina = ledger().find_account(kAmina);
  ASSERT_TRUE(amina.has_value());
  EXPECT_EQ(*amina, (account{kAmina, "KES", account_kind::user, 0, false}));
  auto float_account = ledger().find_account(kFloat);
  ASSERT_TRUE(float_account.has_value());
  EXPECT_EQ(float_account->kind, account_kind::system);
  EXPECT_EQ(ledger().find_account("user:nobody").error(), store_error::not_found);
  EXPECT_EQ(ledger().find_account("").error(), store_error::invalid_argument);
}

// The settlement windows of a cluster list the clearing accounts by prefix.
TEST_F(LedgerStore, ListsAccountsByPrefixInIdOrder) {
  for (const char* id : {"clearing:m-b", "clearing:m-a", "clearinghouse", "cleared:x", "z"}) {
    ASSERT_TRUE(ledger().create_account({id, "KES", account_kind::system, 0, false})) << id;
  }
  auto got = ledger().accounts_with_prefix("clearing:", 10);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].id, "clearing:m-a");
  EXPECT_EQ((*got)[1].id, "clearing:m-b");
  EXPECT_EQ(ledger().accounts_with_prefix("clearing:", 1)->size(), 1u);
  EXPECT_TRUE(ledger().accounts_with_prefix("nothing:", 10)->empty());
  EXPECT_EQ(ledger().accounts_with_prefix("", 10).error(), store_error::invalid_argument);
}

TEST_F(LedgerStore, CreateAccountRefusesATakenIdWhateverItsContent) {
  EXPECT_EQ(ledger().create_account({kAmina, "KES", account_kind::user, 0, false}).error(),
            store_error::already_exists);
  EXPECT_EQ(ledger().create_account({kAmina, "UGX", account_kind::merchant, 0, true}).error(),
            store_error::already_exists);
  EXPECT_EQ(ledger().find_account(kAmina)->currency, "KES");
}

TEST_F(LedgerStore, CreateAccountValidatesItsArgument) {
  const std::string long_id(129, 'x');
  for (const account& bad : {account{"", "KES", account_kind::user, 0, false},
                             account{long_id, "KES", account_kind::user, 0, false},
                             account{"user:x", "kes", account_kind::user, 0, false},
                             account{"user:x", "KESX", account_kind::user, 0, false},
                             account{"user:x", "KE", account_kind::user, 0, false},
                             account{"user:x", "KES", static_cast<account_kind>(9), 0, false},
                             account{"user:x", "KES", account_kind::user, 100, false}}) {
    EXPECT_EQ(ledger().create_account(bad).error(), store_error::invalid_argument) << bad.id;
  }
  EXPECT_TRUE(
      ledger().create_account({std::string(128, 'x'), "KES", account_kind::user, 0, false}));
  EXPECT_EQ(ledger().find_account("user:x").error(), store_error::not_found);
}

TEST_F(LedgerStore, CreateAccountsIsAllOrNothing) {
  std::vector<account> batch = {{"user:new-1", "KES", account_kind::user, 0, false},
                                {"user:new-2", "KES", account_kind::user, 0, false},
                                {kAmina, "KES", account_kind::user, 0, false}};
  EXPECT_EQ(ledger().create_accounts(batch).error(), store_error::already_exists);
  EXPECT_EQ(ledger().find_account("user:new-1").error(), store_error::not_found);
  batch.pop_back();
  EXPECT_TRUE(ledger().create_accounts(batch).has_value());
  EXPECT_TRUE(ledger().find_account("user:new-2").has_value());
  std::vector<account> too_many(10001, account{"user:y", "KES", account_kind::user, 0, false});
  EXPECT_EQ(ledger().create_accounts(too_many).error(), store_error::invalid_argument);
}

// ---- posting -------------------------------------------------------------

TEST_F(LedgerStore, PaymentMovesMoneyAndEveryBatchStaysBalanced) {
  auto funded = post_one(funding("f-1", kAmina, 10'000));
  ASSERT_FALSE(funded.error);
  EXPECT_EQ(funded.entry.sequence, 1u);
  auto paid = post_one(request("p-1", kAmina, kKahawa, 2'500));
  ASSERT_FALSE(paid.error);
  EXPECT_FALSE(paid.duplicate);
  EXPECT_EQ(paid.entry.sequence, 2u);
  EXPECT_EQ(paid.entry.posting, request("p-1", kAmina, kKahawa, 2'500));
  EXPECT_EQ(balance(kFloat), -10'000);
  EXPECT_EQ(balance(kAmina), 7'500);
  EXPECT_EQ(balance(kKahawa), 2'500);
  EXPECT_EQ(count(), 2u);
  auto totals = ledger().balance_totals();
  ASSERT_TRUE(totals.has_value());
  EXPECT_EQ(*totals, (std::map<std::string, std::int64_t>{{"KES", 0}}));
  expect_audit_clean();
}

TEST_F(LedgerStore, BalanceTotalsAreZeroPerCurrency) {
  create("system:float:UGX", account_kind::system, "UGX");
  create("user:ug-1", account_kind::user, "UGX");
  auto ug = funding("f-ug", "user:ug-1", 7'000);
  ug.debit_account = "system:float:UGX";
  ug.currency = "UGX";
  auto outcomes = post({funding("f-1", kAmina, 3'000), ug});
  ASSERT_FALSE(outcomes[0].error);
  ASSERT_FALSE(outcomes[1].error);
  auto totals = ledger().balance_totals();
  ASSERT_TRUE(totals.has_value());
  EXPECT_EQ(*totals, (std::map<std::string, std::int64_t>{{"KES", 0}, {"UGX", 0}}));
}

TEST_F(LedgerStore, RefusesOverdraft) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  EXPECT_EQ(refusal(request("p-1", kAmina, kKahawa, 1'001)), store_error::insufficient_funds);
  EXPECT_EQ(balance(kAmina), 1'000);
  EXPECT_EQ(balance(kKahawa), 0);
  EXPECT_EQ(count(), 1u);
  // A merchant is floored too.
  EXPECT_EQ(refusal(request("r-x", kKahawa, kAmina, 1)), store_error::insufficient_funds);
  // Exactly the balance is fine.
  EXPECT_FALSE(refusal(request("p-2", kAmina, kKahawa, 1'000)));
  EXPECT_EQ(balance(kAmina), 0);
}

// ---- velocity rule ---------------------------------------------------------

// A payment with a velocity rule, stamped `minutes` after the base time.
posting_request limited(posting_request r, velocity_rule rule, std::int64_t minutes = 0) {
  r.velocity = rule;
  r.time_unix_ms += minutes * 60'000;
  return r;
}

TEST_F(LedgerStore, VelocityRuleCapsThePaymentsCountInItsWindow) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 100'000)));
  const velocity_rule two_per_hour{3'600'000, 2, 1'000'000};
  EXPECT_FALSE(refusal(limited(request("p-1", kAmina, kKahawa, 100), two_per_hour, 0)));
  EXPECT_FALSE(refusal(limited(request("p-2", kAmina, kMboga, 100), two_per_hour, 10)));
  EXPECT_EQ(refusal(limited(request("p-3", kAmina, kKahawa, 100), two_per_hour, 20)),
            store_error::velocity_limit);
  // Another payer is not counted, and a refused payment changed nothing.
  ASSERT_FALSE(refusal(funding("f-2", kBrian, 1'000)));
  EXPECT_FALSE(refusal(limited(request("p-4", kBrian, kKahawa, 100), two_per_hour, 20)));
  EXPECT_EQ(balance(kAmina), 100'000 - 200);
  EXPECT_FALSE(ledger().find_entry("p-3").has_value());
  // An hour after the first payment it has left the window.
  EXPECT_FALSE(refusal(limited(request("p-5", kAmina, kKahawa, 100), two_per_hour, 61)));
  expect_audit_clean();
}

TEST_F(LedgerStore, VelocityRuleCapsThePaymentsSumAndCountsTheBatchsEarlierPostings) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 100'000)));
  const velocity_rule sum_5000{86'400'000, 100, 5'000};
  auto outcomes = post({limited(request("p-1", kAmina, kKahawa, 3'000), sum_5000),
                        limited(request("p-2", kAmina, kKahawa, 2'001), sum_5000),
                        limited(request("p-3", kAmina, kKahawa, 2'000), sum_5000)});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_EQ(outcomes[1].error, store_error::velocity_limit);
  EXPECT_FALSE(outcomes[2].error);  // exactly the sum allowed
  EXPECT_EQ(refusal(limited(request("p-4", kAmina, kKahawa, 1), sum_5000)),
            store_error::velocity_limit);
  EXPECT_EQ(balance(kAmina), 100'000 - 5'000);
}

TEST_F(LedgerStore, VelocityRuleIgnoresCreditsRefundsAndNonUserDebits) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 10'000)));
  const velocity_rule one{86'400'000, 1, 1'000'000};
  EXPECT_FALSE(refusal(limited(request("p-1", kAmina, kKahawa, 500), one)));
  // The refund credits the payer and is no payment: it does not count, and
  // the payer is still at the limit.
  EXPECT_FALSE(refusal(request("r-1", kKahawa, kAmina, 500, entry_kind::refund, "p-1")));
  EXPECT_EQ(refusal(limited(request("p-2", kAmina, kKahawa, 1), one)), store_error::velocity_limit);
  // A merchant's debit (or a system account's) carries no payer limit.
  EXPECT_FALSE(refusal(funding("f-2", kBrian, 1'000)));
  EXPECT_FALSE(refusal(limited(request("p-3", kBrian, kMboga, 700), one)));
  EXPECT_FALSE(refusal(limited(request("p-4", kMboga, kKahawa, 300), one)));
  EXPECT_FALSE(refusal(limited(request("p-5", kMboga, kKahawa, 300), one)));
}

TEST_F(LedgerStore, VelocityRuleDoesNotStopARetryOfAPaymentThatLanded) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 10'000)));
  const velocity_rule one{86'400'000, 1, 1'000'000};
  auto first = post_one(limited(request("p-1", kAmina, kKahawa, 500), one));
  ASSERT_FALSE(first.error);
  auto retry = post_one(limited(request("p-1", kAmina, kKahawa, 500), one, 5));
  EXPECT_FALSE(retry.error);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.entry.sequence, first.entry.sequence);
}

TEST_F(LedgerStore, SpendingSinceCountsThePayersPaymentsInTheWindowOnly) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 100'000)));
  ASSERT_FALSE(refusal(funding("f-2", kBrian, 100'000)));
  const std::int64_t base = request("x", kAmina, kKahawa, 1).time_unix_ms;
  auto at = [](posting_request r, std::int64_t minutes) {
    r.time_unix_ms += minutes * 60'000;
    return r;
  };
  ASSERT_FALSE(refusal(at(request("p-1", kAmina, kKahawa, 100), 0)));
  ASSERT_FALSE(refusal(at(request("p-2", kAmina, kMboga, 200), 10)));
  ASSERT_FALSE(refusal(at(request("p-3", kBrian, kKahawa, 400), 15)));  // another payer
  ASSERT_FALSE(refusal(at(request("r-1", kKahawa, kAmina, 100, entry_kind::refund, "p-1"), 20)));
  ASSERT_FALSE(refusal(at(request("p-4", kAmina, kKahawa, 800), 30)));

  auto since = [&](std::int64_t minutes, std::uint32_t cap = 100) {
    auto s = ledger().spending_since(kAmina, base + minutes * 60'000, cap);
    EXPECT_TRUE(s.has_value());
    return s ? std::pair(s->count, s->sum_minor) : std::pair(~0u, std::int64_t{-1});
  };
  // Credits, refunds and other payers' payments are not the payer's spending.
  EXPECT_EQ(since(0), std::pair(3u, std::int64_t{1'100}));
  // The window starts at `since`, inclusive.
  EXPECT_EQ(since(10), std::pair(2u, std::int64_t{1'000}));
  EXPECT_EQ(since(11), std::pair(1u, std::int64_t{800}));
  EXPECT_EQ(since(31), std::pair(0u, std::int64_t{0}));
  // Counting stops at the cap, newest first.
  EXPECT_EQ(since(0, 2), std::pair(2u, std::int64_t{1'000}));
  EXPECT_EQ(since(0, 0), std::pair(0u, std::int64_t{0}));
  // An account with no entries, and one that is not an account at all.
  auto none = ledger().spending_since(kMboga, base, 10);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->count, 0u);
  EXPECT_EQ(ledger().spending_since("", base, 10).error(), store_error::invalid_argument);
  // The same figures as walking the history page by page.
  std::uint32_t count = 0;
  std::int64_t sum = 0;
  auto history = ledger().history(kAmina, 0, 1000);
  ASSERT_TRUE(history.has_value());
  for (const auto& e : *history) {
    if (e.posting.kind == entry_kind::payment && e.posting.debit_account == kAmina) {
      ++count;
      sum += e.posting.amount_minor;
    }
  }
  EXPECT_EQ(since(-1), std::pair(count, sum));
}

TEST_F(LedgerStore, VelocityRuleShapeIsChecked) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 10'000)));
  EXPECT_EQ(refusal(limited(request("p-1", kAmina, kKahawa, 1), {0, 5, 100})),
            store_error::invalid_argument);
  EXPECT_EQ(refusal(limited(request("p-2", kAmina, kKahawa, 1), {1'000, 5, -1})),
            store_error::invalid_argument);
  auto refund_with_rule =
      limited(request("r-1", kKahawa, kAmina, 1, entry_kind::refund, "p-0"), {1'000, 5, 100});
  EXPECT_EQ(refusal(refund_with_rule), store_error::invalid_argument);
}

TEST_F(LedgerStore, RefusedPostingLeavesTheRestOfTheBatch) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  auto outcomes = post({request("p-1", kAmina, kKahawa, 600),  // 1000 -> 400
                        request("p-2", kAmina, kKahawa, 500),  // 400 < 500: refused
                        request("p-3", kAmina, kMboga, 400),   // 400 -> 0
                        request("p-4", kAmina, kMboga, 1)});   // 0 < 1: refused
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_EQ(outcomes[1].error, store_error::insufficient_funds);
  EXPECT_EQ(outcomes[1].entry.sequence, 0u);
  EXPECT_EQ(outcomes[1].entry.posting.settlement_id, "p-2");
  EXPECT_FALSE(outcomes[2].error);
  EXPECT_EQ(outcomes[3].error, store_error::insufficient_funds);
  // Sequences stay dense: a refusal consumes none.
  EXPECT_EQ(outcomes[0].entry.sequence, 2u);
  EXPECT_EQ(outcomes[2].entry.sequence, 3u);
  EXPECT_EQ(balance(kAmina), 0);
  EXPECT_EQ(balance(kKahawa), 600);
  EXPECT_EQ(balance(kMboga), 400);
  EXPECT_EQ(ledger().find_entry("p-2").error(), store_error::not_found);
  EXPECT_EQ(count(), 3u);
  expect_audit_clean();
}

TEST_F(LedgerStore, LaterPostingsSeeEarlierPostingsOfTheSameBatch) {
  auto outcomes = post({request("p-0", kAmina, kKahawa, 100),  // nothing yet: refused
                        funding("f-1", kAmina, 300), request("p-1", kAmina, kKahawa, 250),
                        request("r-1", kKahawa, kAmina, 250, entry_kind::refund, "p-1")});
  EXPECT_EQ(outcomes[0].error, store_error::insufficient_funds);
  EXPECT_FALSE(outcomes[1].error);
  EXPECT_FALSE(outcomes[2].error);
  EXPECT_FALSE(outcomes[3].error) << to_string(*outcomes[3].error);
  EXPECT_EQ(balance(kAmina), 300);
  EXPECT_EQ(balance(kKahawa), 0);
}

TEST_F(LedgerStore, RefusesMalformedRequests) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  auto base = request("p-1", kAmina, kKahawa, 10);
  std::vector<posting_request> bad(14, base);
  bad[0].amount_minor = 0;
  bad[1].amount_minor = -5;
  bad[2].currency = "kes";
  bad[3].currency = "";
  bad[4].credit_account = kAmina;  // not distinct
  bad[5].settlement_id = "";
  bad[6].debit_account = "";
  bad[7].credit_account = "";
  bad[8].settlement_id = std::string(129, 's');
  bad[9].memo = std::string(257, 'm');
  bad[10].original_id = "s-0";        // a payment names no original
  bad[11].kind = entry_kind::refund;  // a refund must name one
  bad[12].kind = static_cast<entry_kind>(0);
  bad[13] = request("r-self", kKahawa, kAmina, 1, entry_kind::refund, "r-self");
  auto outcomes = post(bad);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    EXPECT_EQ(outcomes[i].error, store_error::invalid_argument) << i;
  }
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(balance(kAmina), 1'000);
  // The limits themselves are accepted.
  auto edge = base;
  edge.settlement_id = std::string(128, 's');
  edge.memo = std::string(256, 'm');
  EXPECT_FALSE(refusal(edge));
}

TEST_F(LedgerStore, RefusesUnknownAccounts) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  EXPECT_EQ(refusal(request("p-1", kAmina, "merchant:nobody", 10)), store_error::unknown_account);
  EXPECT_EQ(refusal(request("p-2", "user:nobody", kKahawa, 10)), store_error::unknown_account);
  EXPECT_EQ(balance(kAmina), 1'000);
  EXPECT_EQ(count(), 1u);
}

TEST_F(LedgerStore, RefusesFrozenAccountsOnEitherSide) {
  create("user:frozen", account_kind::user, "KES", /*frozen=*/true);
  create("merchant:frozen", account_kind::merchant, "KES", /*frozen=*/true);
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  EXPECT_EQ(refusal(funding("f-2", "user:frozen", 10)), store_error::account_frozen);
  EXPECT_EQ(refusal(request("p-1", kAmina, "merchant:frozen", 10)), store_error::account_frozen);
  EXPECT_EQ(refusal(request("p-2", "user:frozen", kKahawa, 10)), store_error::account_frozen);
  EXPECT_EQ(balance(kAmina), 1'000);
}

TEST_F(LedgerStore, RefusesCurrencyMismatch) {
  create("merchant:ug", account_kind::merchant, "UGX");
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  EXPECT_EQ(refusal(request("p-1", kAmina, "merchant:ug", 10)), store_error::currency_mismatch);
  auto in_ugx = request("p-2", kAmina, kKahawa, 10);
  in_ugx.currency = "UGX";
  EXPECT_EQ(refusal(in_ugx), store_error::currency_mismatch);
  create("system:float:UGX", account_kind::system, "UGX");
  EXPECT_EQ(refusal(request("p-3", "system:float:UGX", kAmina, 10, entry_kind::funding)),
            store_error::currency_mismatch);  // only the debit side differs
  EXPECT_EQ(balance(kAmina), 1'000);
  EXPECT_EQ(balance("system:float:UGX"), 0);
}

TEST_F(LedgerStore, RefusesInt64OverflowAsInvalidArgument) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, INT64_MAX)));
  EXPECT_EQ(refusal(funding("f-2", kAmina, 1)), store_error::invalid_argument);  // credit
  EXPECT_EQ(balance(kAmina), INT64_MAX);
  EXPECT_EQ(balance(kFloat), -INT64_MAX);
  // The float sits at -INT64_MAX; two more would go below INT64_MIN.
  EXPECT_EQ(refusal(funding("f-3", kBrian, 2)), store_error::invalid_argument);  // system debit
  EXPECT_FALSE(refusal(funding("f-4", kBrian, 1)));
  EXPECT_EQ(balance(kFloat), INT64_MIN);
  expect_audit_clean();
}

TEST_F(LedgerStore, ChecksRunInTheDocumentedOrder) {
  create("user:frozen", account_kind::user, "KES", true);
  create("merchant:ug", account_kind::merchant, "UGX", true);
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 100)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 100)));
  // shape before everything (the accounts are unknown too)
  EXPECT_EQ(refusal(request("x-1", "user:nobody", "user:nobody", 10)),
            store_error::invalid_argument);
  // duplicate id before accounts: a reused id naming an unknown account conflicts
  EXPECT_EQ(refusal(request("p-1", kAmina, "merchant:nobody", 10)),
            store_error::idempotency_conflict);
  // unknown before frozen
  EXPECT_EQ(refusal(request("x-2", "user:frozen", "merchant:nobody", 10)),
            store_error::unknown_account);
  // frozen before currency
  EXPECT_EQ(refusal(request("x-3", kAmina, "merchant:ug", 10)), store_error::account_frozen);
  // currency before refund checks
  auto refund_ugx = request("x-4", kKahawa, kAmina, 10, entry_kind::refund, "nope");
  refund_ugx.currency = "UGX";
  EXPECT_EQ(refusal(refund_ugx), store_error::currency_mismatch);
  // original before the refund total; refund total before funds
  EXPECT_EQ(refusal(request("x-5", kKahawa, kAmina, 1'000, entry_kind::refund, "nope")),
            store_error::original_not_found);
  EXPECT_EQ(refusal(request("x-6", kKahawa, kAmina, 1'000, entry_kind::refund, "p-1")),
            store_error::refund_exceeds_payment);
  ASSERT_FALSE(refusal(request("p-2", kKahawa, kMboga, 100)));  // kahawa now at 0
  EXPECT_EQ(refusal(request("x-7", kKahawa, kAmina, 50, entry_kind::refund, "p-1")),
            store_error::insufficient_funds);
}

// ---- idempotency -----------------------------------------------------------

TEST_F(LedgerStore, DuplicateReturnsTheOriginalEntryAndPostsNothing) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  auto first = post_one(request("p-1", kAmina, kKahawa, 300));
  ASSERT_FALSE(first.error);
  auto retry = request("p-1", kAmina, kKahawa, 300);
  retry.time_unix_ms += 5'000;  // a retry is stamped later
  auto again = post_one(retry);
  EXPECT_FALSE(again.error);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.entry, first.entry);
  EXPECT_EQ(again.entry.posting.time_unix_ms, first.entry.posting.time_unix_ms);
  EXPECT_EQ(balance(kAmina), 700);
  EXPECT_EQ(balance(kKahawa), 300);
  EXPECT_EQ(count(), 2u);
}

TEST_F(LedgerStore, DuplicateWithinOneBatch) {
  auto outcomes =
      post({funding("f-1", kAmina, 500), funding("f-1", kAmina, 500), funding("f-1", kAmina, 501)});
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_TRUE(outcomes[1].duplicate);
  EXPECT_EQ(outcomes[1].entry, outcomes[0].entry);
  EXPECT_EQ(outcomes[2].error, store_error::idempotency_conflict);
  EXPECT_FALSE(outcomes[2].duplicate);
  EXPECT_EQ(balance(kAmina), 500);
  EXPECT_EQ(count(), 1u);
}

TEST_F(LedgerStore, ReusedSettlementIdWithOtherContentConflicts) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 300)));
  EXPECT_EQ(refusal(request("p-1", kAmina, kKahawa, 301)), store_error::idempotency_conflict);
  EXPECT_EQ(refusal(request("p-1", kAmina, kMboga, 300)), store_error::idempotency_conflict);
  auto other_memo = request("p-1", kAmina, kKahawa, 300);
  other_memo.memo = "another reference";
  EXPECT_EQ(refusal(other_memo), store_error::idempotency_conflict);
  EXPECT_EQ(balance(kAmina), 700);
  auto entry = ledger().find_entry("p-1");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->posting.amount_minor, 300);
}

TEST_F(LedgerStore, RefusedPostingCanBeRetriedUnderTheSameId) {
  EXPECT_EQ(refusal(request("p-1", kAmina, kKahawa, 300)), store_error::insufficient_funds);
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 300)));
  auto retried = post_one(request("p-1", kAmina, kKahawa, 300));
  EXPECT_FALSE(retried.error);
  EXPECT_FALSE(retried.duplicate);
  EXPECT_EQ(balance(kKahawa), 300);
}

// ---- refunds ---------------------------------------------------------------

TEST_F(LedgerStore, PartialThenFullRefund) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 1'000)));
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 0);
  EXPECT_FALSE(refusal(request("r-1", kKahawa, kAmina, 400, entry_kind::refund, "p-1")));
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 400);
  EXPECT_FALSE(refusal(request("r-2", kKahawa, kAmina, 600, entry_kind::refund, "p-1")));
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 1'000);
  EXPECT_EQ(balance(kAmina), 1'000);
  EXPECT_EQ(balance(kKahawa), 0);
  // Fully refunded: not one more cent, even with the merchant able to pay.
  ASSERT_FALSE(refusal(funding("f-2", kBrian, 50)));
  ASSERT_FALSE(refusal(request("p-2", kBrian, kKahawa, 50)));
  EXPECT_EQ(refusal(request("r-3", kKahawa, kAmina, 1, entry_kind::refund, "p-1")),
            store_error::refund_exceeds_payment);
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 1'000);
  expect_audit_clean();
}

TEST_F(LedgerStore, RefusesARefundAboveThePayment) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 5'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 1'000)));
  ASSERT_FALSE(refusal(request("p-2", kAmina, kKahawa, 1'000)));  // merchant holds 2000
  EXPECT_EQ(refusal(request("r-1", kKahawa, kAmina, 1'001, entry_kind::refund, "p-1")),
            store_error::refund_exceeds_payment);
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 0);
  // In one batch: the second refund sees the first one's total.
  auto outcomes = post({request("r-2", kKahawa, kAmina, 700, entry_kind::refund, "p-1"),
                        request("r-3", kKahawa, kAmina, 301, entry_kind::refund, "p-1"),
                        request("r-4", kKahawa, kAmina, 300, entry_kind::refund, "p-1")});
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_EQ(outcomes[1].error, store_error::refund_exceeds_payment);
  EXPECT_FALSE(outcomes[2].error);
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 1'000);
  EXPECT_EQ(balance(kKahawa), 1'000);
}

TEST_F(LedgerStore, RefusesARefundOfTheWrongOriginal) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 5'000)));
  ASSERT_FALSE(refusal(funding("f-2", kBrian, 5'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 1'000)));
  ASSERT_FALSE(refusal(request("p-2", kBrian, kMboga, 1'000)));
  ASSERT_FALSE(refusal(request("r-ok", kKahawa, kAmina, 10, entry_kind::refund, "p-1")));
  const std::vector<posting_request> wrong = {
      request("r-1", kKahawa, kAmina, 10, entry_kind::refund, "p-missing"),  // not in journal
      request("r-2", kFloat, kAmina, 10, entry_kind::refund, "f-1"),         // not a payment
      request("r-3", kKahawa, kBrian, 10, entry_kind::refund, "p-1"),        // other payer
      request("r-4", kMboga, kAmina, 10, entry_kind::refund, "p-1"),         // other merchant
      request("r-5", kKahawa, kAmina, 10, entry_kind::refund, "p-2"),        // other payment
      request("r-6", kAmina, kKahawa, 10, entry_kind::refund, "p-1"),        // not reversed
      request("r-7", kKahawa, kAmina, 5, entry_kind::refund, "r-ok"),        // a refund
  };
  for (const auto& r : wrong) {
    EXPECT_EQ(refusal(r), store_error::original_not_found) << r.settlement_id;
  }
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 10);
  EXPECT_EQ(*ledger().refunded_minor("p-2"), 0);
}

// ---- reading ---------------------------------------------------------------

TEST_F(LedgerStore, HistoryIsNewestFirstWithPagination) {
  // Ids that prefix each other must not leak into one another's history.
  create("user:u-1", account_kind::user);
  create("user:u-10", account_kind::user);
  ASSERT_FALSE(refusal(funding("f-1", "user:u-1", 1'000'000)));
  ASSERT_FALSE(refusal(funding("f-10", "user:u-10", 1'000'000)));
  std::vector<posting_request> batch;
  for (int i = 0; i < 25; ++i) {
    batch.push_back(request("a-" + std::to_string(i), "user:u-1", kKahawa, 1 + i));
    batch.push_back(request("b-" + std::to_string(i), "user:u-10", kKahawa, 1 + i));
  }
  post(batch);
  // u-1: f-1 (seq 1) then a-i at seq 3 + 2i.
  std::vector<std::uint64_t> all;
  std::uint64_t before = 0;
  for (int page = 0; page < 10; ++page) {
    auto entries = ledger().history("user:u-1", before, 10);
    ASSERT_TRUE(entries.has_value());
    if (entries->empty()) break;
    for (const auto& e : *entries) {
      EXPECT_TRUE(e.posting.debit_account == "user:u-1" || e.posting.credit_account == "user:u-1");
      all.push_back(e.sequence);
    }
    before = entries->back().sequence;
  }
  std::vector<std::uint64_t> expected;
  for (int i = 24; i >= 0; --i) expected.push_back(3 + 2 * i);
  expected.push_back(1);
  EXPECT_EQ(all, expected);

  auto newest = ledger().history("user:u-1", 0, 3);
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(sequences(*newest), (std::vector<std::uint64_t>{51, 49, 47}));
  EXPECT_EQ(newest->front().posting, batch[48]);
  auto page = ledger().history("user:u-1", 47, 2);
  EXPECT_EQ(sequences(*page), (std::vector<std::uint64_t>{45, 43}));
  auto merchant = ledger().history(kKahawa, 0, 1000);
  EXPECT_EQ(merchant->size(), 50u);
  EXPECT_TRUE(ledger().history("user:nobody", 0, 10)->empty());
  EXPECT_TRUE(ledger().history("user:u-1", 1, 10)->empty());
  EXPECT_TRUE(ledger().history("user:u-1", 0, 0)->empty());
  EXPECT_EQ(ledger().history("user:u-1", 0, 1001).error(), store_error::invalid_argument);
  EXPECT_EQ(ledger().history("", 0, 10).error(), store_error::invalid_argument);
}

TEST_F(LedgerStore, JournalIsInNumericCommitOrder) {
  // More than 256 entries: a little-endian key would sort 256 before 2.
  ASSERT_FALSE(refusal(funding("f-0", kAmina, 1'000'000)));
  std::vector<posting_request> batch;
  for (int i = 1; i < 300; ++i)
    batch.push_back(request("p-" + std::to_string(i), kAmina, i % 2 ? kKahawa : kMboga, i));
  post(batch);
  EXPECT_EQ(count(), 300u);
  auto first = ledger().journal(0, 1000);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 300u);
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].sequence, i + 1);
    if (i > 0) {
      EXPECT_EQ((*first)[i].posting, batch[i - 1]);
    }
  }
  auto middle = ledger().journal(255, 3);
  EXPECT_EQ(sequences(*middle), (std::vector<std::uint64_t>{255, 256, 257}));
  EXPECT_TRUE(ledger().journal(301, 10)->empty());
  EXPECT_EQ(ledger().journal(1, 1001).error(), store_error::invalid_argument);
}

TEST_F(LedgerStore, FindsEntriesBySettlementId) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 10)));
  auto entry = ledger().find_entry("p-1");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->sequence, 2u);
  EXPECT_EQ(entry->posting, request("p-1", kAmina, kKahawa, 10));
  EXPECT_EQ(ledger().find_entry("p-2").error(), store_error::not_found);
  EXPECT_EQ(ledger().find_entry("").error(), store_error::invalid_argument);
}

TEST_F(LedgerStore, BoundsTheBatchSize) {
  std::vector<posting_request> too_many(10'001, funding("f", kAmina, 1));
  EXPECT_EQ(ledger().post_batch(too_many).error(), store_error::invalid_argument);
  EXPECT_EQ(count(), 0u);
  auto empty = ledger().post_batch({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  std::vector<posting_request> most;
  for (int i = 0; i < 10'000; ++i) most.push_back(funding("f-" + std::to_string(i), kAmina, 1));
  auto outcomes = post(most);
  EXPECT_EQ(outcomes.size(), 10'000u);
  EXPECT_EQ(balance(kAmina), 10'000);
}

// ---- durability and integrity -----------------------------------------------

TEST_F(LedgerStore, ReopenAfterCloseKeepsEveryCommit) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 10'000)));
  std::vector<posting_request> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(request("p-" + std::to_string(i), kAmina, i % 2 ? kKahawa : kMboga, 100));
  }
  auto posted = post(batch);
  ASSERT_FALSE(refusal(request("r-1", kKahawa, kAmina, 50, entry_kind::refund, "p-1")));
  auto journal_before = ledger().journal(0, 1000);
  ASSERT_TRUE(journal_before.has_value());

  reopen();

  EXPECT_EQ(count(), 22u);
  EXPECT_EQ(balance(kFloat), -10'000);
  EXPECT_EQ(balance(kAmina), 8'050);
  EXPECT_EQ(balance(kKahawa), 950);
  EXPECT_EQ(balance(kMboga), 1'000);
  EXPECT_EQ(*ledger().refunded_minor("p-1"), 50);
  auto journal_after = ledger().journal(0, 1000);
  ASSERT_TRUE(journal_after.has_value());
  EXPECT_EQ(*journal_after, *journal_before);
  EXPECT_EQ(ledger().history(kKahawa, 0, 1)->front().posting.settlement_id, "r-1");
  // Exactly-once survives the restart, and sequences continue.
  auto retry = post_one(batch[3]);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.entry, posted[3].entry);
  auto next = post_one(request("p-next", kAmina, kKahawa, 1));
  EXPECT_EQ(next.entry.sequence, 23u);
  expect_balanced();
  expect_audit_clean();
}

TEST_F(LedgerStore, AuditIsEmptyWhenConsistentAndFindsATamperedBalance) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  ASSERT_FALSE(refusal(request("p-1", kAmina, kKahawa, 300)));
  expect_audit_clean();

  // Write a wrong balance behind the store's back, with a raw LMDB write.
  {
    auto& impl = env().impl();
    auto txn = impl.begin_write();
    ASSERT_TRUE(txn.has_value());
    MDB_val key = detail::as_val(std::string_view(kKahawa));
    MDB_val value;
    ASSERT_EQ(mdb_get(txn->get(), impl.dbs().ledger_accounts, &key, &value), 0);
    auto state = codec::decode_account(detail::as_view(value));
    ASSERT_TRUE(state.has_value());
    state->balance_minor += 1;  // one cent from nowhere
    auto bytes = codec::encode_account(*state);
    MDB_val tampered = detail::as_val(bytes.data(), bytes.size());
    ASSERT_EQ(mdb_put(txn->get(), impl.dbs().ledger_accounts, &key, &tampered, 0), 0);
    ASSERT_TRUE(txn->commit().has_value());
  }
  auto disagreeing = ledger().audit();
  ASSERT_TRUE(disagreeing.has_value());
  EXPECT_EQ(*disagreeing, std::vector<std::string>{kKahawa});
  EXPECT_EQ(ledger().balance_totals()->at("KES"), 1);
}

TEST_F(LedgerStore, AuditFindsAJournalAccountThatNoLongerExists) {
  ASSERT_FALSE(refusal(funding("f-1", kAmina, 1'000)));
  auto& impl = env().impl();
  {
    // Delete the account the journal credits, as a damaged store might.
    auto txn = impl.begin_write();
    ASSERT_TRUE(txn.has_value());
    MDB_val key = detail::as_val(std::string_view(kAmina));
    ASSERT_EQ(mdb_del(txn->get(), impl.dbs().ledger_accounts, &key, nullptr), 0);
    ASSERT_TRUE(txn->commit().has_value());
  }
  auto disagreeing = ledger().audit();
  ASSERT_TRUE(disagreeing.has_value());
  EXPECT_EQ(*disagreeing, std::vector<std::string>{kAmina});
}

TEST_F(LedgerStore, ReadersOnOtherThreadsAlwaysSeeABalancedSnapshot) {
  ASSERT_FALSE(refusal(funding("f-0", kAmina, 1'000'000)));
  std::atomic<bool> done{false};
  std::atomic<int> unbalanced{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto totals = ledger().balance_totals();
        if (!totals || totals->at("KES") != 0) ++unbalanced;
        auto history = ledger().history(kAmina, 0, 5);
        if (!history || history->empty()) ++unbalanced;
        ++reads;
      }
    });
  }
  for (int b = 0; b < 20; ++b) {
    std::vector<posting_request> batch;
    for (int i = 0; i < 50; ++i) {
      batch.push_back(request("p-" + std::to_string(b) + "-" + std::to_string(i), kAmina,
                              i % 2 ? kKahawa : kMboga, 1));
    }
    ASSERT_TRUE(ledger().post_batch(batch).has_value());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(unbalanced.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(count(), 1'001u);
}

// Single-flush commits: the batch is visible at once and made durable by the
// next flush of the file, which the store reports so that the ledger actor
// knows when to answer.
class LedgerStoreSingleFlush : public LedgerStore {
 protected:
  LedgerStoreSingleFlush() { single_flush_ = true; }
};

TEST_F(LedgerStoreSingleFlush, ACommitFlushesTheCommitsBeforeItButNotItself) {
  auto first = ledger().post_batch_before_sync({funding("f-1", kAmina, 5000)});
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_FALSE(first->durable);
  EXPECT_TRUE(first->earlier_commits_durable);
  ASSERT_EQ(first->outcomes.size(), 1u);
  EXPECT_FALSE(first->outcomes[0].error);
  EXPECT_TRUE(ledger().find_entry("f-1")) << "visible before it is durable";
  EXPECT_EQ(ledger().find_account(kAmina)->balance_minor, 5000);
  EXPECT_TRUE(ledger().sync());
  expect_balanced();
  reopen();
  EXPECT_EQ(ledger().find_account(kAmina)->balance_minor, 5000);
}

TEST_F(LedgerStore, WithoutSingleFlushCommitsABatchIsDurableAtOnce) {
  auto posted = ledger().post_batch_before_sync({funding("f-2", kAmina, 700)});
  ASSERT_TRUE(posted) << to_string(posted.error());
  EXPECT_TRUE(posted->durable);
  EXPECT_TRUE(posted->earlier_commits_durable);
}

class LedgerStoreSmallMap : public LedgerStore {
 protected:
  void SetUp() override {
    map_size_bytes_ = std::size_t{1} << 20;  // 1 MiB
    LedgerStore::SetUp();
  }
};

TEST_F(LedgerStoreSmallMap, MapFullFailsTheWholeBatchAndKeepsEarlierCommits) {
  ASSERT_FALSE(refusal(funding("f-0", kAmina, 1'000'000)));
  std::vector<posting_request> huge;
  for (int i = 0; i < 10'000; ++i) {
    auto r = request("p-" + std::to_string(i), kAmina, kKahawa, 1);
    r.memo = std::string(200, 'm');
    huge.push_back(r);
  }
  auto outcome = ledger().post_batch(huge);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error(), store_error::map_full);
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(balance(kAmina), 1'000'000);
  EXPECT_EQ(ledger().find_entry("p-0").error(), store_error::not_found);
  // The store still works for a batch that fits.
  EXPECT_FALSE(refusal(request("p-small", kAmina, kKahawa, 1)));
  expect_audit_clean();
}

}  // namespace
}  // namespace paysync::storage
