#include "protocols/txn_ids.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace paysync::protocols {

constexpr std::int64_t some_time_ms = 1'796'000'000'000;  // 2026-11-30

TEST(TxnIds, CarryTheirRouteAndKind) {
  auto id = make_transaction_id({7, 200}, some_time_ms);
  ASSERT_EQ(id.size(), id_length);
  EXPECT_EQ(id.substr(0, 6), "tx07c8");
  auto route = parse_id(id_kind::transaction, id);
  ASSERT_TRUE(route);
  EXPECT_EQ(*route, (txn_route{7, 200}));
  EXPECT_FALSE(parse_id(id_kind::link_token, id)) << "a txn id is not a link token";
  auto token = make_link_token({0, 1});
  EXPECT_EQ(token.substr(0, 2), "lk");
  EXPECT_TRUE(parse_id(id_kind::link_token, token));
  EXPECT_FALSE(parse_id(id_kind::transaction, token));
}

// Which of the 26 value characters (after "tx" + node + shard) take which
// symbols over many ids.
std::vector<std::set<char>> symbols_by_position(const std::vector<std::string>& ids) {
  std::vector<std::set<char>> out(26);
  for (const auto& id : ids) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i].insert(id[6 + i]);
  }
  return out;
}

TEST(TxnIds, LinkTokensAreUniqueAndUseTheWhole128BitSpace) {
  std::set<std::string> seen;
  std::vector<std::string> tokens;
  for (int i = 0; i < 20000; ++i) {
    tokens.push_back(make_link_token({0, 0}));
    EXPECT_TRUE(seen.insert(tokens.back()).second);
  }
  auto symbols = symbols_by_position(tokens);
  // 128 bits in 26 base32 digits: the leading digit spans 0..7, the others all 32.
  EXPECT_EQ(symbols[0].size(), 8u);
  for (std::size_t i = 1; i < symbols.size(); ++i) EXPECT_EQ(symbols[i].size(), 32u) << i;
}

TEST(TxnIds, TransactionIdsWithinOneMillisecondDifferOnlyIn80RandomBits) {
  std::set<std::string> seen;
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) {
    ids.push_back(make_transaction_id({0, 0}, some_time_ms));
    EXPECT_TRUE(seen.insert(ids.back()).second);
  }
  auto symbols = symbols_by_position(ids);
  // The 26 digits hold 130 bits: the first 10 are 2 zero bits and the 48
  // bits of the time, the last 16 the 80 random bits, each spanning the
  // whole alphabet.
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(symbols[i].size(), 1u) << i;
  for (std::size_t i = 10; i < symbols.size(); ++i) EXPECT_EQ(symbols[i].size(), 32u) << i;
}

TEST(TxnIds, TransactionIdsMadeLaterSortLater) {
  // Each later millisecond, whatever the random bits, gives a larger id, so
  // the ledger's index by id grows at one edge.
  std::string previous = make_transaction_id({1, 2}, 0);
  for (std::int64_t ms : {std::int64_t{1}, std::int64_t{31}, std::int64_t{32}, some_time_ms,
                          some_time_ms + 1, some_time_ms + 1'000, (std::int64_t{1} << 48) - 1}) {
    for (int draw = 0; draw < 50; ++draw) {
      auto id = make_transaction_id({1, 2}, ms);
      EXPECT_LT(previous, id) << ms;
      EXPECT_TRUE(parse_id(id_kind::transaction, id)) << id;
    }
    previous = make_transaction_id({1, 2}, ms);
  }
}

TEST(TxnIds, TransactionIdTimesOutsideFortyEightBitsAreClamped) {
  auto before_epoch = make_transaction_id({0, 0}, -5);
  EXPECT_EQ(before_epoch.substr(6, 10), "0000000000");
  auto far_future = make_transaction_id({0, 0}, std::int64_t{1} << 60);
  auto latest = make_transaction_id({0, 0}, (std::int64_t{1} << 48) - 1);
  EXPECT_EQ(far_future.substr(0, 15), latest.substr(0, 15));
  EXPECT_TRUE(parse_id(id_kind::transaction, far_future));
}

TEST(TxnIds, RejectMalformedIds) {
  auto id = make_transaction_id({0, 3}, some_time_ms);
  EXPECT_FALSE(parse_id(id_kind::transaction, id.substr(1)));
  EXPECT_FALSE(parse_id(id_kind::transaction, id + "0"));
  auto upper = id;
  upper[10] = 'Z';
  EXPECT_FALSE(parse_id(id_kind::transaction, upper));
  auto bad_hex = id;
  bad_hex[3] = 'g';
  EXPECT_FALSE(parse_id(id_kind::transaction, bad_hex));
  auto non_canonical = id;
  non_canonical[6] = 'z';  // would need 130 bits
  EXPECT_FALSE(parse_id(id_kind::transaction, non_canonical));
  auto excluded_letter = id;
  excluded_letter[12] = 'u';  // Crockford base32 has no 'u'
  EXPECT_FALSE(parse_id(id_kind::transaction, excluded_letter));
  EXPECT_FALSE(parse_id(id_kind::transaction, ""));
}

TEST(TxnIds, CodesMapToTheirShard) {
  for (std::uint16_t shards : {1, 2, 7, 16, 1000}) {
    for (std::uint16_t shard = 0; shard < shards; shard += (shards > 20 ? 97 : 1)) {
      for (int i = 0; i < 50; ++i) {
        auto code = make_code(shard, shards);
        ASSERT_EQ(code.size(), code_length);
        auto found = shard_of_code(code, shards);
        ASSERT_TRUE(found);
        EXPECT_EQ(*found, shard) << code;
      }
    }
  }
}

TEST(TxnIds, CodesSpreadOverTheirSpace) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(make_code(1, 4));
  EXPECT_GT(seen.size(), 990u) << "a 250,000-code space should rarely repeat in 1,000 draws";
  EXPECT_FALSE(shard_of_code("12345", 4));
  EXPECT_FALSE(shard_of_code("12a456", 4));
}

}  // namespace paysync::protocols
