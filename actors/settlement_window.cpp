#include "actors/settlement_window.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "storage/ledger_store.hpp"

namespace paysync::actors {
namespace {

using self_ptr = settlement_window_actor::stateful_pointer<settlement_window_state>;
using protocols::wire_error;

constexpr std::string_view clearing_prefix = "clearing:";
constexpr std::string_view internode_prefix = "internode:";

std::string internode_account(std::uint8_t node, const std::string& currency) {
  return std::string(internode_prefix) + std::to_string(node) + ":" + currency;
}

// Transfers booked here before a restart and perhaps never delivered: every
// ":out" posting into an internode account, as far back as its history goes
// (bounded). Sending one again is harmless: the home node books it once.
std::vector<netting_transfer> recover_undelivered(const settlement_window_config& cfg) {
  std::vector<netting_transfer> out;
  auto accounts = cfg.reads->accounts_with_prefix(internode_prefix, 1'000);
  if (!accounts) return out;
  for (const auto& a : *accounts) {
    auto entries = cfg.reads->history(a.id, 0, 1'000);
    if (!entries) continue;
    for (const auto& e : *entries) {
      const auto& id = e.posting.settlement_id;
      if (e.posting.credit_account != a.id || id.rfind("net:", 0) != 0 || id.size() < 9 ||
          id.compare(id.size() - 4, 4, ":out") != 0) {
        continue;
      }
      const auto body = id.substr(4, id.size() - 8);  // "<window>:<merchant>"
      const auto colon = body.find(':');
      if (colon == std::string::npos) continue;
      out.push_back(netting_transfer{body.substr(0, colon), cfg.node, body.substr(colon + 1),
                                     e.posting.amount_minor, e.posting.currency});
    }
  }
  return out;
}

struct close_run {
  window_report report;
  std::size_t waiting = 0;
  std::function<void(window_report)> done;
};

void finish(self_ptr self, std::shared_ptr<close_run> run) {
  auto& st = self->state;
  auto& r = run->report;
  r.pending = static_cast<std::uint32_t>(st.undelivered.size());
  r.ledger_balanced = false;
  if (auto totals = st.config.reads->balance_totals()) {
    r.ledger_balanced = true;
    for (const auto& [currency, sum] : *totals) r.ledger_balanced = r.ledger_balanced && sum == 0;
  }
  if (!st.config.report_directory.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(st.config.report_directory, ec);
    std::ofstream(st.config.report_directory + "/" + r.window + ".json") << to_json(r) << "\n";
  }
  spdlog::info("settlement window {} closed: {} merchant line(s), {} redelivered, {} pending",
               r.window, r.lines.size(), r.redelivered, r.pending);
  st.closing = false;
  run->done(std::move(run->report));
}

void one_delivered(self_ptr self, std::shared_ptr<close_run> run) {
  if (--run->waiting == 0) finish(self, run);
}

// Sends every undelivered transfer to its merchant's home node.
void deliver(self_ptr self, std::shared_ptr<close_run> run) {
  auto& st = self->state;
  auto transfers = std::move(st.undelivered);
  st.undelivered.clear();
  run->waiting = transfers.size() + 1;  // +1: released below, after every request is out
  for (auto& t : transfers) {
    const auto home = st.config.map->home_of("merchant:" + t.merchant_id);
    auto windows = st.config.map->windows(home);
    auto mark = [run, t](bool delivered, const std::string& note) {
      for (auto& line : run->report.lines) {
        if (line.merchant_id == t.merchant_id && t.window == run->report.window) {
          line.delivered = delivered;
          line.note = note;
          return;
        }
      }
      if (delivered) ++run->report.redelivered;
    };
    if (!windows) {
      mark(false, "node " + std::to_string(home) + " is down: pending");
      st.undelivered.push_back(std::move(t));
      one_delivered(self, run);
      continue;
    }
    self->request(*windows, st.config.peer_timeout, credit_atom::value, t)
        .then(
            [=](const verdict& v) {
              if (!v.ok) {
                self->state.undelivered.push_back(t);
                mark(false, v.message);
              } else {
                mark(true, {});
              }
              one_delivered(self, run);
            },
            [=](caf::error&) {
              self->state.undelivered.push_back(t);
              mark(false, "node " + std::to_string(home) + " did not answer: pending");
              one_delivered(self, run);
            });
  }
  one_delivered(self, run);
}

void close_window(self_ptr self, std::function<void(window_report)> done) {
  auto& st = self->state;
  st.closing = true;
  auto run = std::make_shared<close_run>();
  run->done = std::move(done);
  auto& r = run->report;
  r.node = st.config.node;
  r.closed_unix_ms = st.config.time->now_unix_ms();
  r.window = "w" + std::to_string(r.closed_unix_ms) + "n" + std::to_string(st.config.node);
  auto clearing =
      st.config.reads->accounts_with_prefix(clearing_prefix, st.config.max_clearing_accounts);
  std::vector<settlement_order> orders;
  if (clearing) {
    for (const auto& a : *clearing) {
      if (a.balance_minor <= 0) continue;
      const auto merchant_id = a.id.substr(clearing_prefix.size());
      const auto home = st.config.map->home_of("merchant:" + merchant_id);
      settlement_order o;
      o.debit_account = a.id;
      o.amount_minor = a.balance_minor;
      o.currency = a.currency;
      o.memo = "settlement window " + r.window;
      if (home == st.config.node) {
        o.settlement_id = "net:" + r.window + ":" + merchant_id + ":in";
        o.credit_account = "merchant:" + merchant_id;
      } else {
        o.settlement_id = "net:" + r.window + ":" + merchant_id + ":out";
        o.credit_account = internode_account(home, a.currency);
      }
      r.lines.push_back(
          window_line{merchant_id, home, a.balance_minor, a.currency, false, false, {}});
      orders.push_back(std::move(o));
    }
  } else {
    spdlog::error("settlement window: cannot list clearing accounts: {}",
                  storage::to_string(clearing.error()));
  }
  if (orders.empty()) return deliver(self, run);
  run->waiting = orders.size();
  for (std::size_t i = 0; i < orders.size(); ++i) {
    // All in the ledger's mailbox at once: one group commit, one fsync.
    self->request(st.config.ledger, caf::infinite, settle_atom::value, orders[i])
        .then(
            [=](const settlement_outcome& out) {
              auto& line = run->report.lines[i];
              line.booked_here = out.ok;
              if (!out.ok) {
                line.note = out.message;
              } else if (line.home_node == self->state.config.node) {
                line.delivered = true;
              } else {
                self->state.undelivered.push_back(
                    netting_transfer{run->report.window, self->state.config.node, line.merchant_id,
                                     line.amount_minor, line.currency});
              }
              if (--run->waiting == 0) deliver(self, run);
            },
            [=](caf::error& err) {
              run->report.lines[i].note = "ledger: " + caf::to_string(err);
              if (--run->waiting == 0) deliver(self, run);
            });
  }
}

}  // namespace

std::string to_json(const window_report& r) {
  boost::json::array lines;
  std::int64_t booked = 0, delivered = 0;
  for (const auto& l : r.lines) {
    lines.push_back({{"merchant", l.merchant_id},
                     {"home_node", l.home_node},
                     {"amount", l.amount_minor},
                     {"currency", l.currency},
                     {"booked", l.booked_here},
                     {"delivered", l.delivered},
                     {"note", l.note}});
    if (l.booked_here) booked += l.amount_minor;
    if (l.booked_here && l.delivered) delivered += l.amount_minor;
  }
  boost::json::object o{{"window", r.window},
                        {"node", r.node},
                        {"closed_unix_ms", r.closed_unix_ms},
                        {"lines", std::move(lines)},
                        {"booked_minor", booked},
                        {"delivered_minor", delivered},
                        {"redelivered", r.redelivered},
                        {"pending", r.pending},
                        {"ledger_balanced", r.ledger_balanced}};
  return boost::json::serialize(o);
}

settlement_window_actor::behavior_type settlement_window(self_ptr self,
                                                         settlement_window_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.undelivered = recover_undelivered(st.config);
  if (!st.undelivered.empty()) {
    spdlog::info("settlement window: {} earlier transfer(s) will be sent again at the next close",
                 st.undelivered.size());
  }
  if (st.config.interval.count() > 0) {
    self->delayed_send(self, st.config.interval, tick_atom::value);
  }
  return {
      [=](window_atom) -> caf::result<window_report> {
        if (self->state.closing) return caf::make_error(caf::sec::runtime_error);
        auto promise = self->make_response_promise<window_report>();
        close_window(self, [promise](window_report r) mutable { promise.deliver(std::move(r)); });
        return promise;
      },
      // A peer's window: a merchant homed here was owed money on its partition.
      [=](credit_atom, const netting_transfer& t) -> caf::result<verdict> {
        settlement_order o;
        o.settlement_id = "net:" + t.window + ":" + t.merchant_id + ":in";
        o.debit_account = internode_account(t.from_node, t.currency);
        o.credit_account = "merchant:" + t.merchant_id;
        o.amount_minor = t.amount_minor;
        o.currency = t.currency;
        o.memo = "settlement window " + t.window;
        auto promise = self->make_response_promise<verdict>();
        self->request(self->state.config.ledger, caf::infinite, settle_atom::value, std::move(o))
            .then(
                [=](const settlement_outcome& out) mutable {
                  promise.deliver(out.ok ? accepted() : refused(out.error, out.message));
                },
                [=](caf::error& err) mutable {
                  promise.deliver(refused(wire_error::internal, caf::to_string(err)));
                });
        return promise;
      },
      [=](tick_atom) {
        if (!self->state.closing) close_window(self, [](window_report) {});
        self->delayed_send(self, self->state.config.interval, tick_atom::value);
      },
  };
}

}  // namespace paysync::actors
