#include "protocols/handset_identity.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace paysync::protocols {
namespace {

constexpr std::int64_t now_ms = 1'795'000'000'000;  // 2026-11-18
constexpr std::string_view number = "254700000001";

class HandsetIdentity : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }

  static trusted_gateways loopback() {
    auto parsed = trusted_gateways::parse({"127.0.0.1/32", "::1/128", "10.20.0.0/16"});
    EXPECT_TRUE(parsed);
    return *parsed;
  }

  static peer_request request_from(std::string address) {
    peer_request r;
    r.method = "GET";
    r.target = "/ws";
    r.remote_address = std::move(address);
    return r;
  }

  // "paysync_msisdn=<value>" from a Set-Cookie value.
  static std::string cookie_pair(const std::string& set_cookie) {
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  std::array<std::uint8_t, handset_identity::key_bytes> key_ = handset_identity::random_key();
};

TEST_F(HandsetIdentity, HonoursTheHeaderFromATrustedGateway) {
  handset_identity identity(loopback(), key_);
  auto r = request_from("127.0.0.1");
  r.headers["x-msisdn"] = "+254 700-000001";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
  EXPECT_EQ(identity.gateway_msisdn(r), number);
  r.remote_address = "10.20.3.4";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
  r.remote_address = "::1";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
}

TEST_F(HandsetIdentity, IgnoresTheHeaderFromAnUntrustedPeer) {
  handset_identity identity(loopback(), key_);
  auto r = request_from("192.0.2.7");
  r.headers["x-msisdn"] = std::string(number);
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "");
  EXPECT_EQ(identity.gateway_msisdn(r), "");
  r.remote_address = "127.0.0.2";  // outside 127.0.0.1/32
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "");
}

TEST_F(HandsetIdentity, IgnoresAMalformedNumberEvenFromATrustedGateway) {
  handset_identity identity(loopback(), key_);
  auto r = request_from("127.0.0.1");
  r.headers["x-msisdn"] = "2547000x0001";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "");
  r.headers["x-msisdn"] = "1234567";  // too short
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "");
}

TEST_F(HandsetIdentity, UsesTheConfiguredHeaderNameInAnyCase) {
  handset_identity identity(loopback(), key_, "X-Caller-Number");
  auto r = request_from("127.0.0.1");
  r.headers["x-msisdn"] = std::string(number);
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "");
  r.headers["x-caller-number"] = std::string(number);
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
}

