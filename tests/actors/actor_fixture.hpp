#pragma once

// A deterministic actor system (CAF's test coordinator: nothing runs until the
// test says so) wired to real LMDB stores seeded with the demo data, a manual
// clock, and fake connections that record what the switch sends.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "actors/auth_worker.hpp"
#include "actors/billing_session.hpp"
#include "actors/clock.hpp"
#include "actors/enrolment.hpp"
#include "actors/ledger.hpp"
#include "actors/paying_session.hpp"
#include "actors/presence_shard.hpp"
#include "actors/registry_shard.hpp"
#include "actors/sms_sender.hpp"
#include "actors/switch_context.hpp"
#include "actors/work_pool.hpp"
#include "storage/demo_seed.hpp"
#include "storage/directory_store.hpp"
#include "storage/environment.hpp"
#include "storage/factor_store.hpp"
#include "storage/keyring.hpp"
#include "storage/ledger_store.hpp"
#include "support/temp_directory.hpp"

namespace paysync::actors::testing {

namespace json = boost::json;

constexpr std::int64_t start_unix_ms = 1'795'000'000'000;

// Stands in for a WebSocket: keeps every frame the actor sends.
class recording_connection final : public protocols::ws_connection {
 public:
  explicit recording_connection(std::uint64_t id) : id_(id) {}
  void send_text(std::string frame) override { frames_.push_back(json::parse(frame).as_object()); }
  void close() override { closed_ = true; }
  std::uint64_t id() const noexcept override { return id_; }

  // Removes and returns every frame received so far.
  std::vector<json::object> take() {
    auto out = std::move(frames_);
    frames_.clear();
    return out;
  }
  // Removes and returns the only frame; fails the test if there is not exactly one.
  json::object take_one() {
    auto frames = take();
    EXPECT_EQ(frames.size(), 1u) << describe(frames);
    return frames.empty() ? json::object{} : frames.front();
  }
  static std::string describe(const std::vector<json::object>& frames) {
    std::string out;
    for (const auto& f : frames) out += json::serialize(f) + "\n";
    return out;
  }

