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
  for (const char* state : {"connecting", "merchant", "waiting-amount", "amount", "paying",
                            "receipt", "cancelled", "expired", "failed", "error", "disconnected"}) {
    EXPECT_NE(html.find(std::string("data-screen=\"") + state + "\""), std::string::npos) << state;
  }
}

TEST(LinkPage, ParsesTheLinkPath) {
  auto path = parse_link_path(link_target + "?x=1");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->merchant, "m-kahawa");
  EXPECT_EQ(path->token, "lk000106qc08xfcmz2p3885jb4d3kt6x");
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
