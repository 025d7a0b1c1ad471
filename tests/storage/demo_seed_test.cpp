#include "storage/demo_seed.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/storage/storage_fixture.hpp"

namespace paysync::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

class DemoSeed : public testing::storage_test {
 protected:
  std::int64_t balance(const std::string& id) {
    auto a = ledger().find_account(id);
    EXPECT_TRUE(a.has_value()) << id;
    return a ? a->balance_minor : -1;
  }
  void expect_consistent() {
    auto totals = ledger().balance_totals();
    ASSERT_TRUE(totals.has_value());
    for (const auto& [currency, total] : *totals) EXPECT_EQ(total, 0) << currency;
    auto audit = ledger().audit();
    ASSERT_TRUE(audit.has_value());
    EXPECT_TRUE(audit->empty());
  }
};

TEST_F(DemoSeed, SeedsTheDocumentedDataSet) {
  auto summary = seed_demo_data(directory(), ledger(), kNow);
  ASSERT_TRUE(summary.has_value()) << to_string(summary.error());
  EXPECT_TRUE(summary->seeded);
  EXPECT_EQ(summary->merchants, 4u);
  EXPECT_EQ(summary->terminals, 7u);
  EXPECT_EQ(summary->users, 5u);
  EXPECT_EQ(summary->fundings, 5u);

  auto kahawa = directory().find_merchant_by_till("500100");
  ASSERT_TRUE(kahawa.has_value());
  EXPECT_EQ(kahawa->id, "m-kahawa");
  EXPECT_EQ(kahawa->name, "Kahawa Coffee House");
  EXPECT_EQ(kahawa->city, "Nairobi");
  EXPECT_EQ(kahawa->category, "cafe");
  EXPECT_EQ(kahawa->account_id, "merchant:m-kahawa");
  EXPECT_EQ(kahawa->currency, "KES");
  EXPECT_EQ(kahawa->disclosed_attributes, std::vector<std::string>{"display_name"});
  EXPECT_EQ(directory().find_merchant_by_till("500200")->disclosed_attributes,
            (std::vector<std::string>{"display_name", "delivery_address"}));
  auto dawa = directory().find_merchant_by_till("500300");
  EXPECT_EQ(dawa->id, "m-dawa");
  EXPECT_EQ(dawa->city, "Mombasa");
  EXPECT_EQ(dawa->disclosed_attributes, (std::vector<std::string>{"display_name", "age_over_18"}));
  auto closed = directory().find_merchant_by_till("500900");
  EXPECT_EQ(closed->id, "m-closed");
  EXPECT_EQ(closed->status, party_status::suspended);

  EXPECT_EQ(directory().find_terminal("t-kahawa-02")->merchant_id, "m-kahawa");
  EXPECT_EQ(directory().find_terminal("t-closed-01")->merchant_id, "m-closed");
  EXPECT_EQ(directory().find_terminal("t-kahawa-99")->status, party_status::blocked);
  EXPECT_EQ(directory().find_terminal("t-kahawa-01")->status, party_status::active);
  EXPECT_EQ(directory().find_terminal("t-kahawa-01")->role, terminal_role::billing);
  auto centre = directory().find_terminal("oc-nairobi");
  ASSERT_TRUE(centre.has_value());
  EXPECT_EQ(centre->role, terminal_role::order_centre);
  EXPECT_EQ(centre->name, "Nairobi Order Centre");
  EXPECT_TRUE(centre->merchant_id.empty());

  auto amina = directory().find_user_by_msisdn("254700000001");
  ASSERT_TRUE(amina.has_value());
  EXPECT_EQ(amina->id, "u-1001");
  EXPECT_EQ(amina->display_name, "Amina Wanjiru");
  EXPECT_EQ(amina->attributes.at("age_over_18"), "true");
  EXPECT_EQ(amina->attributes.at("delivery_address"), "Kenyatta Ave 12, Nairobi");
  EXPECT_EQ(directory().find_user_by_msisdn("254700000003")->attributes.at("age_over_18"), "false");
  EXPECT_EQ(directory().find_user("u-1004")->status, party_status::blocked);
  EXPECT_EQ(directory().find_user("u-1005")->status, party_status::suspended);

  EXPECT_EQ(balance("user:u-1001"), 500'000);
  EXPECT_EQ(balance("user:u-1002"), 100'000);
  EXPECT_EQ(balance("user:u-1003"), 5'000);
  EXPECT_EQ(balance("user:u-1004"), 100'000);
  EXPECT_EQ(balance("user:u-1005"), 250'000);
  EXPECT_EQ(balance("merchant:m-kahawa"), 0);
  EXPECT_EQ(balance("merchant:m-closed"), 0);
  EXPECT_EQ(balance("system:float:KES"), -955'000);
  EXPECT_EQ(ledger().find_account("system:float:KES")->kind, account_kind::system);
  auto funding = ledger().find_entry("seed:funding:u-1001");
  ASSERT_TRUE(funding.has_value());
  EXPECT_EQ(funding->posting.kind, entry_kind::funding);
  EXPECT_EQ(funding->posting.time_unix_ms, kNow);
  expect_consistent();
}

TEST_F(DemoSeed, RunsOnlyOnce) {
  ASSERT_TRUE(seed_demo_data(directory(), ledger(), kNow)->seeded);
  auto again = seed_demo_data(directory(), ledger(), kNow + 1);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->seeded);
  EXPECT_EQ(again->fundings, 0u);
  reopen();
  auto after_restart = seed_demo_data(directory(), ledger(), kNow + 2);
  ASSERT_TRUE(after_restart.has_value());
  EXPECT_FALSE(after_restart->seeded);
  EXPECT_EQ(*ledger().entry_count(), 5u);
  EXPECT_EQ(balance("user:u-1001"), 500'000);
  expect_consistent();
}

TEST_F(DemoSeed, DoesNothingWhenAnyMerchantExists) {
  merchant_record m;
  m.id = "m-own";
  m.till = "700100";
  ASSERT_TRUE(directory().put_merchant(m).has_value());
  auto summary = seed_demo_data(directory(), ledger(), kNow);
  ASSERT_TRUE(summary.has_value());
  EXPECT_FALSE(summary->seeded);
  EXPECT_EQ(ledger().find_account("system:float:KES").error(), store_error::not_found);
  EXPECT_EQ(directory().find_user("u-1001").error(), store_error::not_found);
  EXPECT_EQ(*ledger().entry_count(), 0u);
}

TEST_F(DemoSeed, FinishesASeedThatStoppedHalfWay) {
  // A previous start created some accounts and one funding, then died before
  // writing the directory.
  ASSERT_TRUE(ledger().create_account({"system:float:KES", "KES", account_kind::system, 0, false}));
  ASSERT_TRUE(ledger().create_account({"user:u-1001", "KES", account_kind::user, 0, false}));
  posting_request funding;
  funding.settlement_id = "seed:funding:u-1001";
  funding.debit_account = "system:float:KES";
  funding.credit_account = "user:u-1001";
  funding.amount_minor = 500'000;
  funding.currency = "KES";
  funding.kind = entry_kind::funding;
  funding.memo = "seed funding";
  ASSERT_TRUE(ledger().post_batch({funding}).has_value());

  auto summary = seed_demo_data(directory(), ledger(), kNow);
  ASSERT_TRUE(summary.has_value()) << to_string(summary.error());
  EXPECT_TRUE(summary->seeded);
  EXPECT_EQ(summary->fundings, 4u);  // u-1001's was already there
  EXPECT_EQ(*ledger().entry_count(), 5u);
  EXPECT_EQ(balance("user:u-1001"), 500'000);
  EXPECT_EQ(balance("system:float:KES"), -955'000);
  expect_consistent();
}

TEST_F(DemoSeed, LoadDataIsIdempotent) {
  auto first = seed_load_data(directory(), ledger(), 10, 20, 1'000, kNow);
  ASSERT_TRUE(first.has_value()) << to_string(first.error());
  EXPECT_TRUE(first->seeded);
  EXPECT_EQ(first->merchants, 10u);
  EXPECT_EQ(first->terminals, 10u);
  EXPECT_EQ(first->users, 20u);
  EXPECT_EQ(first->fundings, 20u);
  EXPECT_EQ(directory().find_merchant_by_till("600003")->id, "m-load-00003");
  EXPECT_EQ(directory().find_terminal("t-load-00009")->merchant_id, "m-load-00009");
  EXPECT_EQ(directory().find_user_by_msisdn("254710000019")->id, "u-load-00019");
  EXPECT_EQ(directory().find_merchant("m-load-00010").error(), store_error::not_found);
  EXPECT_EQ(balance("user:u-load-00000"), 1'000);
  EXPECT_EQ(balance("merchant:m-load-00000"), 0);

  auto second = seed_load_data(directory(), ledger(), 10, 20, 1'000, kNow);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->seeded);
  EXPECT_EQ(second->merchants + second->users + second->fundings, 0u);
  EXPECT_EQ(*ledger().entry_count(), 20u);

  auto more = seed_load_data(directory(), ledger(), 12, 25, 1'000, kNow);
  ASSERT_TRUE(more.has_value());
  EXPECT_EQ(more->merchants, 2u);
  EXPECT_EQ(more->users, 5u);
  EXPECT_EQ(more->fundings, 5u);
  EXPECT_EQ(*ledger().entry_count(), 25u);
  EXPECT_EQ(balance("system:float:KES"), -25'000);
  expect_consistent();
}

TEST_F(DemoSeed, LoadDataAndDemoDataCoexist) {
  ASSERT_TRUE(seed_demo_data(directory(), ledger(), kNow)->seeded);
  auto load = seed_load_data(directory(), ledger(), 3, 3, 0, kNow);
  ASSERT_TRUE(load.has_value()) << to_string(load.error());
  EXPECT_EQ(load->users, 3u);
  EXPECT_EQ(load->fundings, 0u);
  EXPECT_EQ(balance("user:u-load-00002"), 0);
  EXPECT_EQ(directory().count()->merchants, 7u);
  expect_consistent();
}

TEST_F(DemoSeed, LoadDataSpansSeveralTransactions) {
  auto summary = seed_load_data(directory(), ledger(), 5'001, 10'001, 10, kNow);
  ASSERT_TRUE(summary.has_value()) << to_string(summary.error());
  EXPECT_EQ(summary->merchants, 5'001u);
  EXPECT_EQ(summary->users, 10'001u);
  EXPECT_EQ(summary->fundings, 10'001u);
  auto counts = directory().count();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->merchants, 5'001u);
  EXPECT_EQ(counts->terminals, 5'001u);
  EXPECT_EQ(counts->users, 10'001u);
  EXPECT_EQ(directory().find_user_by_msisdn("254710010000")->id, "u-load-10000");
  EXPECT_EQ(balance("system:float:KES"), -100'010);
  expect_consistent();
}

TEST_F(DemoSeed, LoadDataRejectsBadArguments) {
  EXPECT_EQ(seed_load_data(directory(), ledger(), 100'001, 0, 0, kNow).error(),
            store_error::invalid_argument);
  EXPECT_EQ(seed_load_data(directory(), ledger(), 0, 100'001, 0, kNow).error(),
            store_error::invalid_argument);
  EXPECT_EQ(seed_load_data(directory(), ledger(), 1, 1, -1, kNow).error(),
            store_error::invalid_argument);
  EXPECT_EQ(directory().count()->merchants, 0u);
}

}  // namespace
}  // namespace paysync::storage
