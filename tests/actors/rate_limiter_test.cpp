// Token buckets and per-address counters of the abuse limits, on explicit time.

#include "actors/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace paysync::actors {
namespace {

TEST(TokenBucket, AllowsABurstThenRefillsAtTheRate) {
  token_bucket b(rate_limit{60});  // one a second, bursts of 60
  std::int64_t now = 1'000'000;
  for (int i = 0; i < 60; ++i) ASSERT_EQ(b.take(now), 0) << i;
  EXPECT_EQ(b.take(now), 1000) << "the next token comes in a second";
  EXPECT_GT(b.take(now + 500), 0);
  EXPECT_EQ(b.take(now + 1000), 0);
  EXPECT_GT(b.take(now + 1000), 0);
  // A long pause refills to the burst, not beyond.
  now += 10 * 60'000;
  for (int i = 0; i < 60; ++i) ASSERT_EQ(b.take(now), 0) << i;
  EXPECT_GT(b.take(now), 0);
}

TEST(TokenBucket, ZeroMeansUnlimitedAndTimeGoingBackwardsGivesNothingAway) {
  token_bucket unlimited(rate_limit{0});
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(unlimited.take(0), 0);
  token_bucket b(rate_limit{2});
  EXPECT_EQ(b.take(100'000), 0);
  EXPECT_EQ(b.take(100'000), 0);
  EXPECT_GT(b.take(50'000), 0);
  EXPECT_GT(b.take(100'000), 0);
}

TEST(KeyedRateLimiter, KeysHaveTheirOwnBucketsAndTheTableStaysBounded) {
  keyed_rate_limiter limiter(rate_limit{2}, 3);
  const std::int64_t now = 5'000'000;
  EXPECT_EQ(limiter.take("254700000001", now), 0);
  EXPECT_EQ(limiter.take("254700000001", now), 0);
  EXPECT_GT(limiter.take("254700000001", now), 0);
  EXPECT_EQ(limiter.take("254700000002", now), 0);
  EXPECT_EQ(limiter.take("10.0.0.1", now), 0);
  // Full table, nothing idle: a fresh key is refused rather than stored.
  EXPECT_GT(limiter.take("10.0.0.2", now), 0);
  EXPECT_EQ(limiter.size(), 3u);
  // A minute later the idle buckets are forgotten and new keys fit.
  EXPECT_EQ(limiter.take("10.0.0.2", now + 60'000), 0);
  EXPECT_LE(limiter.size(), 3u);
}

TEST(AddressCounter, CapsOpenConnectionsPerAddressAndFreesOnRelease) {
  address_counter c(2);
  EXPECT_TRUE(c.acquire("10.0.0.1"));
  EXPECT_TRUE(c.acquire("10.0.0.1"));
  EXPECT_FALSE(c.acquire("10.0.0.1"));
  EXPECT_TRUE(c.acquire("10.0.0.2"));
  c.release("10.0.0.1");
  EXPECT_EQ(c.open("10.0.0.1"), 1u);
  EXPECT_TRUE(c.acquire("10.0.0.1"));
  c.release("10.0.0.9");  // unknown: ignored
  address_counter unlimited(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.acquire("10.0.0.1"));
}

}  // namespace
}  // namespace paysync::actors
