#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocols/wire_error.hpp"

namespace paysync::actors {

// A latency or size histogram with fixed buckets, cumulative on output as
// Prometheus expects. Lock-free; any thread may observe.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  explicit histogram(double scale = 1.0) : scale_(scale) {}
  void observe(double value) noexcept;
  // Prometheus text lines for `name` (with `help`).
  void render(std::string& out, const char* name, const char* help) const;

 private:
  double scale_;  // bucket bounds are multiplied by this (1 = seconds; 10000 = batch sizes)
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};  // sum in millionths of the unit
};

// Every figure the switch exposes on its operator port (GET /metrics), as
// atomics that the actors update where things happen.
struct switch_metrics {
  std::atomic<std::int64_t> billing_connections{0}, paying_connections{0}, centre_connections{0};
  std::atomic<std::int64_t> open_transactions{0};
  std::atomic<std::uint64_t> transactions_opened{0}, settlements{0}, refunds{0};
  // Errors and refusals sent to terminals, by stable code.
  std::array<std::atomic<std::uint64_t>, 64> refusals{};
  std::atomic<std::uint64_t> ledger_commits{0}, ledger_postings{0};
  histogram ledger_commit_seconds;
  histogram ledger_batch_size{10'000.0};
  histogram settle_seconds;  // confirm_amount received -> outcome known (ledger included)
  std::atomic<std::int64_t> biometric_queue_depth{0};
  // Upgrades refused because the source address had too many connections open.
  std::atomic<std::uint64_t> connections_refused_per_address{0};

  // Cluster membership (docs/cluster.md), by peer node id; only configured
  // peers are rendered. Written by node_directory.
  std::array<std::atomic<bool>, 256> cluster_peer_configured{};
  std::array<std::atomic<bool>, 256> cluster_peer_up{};
  std::atomic<std::uint64_t> cluster_peer_downs{0};  // up -> down transitions seen

  void refused(protocols::wire_error code) noexcept {
    refusals[static_cast<std::size_t>(code) % refusals.size()].fetch_add(1,
                                                                         std::memory_order_relaxed);
  }
  // The Prometheus text exposition (version 0.0.4).
  std::string render() const;
};

}  // namespace paysync::actors
