#pragma once

// One real paysync process per test, real WebSockets to it, and a read-only
// view of its LMDB files to check the money.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocols/identify.hpp"
#include "protocols/terminal_auth.hpp"
#include "protocols/terminal_client.hpp"
#include "storage/environment.hpp"
#include "storage/ledger_store.hpp"
#include "support/temp_directory.hpp"
#include "switch_process.hpp"

namespace paysync::testing_support {

namespace json = boost::json;
using namespace std::chrono_literals;

inline std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

// What every test against real switch processes does over real WebSockets;
// nothing here knows how many switches there are.
class terminal_test : public ::testing::Test {
 protected:
  static constexpr auto wait = 5s;

  // What to print when a connection fails (the switches' output).
  virtual std::string diagnostics() const { return {}; }

  protocols::client_tls client_tls_;  // how connect() reaches the switch: plaintext by default

  protocols::terminal_session connect(std::uint16_t port,
                                      std::vector<std::pair<std::string, std::string>> headers,
                                      std::string target = "/") {
    protocols::client_options o;
    o.port = port;
    o.target = std::move(target);
    o.headers = std::move(headers);
    o.tls = client_tls_;
    auto s = protocols::terminal_session::connect(o);
    if (!s) {
      ADD_FAILURE() << "cannot connect: " << protocols::to_string(s.error()) << "\n"
                    << diagnostics();
      throw std::runtime_error("connect failed");
    }
    return std::move(*s);
  }

  // Says hello as `id` on `port` and answers the switch's challenge with the
  // key in `key_file`.
  protocols::terminal_session identified_with(std::uint16_t port, const std::string& key_file,
                                              std::string_view id_field, const std::string& id,
                                              std::string target = "/") {
    auto s = connect(port, {}, std::move(target));
    auto keys = protocols::read_terminal_key_file(key_file);
    EXPECT_TRUE(keys) << (keys ? "" : keys.error());
    auto welcome = protocols::identify(s, id_field, id, keys ? &*keys : nullptr, wait);
    EXPECT_TRUE(welcome && str(*welcome, "type") == "welcome")
        << (welcome ? json::serialize(*welcome) : "no reply");
    return s;
  }

  // request() that must succeed with a reply of `type`.
  json::object call(protocols::terminal_session& s, json::object message, std::string_view type) {
    auto reply = s.request(std::move(message), wait);
    if (!reply) {
      ADD_FAILURE() << "no reply: " << protocols::to_string(reply.error());
      return {};
    }
    EXPECT_EQ(str(*reply, "type"), type) << json::serialize(*reply);
    return std::move(*reply);
  }

  // request() that must be refused with `code`; returns the error.
  json::object refused(protocols::terminal_session& s, json::object message,
                       std::string_view code) {
    auto reply = call(s, std::move(message), "error");
    EXPECT_EQ(str(reply, "code"), code) << json::serialize(reply);
    return reply;
  }

  json::object event(protocols::terminal_session& s, std::string_view type) {
    auto got = s.wait_for(type, wait);
    if (!got) {
      ADD_FAILURE() << "no \"" << type << "\": " << protocols::to_string(got.error());
      return {};
    }
    EXPECT_EQ(str(*got, "type"), type) << json::serialize(*got);
    return std::move(*got);
  }

  // The connection still answers (nothing was lost on it).
  void expect_alive(protocols::terminal_session& s) {
    auto pong = s.request({{"type", "ping"}}, wait);
    ASSERT_TRUE(pong) << protocols::to_string(pong.error());
    EXPECT_EQ(str(*pong, "type"), "pong");
  }

  // Opens -> joins by link token -> confirms the merchant; returns the txn id.
  std::string synchronize(protocols::terminal_session& b, protocols::terminal_session& h,
                          json::object open_fields = {}) {
    json::object open{{"type", "open"}};
    for (auto& [k, v] : open_fields) open[k] = v;
    auto opened = call(b, open, "opened");
    const auto txn = str(opened, "txn");
    const auto link = str(opened, "link");
    call(h, {{"type", "join"}, {"token", link.substr(link.rfind('/') + 1)}}, "merchant");
    call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
    event(b, "synchronized");
    return txn;
  }

