#pragma once

// Latency samples and their summaries. A phase of bench_auth holds at most a
// few tens of thousands of samples per span, so every sample is kept and
// percentiles are exact (nearest rank); the histogram is a view of them in
// power-of-two buckets for printing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace paysync::bench::auth {

struct latency_summary {
  std::size_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
};

class latency_log {
 public:
  void record(std::int64_t ns) { ns_.push_back(ns < 0 ? 0 : ns); }
  void append(const latency_log& other);
  std::size_t count() const noexcept { return ns_.size(); }
  latency_summary summary() const;
  // Counts per bucket: [0, 0.125 ms), [0.125, 0.25), ... doubling, the last
  // bucket open-ended (see bucket_bounds_ms).
  std::vector<std::size_t> buckets() const;

 private:
  std::vector<std::int64_t> ns_;
};

// Upper bounds of the histogram buckets in ms (the last bucket has none).
const std::vector<double>& bucket_bounds_ms();

// The value at quantile q of `values` (nearest rank); 0 when empty.
double quantile(std::vector<double> values, double q);
// The median (the mean of the two middle values for an even count); 0 when
// empty.
double median(std::vector<double> values);

// "12.3" with `digits` decimals.
std::string fixed(double v, int digits);

}  // namespace paysync::bench::auth
