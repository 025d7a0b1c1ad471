#include "bench/load/load_driver.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "bench/load/frame_scan.hpp"
#include "bench/load/ws_net.hpp"

namespace paysync::bench {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

const char* span_name(span_id s) noexcept {
  switch (s) {
    case span_open_opened:
      return "open->opened";
    case span_join_merchant:
      return "join->merchant";
    case span_pay_merchant:
      return "pay_merchant->merchant";
    case span_cm_synchronized:
      return "confirm_merchant->synchronized";
    case span_ca_receipt:
      return "confirm_amount->receipt";
    case span_total_settled:
      return "start->settled";
    case span_schedule_lag:
      return "schedule_lag";
    case span_echo_round_trip:
      return "echo_round_trip";
    case span_count:
      break;
  }
  return "?";
}

void phase_stats::merge(const phase_stats& o) {
  seconds = std::max(seconds, o.seconds);
  started += o.started;
  settled += o.settled;
  settled_flow_a += o.settled_flow_a;
  settled_flow_b += o.settled_flow_b;
  receipts += o.receipts;
  echo_round_trips += o.echo_round_trips;
  for (const auto& [k, v] : o.errors) errors[k] += v;
  frames_out += o.frames_out;
  frames_in += o.frames_in;
  bytes_out += o.bytes_out;
  bytes_in += o.bytes_in;
  handset_waits += o.handset_waits;
  max_waiting = std::max(max_waiting, o.max_waiting);
  payer_reconnects += o.payer_reconnects;
  stray_frames += o.stray_frames;
  in_flight_at_end += o.in_flight_at_end;
  overloaded_skips += o.overloaded_skips;
  for (unsigned i = 0; i < span_count; ++i) spans[i].merge(o.spans[i]);
}

namespace {

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
          .count());
}

clock_type::time_point to_time_point(std::uint64_t ns) {
  return clock_type::time_point(
      std::chrono::duration_cast<clock_type::duration>(std::chrono::nanoseconds(ns)));
}

// prefix + n in five digits: t-load-00042, 600042, 254710000042.
std::string numbered(std::string_view prefix, std::uint64_t n) {
  char buffer[24];
  const int digits =
      std::snprintf(buffer, sizeof buffer, "%05llu", static_cast<unsigned long long>(n));
  std::string out;
  out.reserve(prefix.size() + static_cast<std::size_t>(digits));
  out.append(prefix);
  out.append(buffer, static_cast<std::size_t>(digits));
  return out;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// A request's ref: one letter naming the request, then the payment id.
std::string make_ref(char step, std::uint64_t id) {
  std::string ref(1, step);
  ref += std::to_string(id);
  return ref;
}

bool parse_ref(std::string_view ref, char& step, std::uint64_t& id) {
  if (ref.size() < 2) return false;
  step = ref[0];
  id = 0;
  for (std::size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] < '0' || ref[i] > '9') return false;
    id = id * 10 + static_cast<std::uint64_t>(ref[i] - '0');
  }
  return true;
}

const char* step_name(char step) noexcept {
  switch (step) {
    case 'h':
      return "hello";
    case 'o':
      return "open";
    case 'j':
      return "join";
    case 'p':
      return "pay_merchant";
    case 'm':
      return "confirm_merchant";
    case 'a':
      return "amount";
    case 'c':
      return "confirm_amount";
    case 'x':
      return "cancel";
    default:
      return "unknown";
  }
}

std::string join_key(std::string_view a, std::string_view b) {
  std::string key(a);
  key += '/';
  key += b.empty() ? std::string_view("-") : b;
  return key;
}

constexpr unsigned max_open_per_terminal = 900;  // the switch allows 1,000 by default

}  // namespace

struct load_driver::impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::vector<std::unique_ptr<lane>> lanes;
  std::vector<std::thread> threads;
};

class load_driver::lane {
 public:
  struct payment;

  struct billing_term final : ws_events {
    lane* owner = nullptr;
    std::shared_ptr<ws_client_conn> conn;
    std::string id, till;
    bool ready = false, dead = false, initial = true, idle = false;
    unsigned active = 0;
    void on_open(bool ok, std::string_view error) override {
      owner->billing_open(*this, ok, error);
    }
    void on_text(std::string_view frame) override { owner->billing_frame(*this, frame); }
    void on_closed(std::string_view why) override { owner->billing_closed(*this, why); }
  };

  struct handset final : ws_events {
    lane* owner = nullptr;
    std::shared_ptr<ws_client_conn> conn;
    std::string msisdn;
    payment* current = nullptr;
    unsigned payments = 0;
    bool ready = false, dead = false, initial = true, idle = false;
    void on_open(bool ok, std::string_view error) override {
      owner->handset_open(*this, ok, error);
    }
    void on_text(std::string_view frame) override { owner->handset_frame(*this, frame); }
    void on_closed(std::string_view why) override { owner->handset_closed(*this, why); }
  };

