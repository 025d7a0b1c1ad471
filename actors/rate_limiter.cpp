#include "actors/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace paysync::actors {

std::int64_t token_bucket::take(std::int64_t now_unix_ms) {
  if (limit_.per_minute == 0) return 0;
  const double capacity = limit_.per_minute;
  const double per_ms = capacity / 60'000.0;
  if (last_ms_ >= 0 && now_unix_ms > last_ms_) {
    tokens_ = std::min(capacity, tokens_ + (now_unix_ms - last_ms_) * per_ms);
  }
  last_ms_ = std::max(last_ms_, now_unix_ms);
  constexpr double rounding = 1e-9;  // refills of exact fractions may land a hair short
  if (tokens_ >= 1.0 - rounding) {
    tokens_ = std::max(0.0, tokens_ - 1.0);
    return 0;
  }
  return static_cast<std::int64_t>(std::ceil((1.0 - tokens_) / per_ms));
}

std::int64_t keyed_rate_limiter::take(std::string_view key, std::int64_t now_unix_ms) {
  if (limit_.per_minute == 0) return 0;
  std::lock_guard lock{mutex_};
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) forget_full_buckets(now_unix_ms);
    if (buckets_.size() >= max_keys_) return 60'000 / limit_.per_minute + 1;
    it = buckets_.emplace(std::string(key), token_bucket(limit_)).first;
  }
  last_seen_[it->first] = now_unix_ms;
  return it->second.take(now_unix_ms);
}

void keyed_rate_limiter::forget_full_buckets(std::int64_t now_unix_ms) {
  // A full table is swept at most once a second: under a flood of fresh keys
  // every new key would otherwise pay for a scan of the whole table.
  if (last_sweep_ms_ >= 0 && now_unix_ms - last_sweep_ms_ < 1'000) return;
  last_sweep_ms_ = now_unix_ms;
  // A bucket unused for a minute has refilled completely.
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    if (now_unix_ms - it->second >= 60'000) {
      buckets_.erase(it->first);
      it = last_seen_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t keyed_rate_limiter::size() const {
  std::lock_guard lock{mutex_};
  return buckets_.size();
}

bool address_counter::acquire(const std::string& address) {
  std::lock_guard lock{mutex_};
  auto& n = open_[address];
  if (max_ != 0 && n >= max_) {
    return false;
  }
  ++n;
  return true;
}

void address_counter::release(const std::string& address) {
  std::lock_guard lock{mutex_};
  auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t address_counter::open(const std::string& address) const {
  std::lock_guard lock{mutex_};
  auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace paysync::actors
