// Which factor a payment needs, and the random choice among the payer's
// registered ones (claims 17, 18).

#include "actors/auth_policy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace paysync::actors {
namespace {

TEST(AuthPolicy, ThresholdsByAmountAndMerchant) {
  auth_policy p;
  p.defaults = {100, 1000};
  p.per_merchant.push_back(*parse_merchant_rule("m-dawa:0:500"));
  EXPECT_EQ(p.required("m-kahawa", 99), auth_level::none);
  EXPECT_EQ(p.required("m-kahawa", 100), auth_level::knowledge);
  EXPECT_EQ(p.required("m-kahawa", 1000), auth_level::knowledge);
  EXPECT_EQ(p.required("m-kahawa", 1001), auth_level::biometric);
  EXPECT_EQ(p.required("m-dawa", 1), auth_level::knowledge) << "a pharmacy always asks";
  EXPECT_EQ(p.required("m-dawa", 501), auth_level::biometric);
  EXPECT_FALSE(parse_merchant_rule("m-dawa:1"));
  EXPECT_FALSE(parse_merchant_rule(":1:2"));
  EXPECT_FALSE(parse_merchant_rule("m:x:2"));
  EXPECT_FALSE(parse_merchant_rule("m:10:2")) << "knowledge_up_to below none_below";
}

TEST(AuthPolicy, BiometricsMeetEveryLevelKnowledgeOnlyItsOwn) {
  EXPECT_TRUE(meets(storage::factor_kind::pin, auth_level::knowledge));
  EXPECT_FALSE(meets(storage::factor_kind::question, auth_level::biometric));
  EXPECT_TRUE(meets(storage::factor_kind::face, auth_level::knowledge));
  EXPECT_TRUE(meets(storage::factor_kind::voice, auth_level::biometric));
}

TEST(AuthPolicy, TheRandomChoiceCoversEveryRegisteredFactor) {
  std::vector<storage::factor_record> factors(3);
  factors[0].factor_id = "pin";
  factors[1].factor_id = "question-1";
  factors[2].factor_id = "question-2";
  std::vector<const storage::factor_record*> candidates;
  for (const auto& f : factors) candidates.push_back(&f);
  std::map<std::string, int> seen;
  constexpr int draws = 3000;
  for (int i = 0; i < draws; ++i) ++seen[choose_at_random(candidates).factor_id];
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [id, n] : seen) {
    // Each expected 1000 times; 800..1200 holds with overwhelming probability.
    EXPECT_GT(n, 800) << id;
    EXPECT_LT(n, 1200) << id;
  }
}

}  // namespace
}  // namespace paysync::actors