  struct echo_client final : ws_events {
    lane* owner = nullptr;
    std::shared_ptr<ws_client_conn> conn;
    std::uint64_t sent_ns = 0;
    bool ready = false;
    void on_open(bool ok, std::string_view error) override { owner->echo_open(*this, ok, error); }
    void on_text(std::string_view frame) override { owner->echo_frame(*this, frame); }
    void on_closed(std::string_view) override { ready = false; }
  };

  struct payment {
    std::uint64_t id = 0;
    bool flow_b = false;
    billing_term* term = nullptr;
    handset* hs = nullptr;
    std::string txn;
    std::uint64_t intended_ns = 0, step_ns = 0, cm_ns = 0, ca_ns = 0;
    char step = 'o';              // the last request sent
    bool waiting = false;         // queued for a free handset
    bool hs_engaged = false;      // the handset sent join / pay_merchant
    bool hs_closed = false;       // the handset's part ended (receipt, failed, cancelled)
    bool billing_closed = false;  // the billing side heard the end
    bool got_receipt = false, got_settled = false;
  };

  lane(load_driver& driver, net::io_context& io, unsigned index)
      : driver_(driver),
        cfg_(driver.config_),
        index_(index),
        ex_(net::make_strand(io)),
        open_timer_(ex_),
        watchdog_(ex_) {}

  const executor& ex() const noexcept { return ex_; }

  // ---- setup (on the strand) ------------------------------------------------

  void add_terminals(std::uint64_t first_global, std::uint64_t count, std::uint64_t stride,
                     bool idle) {
    for (std::uint64_t k = 0; k < count; ++k) {
      auto t = std::make_unique<billing_term>();
      const std::uint64_t n = first_global + k * stride;
      t->owner = this;
      t->id = numbered("t-load-", n);
      t->till = numbered("6", n);
      t->idle = idle;
      ++expected_;
      connect_billing(*t);
      terms_.push_back(std::move(t));
    }
  }

  void add_handsets(std::uint64_t count, bool idle) {
    for (std::uint64_t k = 0; k < count; ++k) {
      auto h = std::make_unique<handset>();
      h->owner = this;
      h->idle = idle;
      ++expected_;
      connect_handset(*h);
      handsets_.push_back(std::move(h));
    }
  }

  void add_echo(std::uint16_t port, std::uint64_t count, std::string frame) {
    echo_frame_ = std::move(frame);
    for (std::uint64_t k = 0; k < count; ++k) {
      auto e = std::make_unique<echo_client>();
      e->owner = this;
      ++expected_;
      echo_client* raw = e.get();
      request_connect([this, raw, port] {
        ws_target t = target({cfg_.billing.host, port});
        raw->conn = ws_client_conn::connect(ex_, t, raw);
      });
      echoes_.push_back(std::move(e));
    }
  }

  void drop_echo() {
    for (auto& e : echoes_) {
      if (e->conn) {
        e->conn->detach();
        e->conn->abort();
      }
    }
    echoes_.clear();
  }

  // Fulfilled once every connection asked for so far is ready or failed.
  void when_connected(std::shared_ptr<std::promise<connect_summary>> done) {
    connected_promise_ = std::move(done);
    check_connected();
  }
  // The next summary counts only the connections asked for after this call.
  void reset_summary() { summary_ = connect_summary{}; }

  connect_summary summary() const { return summary_; }

  // ---- phases ---------------------------------------------------------------

