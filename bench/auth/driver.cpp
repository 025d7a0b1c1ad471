#include "bench/auth/driver.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <deque>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "bench/auth/ws_link.hpp"
#include "protocols/terminal_auth.hpp"

namespace paysync::bench::auth {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

std::int64_t ns_between(steady::time_point from, steady::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

// ws_link_events as three callbacks.
class link_events final : public ws_link_events {
 public:
  std::function<void(bool, std::string_view)> open;
  std::function<void(std::string_view, bool)> frame;
  std::function<void(std::string_view)> closed;
  void on_open(bool ok, std::string_view error) override {
    if (open) open(ok, error);
  }
  void on_frame(std::string_view f, bool text) override {
    if (frame) frame(f, text);
  }
  void on_closed(std::string_view reason) override {
    if (closed) closed(reason);
  }
};

}  // namespace

struct driver::impl {
  struct handset;
  struct payment {
    std::uint64_t id = 0;
    bool bio = false;
    std::shared_ptr<phase_record> rec;  // PIN: the window of its intended start
    steady::time_point intended, open_sent, confirm_sent, answer_sent, last_step;
    std::string txn, stage = "open", answer;
    handset* h = nullptr;
    bool receipt = false, settled = false, done = false, parked = false;
  };
  struct handset {
    explicit handset(asio::io_context& io) : timer(io) {}
    bool bio = false, open = false, closed = false, parked = false;
    link_events events;
    std::shared_ptr<ws_link> link;
    std::shared_ptr<payment> current;
    asio::steady_timer timer;  // biometric retries
  };
  struct terminal {
    std::string id;
    std::unique_ptr<protocols::terminal_keypair> keys;
    link_events events;
    std::shared_ptr<ws_link> link;
    bool welcomed = false, failed = false;
    std::string error;
  };

  explicit impl(driver_config c) : cfg(std::move(c)) {}

  driver_config cfg;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread;
  asio::steady_timer tick{io}, sweep{io};
  steady::time_point next_start;
  steady::duration interval{};
  std::shared_ptr<phase_record> window;
  steady::time_point window_start;
  bool bio_on = false, stopping = false;
  terminal pin_term, bio_term;
  std::vector<std::unique_ptr<handset>> pin_handsets, bio_handsets;
  std::vector<handset*> free_pin;
  std::deque<std::shared_ptr<payment>> waiting;  // opened PIN payments without a handset yet
  std::map<std::string, std::shared_ptr<payment>> by_ref, by_txn;
  std::map<std::uint64_t, std::shared_ptr<payment>> active;
  std::uint64_t next_id = 1;
  std::size_t pin_active = 0;

