#include "actors/metrics.hpp"

#include <cstdio>

namespace paysync::actors {
namespace {

void line(std::string& out, const char* name, const char* labels, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  out += name;
  out += labels;
  out.push_back(' ');
  out += buf;
  out.push_back('\n');
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  out += help;
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

template <class Atomic>
void metric(std::string& out, const char* name, const char* type, const char* help,
            const Atomic& value) {
  header(out, name, type, help);
  line(out, name, "", static_cast<double>(value.load(std::memory_order_relaxed)));
}

}  // namespace

void histogram::observe(double value) noexcept {
  std::size_t i = 0;
  while (i < bounds.size() && value > bounds[i] * scale_) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out, const char* name, const char* help) const {
  header(out, name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    char label[48];
    if (i < bounds.size()) {
      std::snprintf(label, sizeof(label), "{le=\"%g\"}", bounds[i] * scale_);
    } else {
      std::snprintf(label, sizeof(label), "{le=\"+Inf\"}");
    }
    line(out, bucket.c_str(), label, static_cast<double>(cumulative));
  }
  line(out, (std::string(name) + "_sum").c_str(), "",
       static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6);
  line(out, (std::string(name) + "_count").c_str(), "",
       static_cast<double>(count_.load(std::memory_order_relaxed)));
}

std::string switch_metrics::render() const {
  std::string out;
  out.reserve(8192);
  header(out, "paysync_connected_terminals", "gauge", "Open connections, by side.");
  line(out, "paysync_connected_terminals", "{side=\"billing\"}",
       static_cast<double>(billing_connections.load()));
  line(out, "paysync_connected_terminals", "{side=\"paying\"}",
       static_cast<double>(paying_connections.load()));
  line(out, "paysync_connected_terminals", "{side=\"order_centre\"}",
       static_cast<double>(centre_connections.load()));
  metric(out, "paysync_open_transactions", "gauge",
         "Transactions opened and not yet closed (settled, cancelled, expired, failed).",
         open_transactions);
  metric(out, "paysync_transactions_opened_total", "counter", "Transactions opened.",
         transactions_opened);
  metric(out, "paysync_settlements_total", "counter", "Payments settled durably.", settlements);
  metric(out, "paysync_refunds_total", "counter", "Refunds committed.", refunds);
  header(out, "paysync_refusals_total", "counter",
         "Errors and refusals sent to terminals, by stable code (docs/protocol.md).");
  for (std::size_t i = 0; i < refusals.size(); ++i) {
    const auto n = refusals[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    const auto code = protocols::to_code(static_cast<protocols::wire_error>(i));
    line(out, "paysync_refusals_total", ("{reason=\"" + std::string(code) + "\"}").c_str(),
         static_cast<double>(n));
  }
  header(out, "paysync_connections_refused_total", "counter",
         "WebSocket upgrades refused with HTTP 503, by reason.");
  line(out, "paysync_connections_refused_total", "{reason=\"per_address\"}",
       static_cast<double>(connections_refused_per_address.load(std::memory_order_relaxed)));
  metric(out, "paysync_ledger_commits_total", "counter", "Durable ledger commits (fsync).",
         ledger_commits);
  metric(out, "paysync_ledger_postings_total", "counter", "Postings committed.", ledger_postings);
  ledger_commit_seconds.render(out, "paysync_ledger_commit_seconds",
                               "Time of one group commit, fsync included.");
  ledger_batch_size.render(out, "paysync_ledger_batch_size", "Postings per group commit.");
  settle_seconds.render(out, "paysync_settle_seconds",
                        "From the payer's final confirmation to the ledger's answer.");
  header(out, "paysync_cluster_peer_up", "gauge",
         "1 while the peer node is connected over CAF remoting, 0 while it is not.");
  for (std::size_t i = 0; i < cluster_peer_up.size(); ++i) {
    if (!cluster_peer_configured[i].load(std::memory_order_relaxed)) continue;
    line(out, "paysync_cluster_peer_up", ("{peer=\"" + std::to_string(i) + "\"}").c_str(),
         cluster_peer_up[i].load(std::memory_order_relaxed) ? 1.0 : 0.0);
  }
  metric(out, "paysync_cluster_peer_downs_total", "counter",
         "Times a peer node was seen going down.", cluster_peer_downs);
  metric(out, "paysync_biometric_queue_depth", "gauge", "Biometric checks queued or running.",
         biometric_queue_depth);
  return out;
}

}  // namespace paysync::actors
