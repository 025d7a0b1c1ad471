#pragma once

// The load generator proper: billing terminals and handsets speaking
// docs/protocol.md over ws_client_conn, on one io_context run by one or more
// threads. The work is split into lanes, one per thread, each on its own
// strand and owning its terminals, handsets, payments and statistics, so that
// lanes never share state and need no locks; figures are merged at the end.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/histogram.hpp"

namespace paysync::bench {

struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

struct driver_config {
  endpoint billing;
  endpoint paying;
  unsigned threads = 1;     // lanes; the io_context is run by as many threads
  unsigned terminals = 64;  // billing terminals t-load-<first_terminal + k>
  unsigned handsets = 64;   // handset connections, a pool shared by the lane's terminals
  std::uint64_t first_terminal = 0;
  std::uint64_t users = 100000;  // payers u-load-<first_user .. first_user + users - 1>
  std::uint64_t first_user = 0;
  // A handset reconnects as the next payer after this many payments (0: never),
  // so that no payer accumulates history in the switch's velocity window.
  unsigned payments_per_payer = 10;
  double flow_b_fraction = 0;  // share of payments that start with pay_merchant
  std::int64_t amount_minor = 100;
  std::string currency = "KES";
  std::string msisdn_header = "X-MSISDN";
  std::vector<std::string> source_addresses;  // round-robin; empty: the kernel's choice
  std::chrono::milliseconds payment_timeout{10000};
  std::chrono::milliseconds connect_timeout{15000};
  unsigned max_connecting_per_lane = 64;  // connects in flight per lane
};

// Latency spans, each from the moment its first message was (or, open loop,
// should have been) sent to the arrival of the awaited message.
enum span_id : unsigned {
  span_open_opened = 0,  // billing open -> opened (open loop: from the intended time)
  span_join_merchant,    // handset join -> merchant
  span_pay_merchant,     // handset pay_merchant -> merchant (flow B)
  span_cm_synchronized,  // handset confirm_merchant -> billing synchronized
  span_ca_receipt,       // handset confirm_amount -> handset receipt
  span_total_settled,    // start (intended) -> billing settled
  span_schedule_lag,     // open loop: actual open send - intended send
  span_echo_round_trip,  // echo ceiling: send -> echo
  span_count
};
const char* span_name(span_id s) noexcept;

struct phase_stats {
  double seconds = 0;  // length of the measured window
  std::uint64_t started = 0;
  std::uint64_t settled = 0;  // `settled` events received in the window
  std::uint64_t settled_flow_a = 0;
  std::uint64_t settled_flow_b = 0;
  std::uint64_t receipts = 0;
  std::uint64_t echo_round_trips = 0;
  std::map<std::string, std::uint64_t> errors;  // "<request or event>/<code>"
  std::uint64_t frames_out = 0, frames_in = 0, bytes_out = 0, bytes_in = 0;
  std::uint64_t handset_waits = 0;  // payments that found no free handset
  std::uint64_t max_waiting = 0;    // longest queue of payments waiting for a handset
  std::uint64_t payer_reconnects = 0;
  std::uint64_t stray_frames = 0;  // for payments already abandoned
  std::uint64_t in_flight_at_end = 0;
  std::uint64_t overloaded_skips = 0;  // open loop: every terminal at its open limit
  std::array<histogram, span_count> spans;

  void merge(const phase_stats& other);
};

struct connect_summary {
  std::uint64_t billing_ready = 0, billing_failed = 0;
  std::uint64_t handsets_ready = 0, handsets_failed = 0;
  std::uint64_t echo_ready = 0, echo_failed = 0;
  std::map<std::string, std::uint64_t> failures;  // reason -> count
  double seconds = 0;
};

struct idle_status {
  std::uint64_t billing_open = 0, handsets_open = 0, closed = 0;
  std::map<std::string, std::uint64_t> closes;  // reason -> count
};

// Called on the calling thread right after the measured window opens and
// right after it closes (to read /proc and the clocks at the same moments).
struct window_hooks {
  std::function<void()> opened;
  std::function<void()> closed;
};

class load_driver {
 public:
  explicit load_driver(driver_config config);
  ~load_driver();
  load_driver(const load_driver&) = delete;
  load_driver& operator=(const load_driver&) = delete;

  const driver_config& config() const noexcept { return config_; }

  // Connects config().terminals billing terminals (each says hello) and
  // config().handsets handsets; waits until all are ready or failed.
  connect_summary connect_terminals(std::chrono::seconds timeout);

  // One measured phase of payments. rate_per_s == 0: closed loop (every
  // terminal runs one payment at a time, back to back); otherwise open loop
  // at that many payments per second, latency counted from each payment's
  // intended start. Payments start at once; the window opens after `warmup`
  // and lasts `measure`; then no new payment starts and the in-flight ones
  // get up to `drain` to finish.
  phase_stats run_payments(double rate_per_s, std::chrono::milliseconds warmup,
                           std::chrono::milliseconds measure, std::chrono::milliseconds drain,
                           const window_hooks& hooks = {});

  // The ceiling: `connections` clients of the echo server at `port`, each
  // sending a `frame_bytes` text frame and waiting for it to come back.
  connect_summary connect_echo(std::uint16_t port, unsigned connections, std::size_t frame_bytes,
                               std::chrono::seconds timeout);
  phase_stats run_echo(std::chrono::milliseconds warmup, std::chrono::milliseconds measure,
                       const window_hooks& hooks = {});
  // Forgets the echo clients (call after the echo server closed them).
  void drop_echo();

  // Concurrency: opens `billing` idle terminals (hello, nothing else) and
  // `handsets` idle handsets, at most config().max_connecting_per_lane
  // connects in flight per lane; returns when every one is ready or failed.
  connect_summary open_idle(std::uint64_t billing, std::uint64_t handsets,
                            std::chrono::seconds timeout);
  idle_status idle_state();

  // Closes every connection at once (after the switch was stopped, this only
  // frees the sockets).
  void abort_all();

  // The next payer for a handset (lanes share one sequence).
  std::uint64_t next_user() noexcept { return user_counter_.fetch_add(1); }

 private:
  class lane;
  driver_config config_;
  std::atomic<std::uint64_t> user_counter_{0};
  struct impl;
  std::unique_ptr<impl> impl_;
  friend class lane;
};

}  // namespace paysync::bench
