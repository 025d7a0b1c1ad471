#include "storage/record_codec.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace paysync::storage {
namespace {

merchant_record sample_merchant() {
  merchant_record m;
  m.id = "m-kahawa";
  m.name = "Kahawa Coffee House";
  m.till = "500100";
  m.city = "Nairobi";
  m.category = "cafe";
  m.account_id = "merchant:m-kahawa";
  m.currency = "KES";
  m.status = party_status::suspended;
  m.disclosed_attributes = {"display_name", "age_over_18"};
  return m;
}

user_record sample_user() {
  user_record u;
  u.id = "u-1001";
  u.msisdn = "254700000001";
  u.display_name = "Amina Wanjiru";
  u.account_id = "user:u-1001";
  u.currency = "KES";
  u.status = party_status::blocked;
  u.attributes = {{"age_over_18", "true"}, {"delivery_address", "Kenyatta Ave 12, Nairobi"}};
  return u;
}

posting_request sample_posting() {
  posting_request p;
  p.settlement_id = "s-42";
  p.debit_account = "merchant:m-kahawa";
  p.credit_account = "user:u-1001";
  p.amount_minor = 12345;
  p.currency = "KES";
  p.kind = entry_kind::refund;
  p.original_id = "s-41";
  p.time_unix_ms = 1'700'000'000'123;
  p.memo = std::string("receipt \0 77", 12);  // binary-safe
  return p;
}

TEST(RecordCodec, AccountRoundTripsWithExtremeBalances) {
  for (std::int64_t balance :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, INT64_MAX, INT64_MIN}) {
    account a{"system:float:KES", "KES", account_kind::system, balance, true};
    auto bytes = codec::encode_account(codec::to_state(a));
    EXPECT_EQ(bytes[0], static_cast<char>(codec::format_version));
    auto decoded = codec::decode_account(std::string_view(bytes.data(), bytes.size()));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(codec::to_account(a.id, *decoded), a);
  }
}

TEST(RecordCodec, AccountRejectsWrongSizeVersionKindAndFlags) {
  auto bytes = codec::encode_account(codec::to_state({"a", "KES", account_kind::user, 5, false}));
  std::string good(bytes.data(), bytes.size());
  ASSERT_TRUE(codec::decode_account(good).has_value());
  EXPECT_EQ(codec::decode_account(good.substr(0, 13)).error(), store_error::corrupt);
  EXPECT_EQ(codec::decode_account(good + "x").error(), store_error::corrupt);
  std::string bad = good;
  bad[0] = 2;  // unknown version
  EXPECT_EQ(codec::decode_account(bad).error(), store_error::corrupt);
  bad = good;
  bad[1] = 4;  // no such account_kind
  EXPECT_EQ(codec::decode_account(bad).error(), store_error::corrupt);
  bad = good;
  bad[2] = 2;  // unknown flag
  EXPECT_EQ(codec::decode_account(bad).error(), store_error::corrupt);
}

TEST(RecordCodec, PostingRoundTripsAndComparesContentWithoutTime) {
  posting_request p = sample_posting();
  std::string bytes;
  codec::encode_posting(p, bytes);
  EXPECT_EQ(bytes[0], static_cast<char>(codec::format_version));
  auto view = codec::decode_posting(bytes);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(codec::to_request(*view), p);
  EXPECT_TRUE(codec::same_content(*view, p));

  posting_request later = p;
  later.time_unix_ms += 60'000;
  EXPECT_TRUE(codec::same_content(*view, later));
  for (auto change : {+[](posting_request& q) { q.amount_minor += 1; },
                      +[](posting_request& q) { q.debit_account = "merchant:other"; },
                      +[](posting_request& q) { q.credit_account = "user:other"; },
                      +[](posting_request& q) { q.currency = "UGX"; },
                      +[](posting_request& q) { q.kind = entry_kind::payment; },
                      +[](posting_request& q) { q.original_id = "s-40"; },
                      +[](posting_request& q) { q.memo = "other"; }}) {
    posting_request changed = p;
    change(changed);
    EXPECT_FALSE(codec::same_content(*view, changed));
  }
}

TEST(RecordCodec, PostingKeepsExtremeIntegers) {
  posting_request p = sample_posting();
  p.amount_minor = INT64_MAX;
  p.time_unix_ms = INT64_MIN;
  std::string bytes;
  codec::encode_posting(p, bytes);
  auto view = codec::decode_posting(bytes);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->amount_minor, INT64_MAX);
  EXPECT_EQ(view->time_unix_ms, INT64_MIN);
}

TEST(RecordCodec, EncodingIsCompact) {
  std::string bytes;
  codec::encode_posting(sample_posting(), bytes);
  const auto& p = sample_posting();
  std::size_t text = p.settlement_id.size() + p.debit_account.size() + p.credit_account.size() +
                     p.currency.size() + p.original_id.size() + p.memo.size();
  // version + kind + amount (3 bytes) + time (6 bytes) + six one-byte lengths.
  EXPECT_EQ(bytes.size(), text + 2 + 3 + 6 + 6);
}

TEST(RecordCodec, MerchantTerminalAndUserRoundTrip) {
  std::string bytes;
  merchant_record m = sample_merchant();
  codec::encode_merchant(m, bytes);
  auto merchant = codec::decode_merchant(m.id, bytes);
  ASSERT_TRUE(merchant.has_value());
  EXPECT_EQ(*merchant, m);

  bytes.clear();
  terminal_record t{"t-kahawa-99", "m-kahawa", party_status::blocked};
  codec::encode_terminal(t, bytes);
  auto terminal = codec::decode_terminal(t.id, bytes);
  ASSERT_TRUE(terminal.has_value());
  EXPECT_EQ(*terminal, t);

  bytes.clear();
  user_record u = sample_user();
  codec::encode_user(u, bytes);
  auto user = codec::decode_user(u.id, bytes);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, u);
}