  // Runs f on the driver's thread and returns its result.
  template <class F>
  auto on_thread(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  void count_error(const std::string& key) {
    if (window) ++window->errors[key];
  }

  static void send(ws_link& link, const json::object& o) { link.send_text(json::serialize(o)); }

  // --- billing terminals -------------------------------------------------

  void connect_terminal(terminal& t) {
    t.events.open = [this, &t](bool ok, std::string_view error) {
      if (!ok) {
        t.failed = true;
        t.error = std::string(error);
        return;
      }
      send(*t.link, {{"type", "hello"}, {"terminal", t.id}, {"ref", "h1"}});
    };
    t.events.frame = [this, &t](std::string_view f, bool text) {
      if (text) on_billing_frame(t, f);
    };
    t.events.closed = [this, &t](std::string_view why) {
      if (stopping) return;
      t.failed = true;
      t.error = "closed: " + std::string(why);
      count_error("billing:closed");
    };
    t.link = ws_link::connect(io, {cfg.host, cfg.billing_port, "/", {}}, &t.events);
  }

  void on_billing_frame(terminal& t, std::string_view frame) {
    boost::system::error_code ec;
    auto v = json::parse(frame, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    const auto type = str(o, "type");
    if (!t.welcomed) {
      if (type == "challenge") {
        const auto nonce = str(o, "nonce");
        send(*t.link, {{"type", "hello"},
                       {"terminal", t.id},
                       {"nonce", nonce},
                       {"signature", protocols::sign_hello(*t.keys, t.id, nonce)},
                       {"ref", "h2"}});
      } else if (type == "welcome") {
        t.welcomed = true;
      } else if (type == "error") {
        t.failed = true;
        t.error = "hello refused: " + str(o, "code") + " " + str(o, "message");
      }
      return;
    }
    if (type == "opened") {
      const auto it = by_ref.find(str(o, "ref"));
      if (it == by_ref.end()) return;
      auto p = it->second;
      by_ref.erase(it);
      p->txn = str(o, "txn");
      by_txn[p->txn] = p;
      p->stage = "join";
      p->last_step = steady::now();
      if (p->bio) {
        send(*p->h->link, {{"type", "join"}, {"txn", p->txn}, {"ref", "j"}});
        return;
      }
      if (p->rec) p->rec->open_opened.record(ns_between(p->open_sent, p->last_step));
      if (!free_pin.empty()) {
        auto* h = free_pin.back();
        free_pin.pop_back();
        assign(*h, p);
      } else {
        waiting.push_back(p);
        if (window) ++window->pin_handset_waits;
      }
      return;
    }
    if (type == "error") {
      const auto code = str(o, "code");
      const auto ref = str(o, "ref");
      if (const auto it = by_ref.find(ref); it != by_ref.end()) {
        auto p = it->second;
        by_ref.erase(it);
        return end_payment(p, std::string(p->bio ? "bio" : "pin") + ":open/" + code);
      }
      const auto it = by_txn.find(str(o, "txn"));
      if (it != by_txn.end()) {
        auto p = it->second;
        return end_payment(p, std::string(p->bio ? "bio" : "pin") + ":billing/" + code);
      }
      count_error("billing:error/" + code);
      return;
    }
    const auto it = by_txn.find(str(o, "txn"));
    if (it == by_txn.end()) return;
    auto p = it->second;
    if (type == "synchronized") {
      send(*t.link, {{"type", "amount"},
                     {"txn", p->txn},
                     {"amount", p->bio ? cfg.bio_amount : cfg.pin_amount},
                     {"ref", "a"}});
    } else if (type == "settled") {
      p->settled = true;
      maybe_finish(p);
    } else if (type == "failed" || type == "cancelled" || type == "expired") {
      end_payment(p, std::string(p->bio ? "bio" : "pin") + ":billing-" + type + "/" +
                         (type == "failed" ? str(o, "code") : str(o, "by")));
    }
  }

  // --- handsets ------------------------------------------------------------

  void connect_handset(handset& h, const std::string& msisdn) {
    h.events.open = [this, &h](bool ok, std::string_view) {
      if (!ok) {
        h.closed = true;
        return;
      }
      h.open = true;
      if (!h.bio) free_pin.push_back(&h);
    };
    h.events.frame = [this, &h](std::string_view f, bool text) {
      if (text) on_handset_frame(h, f);
    };
    h.events.closed = [this, &h](std::string_view) {
      h.closed = true;
      if (stopping) return;
      count_error(std::string(h.bio ? "bio" : "pin") + ":handset-closed");
      if (h.current) end_payment(h.current, std::string(h.bio ? "bio" : "pin") + ":closed");
    };
    h.link =
        ws_link::connect(io, {cfg.host, cfg.paying_port, "/", {{"X-MSISDN", msisdn}}}, &h.events);
  }

  void assign(handset& h, const std::shared_ptr<payment>& p) {
    h.current = p;
    p->h = &h;
    send(*h.link, {{"type", "join"}, {"txn", p->txn}, {"ref", "j"}});
  }

  void on_handset_frame(handset& h, std::string_view frame) {
    auto p = h.current;
    if (!p) return;
    boost::system::error_code ec;
    auto v = json::parse(frame, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    const auto type = str(o, "type");
    const auto txn = str(o, "txn");
    if (!txn.empty() && txn != p->txn) return;  // about an earlier, abandoned payment
    const auto now = steady::now();
    p->last_step = now;
    const std::string side = p->bio ? "bio" : "pin";
    if (type == "merchant") {
      p->stage = "confirm_merchant";
      send(*h.link, {{"type", "confirm_merchant"}, {"txn", p->txn}, {"ref", "m"}});
    } else if (type == "amount") {
      p->stage = "confirm_amount";
      p->confirm_sent = now;
      send(*h.link, {{"type", "confirm_amount"},
                     {"txn", p->txn},
                     {"amount", p->bio ? cfg.bio_amount : cfg.pin_amount},
                     {"ref", "c"}});
    } else if (type == "auth_challenge") {
      on_challenge(h, p, o);
    } else if (type == "ack") {
      if (str(o, "for") != "auth_answer") return;
      p->stage = "settle";
      if (p->bio) {
        if (window) {
          ++window->bio_accepted;
          window->bio_sample_verdict.record(ns_between(p->answer_sent, now));
        }
      } else if (p->rec) {
        p->rec->pin_answer_ack.record(ns_between(p->answer_sent, now));
      }
    } else if (type == "receipt") {
      p->receipt = true;
      if (p->bio) {
        if (window) ++window->bio_payments;
      } else if (p->rec) {
        p->rec->pin_confirm_receipt.record(ns_between(p->confirm_sent, now));
        p->rec->pin_start_receipt.record(ns_between(p->intended, now));
      }
      release(h);
      maybe_finish(p);
    } else if (type == "failed" || type == "cancelled" || type == "expired") {
      end_payment(p, side + ":" + type + "/" + str(o, "code") + str(o, "by"));
    } else if (type == "error") {
      on_handset_error(h, p, o);
    }
  }

  void on_challenge(handset& h, const std::shared_ptr<payment>& p, const json::object& o) {
    const auto factor = str(o, "factor");
    if (p->bio) {
      if (str(o, "answer_as") != "image") {
        return end_payment(p, "bio:challenge-not-image/" + factor, true);
      }
      return send_sample(h, p);
    }
    if (window) ++window->pin_factors[factor];
    const auto it = cfg.answers.find(factor == "question" ? str(o, "question") : factor);
    if (it == cfg.answers.end()) return end_payment(p, "pin:no-answer-for/" + factor, true);
    p->stage = "auth_answer";
    p->answer = it->second;
    send_answer(h, p);
  }

  void send_answer(handset& h, const std::shared_ptr<payment>& p) {
    p->answer_sent = steady::now();
    send(*h.link, {{"type", "auth_answer"}, {"txn", p->txn}, {"answer", p->answer}, {"ref", "x"}});
  }

  void send_sample(handset& h, const std::shared_ptr<payment>& p) {
    if (!bio_on || stopping) {
      p->parked = true;
      h.parked = true;
      return;
    }
    p->stage = "sample";
    p->answer_sent = steady::now();
    h.link->send_binary(cfg.face);
    if (window) ++window->bio_samples_sent;
  }

  void on_handset_error(handset& h, const std::shared_ptr<payment>& p, const json::object& o) {
    const auto code = str(o, "code");
    const auto ref = str(o, "ref");
    if (p->bio) {
      if (code == "busy" && p->stage == "sample") {
        if (window) ++window->bio_busy;
        h.timer.expires_after(cfg.bio_retry);
        h.timer.async_wait([this, &h, p](boost::system::error_code ec) {
          if (!ec && h.current == p && !p->done) send_sample(h, p);
        });
        return;
      }
      if (code == "auth_mismatch") {  // a fresh auth_challenge follows
        if (window) {
          ++window->bio_mismatch;
          window->bio_sample_verdict.record(ns_between(p->answer_sent, steady::now()));
        }
        return;
      }
      if (code == "auth_sample_refused") {
        if (window) ++window->bio_refused;
        return send_sample(h, p);
      }
      return end_payment(p, "bio:" + p->stage + "/" + code, true);
    }
    if (code == "busy" && ref == "x") {  // the knowledge queue was full: answer again
      count_error("pin:auth_answer/busy");
      return send_answer(h, p);
    }
    end_payment(p, "pin:" + p->stage + "/" + code, true);
  }

  // --- payments --------------------------------------------------------------

  void release(handset& h) {
    h.current.reset();
    if (h.closed) return;
    if (h.bio) {
      asio::post(io, [this, &h] { start_bio(h); });
      return;
    }
    if (!waiting.empty()) {
      auto p = waiting.front();
      waiting.pop_front();
      assign(h, p);
    } else {
      free_pin.push_back(&h);
    }
  }

  void maybe_finish(const std::shared_ptr<payment>& p) {
    if (!p->receipt || !p->settled || p->done) return;
    p->done = true;
    by_txn.erase(p->txn);
    active.erase(p->id);
    if (!p->bio) {
      --pin_active;
      if (window) ++window->pin_completed;
    }
  }

  // Ends a payment that will not settle: counts why, cancels it on the
  // billing side when asked, frees its handset.
  void end_payment(const std::shared_ptr<payment>& p, const std::string& why, bool cancel = false) {
    if (p->done) return;
    p->done = true;
    count_error(why);
    if (cancel && !p->txn.empty()) {
      auto& t = p->bio ? bio_term : pin_term;
      send(*t.link, {{"type", "cancel"}, {"txn", p->txn}, {"reason", "bench: " + why}});
    }
    if (!p->txn.empty()) by_txn.erase(p->txn);
    active.erase(p->id);
    std::erase(waiting, p);
    if (!p->bio) --pin_active;
    if (p->h != nullptr && p->h->current == p) {
      auto* h = p->h;
      h->timer.cancel();
      // Give the switch a moment to close the transaction on the handset's
      // session before the handset joins the next one.
      auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
      h->current.reset();
      t->async_wait([this, h, t](boost::system::error_code) { release(*h); });
    }
  }

  void start_pin(steady::time_point intended) {
    auto p = std::make_shared<payment>();
    p->id = next_id++;
    p->rec = window;
    p->intended = intended;
    p->open_sent = p->last_step = steady::now();
    if (window) {
      ++window->pin_started;
      window->schedule_lag.record(ns_between(intended, p->open_sent));
    }
    const auto ref = "p" + std::to_string(p->id);
    by_ref[ref] = p;
    active[p->id] = p;
    ++pin_active;
    send(*pin_term.link, {{"type", "open"}, {"reference", ref}, {"ref", ref}});
  }

  void start_bio(handset& h) {
    if (h.current || h.closed) return;
    if (!bio_on || stopping) {
      h.parked = true;
      return;
    }
    auto p = std::make_shared<payment>();
    p->id = next_id++;
    p->bio = true;
    p->h = &h;
    p->open_sent = p->last_step = steady::now();
    h.current = p;
    const auto ref = "b" + std::to_string(p->id);
    by_ref[ref] = p;
    active[p->id] = p;
    send(*bio_term.link, {{"type", "open"}, {"reference", ref}, {"ref", ref}});
  }

  void schedule_next() {
    tick.expires_at(next_start);
    tick.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      const auto now = steady::now();
      while (next_start <= now) {  // catch up: each late payment keeps its intended start
        start_pin(next_start);
        next_start += interval;
      }
      schedule_next();
    });
  }

  void schedule_sweep() {
    sweep.expires_after(std::chrono::milliseconds(500));
    sweep.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      const auto now = steady::now();
      std::vector<std::shared_ptr<payment>> late;
      for (const auto& [id, p] : active) {
        if (!p->parked && now - p->last_step > cfg.payment_timeout) late.push_back(p);
      }
      for (const auto& p : late) {
        end_payment(p, std::string(p->bio ? "bio" : "pin") + ":timeout/" + p->stage, true);
      }
      schedule_sweep();
    });
  }