  void start_payments(double lane_rate, std::uint64_t start_ns) {
    stats_ = phase_stats{};
    running_ = true;
    measuring_ = false;
    open_loop_ = lane_rate > 0;
    arm_watchdog();
    if (open_loop_) {
      interval_ns_ = 1e9 / lane_rate;
      next_intended_ = static_cast<double>(start_ns);
      open_timer_.expires_at(to_time_point(start_ns));
      open_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) open_tick();
      });
    } else {
      for (auto& t : terms_) {
        if (t->ready && !t->dead && t->active == 0) start_payment(*t, now_ns());
      }
    }
  }

  void start_echo() {
    stats_ = phase_stats{};
    measuring_ = false;
    echo_running_ = true;
    for (auto& e : echoes_) {
      if (e->ready) echo_send(*e);
    }
  }

  void begin_measure() {
    stats_ = phase_stats{};
    measuring_ = true;
    measure_start_ns_ = now_ns();
  }

  void end_measure() {
    stats_.seconds = static_cast<double>(now_ns() - measure_start_ns_) * 1e-9;
    measuring_ = false;
    running_ = false;
    echo_running_ = false;
    open_timer_.cancel();
  }

  std::size_t in_flight() const noexcept { return payments_.size(); }

  // After the drain: figures out, leftovers abandoned.
  phase_stats collect() {
    stats_.in_flight_at_end = payments_.size();
    std::vector<std::uint64_t> ids;
    for (const auto& [id, p] : payments_) ids.push_back(id);
    for (auto id : ids) {
      auto it = payments_.find(id);
      if (it != payments_.end()) fail(*it->second, "drain");
    }
    watchdog_.cancel();
    return stats_;
  }

  idle_status idle_state() const {
    idle_status s;
    for (const auto& t : terms_) {
      if (t->ready && !t->dead) ++s.billing_open;
    }
    for (const auto& h : handsets_) {
      if (h->ready && !h->dead) ++s.handsets_open;
    }
    s.closed = closes_total_;
    s.closes = closes_;
    return s;
  }

  void abort_all() {
    shutting_down_ = true;
    running_ = false;
    open_timer_.cancel();
    watchdog_.cancel();
    for (auto& t : terms_) {
      if (t->conn) {
        t->conn->detach();
        t->conn->abort();
      }
    }
    for (auto& h : handsets_) {
      if (h->conn) {
        h->conn->detach();
        h->conn->abort();
      }
    }
    drop_echo();
    payments_.clear();
    by_txn_.clear();
    waiting_.clear();
    free_.clear();
  }

 private:
  // ---- connections ----------------------------------------------------------

  ws_target target(const endpoint& e) {
    ws_target t;
    t.host = e.host;
    t.port = e.port;
    t.connect_timeout = cfg_.connect_timeout;
    if (!cfg_.source_addresses.empty()) {
      t.source_address = cfg_.source_addresses[source_counter_++ % cfg_.source_addresses.size()];
    }
    return t;
  }

  void request_connect(std::function<void()> start) {
    if (connecting_ < cfg_.max_connecting_per_lane) {
      ++connecting_;
      start();
    } else {
      connect_queue_.push_back(std::move(start));
    }
  }

  void connect_done() {
    if (connecting_ > 0) --connecting_;
    while (connecting_ < cfg_.max_connecting_per_lane && !connect_queue_.empty()) {
      auto start = std::move(connect_queue_.front());
      connect_queue_.pop_front();
      ++connecting_;
      start();
    }
  }

  void settle_initial(bool ok, std::uint64_t connect_summary::*ready,
                      std::uint64_t connect_summary::*failed, std::string_view why) {
    if (ok) {
      ++(summary_.*ready);
    } else {
      ++(summary_.*failed);
      ++summary_.failures[std::string(why.substr(0, 80))];
    }
    ++done_;
    check_connected();
  }

  void check_connected() {
    if (connected_promise_ && done_ >= expected_) {
      std::exchange(connected_promise_, nullptr)->set_value(summary_);
    }
  }

  void connect_billing(billing_term& t) {
    t.ready = false;
    t.dead = false;
    request_connect(
        [this, &t] { t.conn = ws_client_conn::connect(ex_, target(cfg_.billing), &t); });
  }

  void connect_handset(handset& h) {
    const std::uint64_t user =
        cfg_.first_user + driver_.next_user() % std::max<std::uint64_t>(1, cfg_.users);
    h.msisdn = numbered("2547100", user);
    h.ready = false;
    h.dead = false;
    h.payments = 0;
    request_connect([this, &h] {
      ws_target t = target(cfg_.paying);
      t.headers.emplace_back(cfg_.msisdn_header, h.msisdn);
      h.conn = ws_client_conn::connect(ex_, t, &h);
    });
  }

  void retry_later(std::function<void()> action, std::chrono::milliseconds delay) {
    if (shutting_down_) return;
    auto timer = std::make_shared<net::steady_timer>(ex_, delay);
    timer->async_wait([this, timer, action = std::move(action)](boost::system::error_code ec) {
      if (!ec && !shutting_down_) action();
    });
  }

  void billing_open(billing_term& t, bool ok, std::string_view why) {
    connect_done();
    if (ok) {
      send(*t.conn, "{\"type\":\"hello\",\"terminal\":\"" + t.id + "\",\"ref\":\"h0\"}");
      return;
    }
    t.dead = true;
    if (t.initial) {
      t.initial = false;
      settle_initial(false, &connect_summary::billing_ready, &connect_summary::billing_failed, why);
    } else {
      count_error(join_key("connect", why));
      retry_later([this, &t] { connect_billing(t); }, std::chrono::milliseconds(1000));
    }
  }

  void handset_open(handset& h, bool ok, std::string_view why) {
    connect_done();
    if (ok) {
      h.ready = true;
      if (h.initial) {
        h.initial = false;
        settle_initial(true, &connect_summary::handsets_ready, &connect_summary::handsets_failed,
                       {});
      }
      if (!h.idle) make_available(h);
      return;
    }
    h.dead = true;
    if (h.initial) {
      h.initial = false;
      settle_initial(false, &connect_summary::handsets_ready, &connect_summary::handsets_failed,
                     why);
    } else {
      count_error(join_key("connect", why));
      retry_later([this, &h] { connect_handset(h); }, std::chrono::milliseconds(1000));
    }
  }

  void echo_open(echo_client& e, bool ok, std::string_view why) {
    connect_done();
    e.ready = ok;
    settle_initial(ok, &connect_summary::echo_ready, &connect_summary::echo_failed, why);
  }

  void billing_closed(billing_term& t, std::string_view why) {
    const bool was_ready = t.ready;
    t.ready = false;
    t.dead = true;
    note_close(join_key("billing closed", why));
    std::vector<std::uint64_t> ids;
    for (const auto& [id, p] : payments_) {
      if (p->term == &t) ids.push_back(id);
    }
    for (auto id : ids) {
      auto it = payments_.find(id);
      if (it != payments_.end()) fail(*it->second, "closed/billing");
    }
    if (!t.idle && was_ready && !shutting_down_) {
      retry_later([this, &t] { connect_billing(t); }, std::chrono::milliseconds(1000));
    }
  }

  void handset_closed(handset& h, std::string_view why) {
    h.ready = false;
    h.dead = true;
    note_close(join_key("handset closed", why));
    std::erase(free_, &h);
    if (payment* p = h.current) {
      p->hs_closed = true;  // nothing more will come from this connection
      fail(*p, "closed/handset");
    }
    if (!h.idle && !shutting_down_) {
      retry_later([this, &h] { connect_handset(h); }, std::chrono::milliseconds(200));
    }
  }

  void note_close(const std::string& key) {
    ++closes_total_;
    ++closes_[key];
    count_error(key);
  }

  // ---- frames ---------------------------------------------------------------

  void send(ws_client_conn& conn, std::string frame) {
    if (measuring_) {
      ++stats_.frames_out;
      stats_.bytes_out += frame.size();
    }
    conn.send(std::move(frame));
  }

  void count_in(std::string_view frame) {
    if (measuring_) {
      ++stats_.frames_in;
      stats_.bytes_in += frame.size();
    }
  }

  void count_error(const std::string& key) {
    if (measuring_) ++stats_.errors[key];
  }

  void record(span_id span, std::uint64_t from_ns, std::uint64_t to_ns) {
    if (measuring_ && from_ns != 0 && to_ns >= from_ns) stats_.spans[span].record(to_ns - from_ns);
  }

  payment* find(std::uint64_t id) {
    auto it = payments_.find(id);
    return it == payments_.end() ? nullptr : it->second.get();
  }

  payment* by_txn(std::string_view txn) {
    auto it = by_txn_.find(txn);
    return it == by_txn_.end() ? nullptr : it->second;
  }

  void stray() {
    if (measuring_) ++stats_.stray_frames;
  }

  void billing_frame(billing_term& t, std::string_view frame) {
    count_in(frame);
    const frame_fields f = scan_frame(frame);
    const std::uint64_t now = now_ns();
    if (f.type == "opened") {
      char step = 0;
      std::uint64_t id = 0;
      if (f.ref.empty()) return;  // flow B: the switch opened it; the handset leads
      payment* p = parse_ref(f.ref, step, id) ? find(id) : nullptr;
      if (p == nullptr || p->term != &t || f.txn.empty()) return stray();
      p->txn = std::string(f.txn);
      by_txn_[p->txn] = p;
      record(span_open_opened, p->intended_ns, now);
      if (handset* h = take_free()) {
        engage(*p, *h);
      } else {
        wait_for_handset(*p);
      }
    } else if (f.type == "synchronized") {
      payment* p = by_txn(f.txn);
      if (p == nullptr) return stray();
      record(span_cm_synchronized, p->cm_ns, now);
      p->step = 'a';
      send(*t.conn, "{\"type\":\"amount\",\"txn\":\"" + p->txn +
                        "\",\"amount\":" + std::to_string(cfg_.amount_minor) + ",\"currency\":\"" +
                        cfg_.currency + "\",\"ref\":\"" + make_ref('a', p->id) + "\"}");
    } else if (f.type == "settled") {
      payment* p = by_txn(f.txn);
      if (p == nullptr) return stray();
      record(span_total_settled, p->intended_ns, now);
      if (measuring_) {
        ++stats_.settled;
        ++(p->flow_b ? stats_.settled_flow_b : stats_.settled_flow_a);
      }
      p->got_settled = true;
      p->billing_closed = true;
      maybe_finish(*p);
    } else if (f.type == "ack" || f.type == "pong") {
      // acks of amount (and of nothing else on this side) need no action
    } else if (f.type == "welcome") {
      t.ready = true;
      if (t.initial) {
        t.initial = false;
        settle_initial(true, &connect_summary::billing_ready, &connect_summary::billing_failed, {});
      } else if (running_ && !open_loop_ && t.active == 0) {
        start_payment(t, now);
      }
    } else if (f.type == "error") {
      char step = 0;
      std::uint64_t id = 0;
      if (!parse_ref(f.ref, step, id)) return count_error(join_key("error", f.code));
      if (step == 'h') {
        t.dead = true;
        if (t.initial) {
          t.initial = false;
          settle_initial(false, &connect_summary::billing_ready, &connect_summary::billing_failed,
                         join_key("hello", f.code));
        }
        return;
      }
      if (step == 'x') return;  // our own cancel of an abandoned payment
      payment* p = find(id);
      if (p == nullptr || p->term != &t) return stray();
      fail(*p, join_key(step_name(step), f.code));
    } else if (f.type == "failed" || f.type == "cancelled" || f.type == "expired") {
      if (!f.ref.empty() && f.ref[0] == 'x') return;  // the answer to our own cancel
      payment* p = by_txn(f.txn);
      if (p == nullptr) return stray();
      p->billing_closed = true;
      fail(*p, join_key(f.type, f.type == "cancelled" ? f.by : f.code));
    }
  }

  void handset_frame(handset& h, std::string_view frame) {
    count_in(frame);
    const frame_fields f = scan_frame(frame);
    const std::uint64_t now = now_ns();
    payment* p = h.current;
    if (f.type == "error") {
      char step = 0;
      std::uint64_t id = 0;
      if (!parse_ref(f.ref, step, id)) return count_error(join_key("error", f.code));
      if (p == nullptr || p->id != id) return stray();
      // A refused join or pay_merchant leaves the handset free to try again
      // (unless the switch thinks it is still in another transaction).
      if ((step == 'j' || step == 'p') && f.code != "already_joined") p->hs_closed = true;
      fail(*p, join_key(step_name(step), f.code));
      return;
    }
    if (p == nullptr) return stray();
    if (f.type == "merchant") {
      if (p->txn.empty()) {  // flow B: the transaction id arrives here first
        if (f.txn.empty()) return stray();
        p->txn = std::string(f.txn);
        by_txn_[p->txn] = p;
      }
      record(p->flow_b ? span_pay_merchant : span_join_merchant, p->step_ns, now);
      p->step = 'm';
      p->cm_ns = now_ns();
      send(*h.conn, "{\"type\":\"confirm_merchant\",\"txn\":\"" + p->txn + "\",\"ref\":\"" +
                        make_ref('m', p->id) + "\"}");
    } else if (f.type == "amount") {
      if (f.txn != p->txn || f.amount <= 0) return stray();
      p->step = 'c';
      p->ca_ns = now_ns();
      send(*h.conn, "{\"type\":\"confirm_amount\",\"txn\":\"" + p->txn +
                        "\",\"amount\":" + std::to_string(f.amount) + ",\"currency\":\"" +
                        cfg_.currency + "\",\"ref\":\"" + make_ref('c', p->id) + "\"}");
    } else if (f.type == "receipt") {
      record(span_ca_receipt, p->ca_ns, now);
      if (measuring_) ++stats_.receipts;
      p->got_receipt = true;
      p->hs_closed = true;
      p->hs = nullptr;
      h.current = nullptr;
      release(h);
      maybe_finish(*p);
    } else if (f.type == "ack" || f.type == "pong") {
      // the ack of confirm_merchant: the amount event follows
    } else if (f.type == "failed" || f.type == "cancelled" || f.type == "expired") {
      if (f.txn != p->txn) return stray();
      p->hs_closed = true;
      fail(*p, join_key(f.type, f.type == "cancelled" ? f.by : f.code));
    }
  }

  // ---- payments -------------------------------------------------------------

  bool next_is_flow_b() {
    if (cfg_.flow_b_fraction <= 0) return false;
    flow_b_credit_ += cfg_.flow_b_fraction;
    if (flow_b_credit_ >= 1.0) {
      flow_b_credit_ -= 1.0;
      return true;
    }
    return false;
  }

  void start_payment(billing_term& t, std::uint64_t intended_ns) {
    auto owned = std::make_unique<payment>();
    payment& p = *owned;
    p.id = next_payment_id_++;
    p.term = &t;
    p.intended_ns = intended_ns;
    p.flow_b = next_is_flow_b();
    ++t.active;
    if (measuring_) ++stats_.started;
    payments_.emplace(p.id, std::move(owned));
    if (!p.flow_b) {
      p.step = 'o';
      const std::uint64_t now = now_ns();
      if (open_loop_) record(span_schedule_lag, intended_ns, now);
      send(*t.conn, "{\"type\":\"open\",\"reference\":\"load-" + std::to_string(p.id) +
                        "\",\"ref\":\"" + make_ref('o', p.id) + "\"}");
    } else if (handset* h = take_free()) {
      engage(p, *h);
    } else {
      wait_for_handset(p);
    }
  }

  handset* take_free() {
    while (!free_.empty()) {
      handset* h = free_.front();
      free_.pop_front();
      if (h->ready && !h->dead && h->current == nullptr) return h;
    }
    return nullptr;
  }

  void wait_for_handset(payment& p) {
    p.waiting = true;
    waiting_.push_back(&p);
    if (measuring_) {
      ++stats_.handset_waits;
      stats_.max_waiting = std::max<std::uint64_t>(stats_.max_waiting, waiting_.size());
    }
  }

  void engage(payment& p, handset& h) {
    p.waiting = false;
    p.hs = &h;
    p.hs_engaged = true;
    h.current = &p;
    const std::uint64_t now = now_ns();
    p.step_ns = now;
    if (p.flow_b) {
      p.step = 'p';
      if (open_loop_) record(span_schedule_lag, p.intended_ns, now);
      send(*h.conn, "{\"type\":\"pay_merchant\",\"till\":\"" + p.term->till + "\",\"ref\":\"" +
                        make_ref('p', p.id) + "\"}");
    } else {
      p.step = 'j';
      send(*h.conn,
           "{\"type\":\"join\",\"txn\":\"" + p.txn + "\",\"ref\":\"" + make_ref('j', p.id) + "\"}");
    }
  }

  // The handset finished its part of a payment: it becomes the next payer
  // when this one made enough payments, else it is available again.
  void release(handset& h) {
    if (h.dead || !h.ready) return;
    ++h.payments;
    if (cfg_.payments_per_payer > 0 && h.payments >= cfg_.payments_per_payer) {
      recycle(h);
      return;
    }
    make_available(h);
  }

  // Serves the oldest payment waiting for a handset, or joins the pool.
  void make_available(handset& h) {
    while (!waiting_.empty()) {
      payment* p = waiting_.front();
      waiting_.pop_front();
      if (p->waiting) {
        engage(*p, h);
        return;
      }
    }
    free_.push_back(&h);
  }

  void recycle(handset& h) {
    if (measuring_) ++stats_.payer_reconnects;
    std::erase(free_, &h);
    if (h.conn) {
      h.conn->detach();
      h.conn->close();
    }
    connect_handset(h);
  }

  void maybe_finish(payment& p) {
    if (p.got_receipt && p.got_settled) finish(p, true);
  }

  // The payment failed: count why, tell the switch, free what it held.
  void fail(payment& p, const std::string& reason) {
    if (reason == "drain") {
      // not counted: the window is closed
    } else {
      count_error(reason);
    }
    if (!p.txn.empty() && !p.billing_closed && !p.term->dead && p.term->conn) {
      send(*p.term->conn, "{\"type\":\"cancel\",\"txn\":\"" + p.txn +
                              "\",\"reason\":\"bench: abandoned\",\"ref\":\"" +
                              make_ref('x', p.id) + "\"}");
    }
    if (handset* h = p.hs) {
      p.hs = nullptr;
      h->current = nullptr;
      if (!h->dead) {
        if (p.hs_engaged && !p.hs_closed) {
          recycle(*h);  // it may still be joined: start afresh as another payer
        } else {
          release(*h);
        }
      }
    }
    finish(p, false);
  }

  void finish(payment& p, bool ok) {
    if (!p.txn.empty()) by_txn_.erase(p.txn);
    if (p.waiting) std::erase(waiting_, &p);
    billing_term& t = *p.term;
    if (t.active > 0) --t.active;
    payments_.erase(p.id);  // `p` is gone from here on
    if (!running_ || open_loop_ || t.dead || !t.ready) return;
    if (ok) {
      start_payment(t, now_ns());
    } else {
      retry_later(
          [this, &t] {
            if (running_ && !t.dead && t.ready && t.active == 0) start_payment(t, now_ns());
          },
          std::chrono::milliseconds(10));
    }
  }

  void open_tick() {
    const auto now = static_cast<double>(now_ns());
    while (running_ && next_intended_ <= now) {
      issue(static_cast<std::uint64_t>(next_intended_));
      next_intended_ += interval_ns_;
    }
    if (!running_) return;
    open_timer_.expires_at(to_time_point(static_cast<std::uint64_t>(next_intended_)));
    open_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) open_tick();
    });
  }

  void issue(std::uint64_t intended_ns) {
    if (terms_.empty()) {
      if (measuring_) ++stats_.overloaded_skips;
      return;
    }
    for (std::size_t tries = 0; tries < terms_.size(); ++tries) {
      billing_term& t = *terms_[rr_++ % terms_.size()];
      if (t.ready && !t.dead && t.active < max_open_per_terminal) {
        start_payment(t, intended_ns);
        return;
      }
    }
    if (measuring_) ++stats_.overloaded_skips;
  }

  void arm_watchdog() {
    watchdog_.expires_after(std::chrono::milliseconds(250));
    watchdog_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const std::uint64_t now = now_ns();
      const auto limit = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.payment_timeout).count());
      std::vector<std::uint64_t> late;
      for (const auto& [id, p] : payments_) {
        if (now - p->intended_ns > limit) late.push_back(id);
      }
      for (auto id : late) {
        if (payment* p = find(id)) fail(*p, join_key("timeout", step_name(p->step)));
      }
      arm_watchdog();
    });
  }

  // ---- echo -----------------------------------------------------------------

  void echo_send(echo_client& e) {
    e.sent_ns = now_ns();
    send(*e.conn, echo_frame_);
  }

  void echo_frame(echo_client& e, std::string_view frame) {
    count_in(frame);
    const frame_fields f = scan_frame(frame);  // as for the switch's frames
    if (!f.ok) ++stats_.errors["echo/bad_frame"];
    const std::uint64_t now = now_ns();
    record(span_echo_round_trip, e.sent_ns, now);
    if (measuring_) ++stats_.echo_round_trips;
    if (echo_running_) echo_send(e);
  }

  load_driver& driver_;
  const driver_config& cfg_;
  unsigned index_;
  executor ex_;
  net::steady_timer open_timer_;
  net::steady_timer watchdog_;

  std::vector<std::unique_ptr<billing_term>> terms_;
  std::vector<std::unique_ptr<handset>> handsets_;
  std::vector<std::unique_ptr<echo_client>> echoes_;
  std::string echo_frame_;

  std::deque<handset*> free_;
  std::deque<payment*> waiting_;
  std::unordered_map<std::uint64_t, std::unique_ptr<payment>> payments_;
  std::unordered_map<std::string, payment*, string_hash, std::equal_to<>> by_txn_;
  std::uint64_t next_payment_id_ = 1;
  double flow_b_credit_ = 0;

  bool running_ = false, measuring_ = false, open_loop_ = false, echo_running_ = false;
  bool shutting_down_ = false;
  double interval_ns_ = 0, next_intended_ = 0;
  std::size_t rr_ = 0;
  std::uint64_t measure_start_ns_ = 0;
  phase_stats stats_;

  std::deque<std::function<void()>> connect_queue_;
  unsigned connecting_ = 0;
  std::size_t source_counter_ = 0;
  std::uint64_t expected_ = 0, done_ = 0;
  connect_summary summary_;
  std::shared_ptr<std::promise<connect_summary>> connected_promise_;
  std::uint64_t closes_total_ = 0;
  std::map<std::string, std::uint64_t> closes_;
};