TEST_F(HandsetIdentity, IssuesAStrictHttpOnlyCookieForFifteenMinutes) {
  handset_identity identity(loopback(), key_);
  const auto set_cookie = identity.issue_cookie(number, now_ms);
  const std::string prefix =
      "paysync_msisdn=254700000001." + std::to_string(now_ms / 1000 + 900) + ".";
  ASSERT_EQ(set_cookie.substr(0, prefix.size()), prefix) << set_cookie;
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Path=/"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Max-Age=900"), std::string::npos);
  // The MAC: 32 bytes in unpadded base64url.
  const auto pair = cookie_pair(set_cookie);
  const auto mac = pair.substr(pair.rfind('.') + 1);
  EXPECT_EQ(mac.size(), 43u);
  EXPECT_EQ(
      mac.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST_F(HandsetIdentity, TheCookieIsSecureOnlyWhenThePageCameOverTls) {
  handset_identity identity(loopback(), key_);
  EXPECT_EQ(identity.issue_cookie(number, now_ms).find("Secure"), std::string::npos);
  const auto secure = identity.issue_cookie(number, now_ms, true);
  EXPECT_EQ(secure.substr(secure.size() - 8), "; Secure") << secure;
  // The same value either way: Secure changes where the browser sends it, not what.
  EXPECT_EQ(cookie_pair(secure), cookie_pair(identity.issue_cookie(number, now_ms)));
}

TEST_F(HandsetIdentity, IssuesNothingForANumberThatIsNotNormalised) {
  handset_identity identity(loopback(), key_);
  EXPECT_EQ(identity.issue_cookie("+254 700 000001", now_ms), "");
  EXPECT_EQ(identity.issue_cookie("", now_ms), "");
  EXPECT_EQ(identity.issue_cookie("2547;0000001", now_ms), "");
}

TEST_F(HandsetIdentity, AValidCookieIdentifiesAPeerWithoutTheHeader) {
  handset_identity identity(loopback(), key_);
  const auto cookie = cookie_pair(identity.issue_cookie(number, now_ms));
  // From anywhere: the cookie, not the address, carries the trust.
  for (const char* address : {"127.0.0.1", "192.0.2.7", "2001:db8::1"}) {
    auto r = request_from(address);
    r.headers["cookie"] = cookie;
    EXPECT_EQ(identity.msisdn_of(r, now_ms + 60'000), number) << address;
  }
}

TEST_F(HandsetIdentity, FindsTheCookieAmongOthers) {
  handset_identity identity(loopback(), key_);
  const auto cookie = cookie_pair(identity.issue_cookie(number, now_ms));
  auto r = request_from("192.0.2.7");
  r.headers["cookie"] = "theme=dark; " + cookie + "; lang=sw";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
  // Repeated Cookie headers arrive joined with ", ".
  r.headers["cookie"] = "theme=dark, " + cookie;
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
  // A forged one first does not hide the valid one after it.
  r.headers["cookie"] = "paysync_msisdn=254711111111.9999999999.AAAA; " + cookie;
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
}

TEST_F(HandsetIdentity, IgnoresAnExpiredCookie) {
  handset_identity identity(loopback(), key_);
  const auto cookie = cookie_pair(identity.issue_cookie(number, now_ms));
  auto r = request_from("192.0.2.7");
  r.headers["cookie"] = cookie;
  EXPECT_EQ(identity.msisdn_of(r, now_ms + 899'000), number);
  EXPECT_EQ(identity.msisdn_of(r, now_ms + 900'000), "");
  EXPECT_EQ(identity.msisdn_of(r, now_ms + 86'400'000), "");
}

TEST_F(HandsetIdentity, IgnoresACookieValidForLongerThanEverIssued) {
  handset_identity identity(loopback(), key_);
  const auto cookie = cookie_pair(identity.issue_cookie(number, now_ms));
  auto r = request_from("192.0.2.7");
  r.headers["cookie"] = cookie;
  // Seen two hours before it was issued: the clock went back.
  EXPECT_EQ(identity.msisdn_of(r, now_ms - 7'200'000), "");
}

TEST_F(HandsetIdentity, IgnoresForgedAndAlteredCookies) {
  handset_identity identity(loopback(), key_);
  const auto cookie = cookie_pair(identity.issue_cookie(number, now_ms));
  const auto value = cookie.substr(cookie.find('=') + 1);
  const auto dot1 = value.find('.');
  const auto dot2 = value.find('.', dot1 + 1);
  const auto expiry = value.substr(dot1 + 1, dot2 - dot1 - 1);
  const auto mac = value.substr(dot2 + 1);

  std::string flipped_mac = mac;
  flipped_mac[5] = flipped_mac[5] == 'A' ? 'B' : 'A';
  const std::string later_expiry = std::to_string(std::stoll(expiry) + 600);

  const std::vector<std::string> forged = {
      "paysync_msisdn=254700000002." + expiry + "." + mac,        // another number
      "paysync_msisdn=254700000001." + later_expiry + "." + mac,  // a later expiry
      "paysync_msisdn=254700000001." + expiry + "." + flipped_mac,
      "paysync_msisdn=254700000001." + expiry + "." + mac.substr(0, 42),
      "paysync_msisdn=254700000001." + expiry + "." + mac + "=",
      "paysync_msisdn=254700000001." + expiry + "." + mac + "A",
      "paysync_msisdn=254700000001." + expiry,
      "paysync_msisdn=254700000001",
      "paysync_msisdn=",
      "paysync_msisdn=+254700000001." + expiry + "." + mac,
      "paysync_msisdn=254700000001.-" + expiry + "." + mac,
      "Paysync_msisdn=" + value,
      "other=" + value,
  };
  for (const auto& c : forged) {
    auto r = request_from("192.0.2.7");
    r.headers["cookie"] = c;
    EXPECT_EQ(identity.msisdn_of(r, now_ms), "") << c;
  }
}

TEST_F(HandsetIdentity, IgnoresACookieMadeWithAnotherKey) {
  handset_identity issuer(loopback(), key_);
  const auto other_key = handset_identity::random_key();
  ASSERT_NE(other_key, key_);
  handset_identity verifier(loopback(), other_key);
  auto r = request_from("192.0.2.7");
  r.headers["cookie"] = cookie_pair(issuer.issue_cookie(number, now_ms));
  EXPECT_EQ(verifier.msisdn_of(r, now_ms), "");
  EXPECT_EQ(issuer.msisdn_of(r, now_ms), number);
}

TEST_F(HandsetIdentity, TheTrustedHeaderWinsOverTheCookie) {
  handset_identity identity(loopback(), key_);
  auto r = request_from("127.0.0.1");
  r.headers["cookie"] = cookie_pair(identity.issue_cookie("254799999999", now_ms));
  r.headers["x-msisdn"] = std::string(number);
  EXPECT_EQ(identity.msisdn_of(r, now_ms), number);
  // An untrusted peer's header does not; its valid cookie does.
  r.remote_address = "192.0.2.7";
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "254799999999");
  // A trusted gateway that sent no number: the cookie.
  r.remote_address = "127.0.0.1";
  r.headers.erase("x-msisdn");
  EXPECT_EQ(identity.msisdn_of(r, now_ms), "254799999999");
}

}  // namespace
}  // namespace paysync::protocols
