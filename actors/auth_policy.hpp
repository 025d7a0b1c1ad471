#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/factor_store.hpp"

namespace paysync::actors {

// How strongly a payment must be authenticated (claims 16-19).
enum class auth_level : std::uint8_t { none = 0, knowledge = 1, biometric = 2 };
std::string_view to_string(auth_level l) noexcept;

// Amount thresholds, in minor units: no challenge below `none_below`, a
// knowledge factor (or stronger) up to `knowledge_up_to`, a biometric above.
struct auth_thresholds {
  std::int64_t none_below_minor = 100'000;         // 1,000.00 in a 2-digit currency
  std::int64_t knowledge_up_to_minor = 1'000'000;  // 10,000.00
};

struct auth_policy {
  auth_thresholds defaults;
  // merchant id -> its own thresholds ("m-dawa:0:500000" in the config)
  std::vector<std::pair<std::string, auth_thresholds>> per_merchant;

  auth_level required(std::string_view merchant_id, std::int64_t amount_minor) const;
};

// Parses "merchant:none_below:knowledge_up_to"; nullopt when malformed.
std::optional<std::pair<std::string, auth_thresholds>> parse_merchant_rule(std::string_view rule);

// Whether a factor is strong enough for `level`: biometrics meet every level,
// knowledge factors meet `knowledge`.
bool meets(storage::factor_kind kind, auth_level level) noexcept;

// Picks one of `candidates` uniformly at random with libsodium's CSPRNG
// (claim 18: the challenge is chosen at random among the registered ones).
// REQUIRES: !candidates.empty().
const storage::factor_record& choose_at_random(
    const std::vector<const storage::factor_record*>& candidates);

}  // namespace paysync::actors