namespace {

// Runs `f` on the lane's strand and waits for its result.
template <class Lane, class F>
auto on_lane(Lane& lane, F f) -> decltype(f()) {
  using result_type = decltype(f());
  // Shared: set_value may still touch the promise after get() returned.
  auto promise = std::make_shared<std::promise<result_type>>();
  auto future = promise->get_future();
  net::post(lane.ex(), [promise, f = std::move(f)]() mutable {
    if constexpr (std::is_void_v<result_type>) {
      f();
      promise->set_value();
    } else {
      promise->set_value(f());
    }
  });
  return future.get();
}

}  // namespace

load_driver::load_driver(driver_config config) : config_(std::move(config)), impl_(new impl) {
  config_.threads = std::max(1u, config_.threads);
  for (unsigned i = 0; i < config_.threads; ++i) {
    impl_->lanes.push_back(std::make_unique<lane>(*this, impl_->io, i));
  }
  for (unsigned i = 0; i < config_.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

load_driver::~load_driver() {
  abort_all();
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

namespace {

// Shares `total` over `parts` as evenly as possible.
std::uint64_t share(std::uint64_t total, unsigned parts, unsigned index) {
  return total / parts + (index < total % parts ? 1 : 0);
}

template <class Lanes>
connect_summary wait_connected(Lanes& lanes, std::chrono::seconds timeout,
                               clock_type::time_point started) {
  connect_summary total;
  std::vector<std::future<connect_summary>> futures;
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    auto promise = std::make_shared<std::promise<connect_summary>>();
    futures.push_back(promise->get_future());
    auto* lane = lanes[i].get();
    net::post(lane->ex(), [lane, promise] { lane->when_connected(promise); });
  }
  const auto deadline = clock_type::now() + timeout;
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    connect_summary s;
    if (futures[i].wait_until(deadline) == std::future_status::ready) {
      s = futures[i].get();
    } else {
      // Still connecting: take what is known and leave the promise unused.
      auto* lane = lanes[i].get();
      s = on_lane(*lane, [lane] {
        lane->when_connected(nullptr);  // forget the promise
        return lane->summary();
      });
      ++s.failures["connect: not finished before the timeout"];
    }
    total.billing_ready += s.billing_ready;
    total.billing_failed += s.billing_failed;
    total.handsets_ready += s.handsets_ready;
    total.handsets_failed += s.handsets_failed;
    total.echo_ready += s.echo_ready;
    total.echo_failed += s.echo_failed;
    for (const auto& [k, v] : s.failures) total.failures[k] += v;
  }
  total.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  return total;
}

}  // namespace

connect_summary load_driver::connect_terminals(std::chrono::seconds timeout) {
  const auto started = clock_type::now();
  const unsigned lanes = config_.threads;
  for (unsigned i = 0; i < lanes; ++i) {
    lane* l = impl_->lanes[i].get();
    const auto terminals = share(config_.terminals, lanes, i);
    const auto handsets = share(config_.handsets, lanes, i);
    const std::uint64_t first = config_.first_terminal + i;
    net::post(l->ex(), [l, terminals, handsets, first, lanes] {
      l->reset_summary();
      l->add_terminals(first, terminals, lanes, false);
      l->add_handsets(handsets, false);
    });
  }
  return wait_connected(impl_->lanes, timeout, started);
}

phase_stats load_driver::run_payments(double rate_per_s, std::chrono::milliseconds warmup,
                                      std::chrono::milliseconds measure,
                                      std::chrono::milliseconds drain, const window_hooks& hooks) {
  const unsigned lanes = config_.threads;
  const std::uint64_t start_ns = now_ns() + 5'000'000;  // every lane starts together
  for (auto& l : impl_->lanes) {
    lane* p = l.get();
    net::post(p->ex(), [p, rate_per_s, lanes, start_ns] {
      p->start_payments(rate_per_s / lanes, start_ns);
    });
  }
  std::this_thread::sleep_for(warmup);
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->begin_measure(); });
  if (hooks.opened) hooks.opened();
  std::this_thread::sleep_for(measure);
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->end_measure(); });
  if (hooks.closed) hooks.closed();
  const auto drain_deadline = clock_type::now() + drain;
  while (clock_type::now() < drain_deadline) {
    std::size_t in_flight = 0;
    for (auto& l : impl_->lanes) in_flight += on_lane(*l, [p = l.get()] { return p->in_flight(); });
    if (in_flight == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  phase_stats total;
  for (auto& l : impl_->lanes) total.merge(on_lane(*l, [p = l.get()] { return p->collect(); }));
  return total;
}

connect_summary load_driver::connect_echo(std::uint16_t port, unsigned connections,
                                          std::size_t frame_bytes, std::chrono::seconds timeout) {
  // A frame shaped like the switch's (a JSON object the scanner reads), padded.
  std::string frame =
      "{\"type\":\"echo\",\"txn\":\"tx00014k7n574qmnr8f6h6xkh3gcpf9p\",\"amount\":100,"
      "\"currency\":\"KES\",\"ref\":\"e1\",\"pad\":\"";
  const std::size_t tail = 2;  // "}
  if (frame.size() + tail < frame_bytes) frame.append(frame_bytes - frame.size() - tail, 'x');
  frame += "\"}";
  const auto started = clock_type::now();
  const unsigned lanes = config_.threads;
  for (unsigned i = 0; i < lanes; ++i) {
    lane* l = impl_->lanes[i].get();
    const auto count = share(connections, lanes, i);
    net::post(l->ex(), [l, port, count, frame] {
      l->reset_summary();
      l->add_echo(port, count, frame);
    });
  }
  return wait_connected(impl_->lanes, timeout, started);
}

phase_stats load_driver::run_echo(std::chrono::milliseconds warmup,
                                  std::chrono::milliseconds measure, const window_hooks& hooks) {
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->start_echo(); });
  std::this_thread::sleep_for(warmup);
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->begin_measure(); });
  if (hooks.opened) hooks.opened();
  std::this_thread::sleep_for(measure);
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->end_measure(); });
  if (hooks.closed) hooks.closed();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last echoes come back
  phase_stats total;
  for (auto& l : impl_->lanes) total.merge(on_lane(*l, [p = l.get()] { return p->collect(); }));
  return total;
}

