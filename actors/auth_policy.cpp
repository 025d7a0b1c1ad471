#include "actors/auth_policy.hpp"

#include <sodium.h>

#include <cassert>
#include <charconv>

namespace paysync::actors {

std::string_view to_string(auth_level l) noexcept {
  switch (l) {
    case auth_level::none:
      return "none";
    case auth_level::knowledge:
      return "knowledge";
    case auth_level::biometric:
      return "biometric";
  }
  return "unknown";
}

auth_level auth_policy::required(std::string_view merchant_id, std::int64_t amount_minor) const {
  const auth_thresholds* t = &defaults;
  for (const auto& [id, rule] : per_merchant) {
    if (id == merchant_id) t = &rule;
  }
  if (amount_minor < t->none_below_minor) return auth_level::none;
  if (amount_minor <= t->knowledge_up_to_minor) return auth_level::knowledge;
  return auth_level::biometric;
}

std::optional<std::pair<std::string, auth_thresholds>> parse_merchant_rule(std::string_view rule) {
  const auto a = rule.find(':');
  const auto b = a == std::string_view::npos ? a : rule.find(':', a + 1);
  if (a == 0 || b == std::string_view::npos) return std::nullopt;
  auth_thresholds t;
  auto number = [](std::string_view s, std::int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0;
  };
  if (!number(rule.substr(a + 1, b - a - 1), t.none_below_minor) ||
      !number(rule.substr(b + 1), t.knowledge_up_to_minor) ||
      t.knowledge_up_to_minor + 1 < t.none_below_minor) {
    return std::nullopt;
  }
  return std::pair{std::string(rule.substr(0, a)), t};
}

bool meets(storage::factor_kind kind, auth_level level) noexcept {
  if (level == auth_level::none) return true;
  if (storage::is_biometric(kind)) return true;
  return level == auth_level::knowledge;
}

const storage::factor_record& choose_at_random(
    const std::vector<const storage::factor_record*>& candidates) {
  assert(!candidates.empty());
  return *candidates[randombytes_uniform(static_cast<std::uint32_t>(candidates.size()))];
}

}  // namespace paysync::actors
