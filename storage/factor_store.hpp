#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/environment.hpp"

namespace paysync::storage {

// The ways a payer can prove who they are (claims 16-19).
enum class factor_kind : std::uint8_t {
  pin = 1,
  password = 2,
  question = 3,  // a personal question and its answer
  face = 4,
  iris = 5,
  fingerprint = 6,
  voice = 7,
};
std::string_view to_string(factor_kind k) noexcept;
std::optional<factor_kind> parse_factor_kind(std::string_view name) noexcept;
inline bool is_biometric(factor_kind k) noexcept { return k >= factor_kind::face; }

// One registered factor of one user.
struct factor_record {
  std::string user_id;
  std::string factor_id;  // "f-<16 hex>", unique per user
  factor_kind kind = factor_kind::pin;
  std::string label;  // the question text for `question`; free text otherwise
  std::int64_t created_unix_ms = 0;
  bool revoked = false;
  std::uint16_t template_version = 0;  // biometrics: the matcher's template version
  // Knowledge factors: the Argon2id string of the peppered secret (one entry).
  // Biometrics: the sealed templates, one per enrolled sample.
  std::vector<std::string> secrets;
  friend bool operator==(const factor_record&, const factor_record&) = default;
};

// Failed attempts of one factor, for lockouts that grow with each lockout.
struct attempt_state {
  std::uint32_t failures = 0;  // since the last success or lockout
  std::uint32_t lockouts = 0;  // lockouts so far (never reset by time)
  std::int64_t locked_until_unix_ms = 0;
  friend bool operator==(const attempt_state&, const attempt_state&) = default;
};

struct lockout_policy {
  std::uint32_t max_failures = 3;            // failures in a row before a lockout
  std::int64_t first_lockout_ms = 60'000;    // doubled at every further lockout...
  std::int64_t max_lockout_ms = 86'400'000;  // ...up to a day
};

// Factors and their attempt counters, in the shared LMDB environment.
// Thread-safe; writes are rare (enrolment, failed attempts).
class factor_store {
 public:
  explicit factor_store(environment& env);

  // Inserts or replaces. invalid_argument on empty ids, more than 16
  // secrets, or a secret over 64 KiB.
  result<void> put(const factor_record& f);
  result<factor_record> find(std::string_view user_id, std::string_view factor_id) const;
  // Every factor of the user, revoked ones included, ordered by factor id.
  result<std::vector<factor_record>> list(std::string_view user_id) const;
  // not_found when there is no such factor.
  result<void> revoke(std::string_view user_id, std::string_view factor_id);

  result<attempt_state> attempts(std::string_view user_id, std::string_view factor_id) const;
  // One more failure; locks the factor when the policy says so. Returns the new state.
  result<attempt_state> record_failure(std::string_view user_id, std::string_view factor_id,
                                       std::int64_t now_unix_ms, const lockout_policy& policy);
  result<void> record_success(std::string_view user_id, std::string_view factor_id);

 private:
  environment& env_;
};

}  // namespace paysync::storage
