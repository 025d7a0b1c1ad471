// libFuzzer target: protocols::parse_link_path and serve_link_page, the HTTP
// request target a phone's browser sends to the paying port.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "protocols/link_page.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace p = paysync::protocols;
using paysync::fuzz::require;

namespace {

bool all_of_set(std::string_view s, std::string_view allowed_extra, bool upper, bool lower) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (lower && c >= 'a' && c <= 'z') ||
           (upper && c >= 'A' && c <= 'Z') || allowed_extra.find(c) != std::string_view::npos;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto target = paysync::fuzz::text_of(data, size);
  if (const auto path = p::parse_link_path(target)) {
    if (!path->till.empty()) {
      require(path->merchant.empty() && path->token.empty(), "a till path has only a till");
      require(path->till.size() <= 16 && all_of_set(path->till, "", false, false),
              "a till is 1-16 digits");
    } else {
      require(!path->merchant.empty() && path->merchant.size() <= 64 &&
                  all_of_set(path->merchant, "_-", true, true),
              "a merchant is 1-64 of [A-Za-z0-9_-]");
      require(!path->token.empty() && path->token.size() <= 64 &&
                  all_of_set(path->token, "", false, true),
              "a token is 1-64 of [0-9a-z]");
    }
  }
  p::peer_request request;
  request.method = size % 2 ? "GET" : "POST";
  request.target = std::string(target);
  request.remote_address = "192.0.2.1";
  if (const auto answer = p::serve_link_page(request)) {
    require(answer->status == 200 || answer->status == 405, "the page answers 200 or 405");
  }
  return 0;
}
