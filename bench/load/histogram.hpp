#pragma once

// A log-linear latency histogram in the manner of HdrHistogram: values (in
// nanoseconds) are counted in buckets whose width is 1/1024 of their
// magnitude, so every recorded value is known to within 0.1% and a histogram
// costs a fixed ~270 KB whatever it holds. Recording is O(1) and allocation
// free; histograms of several threads merge by adding counts.
//
// Why not a library: Debian ships no HdrHistogram for C++ (neither the C
// library nor a header-only port), and this one is 100 lines.
//
// Not thread-safe: one writer; merge() after the writers stopped.

#include <cstdint>
#include <vector>

namespace paysync::bench {

class histogram {
 public:
  // Values up to 2^40 ns (about 18 minutes); larger ones are clamped there.
  histogram();

  void record(std::uint64_t value_ns) noexcept;
  void merge(const histogram& other);
  void reset() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  double mean() const noexcept;
  // The value at quantile q (0..1): the highest value equivalent to the
  // bucket holding the ceil(q * count)-th smallest sample (HdrHistogram's
  // convention), capped at the exact maximum. 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

 private:
  static constexpr unsigned sub_bits = 11;  // 2048 sub-buckets: 1/1024 resolution
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
  static constexpr std::uint64_t half_count = sub_count / 2;
  static constexpr unsigned max_bits = 40;

  static std::size_t index_of(std::uint64_t v) noexcept;
  static std::uint64_t highest_of(std::size_t index) noexcept;

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  long double sum_ = 0;
};

}  // namespace paysync::bench
