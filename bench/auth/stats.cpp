#include "bench/auth/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace paysync::bench::auth {
namespace {

template <class T>
T nearest_rank(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return T{};
  const auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

}  // namespace

void latency_log::append(const latency_log& other) {
  ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end());
}

latency_summary latency_log::summary() const {
  latency_summary s;
  s.count = ns_.size();
  if (ns_.empty()) return s;
  auto sorted = ns_;
  std::sort(sorted.begin(), sorted.end());
  const auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  s.p50_ms = ms(nearest_rank(sorted, 0.50));
  s.p90_ms = ms(nearest_rank(sorted, 0.90));
  s.p99_ms = ms(nearest_rank(sorted, 0.99));
  s.p999_ms = ms(nearest_rank(sorted, 0.999));
  s.max_ms = ms(sorted.back());
  const long double sum = std::accumulate(sorted.begin(), sorted.end(), 0.0L);
  s.mean_ms = static_cast<double>(sum / static_cast<long double>(sorted.size()) / 1e6L);
  return s;
}

const std::vector<double>& bucket_bounds_ms() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b;
    for (double v = 0.125; v <= 512; v *= 2) b.push_back(v);
    return b;
  }();
  return bounds;
}

std::vector<std::size_t> latency_log::buckets() const {
  const auto& bounds = bucket_bounds_ms();
  std::vector<std::size_t> counts(bounds.size() + 1, 0);
  for (auto ns : ns_) {
    const double ms = static_cast<double>(ns) / 1e6;
    const auto it = std::upper_bound(bounds.begin(), bounds.end(), ms);
    ++counts[static_cast<std::size_t>(it - bounds.begin())];
  }
  return counts;
}

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return nearest_rank(values, q);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace paysync::bench::auth
