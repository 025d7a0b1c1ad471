#include "storage/directory_store.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/storage/storage_fixture.hpp"

namespace paysync::storage {
namespace {

merchant_record merchant(std::string id, std::string till) {
  merchant_record m;
  m.account_id = "merchant:" + id;
  m.id = std::move(id);
  m.name = "Kahawa Coffee House";
  m.till = std::move(till);
  m.city = "Nairobi";
  m.category = "cafe";
  m.currency = "KES";
  m.disclosed_attributes = {"display_name"};
  return m;
}

user_record user(std::string id, std::string msisdn) {
  user_record u;
  u.account_id = "user:" + id;
  u.id = std::move(id);
  u.msisdn = std::move(msisdn);
  u.display_name = "Amina Wanjiru";
  u.currency = "KES";
  u.attributes = {{"age_over_18", "true"}};
  return u;
}

class DirectoryStore : public testing::storage_test {};

TEST_F(DirectoryStore, PutsAndFindsAMerchantByIdAndTill) {
  auto m = merchant("m-kahawa", "500100");
  ASSERT_TRUE(directory().put_merchant(m).has_value());
  auto by_id = directory().find_merchant("m-kahawa");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(*by_id, m);
  auto by_till = directory().find_merchant_by_till("500100");
  ASSERT_TRUE(by_till.has_value());
  EXPECT_EQ(*by_till, m);
  EXPECT_EQ(directory().find_merchant("m-none").error(), store_error::not_found);
  EXPECT_EQ(directory().find_merchant_by_till("500199").error(), store_error::not_found);
}

TEST_F(DirectoryStore, ReplacingAMerchantMovesItsTill) {
  ASSERT_TRUE(directory().put_merchant(merchant("m-kahawa", "500100")).has_value());
  auto moved = merchant("m-kahawa", "500101");
  moved.status = party_status::suspended;
  ASSERT_TRUE(directory().put_merchant(moved).has_value());
  EXPECT_EQ(directory().find_merchant_by_till("500100").error(), store_error::not_found);
  EXPECT_EQ(*directory().find_merchant_by_till("500101"), moved);
  EXPECT_EQ(*directory().find_merchant("m-kahawa"), moved);
  // The freed till may now go to someone else.
  EXPECT_TRUE(directory().put_merchant(merchant("m-other", "500100")).has_value());
  EXPECT_EQ(directory().find_merchant_by_till("500100")->id, "m-other");
  EXPECT_EQ(directory().count()->merchants, 2u);
}

TEST_F(DirectoryStore, RefusesATillThatBelongsToAnotherMerchant) {
  ASSERT_TRUE(directory().put_merchant(merchant("m-kahawa", "500100")).has_value());
  EXPECT_EQ(directory().put_merchant(merchant("m-other", "500100")).error(),
            store_error::already_exists);
  EXPECT_EQ(directory().find_merchant("m-other").error(), store_error::not_found);
  ASSERT_TRUE(directory().put_merchant(merchant("m-other", "500200")).has_value());
  // Moving onto a taken till is refused and changes nothing.
  EXPECT_EQ(directory().put_merchant(merchant("m-other", "500100")).error(),
            store_error::already_exists);
  EXPECT_EQ(directory().find_merchant_by_till("500100")->id, "m-kahawa");
  EXPECT_EQ(directory().find_merchant_by_till("500200")->id, "m-other");
  EXPECT_EQ(directory().find_merchant("m-other")->till, "500200");
}

TEST_F(DirectoryStore, PutsAndFindsAUserByIdAndMsisdn) {
  auto u = user("u-1001", "254700000001");
  u.attributes["delivery_address"] = "Kenyatta Ave 12, Nairobi";
  ASSERT_TRUE(directory().put_user(u).has_value());
  EXPECT_EQ(*directory().find_user("u-1001"), u);
  EXPECT_EQ(*directory().find_user_by_msisdn("254700000001"), u);
  EXPECT_EQ(directory().find_user("u-9").error(), store_error::not_found);
  EXPECT_EQ(directory().find_user_by_msisdn("254700000009").error(), store_error::not_found);
}

TEST_F(DirectoryStore, ReplacingAUserMovesItsMsisdn) {
  ASSERT_TRUE(directory().put_user(user("u-1001", "254700000001")).has_value());
  ASSERT_TRUE(directory().put_user(user("u-1001", "254700000011")).has_value());
  EXPECT_EQ(directory().find_user_by_msisdn("254700000001").error(), store_error::not_found);
  EXPECT_EQ(directory().find_user_by_msisdn("254700000011")->id, "u-1001");
  EXPECT_EQ(directory().count()->users, 1u);
}

TEST_F(DirectoryStore, RefusesAnMsisdnThatBelongsToAnotherUser) {
  ASSERT_TRUE(directory().put_user(user("u-1001", "254700000001")).has_value());
  EXPECT_EQ(directory().put_user(user("u-1002", "254700000001")).error(),
            store_error::already_exists);
  EXPECT_EQ(directory().find_user("u-1002").error(), store_error::not_found);
  EXPECT_EQ(directory().find_user_by_msisdn("254700000001")->id, "u-1001");
}

TEST_F(DirectoryStore, PutsAndFindsTerminals) {
  terminal_record t{"t-kahawa-99", "m-kahawa", party_status::blocked};
  ASSERT_TRUE(directory().put_terminal(t).has_value());
  EXPECT_EQ(*directory().find_terminal("t-kahawa-99"), t);
  t.status = party_status::active;
  ASSERT_TRUE(directory().put_terminal(t).has_value());
  EXPECT_EQ(directory().find_terminal("t-kahawa-99")->status, party_status::active);
  EXPECT_EQ(directory().find_terminal("t-none").error(), store_error::not_found);
}

TEST_F(DirectoryStore, RejectsInvalidRecords) {
  const std::vector<merchant_record> bad_merchants = {
      merchant("", "500100"),         merchant("m-kahawa", ""),
      merchant("M-Kahawa", "500100"), merchant(std::string(65, 'm'), "500100"),
      merchant("m-kahawa", "50A100"), merchant("m-kahawa", std::string(17, '5'))};
  for (const auto& m : bad_merchants) {
    EXPECT_EQ(directory().put_merchant(m).error(), store_error::invalid_argument) << m.id;
  }
  auto bad_currency = merchant("m-kahawa", "500100");
  bad_currency.currency = "kes";
  EXPECT_EQ(directory().put_merchant(bad_currency).error(), store_error::invalid_argument);
  auto too_many = merchant("m-kahawa", "500100");
  too_many.disclosed_attributes.assign(33, "display_name");
  EXPECT_EQ(directory().put_merchant(too_many).error(), store_error::invalid_argument);

  EXPECT_EQ(directory().put_user(user("", "254700000001")).error(), store_error::invalid_argument);
  EXPECT_EQ(directory().put_user(user("u-1", "")).error(), store_error::invalid_argument);
  EXPECT_EQ(directory().put_user(user("u-1", "+254700000001")).error(),
            store_error::invalid_argument);
  EXPECT_EQ(directory().put_user(user("u-1", "2547000000011111")).error(),
            store_error::invalid_argument);
  auto long_value = user("u-1", "254700000001");
  long_value.attributes["delivery_address"] = std::string(1025, 'a');
  EXPECT_EQ(directory().put_user(long_value).error(), store_error::invalid_argument);
  auto bad_status = user("u-1", "254700000001");
  bad_status.status = static_cast<party_status>(0);
  EXPECT_EQ(directory().put_user(bad_status).error(), store_error::invalid_argument);

  EXPECT_EQ(directory().put_terminal({"", "m-kahawa", party_status::active}).error(),
            store_error::invalid_argument);
  EXPECT_EQ(directory().put_terminal({"t-1", "", party_status::active}).error(),
            store_error::invalid_argument);

  auto counts = directory().count();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->merchants + counts->users + counts->terminals, 0u);
  EXPECT_EQ(directory().find_merchant("").error(), store_error::invalid_argument);
  EXPECT_EQ(directory().find_user_by_msisdn("").error(), store_error::invalid_argument);
}

TEST_F(DirectoryStore, PutManyIsAllOrNothing) {
  ASSERT_TRUE(directory().put_merchant(merchant("m-kahawa", "500100")).has_value());
  std::vector<merchant_record> merchants = {merchant("m-a", "600001"), merchant("m-b", "600002")};
  std::vector<terminal_record> terminals = {{"t-a", "m-a", party_status::active}};
  std::vector<user_record> users = {user("u-1", "254700000001"),
                                    user("u-2", "254700000001")};  // msisdn twice
  EXPECT_EQ(directory().put_many(merchants, terminals, users).error(), store_error::already_exists);
  EXPECT_EQ(directory().find_merchant("m-a").error(), store_error::not_found);
  EXPECT_EQ(directory().find_terminal("t-a").error(), store_error::not_found);
  EXPECT_EQ(directory().find_user("u-1").error(), store_error::not_found);

  users.back().msisdn = "254700000002";
  ASSERT_TRUE(directory().put_many(merchants, terminals, users).has_value());
  auto counts = directory().count();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->merchants, 3u);
  EXPECT_EQ(counts->terminals, 1u);
  EXPECT_EQ(counts->users, 2u);
  EXPECT_EQ(directory().find_merchant_by_till("600002")->id, "m-b");
  std::vector<user_record> too_many(10'001, user("u-x", "254700000099"));
  EXPECT_EQ(directory().put_many({}, {}, too_many).error(), store_error::invalid_argument);
}

TEST_F(DirectoryStore, SurvivesAReopen) {
  ASSERT_TRUE(directory().put_merchant(merchant("m-kahawa", "500100")).has_value());
  ASSERT_TRUE(directory().put_user(user("u-1001", "254700000001")).has_value());
  ASSERT_TRUE(directory().put_terminal({"t-1", "m-kahawa", party_status::active}).has_value());
  reopen();
  EXPECT_EQ(directory().find_merchant_by_till("500100")->id, "m-kahawa");
  EXPECT_EQ(directory().find_user_by_msisdn("254700000001")->id, "u-1001");
  EXPECT_EQ(directory().find_terminal("t-1")->merchant_id, "m-kahawa");
  auto counts = directory().count();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->merchants, 1u);
  EXPECT_EQ(counts->terminals, 1u);
  EXPECT_EQ(counts->users, 1u);
}

}  // namespace
}  // namespace paysync::storage