 private:
  std::uint64_t id_;
  std::vector<json::object> frames_;
  bool closed_ = false;
};

inline std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

class actor_test : public ::testing::Test {
 protected:
  actor_test() {
    config_.set("scheduler.policy", caf::atom("testing"));
    config_.add_message_types<caf::id_block::paysync>();
    system_ = std::make_unique<caf::actor_system>(config_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(system_->scheduler());
    storage::environment_options options;
    options.directory = dir_.sub("db");
    options.single_flush_commits = true;  // as the switch runs
    env_ = *storage::environment::open(options);
    directory_ = std::make_unique<storage::directory_store>(*env_);
    ledger_store_ = std::make_unique<storage::ledger_store>(*env_);
    EXPECT_TRUE(storage::seed_demo_data(*directory_, *ledger_store_, start_unix_ms));
    factors_ = std::make_unique<storage::factor_store>(*env_);
    keys_ = std::make_shared<const storage::keyring>(
        *storage::load_or_create_keyring(dir_.sub("keys")));
    EXPECT_TRUE(seed_demo_factors(*factors_, *directory_, *keys_, start_unix_ms));
  }

  ~actor_test() override {
    for (auto& shard : context_->shards)
      caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context_->ledger, caf::exit_reason::user_shutdown);
    for (auto& p : context_->presence) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context_->sms, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context_->knowledge_checks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context_->biometric_checks, caf::exit_reason::user_shutdown);
    for (auto& a : sessions_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  // Spawns the ledger and `shards` registry shards (sweeps only on tick).
  void start_switch(std::uint16_t shards = 2, std::int64_t ttl_ms = 300'000) {
    auto ctx = std::make_shared<switch_context>();
    ctx->time = clock_;
    ctx->metrics = &metrics_;
    ctx->directory = directory_.get();
    ctx->ledger_reads = ledger_store_.get();
    ctx->limits.txn_ttl_ms = ttl_ms;
    ctx->public_base_url = "http://pay.test";
    // The demo directory here has no terminal keys; terminal_check_test
    // covers the signed hello.
    ctx->limits.require_terminal_keys = false;
    // As the switch does: the payer velocity limit is enforced at commit too.
    ctx->ledger = system_->spawn(
        ledger, ledger_config{
                    ledger_store_.get(), 1024, clock_, &metrics_,
                    storage::velocity_rule{ctx->limits.payer.window_ms, ctx->limits.payer.max_count,
                                           ctx->limits.payer.max_sum_minor}});
    spawn_shards(*ctx, 0, shards);
    ctx->factors = factors_.get();
    // Authentication is off unless a test lowers the thresholds.
    ctx->auth.policy.defaults = {std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::max()};
    auto pool = [&] {
      work_pool_config pc;
      pc.workers.push_back(system_->spawn(auth_worker, keys_, worker_priority::normal));
      pc.max_queued = 8;
      return system_->spawn(work_pool, std::move(pc));
    };
    ctx->knowledge_checks = pool();
    ctx->biometric_checks = pool();
    ctx->sms = system_->spawn(sms_sender, std::shared_ptr<protocols::sms_gateway>(
                                              protocols::make_file_sms_gateway(sms_outbox())));
    context_ = ctx;
    sched_->run();
  }

  // `shards` registry and presence shards of node `node` into `ctx`.
  void spawn_shards(switch_context& ctx, std::uint8_t node, std::uint16_t shards) {
    for (std::uint16_t i = 0; i < shards; ++i) {
      registry_shard_config sc;
      sc.node_id = node;
      sc.shard_index = i;
      sc.shard_count = shards;
      sc.sweep_interval_ms = 0;
      sc.time = clock_;
      sc.metrics = &metrics_;
      ctx.shards.push_back(system_->spawn(registry_shard, sc));
      presence_shard_config pc;
      pc.shard_index = i;
      pc.time = clock_;
      ctx.presence.push_back(system_->spawn(presence_shard, pc));
    }
  }

  struct billing_terminal {
    billing_session_actor actor;
    std::shared_ptr<recording_connection> wire;
  };
  struct handset {
    paying_session_actor actor;
    std::shared_ptr<recording_connection> wire;
  };

  billing_terminal connect_billing() {
    auto wire = std::make_shared<recording_connection>(++next_connection_);
    auto actor = system_->spawn(billing_session, context_, wire);
    sessions_.push_back(caf::actor_cast<caf::actor>(actor));
    return {actor, wire};
  }

  handset connect_handset(std::string msisdn = "254700000001") {
    auto wire = std::make_shared<recording_connection>(++next_connection_);
    auto actor = system_->spawn(paying_session, context_, wire, std::move(msisdn), std::string{});
    sessions_.push_back(caf::actor_cast<caf::actor>(actor));
    return {actor, wire};
  }

  template <class Handle>
  void send(const Handle& to, const json::object& message) {
    caf::anon_send(to, frame_atom::value, json::serialize(message));
    sched_->run();
  }

  template <class Handle>
  void disconnect(const Handle& who) {
    caf::anon_send(who, closed_atom::value, protocols::close_reason::peer_closed);
    sched_->run();
  }

  // A billing terminal of Kahawa Coffee House that said hello.
  billing_terminal identified_billing(const std::string& terminal = "t-kahawa-01") {
    auto b = connect_billing();
    send(b.actor, {{"type", "hello"}, {"terminal", terminal}});
    EXPECT_EQ(str(b.wire->take_one(), "type"), "welcome");
    return b;
  }

  // Opens a transaction and returns the `opened` reply.
  json::object open(billing_terminal& b, json::object extra = {}) {
    json::object m{{"type", "open"}};
    for (auto& [k, v] : extra) m[k] = v;
    send(b.actor, m);
    return b.wire->take_one();
  }

  // Opens, joins by link token and confirms the merchant; returns the txn id.
  std::string synchronize(billing_terminal& b, handset& h, json::object open_extra = {}) {
    auto opened = open(b, std::move(open_extra));
    EXPECT_EQ(str(opened, "type"), "opened") << json::serialize(opened);
    const auto txn = str(opened, "txn");
    const auto link = str(opened, "link");
    send(h.actor, {{"type", "join"}, {"token", link.substr(link.rfind('/') + 1)}});
    EXPECT_EQ(str(h.wire->take_one(), "type"), "merchant");
    send(h.actor, {{"type", "confirm_merchant"}, {"txn", txn}});
    EXPECT_EQ(str(h.wire->take_one(), "type"), "ack");
    EXPECT_EQ(str(b.wire->take_one(), "type"), "synchronized");
    return txn;
  }

  std::string sms_outbox() const { return dir_.sub("sms-outbox.jsonl"); }

  std::int64_t balance(const std::string& account) {
    auto a = ledger_store_->find_account(account);
    EXPECT_TRUE(a);
    return a ? a->balance_minor : -1;
  }

  void expect_balanced_ledger() {
    auto totals = ledger_store_->balance_totals();
    ASSERT_TRUE(totals);
    for (const auto& [currency, sum] : *totals) EXPECT_EQ(sum, 0) << currency;
    auto audit = ledger_store_->audit();
    ASSERT_TRUE(audit);
    EXPECT_TRUE(audit->empty());
  }

  testing_support::scratch_directory dir_;
  switch_metrics metrics_;  // outlives the actor system
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>(start_unix_ms);
  std::unique_ptr<storage::environment> env_;
  std::unique_ptr<storage::directory_store> directory_;
  std::unique_ptr<storage::ledger_store> ledger_store_;
  std::unique_ptr<storage::factor_store> factors_;
  std::shared_ptr<const storage::keyring> keys_;
  std::shared_ptr<switch_context> context_;
  std::vector<caf::actor> sessions_;
  std::uint64_t next_connection_ = 0;
};

}  // namespace paysync::actors::testing