  void set_bio(bool on) {
    bio_on = on;
    if (!on) return;
    for (auto& h : bio_handsets) {
      if (!h->parked) continue;
      h->parked = false;
      if (h->current) {
        h->current->parked = false;
        h->current->last_step = steady::now();
        send_sample(*h, h->current);
      } else {
        start_bio(*h);
      }
    }
  }
};

driver::driver(driver_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

driver::~driver() { stop(); }

bool driver::start(std::chrono::milliseconds timeout, std::string& error) {
  auto& d = *impl_;
  for (auto* t : {&d.pin_term, &d.bio_term}) {
    const auto& file = t == &d.pin_term ? d.cfg.pin_key_file : d.cfg.bio_key_file;
    t->id = t == &d.pin_term ? d.cfg.pin_terminal : d.cfg.bio_terminal;
    auto keys = protocols::read_terminal_key_file(file);
    if (!keys) {
      error = "cannot read the key of " + t->id + " from " + file + ": " + keys.error();
      return false;
    }
    t->keys = std::make_unique<protocols::terminal_keypair>();
    t->keys->public_key = keys->public_key;
    t->keys->secret_key = keys->secret_key;
  }
  for (std::size_t i = 0; i < d.cfg.pin_handsets; ++i) {
    d.pin_handsets.push_back(std::make_unique<impl::handset>(d.io));
  }
  for (std::size_t i = 0; i < d.cfg.bio_handsets; ++i) {
    d.bio_handsets.push_back(std::make_unique<impl::handset>(d.io));
    d.bio_handsets.back()->bio = true;
    d.bio_handsets.back()->parked = true;
  }
  d.thread = std::thread([&d] { d.io.run(); });
  d.on_thread([&d] {
    d.connect_terminal(d.pin_term);
    d.connect_terminal(d.bio_term);
    for (auto& h : d.pin_handsets) d.connect_handset(*h, d.cfg.pin_msisdn);
    for (auto& h : d.bio_handsets) d.connect_handset(*h, d.cfg.bio_msisdn);
    return 0;
  });
  const auto deadline = steady::now() + timeout;
  for (;;) {
    const auto status = d.on_thread([&d]() -> std::string {
      for (auto* t : {&d.pin_term, &d.bio_term}) {
        if (t->failed) return t->id + ": " + t->error;
      }
      bool ready = d.pin_term.welcomed && d.bio_term.welcomed;
      for (const auto* list : {&d.pin_handsets, &d.bio_handsets}) {
        for (const auto& h : *list) {
          if (h->closed) return "a handset could not connect";
          ready = ready && h->open;
        }
      }
      return ready ? "ready" : "";
    });
    if (status == "ready") break;
    if (!status.empty()) {
      error = status;
      return false;
    }
    if (steady::now() > deadline) {
      error = "the clients did not connect and identify in time";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  d.on_thread([&d] {
    d.interval = std::chrono::duration_cast<steady::duration>(
        std::chrono::duration<double>(1.0 / d.cfg.pin_rate));
    d.next_start = steady::now() + d.interval;
    d.schedule_next();
    d.schedule_sweep();
    return 0;
  });
  return true;
}

void driver::set_biometric_load(bool on) {
  impl_->on_thread([this, on] {
    impl_->set_bio(on);
    return 0;
  });
}

void driver::begin_window(std::shared_ptr<phase_record> record) {
  impl_->on_thread([this, record] {
    impl_->window = record;
    impl_->window_start = steady::now();
    return 0;
  });
}

void driver::end_window() {
  impl_->on_thread([this] {
    if (impl_->window) {
      impl_->window->window_s =
          std::chrono::duration<double>(steady::now() - impl_->window_start).count();
    }
    impl_->window.reset();
    return 0;
  });
}

phase_record driver::snapshot(const std::shared_ptr<phase_record>& record) {
  return impl_->on_thread([record] { return *record; });
}

std::size_t driver::pin_in_flight(const std::shared_ptr<phase_record>& record) {
  return impl_->on_thread([this, record] {
    std::size_t n = 0;
    for (const auto& [id, p] : impl_->active) n += !p->bio && p->rec == record ? 1 : 0;
    return n;
  });
}

void driver::stop() {
  auto& d = *impl_;
  if (!d.thread.joinable()) return;
  d.on_thread([&d] {
    d.stopping = true;
    d.tick.cancel();
    d.sweep.cancel();
    for (const auto* list : {&d.pin_handsets, &d.bio_handsets}) {
      for (const auto& h : *list) {
        h->timer.cancel();
        if (h->link) h->link->close();
      }
    }
    for (auto* t : {&d.pin_term, &d.bio_term}) {
      if (t->link) t->link->close();
    }
    return 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.guard.reset();
  d.io.stop();
  d.thread.join();
}

}  // namespace paysync::bench::auth
