#include "protocols/txn_ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace paysync::protocols {

TEST(TxnIds, CarryTheirRouteAndKind) {
  auto id = make_id(id_kind::transaction, {7, 200});
  ASSERT_EQ(id.size(), id_length);
  EXPECT_EQ(id.substr(0, 6), "tx07c8");
  auto route = parse_id(id_kind::transaction, id);
  ASSERT_TRUE(route);
  EXPECT_EQ(*route, (txn_route{7, 200}));
  EXPECT_FALSE(parse_id(id_kind::link_token, id)) << "a txn id is not a link token";
  auto token = make_id(id_kind::link_token, {0, 1});
  EXPECT_EQ(token.substr(0, 2), "lk");
  EXPECT_TRUE(parse_id(id_kind::link_token, token));
}

TEST(TxnIds, AreUniqueAndUseTheWholeRandomSpace) {
  std::set<std::string> seen;
  std::set<char> first_chars;
  for (int i = 0; i < 20000; ++i) {
    auto id = make_id(id_kind::transaction, {0, 0});
    EXPECT_TRUE(seen.insert(id).second);
    first_chars.insert(id[6]);
  }
  // 128 bits in 26 base32 digits: the leading digit spans 0..7.
  EXPECT_EQ(first_chars.size(), 8u);
}

TEST(TxnIds, RejectMalformedIds) {
  auto id = make_id(id_kind::transaction, {0, 3});
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
