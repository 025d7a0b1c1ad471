#include "protocols/link_page.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace paysync::protocols {
namespace {

const std::string link_target = "/pay/m-kahawa/lk000106qc08xfcmz2p3885jb4d3kt6x";

peer_request get(std::string target, std::string method = "GET") {
  peer_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.remote_address = "127.0.0.1";
  return r;
}

std::string header_of(const http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

void expect_security_headers(const http_response& r) {
  const auto csp = header_of(r, "Content-Security-Policy");
  EXPECT_EQ(csp.rfind("default-src 'self'; connect-src 'self' ws: wss:", 0), 0u) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
}

TEST(LinkPage, ServesThePageForALink) {
  auto page = serve_link_page(get(link_target));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page->body.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page->body.find("<body data-state=\"connecting\">"), std::string::npos);
  expect_security_headers(*page);
}

TEST(LinkPage, IgnoresTheQueryString) {
  auto page = serve_link_page(get(link_target + "?utm_source=sms#top"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
}

TEST(LinkPage, ServesHeadAndRefusesOtherMethods) {
  auto head = serve_link_page(get(link_target, "HEAD"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200u);
  auto post = serve_link_page(get(link_target, "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405u);
  EXPECT_EQ(header_of(*post, "Allow"), "GET, HEAD");
}

TEST(LinkPage, ServesEveryAssetThePageReferences) {
  auto page = serve_link_page(get(link_target));
  ASSERT_TRUE(page);
  // Every src= and href= in the page, resolved against /pay/<merchant>/<token>.
  const std::regex reference(R"re((?:src|href)="([^"]+)")re");
  int count = 0;
  for (std::sregex_iterator it(page->body.begin(), page->body.end(), reference), end; it != end;
       ++it) {
    const std::string url = (*it)[1];
    ASSERT_EQ(url.rfind("../assets/", 0), 0u) << "not a local asset: " << url;
    auto asset = serve_link_page(get("/pay/assets/" + url.substr(10)));
    ASSERT_TRUE(asset) << url;
    EXPECT_EQ(asset->status, 200u) << url;
    EXPECT_FALSE(asset->body.empty()) << url;
    expect_security_headers(*asset);
    ++count;
  }
  EXPECT_GE(count, 3);
  EXPECT_EQ(serve_link_page(get("/pay/assets/pay.js"))->content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(serve_link_page(get("/pay/assets/pay.css"))->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(serve_link_page(get("/pay/assets/icon.svg"))->content_type, "image/svg+xml");
}

TEST(LinkPage, ThePageNeedsNothingTheContentSecurityPolicyForbids) {
  const auto html = serve_link_page(get(link_target))->body;
  const auto js = serve_link_page(get("/pay/assets/pay.js"))->body;
  // No inline handlers, inline scripts or style attributes; no other origin.
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(<script(?![^>]*\ssrc=)[^>]*>)")));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)")));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(js.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js.find("eval("), std::string::npos);
  // Each state the page can be in has its screen.
  for (const char* state : {"connecting", "merchant", "waiting-amount", "catalogue", "amount",
                            "paying", "auth", "receipt", "cancelled", "expired", "failed", "error",
                            "disconnected"}) {
    EXPECT_NE(html.find(std::string("data-screen=\"") + state + "\""), std::string::npos) << state;
  }
}

TEST(LinkPage, ParsesTheLinkPath) {
  auto path = parse_link_path(link_target + "?x=1");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->merchant, "m-kahawa");
  EXPECT_EQ(path->token, "lk000106qc08xfcmz2p3885jb4d3kt6x");
}

TEST(LinkPage, ParsesTillPaths) {
  // Flow B: /pay/till/<till>, 1-16 digits, sets only the till.
  for (const std::string till : {"5", "500100", "0000001", "1234567890123456"}) {
    auto path = parse_link_path("/pay/till/" + till);
    ASSERT_TRUE(path) << till;
    EXPECT_EQ(path->till, till);
    EXPECT_EQ(path->merchant, "");
    EXPECT_EQ(path->token, "");
  }
  auto with_query = parse_link_path("/pay/till/500100?src=sticker#x");
  ASSERT_TRUE(with_query);
  EXPECT_EQ(with_query->till, "500100");
  // A link path sets no till.
  EXPECT_EQ(parse_link_path(link_target)->till, "");
}

TEST(LinkPage, ServesThePageForATill) {
  auto page = serve_link_page(get("/pay/till/500100"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
  EXPECT_EQ(page->body, serve_link_page(get(link_target))->body);
  expect_security_headers(*page);
  auto head = serve_link_page(get("/pay/till/500100", "HEAD"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200u);
  auto post = serve_link_page(get("/pay/till/500100", "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405u);
}

TEST(LinkPage, ATillOfSeventeenDigitsOrMoreIsNotFound) {
  for (const std::string& till :
       {std::string("12345678901234567"), std::string(64, '9'), std::string(65, '9')}) {
    EXPECT_FALSE(parse_link_path("/pay/till/" + till)) << till;
    EXPECT_FALSE(serve_link_page(get("/pay/till/" + till))) << till;
  }
  for (const std::string target : {"/pay/till", "/pay/till/", "/pay/till/500100/",
                                    "/pay/till/500100/x", "/pay/till/+500100", "/pay/till/5001%30"}) {
    EXPECT_FALSE(serve_link_page(get(target))) << target;
  }
}

TEST(LinkPage, AMerchantNamedTillKeepsItsLinks) {
  // No link token is all digits: a token with any other character is a link
  // of the merchant whose id is "till", at any length a token may have.
  for (const std::string& token : {std::string("lk000106qc08xfcmz2p3885jb4d3kt6x"),
                                  std::string("500100a"), std::string("a"),
                                  "1234567890123456789" + std::string("z")}) {
    auto path = parse_link_path("/pay/till/" + token);
    ASSERT_TRUE(path) << token;
    EXPECT_EQ(path->merchant, "till");
    EXPECT_EQ(path->token, token);
    EXPECT_EQ(path->till, "");
    auto page = serve_link_page(get("/pay/till/" + token));
    ASSERT_TRUE(page) << token;
    EXPECT_EQ(page->status, 200u);
  }
  // "Till" in another case is just another merchant id, digits or not.
  auto other = parse_link_path("/pay/Till/500100");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->merchant, "Till");
  EXPECT_EQ(other->token, "500100");
  EXPECT_EQ(other->till, "");
}

TEST(LinkPage, AssetPathsAreNeverLinks) {
  // The page's files live under /pay/assets/, so no merchant id "assets" has
  // links: an unknown file is a 404 and never a page that gets the cookie.
  EXPECT_FALSE(parse_link_path("/pay/assets/lk000106qc08xfcmz2p3885jb4d3kt6x"));
  EXPECT_FALSE(parse_link_path("/pay/assets/icon"));
  EXPECT_FALSE(serve_link_page(get("/pay/assets/lk000106qc08xfcmz2p3885jb4d3kt6x")));
  auto other = parse_link_path("/pay/assets-shop/lk0001");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->merchant, "assets-shop");
}

TEST(LinkPage, AnswersNothingForOtherPaths) {
  for (const std::string& target : std::vector<std::string>{
           "/", "/healthz", "/ws", "/pay", "/pay/", "/pay/m-kahawa", "/pay/m-kahawa/",
           "/pay//lk0001", "/pay/m-kahawa/lk0001/extra", "/pay/m kahawa/lk0001",
           "/pay/m-kahawa/LK0001", "/pay/m-kahawa/lk0001.js", "/pay/m%2Fx/lk0001",
           "/pay/assets/missing.js", "/pay/assets/", "/pay/assets/../pay.js", "/payx/m/lk",
           "/pay/" + std::string(65, 'm') + "/lk0001", "/pay/m-kahawa/" + std::string(65, 'a')}) {
    EXPECT_FALSE(serve_link_page(get(target))) << target;
  }
}

}  // namespace
}  // namespace paysync::protocols