void load_driver::drop_echo() {
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->drop_echo(); });
}

connect_summary load_driver::open_idle(std::uint64_t billing, std::uint64_t handsets,
                                       std::chrono::seconds timeout) {
  const auto started = clock_type::now();
  const unsigned lanes = config_.threads;
  for (unsigned i = 0; i < lanes; ++i) {
    lane* l = impl_->lanes[i].get();
    const auto b = share(billing, lanes, i);
    const auto h = share(handsets, lanes, i);
    const std::uint64_t first = config_.first_terminal + i;
    net::post(l->ex(), [l, b, h, first, lanes] {
      l->reset_summary();
      l->add_terminals(first, b, lanes, true);
      l->add_handsets(h, true);
    });
  }
  return wait_connected(impl_->lanes, timeout, started);
}

idle_status load_driver::idle_state() {
  idle_status total;
  for (auto& l : impl_->lanes) {
    auto s = on_lane(*l, [p = l.get()] { return p->idle_state(); });
    total.billing_open += s.billing_open;
    total.handsets_open += s.handsets_open;
    total.closed += s.closed;
    for (const auto& [k, v] : s.closes) total.closes[k] += v;
  }
  return total;
}

void load_driver::abort_all() {
  if (impl_->io.stopped()) return;
  for (auto& l : impl_->lanes) on_lane(*l, [p = l.get()] { p->abort_all(); });
}

}  // namespace paysync::bench
