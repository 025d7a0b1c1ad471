#include "bench/load/histogram.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace paysync::bench {

namespace {
constexpr std::uint64_t max_value = (std::uint64_t{1} << 40) - 1;
}

histogram::histogram() : counts_(index_of(max_value) + 1, 0) {}

// Values below 2048 have their own slot; above, a value with its highest set
// bit at position b (b >= 11) falls in bucket b - 10, whose 1024 slots each
// cover 2^(b-10) consecutive values.
std::size_t histogram::index_of(std::uint64_t v) noexcept {
  const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v | (sub_count - 1)));
  const unsigned shift = msb - (sub_bits - 1);
  return static_cast<std::size_t>(shift * half_count + (v >> shift));
}

std::uint64_t histogram::highest_of(std::size_t index) noexcept {
  if (index < sub_count) return index;
  const std::uint64_t shift = index / half_count - 1;
  const std::uint64_t sub = index - shift * half_count;
  return ((sub + 1) << shift) - 1;
}

void histogram::record(std::uint64_t value_ns) noexcept {
  const std::uint64_t v = std::min(value_ns, max_value);
  ++counts_[index_of(v)];
  ++total_;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
  sum_ += static_cast<long double>(v);
}

void histogram::merge(const histogram& other) {
  assert(counts_.size() == other.counts_.size());
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
  sum_ += other.sum_;
}

void histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  max_ = 0;
  min_ = UINT64_MAX;
  sum_ = 0;
}

double histogram::mean() const noexcept {
  return total_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(total_));
}

std::uint64_t histogram::percentile(double q) const noexcept {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_of(i), max_);
  }
  return max_;
}

}  // namespace paysync::bench