  // Amount -> confirmation -> receipt and settled, on a synchronized txn.
  json::object settle(protocols::terminal_session& b, protocols::terminal_session& h,
                      const std::string& txn, std::int64_t amount) {
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", amount}}, "ack");
    event(h, "amount");
    auto receipt =
        call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", amount}}, "receipt");
    event(b, "settled");
    return receipt;
  }

  // Reads the LMDB files in `directory` from this process (LMDB allows
  // readers in other processes while a switch writes).
  template <class F>
  static void with_ledger_in(const std::string& directory, F f) {
    storage::environment_options o;
    o.directory = directory;
    auto env = storage::environment::open(o);
    ASSERT_TRUE(env) << storage::to_string(env.error());
    storage::ledger_store ledger(**env);
    f(ledger);
  }

  // Every balance sums to zero per currency and matches the journal.
  static void expect_balanced_ledger_in(const std::string& directory) {
    with_ledger_in(directory, [&](storage::ledger_store& l) {
      auto totals = l.balance_totals();
      ASSERT_TRUE(totals);
      for (const auto& [currency, sum] : *totals) EXPECT_EQ(sum, 0) << currency << " " << directory;
      auto audit = l.audit();
      ASSERT_TRUE(audit);
      EXPECT_TRUE(audit->empty()) << directory;
    });
  }
};

class switch_test : public terminal_test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    process_ = std::make_unique<switch_process>(data_dir(), std::move(extra));
  }
  std::string data_dir() const { return dir_.sub("data"); }
  switch_process& process() { return *process_; }
  std::string diagnostics() const override { return process_ ? process_->output() : ""; }

  void TearDown() override {
    if (process_ && process_->running()) {
      // After every test the money still balances, whatever the test did.
      expect_balanced_ledger();
      // SIGTERM with terminals still connected: the switch closes them,
      // lets its actors finish and exits 0 (-1: killed after 15 s).
      EXPECT_EQ(process_->stop(), 0) << "the switch did not exit cleanly on SIGTERM\n"
                                     << process_->output();
    }
  }

  // The secret key the switch wrote for a demo terminal or order centre on
  // its first start (docs/demo-data.md).
  std::string terminal_key_file(const std::string& id) const {
    return data_dir() + "/terminal-keys/" + id + ".key";
  }

  // Says hello as `id` and answers the switch's challenge with its key.
  protocols::terminal_session identified(std::uint16_t port, std::string_view id_field,
                                         const std::string& id, std::string target = "/") {
    return identified_with(port, terminal_key_file(id), id_field, id, std::move(target));
  }

  protocols::terminal_session billing(const std::string& terminal = "t-kahawa-01") {
    return identified(process_->billing_port(), "terminal", terminal);
  }

  protocols::terminal_session handset(const std::string& msisdn = "254700000001") {
    return connect(process_->paying_port(), {{"X-MSISDN", msisdn}});
  }

  // A whole payment; returns the receipt.
  json::object pay(protocols::terminal_session& b, protocols::terminal_session& h,
                   std::int64_t amount) {
    return settle(b, h, synchronize(b, h), amount);
  }

  template <class F>
  void with_ledger(F f) {
    with_ledger_in(data_dir(), std::move(f));
  }

  std::int64_t balance(const std::string& account) {
    std::int64_t out = -1;
    with_ledger([&](storage::ledger_store& l) {
      auto a = l.find_account(account);
      ASSERT_TRUE(a) << account;
      out = a->balance_minor;
    });
    return out;
  }

  std::uint64_t journal_entries() {
    std::uint64_t out = 0;
    with_ledger([&](storage::ledger_store& l) { out = *l.entry_count(); });
    return out;
  }

  void expect_balanced_ledger() { expect_balanced_ledger_in(data_dir()); }

  scratch_directory dir_;
  std::unique_ptr<switch_process> process_;
};

}  // namespace paysync::testing_support
