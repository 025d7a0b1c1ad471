// libFuzzer target: who a handset is (protocols/handset_identity.hpp,
// trusted_gateway.hpp): the MSISDN header, the identity cookie, the peer
// address, and the trusted-gateway list of the config.
//
// Input: lines "<peer address>\n<X-MSISDN value>\n<Cookie value>\n<network>\n<network>...".

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocols/handset_identity.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace p = paysync::protocols;
using paysync::fuzz::require;

namespace {

constexpr std::int64_t now_ms = 1'795'000'000'000;

bool is_number(std::string_view s) {
  return s.size() >= 8 && s.size() <= 15 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const p::handset_identity& identity() {
  static const auto* id = [] {
    require(sodium_init() >= 0, "sodium_init");
    spdlog::set_level(spdlog::level::off);  // a warning per untrusted header otherwise
    auto gateways = p::trusted_gateways::parse({"127.0.0.1/32", "::1/128", "10.20.0.0/16"});
    require(gateways.has_value(), "the fixed gateways parse");
    std::array<std::uint8_t, p::handset_identity::key_bytes> key{};
    key.fill(7);
    return new p::handset_identity(*gateways, key);
  }();
  return *id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = paysync::fuzz::text_of(data, size);
  std::vector<std::string> lines;
  while (!text.empty() || lines.size() < 3) {
    const auto nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }

  p::peer_request request;
  request.method = "GET";
  request.target = "/ws";
  request.remote_address = lines[0];
  request.headers["x-msisdn"] = lines[1];
  request.headers["cookie"] = lines[2];

  const auto& id = identity();
  const auto number = id.msisdn_of(request, now_ms);
  require(number.empty() || is_number(number), "msisdn_of gives \"\" or 8-15 digits");
  const auto from_gateway = id.gateway_msisdn(request);
  require(from_gateway.empty() || is_number(from_gateway), "gateway_msisdn gives 8-15 digits");

  const auto normalized = p::normalize_msisdn(lines[1]);
  require(normalized.empty() || is_number(normalized), "normalize_msisdn gives 8-15 digits");
  (void)p::mask_msisdn(lines[1]);
  if (!normalized.empty()) {
    // A cookie the switch issued names the number again, from any peer.
    const auto set_cookie = id.issue_cookie(normalized, now_ms);
    p::peer_request upgrade;
    upgrade.remote_address = "192.0.2.1";
    upgrade.headers["cookie"] = lines[2] + "; " + set_cookie.substr(0, set_cookie.find(';'));
    const auto again = id.msisdn_of(upgrade, now_ms);
    require(is_number(again), "an issued cookie is honoured");
  }

  const std::vector<std::string> networks(lines.begin() + 3, lines.end());
  if (auto parsed = p::trusted_gateways::parse(networks)) {
    (void)parsed->contains(lines[0]);
  }
  return 0;
}
