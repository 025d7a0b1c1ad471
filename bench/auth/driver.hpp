#pragma once

// Part 2 of bench_auth: the clients. One io_context on one thread drives
//  - PIN payments: flow A at a knowledge-factor merchant, open loop at a fixed
//    rate from one billing terminal over a pool of handsets of one payer; the
//    handset answers the auth_challenge with the payer's PIN (or the answer
//    to the question, when the switch picks that knowledge factor);
//  - biometric payers, switched on and off: each runs flow A at a
//    biometric-factor merchant back to back and answers every face challenge
//    with the same image, resending it after `busy`, so that the switch's
//    biometric pool stays saturated.
// Billing terminals sign their hello (docs/protocol.md, section 3).
// Everything speaks docs/protocol.md (sections 4, 6, 14).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bench/auth/stats.hpp"

namespace paysync::bench::auth {

struct driver_config {
  std::string host = "127.0.0.1";
  std::uint16_t billing_port = 0, paying_port = 0;
  // PIN payments.
  std::string pin_terminal = "t-dawa-01";
  std::string pin_key_file;      // the terminal's secret key (signs its hello)
  std::string pin_msisdn;        // the payer
  std::size_t pin_handsets = 8;  // connections of that payer
  double pin_rate = 20;          // payments per second, open loop
  std::int64_t pin_amount = 1;
  // Answers by factor: "pin", "password", or the question's text.
  std::map<std::string, std::string> answers;
  // Biometric payments.
  std::string bio_terminal = "t-mboga-01";
  std::string bio_key_file;
  std::string bio_msisdn;
  std::size_t bio_handsets = 24;
  std::int64_t bio_amount = 1;
  std::shared_ptr<const std::string> face;   // the sample every biometric payer sends
  std::chrono::milliseconds bio_retry{100};  // wait after `busy` before sending again
  std::chrono::milliseconds payment_timeout{15000};
};

// What happened during one measured window. A PIN payment's latencies belong
// to the window it was meant to start in; a count to the window it happened in.
struct phase_record {
  latency_log pin_start_receipt;    // intended start (open loop) -> receipt
  latency_log pin_confirm_receipt;  // confirm_amount sent -> receipt (challenge, check, ledger)
  latency_log pin_answer_ack;       // auth_answer sent -> ack (the knowledge check alone)
  latency_log open_opened;          // billing: open -> opened
  latency_log schedule_lag;         // actual - intended start
  latency_log bio_sample_verdict;   // a sample the pool took -> its verdict (ack or mismatch)
  std::uint64_t pin_started = 0, pin_completed = 0, pin_handset_waits = 0;
  std::map<std::string, std::uint64_t> pin_factors;  // challenges by factor
  std::uint64_t bio_samples_sent = 0, bio_busy = 0, bio_accepted = 0, bio_mismatch = 0;
  std::uint64_t bio_refused = 0, bio_payments = 0;
  std::map<std::string, std::uint64_t> errors;  // "<pin|bio>:<what>/<code>"
  double window_s = 0;
};

class driver {
 public:
  explicit driver(driver_config config);
  ~driver();
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;

  // Connects every client (billing terminals identify themselves), then
  // starts the PIN payments. False (with `error`) when something did not
  // connect in time.
  bool start(std::chrono::milliseconds timeout, std::string& error);
  // Biometric payers run (true) or park at their next step (false).
  void set_biometric_load(bool on);
  // Samples and counts go to `record` from now until end_window().
  void begin_window(std::shared_ptr<phase_record> record);
  void end_window();
  // A copy of `record`, taken on the driver's thread.
  phase_record snapshot(const std::shared_ptr<phase_record>& record);
  // PIN payments meant to start in `record`'s window still waiting for their end.
  std::size_t pin_in_flight(const std::shared_ptr<phase_record>& record);
  // Closes every connection and stops the thread.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace paysync::bench::auth