TEST(RecordCodec, OrderCentresRoundTripAndVersionOneTerminalsAreBilling) {
  std::string bytes;
  terminal_record centre{"oc-1", "", party_status::active, terminal_role::order_centre, "Centre"};
  codec::encode_terminal(centre, bytes);
  EXPECT_EQ(*codec::decode_terminal("oc-1", bytes), centre);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(codec::decode_terminal("oc-1", bytes.substr(0, n)).has_value()) << n;
  }
  auto bad_role = bytes;
  bad_role[4] = 7;  // version, status, "" (length 0), role
  EXPECT_EQ(codec::decode_terminal("oc-1", bad_role).error(), store_error::corrupt);
  // A record written before roles existed: version 1, status, merchant id.
  const std::string v1{'\x01', '\x01', '\x01', 'm'};
  auto old = codec::decode_terminal("t", v1);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->role, terminal_role::billing);
  EXPECT_EQ(old->merchant_id, "m");
  // Version 2: role and name, no key yet.
  const std::string v2{'\x02', '\x01', '\x00', '\x02', '\x01', 'C'};
  auto centre_v2 = codec::decode_terminal("oc", v2);
  ASSERT_TRUE(centre_v2.has_value());
  EXPECT_EQ(centre_v2->role, terminal_role::order_centre);
  EXPECT_EQ(centre_v2->name, "C");
  EXPECT_TRUE(centre_v2->public_key.empty());
}

TEST(RecordCodec, TerminalKeysRoundTrip) {
  terminal_record t{
      "t-1", "m-1", party_status::active, terminal_role::billing, "", std::string(32, '\x7f')};
  std::string bytes;
  codec::encode_terminal(t, bytes);
  EXPECT_EQ(*codec::decode_terminal("t-1", bytes), t);
}

TEST(RecordCodec, EveryTruncationOrExtensionIsCorrupt) {
  std::string user_bytes, merchant_bytes, posting_bytes;
  codec::encode_user(sample_user(), user_bytes);
  codec::encode_merchant(sample_merchant(), merchant_bytes);
  codec::encode_posting(sample_posting(), posting_bytes);
  for (std::size_t n = 0; n < user_bytes.size(); ++n) {
    EXPECT_FALSE(codec::decode_user("u", user_bytes.substr(0, n)).has_value()) << n;
  }
  for (std::size_t n = 0; n < merchant_bytes.size(); ++n) {
    EXPECT_FALSE(codec::decode_merchant("m", merchant_bytes.substr(0, n)).has_value()) << n;
  }
  for (std::size_t n = 0; n < posting_bytes.size(); ++n) {
    EXPECT_FALSE(codec::decode_posting(posting_bytes.substr(0, n)).has_value()) << n;
  }
  EXPECT_EQ(codec::decode_user("u", user_bytes + '\0').error(), store_error::corrupt);
  EXPECT_EQ(codec::decode_merchant("m", merchant_bytes + '\0').error(), store_error::corrupt);
  EXPECT_EQ(codec::decode_posting(posting_bytes + '\0').error(), store_error::corrupt);
}

TEST(RecordCodec, RejectsUnknownVersionsAndEnumValues) {
  std::string bytes;
  codec::encode_terminal({"t", "m", party_status::active}, bytes);
  std::string bad = bytes;
  bad[0] = 9;
  EXPECT_EQ(codec::decode_terminal("t", bad).error(), store_error::corrupt);
  bad = bytes;
  bad[1] = 0;  // no such party_status
  EXPECT_EQ(codec::decode_terminal("t", bad).error(), store_error::corrupt);

  std::string posting;
  codec::encode_posting(sample_posting(), posting);
  bad = posting;
  bad[1] = 7;  // no such entry_kind
  EXPECT_EQ(codec::decode_posting(bad).error(), store_error::corrupt);
}

TEST(RecordCodec, RejectsDuplicateAttributeNamesAndHugeCounts) {
  std::string bytes;
  codec::writer w(bytes);
  w.u8(codec::format_version);
  w.u8(static_cast<std::uint8_t>(party_status::active));
  w.str("254700000001");
  w.str("Amina");
  w.str("user:u-1001");
  w.str("KES");
  w.varint(2);
  w.str("age_over_18");
  w.str("true");
  w.str("age_over_18");
  w.str("false");
  EXPECT_EQ(codec::decode_user("u", bytes).error(), store_error::corrupt);

  std::string huge;
  codec::writer h(huge);
  h.u8(codec::format_version);
  h.u8(static_cast<std::uint8_t>(party_status::active));
  for (int i = 0; i < 6; ++i) h.str("x");
  h.varint(UINT64_MAX);  // a count no value could hold
  EXPECT_EQ(codec::decode_merchant("m", huge).error(), store_error::corrupt);
}

TEST(RecordCodec, VarintRejectsOverlongEncodings) {
  std::string bytes(11, '\xff');  // more than ten continuation bytes
  codec::reader r(bytes);
  (void)r.varint();
  EXPECT_FALSE(r.ok());
  std::string max;
  codec::writer(max).varint(UINT64_MAX);
  EXPECT_EQ(max.size(), 10u);
  codec::reader back(max);
  EXPECT_EQ(back.varint(), UINT64_MAX);
  EXPECT_TRUE(back.done());
}

}  // namespace
}  // namespace paysync::storage
