#pragma once

// What a bench_load run measured, and its three renderings: load.json (every
// figure), load.md (the summary tables) and, when the run had open loops,
// load.svg (throughput and latency percentiles against offered load).

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/load_driver.hpp"
#include "bench/load/process.hpp"

namespace paysync::bench {

// Frames one settlement exchanges on the wire, both directions (hello and
// welcome, once per terminal, are not counted):
//   flow A: open, opened, join, merchant, confirm_merchant, ack, synchronized,
//           amount, ack, amount event, confirm_amount, receipt, settled = 13
//   flow B: pay_merchant, opened event, merchant, confirm_merchant, ack,
//           synchronized, amount, ack, amount event, confirm_amount, receipt,
//           settled = 12
inline constexpr unsigned frames_per_settlement_flow_a = 13;
inline constexpr unsigned frames_per_settlement_flow_b = 12;
// An echo round trip is two frames: the client's and the server's copy.
inline constexpr unsigned frames_per_echo_round_trip = 2;

struct phase_record {
  std::string kind;          // "echo", "closed" or "open"
  double offered_per_s = 0;  // open loop: the target rate
  unsigned connections = 0;  // client connections during the phase
  phase_stats stats;
  bool have_switch = false;                 // the switch's /proc readings below are valid
  proc_sample switch_before;                // at the opening of the measured window
  proc_sample switch_after;                 // at its close
  double generator_cpu_s = 0;               // bench_load's own CPU in the window (clients only)
  double echo_server_cpu_s = 0;             // echo: the server thread's CPU in the window
  host_cpu_sample host_before, host_after;  // the whole machine, over the same window
  // The switch's /metrics text at the window's opening and close, when it has one.
  std::string metrics_before, metrics_after;

  double settled_per_s() const;
  double round_trips_per_s() const;
  double frames_per_settlement() const;  // the exact count, weighted by flow shares
};

struct round_record {
  unsigned index = 0;
  std::optional<phase_record> echo, closed, open;
  // settled/s x frames per settlement / (echo round trips/s x 2), closed loop:
  // the figure. On a shared machine it also carries whatever the
  // neighbours took from one phase and not the other.
  std::optional<double> ceiling_ratio() const;
  // The same ratio from CPU time instead of wall-clock rates, so that it does
  // not depend on how much CPU the neighbours left each phase: frames per CPU
  // second of switch + generator over frames per CPU second of echo server +
  // the same clients.
  std::optional<double> cpu_ceiling_ratio() const;
  // Server side only: the echo server's CPU per frame over the switch's.
  std::optional<double> server_cpu_ratio() const;
};

struct idle_record {
  std::uint64_t requested_billing = 0, requested_handsets = 0;
  connect_summary opened;
  unsigned processes = 1;
  std::vector<std::string> source_addresses;
  proc_sample switch_before, switch_after_open, switch_after_hold;
  std::uint64_t switch_fd_limit = 0;
  double hold_s = 0;
  idle_status after_hold;
  std::uint64_t generator_rss_delta_kb = 0;  // all generator processes
  std::string note;
};

struct run_record {
  boost::json::object config;
  std::string mode;
  std::string switch_command;
  std::string ready_line;
  long switch_pid = 0;
  proc_sample switch_start, switch_end;
  std::uint64_t switch_fd_limit = 0;
  std::vector<round_record> rounds;
  std::vector<phase_record> sweep;
  std::optional<idle_record> idle;
  std::string metrics_source;  // the URL read, or why none was
  std::string metrics_before, metrics_after;
  std::vector<std::string> notes;
  std::string started_at;
  double load_average_at_start = 0;
};

boost::json::object phase_json(const phase_record& p);
// Whether write_reports draws load.svg: it does for any open loop (a sweep, or
// the open loop of each round).
bool writes_plot(const run_record& run);
// Writes load.json and load.md (and load.svg when writes_plot) into `out_dir`;
// returns the markdown summary, which main also prints.
std::string write_reports(const run_record& run, const std::string& out_dir);

}  // namespace paysync::bench
