#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

// Abuse limits (issue 7): token buckets and per-address connection counts.
// Time is passed in (unix ms from the switch's clock) so tests need no sleep.
namespace paysync::actors {

// `per_minute` events allowed on average, in bursts of up to `per_minute`.
// 0 means unlimited.
struct rate_limit {
  std::uint32_t per_minute = 0;
};

// One bucket; not thread-safe (one per connection, used on its strand).
class token_bucket {
 public:
  explicit token_bucket(rate_limit limit) : limit_(limit), tokens_(limit.per_minute) {}
  // Takes a token: 0 when allowed, else the milliseconds until one is available.
  std::int64_t take(std::int64_t now_unix_ms);

 private:
  rate_limit limit_;
  double tokens_;
  std::int64_t last_ms_ = -1;
};

// A bucket per key (phone number, source address), thread-safe. Memory is
// bounded: past `max_keys` keys, buckets that have refilled are forgotten
// (they are indistinguishable from new ones); when none has, the key is
// refused, so a flood of fresh keys cannot grow the table.
class keyed_rate_limiter {
 public:
  keyed_rate_limiter(rate_limit limit, std::size_t max_keys) : limit_(limit), max_keys_(max_keys) {}
  std::int64_t take(std::string_view key, std::int64_t now_unix_ms);
  std::size_t size() const;

 private:
  void forget_full_buckets(std::int64_t now_unix_ms);

  rate_limit limit_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, token_bucket> buckets_;
  std::unordered_map<std::string, std::int64_t> last_seen_;
  std::int64_t last_sweep_ms_ = -1;
};

// Open connections per source address, capped; thread-safe. 0 = unlimited.
class address_counter {
 public:
  explicit address_counter(std::size_t max_per_address) : max_(max_per_address) {}
  bool acquire(const std::string& address);
  void release(const std::string& address);
  std::size_t open(const std::string& address) const;

 private:
  std::size_t max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;
};

}  // namespace paysync::actors
