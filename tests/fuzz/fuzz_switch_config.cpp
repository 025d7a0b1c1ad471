// libFuzzer target: actors::parse_switch_config on a config file (`paysync
// serve --config <file>`, key = value lines), then what the switch parses
// from the result before it starts: trusted gateways and merchant rules.

#include <cstddef>
#include <cstdint>
#include <sstream>

#include "actors/auth_policy.hpp"
#include "actors/switch_config.hpp"
#include "protocols/trusted_gateway.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using paysync::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = paysync::fuzz::scratch_file(paysync::fuzz::text_of(data, size));
  const char* argv[] = {"serve", "--config", path.c_str()};
  paysync::actors::switch_config config;
  std::ostringstream out;
  const auto parsed = paysync::actors::parse_switch_config(3, argv, config, out);
  if (parsed && *parsed == paysync::actors::parse_outcome::run) {
    require(config.node_id <= 255, "node id 0-255");
    require(config.effective_shards() >= 1 && config.effective_shards() <= 255, "shards 1-255");
    require(config.ledger_batch_max >= 1 && config.ledger_batch_max <= 10'000,
            "ledger batch 1-10000");
    (void)paysync::protocols::trusted_gateways::parse(config.trusted_gateways);
    for (const auto& rule : config.auth_merchant_rules) {
      require(paysync::actors::parse_merchant_rule(rule).has_value(), "a rule was checked");
    }
    require(config.tls == "auto" || config.tls == "required" || config.tls == "off",
            "the TLS mode was checked");
    require(config.tls_cert.empty() == config.tls_key.empty(), "certificate and key go together");
    const auto url = config.effective_public_url(8443);
    require(!config.public_url.empty() ||
                url.rfind(config.tls_enabled() ? "https://" : "http://", 0) == 0,
            "links are https with TLS");
  }
  return 0;
}
