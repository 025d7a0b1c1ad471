#include "actors/switch_node.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "actors/asio_scheduler.hpp"
#include "actors/auth_worker.hpp"
#include "actors/billing_session.hpp"
#include "actors/cluster_view.hpp"
#include "actors/enrolment.hpp"
#include "actors/ledger.hpp"
#include "actors/node_directory.hpp"
#include "actors/order_centre_session.hpp"
#include "actors/paying_session.hpp"
#include "actors/peer_link.hpp"
#include "actors/presence_shard.hpp"
#include "actors/registry_shard.hpp"
#include "actors/session_bridge.hpp"
#include "actors/settlement_window.hpp"
#include "actors/sms_sender.hpp"
#include "actors/switch_context.hpp"
#include "actors/terminal_key_cli.hpp"
#include "actors/work_pool.hpp"
#include "biometrics/matcher.hpp"
#include "protocols/handset_identity.hpp"
#include "protocols/link_page.hpp"
#include "protocols/sms_gateway.hpp"
#include "protocols/tls_context.hpp"
#include "protocols/trusted_gateway.hpp"
#include "protocols/txn_ids.hpp"
#include "protocols/ws_listener.hpp"
#include "storage/demo_seed.hpp"
#include "storage/directory_store.hpp"
#include "storage/environment.hpp"
#include "storage/factor_store.hpp"
#include "storage/keyring.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::actors {

struct switch_node::impl {
  switch_config config;
  std::shared_ptr<const clock> time;
  std::unique_ptr<storage::environment> env;
  std::unique_ptr<storage::directory_store> directory;
  std::unique_ptr<storage::ledger_store> ledger_store;
  std::unique_ptr<storage::factor_store> factors;
  std::shared_ptr<const storage::keyring> keys;
  std::unique_ptr<caf::actor_system_config> actor_config;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<switch_context> context;  // read-only once the io threads run
  // The calling number of a handset: gateway header or cookie. Set in listen().
  std::optional<protocols::handset_identity> identity;
  std::optional<protocols::trusted_gateways> gateways;  // exempt from per-address limits
  std::unique_ptr<address_counter> connections_by_address;
  std::optional<protocols::server_tls> tls;  // billing and paying ports, unless --tls off

  // The abuse limits of a new connection; nullopt when its source address has
  // too many open already (the upgrade then gets HTTP 503).
  std::optional<bridge_guard> guard_for(std::shared_ptr<protocols::ws_connection> connection,
                                        const protocols::peer_request& request,
                                        std::uint32_t message_rate_per_minute);
  boost::asio::io_context io;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::shared_ptr<protocols::ws_listener> billing_listener, paying_listener, operator_listener;
  std::unique_ptr<switch_metrics> metrics = std::make_unique<switch_metrics>();
  bool stopped = false;
  bool abandoned = false;  // shut_down gave up on actors that would not quit

  // The cluster (docs/cluster.md); all null on a single node.
  node_directory_actor cluster_directory;
  settlement_window_actor windows;
  presence_shard_actor cluster_presence;
  std::vector<peer_link_actor> peer_links;
  std::uint16_t cluster_port = 0;

  boost::system::result<void, std::string> open_storage();
  void spawn_actors();
  boost::system::result<void, std::string> join_cluster();
  boost::system::result<void, std::string> listen();
  void start_io();
  void stop_io();  // the io threads, once nothing may run on them any more
  protocols::http_response serve_http(const protocols::peer_request& request) const;
  bool shut_down();
};

boost::system::result<void, std::string> switch_node::impl::open_storage() {
  storage::environment_options options;
  options.directory = config.data_dir;
  options.map_size_bytes = config.map_size_mb * std::size_t{1} << 20;
  // One flush per ledger commit; every commit is still durable before it is
  // acknowledged (actors/ledger.hpp).
  options.single_flush_commits = true;
  auto opened = storage::environment::open(options);
  if (!opened) {
    return "cannot open the LMDB environment in \"" + config.data_dir +
           "\": " + std::string(storage::to_string(opened.error()));
  }
  env = std::move(*opened);
  directory = std::make_unique<storage::directory_store>(*env);
  factors = std::make_unique<storage::factor_store>(*env);
  const auto key_file = config.data_dir + "/keys";
  auto loaded = storage::load_or_create_keyring(key_file);
  if (!loaded) {
    return "cannot use the key file " + key_file + ": " +
           std::string(storage::to_string(loaded.error())) +
           (loaded.error() == storage::store_error::invalid_argument
                ? " (it must be 104 bytes, mode 0600)"
                : "");
  }
  keys = std::make_shared<const storage::keyring>(std::move(*loaded));
  ledger_store = std::make_unique<storage::ledger_store>(*env);
  if (config.seed_demo) {
    auto seeded = storage::seed_demo_data(*directory, *ledger_store, time->now_unix_ms());
    if (!seeded) {
      return "seeding the demo data failed: " + std::string(storage::to_string(seeded.error()));
    }
    if (seeded->seeded) {
      spdlog::info("seeded demo data: {} merchants, {} terminals, {} users", seeded->merchants,
                   seeded->terminals, seeded->users);
    }
    auto added = seed_demo_factors(*factors, *directory, *keys, time->now_unix_ms());
    if (!added) return "seeding the demo factors failed: " + added.error();
    if (*added > 0) spdlog::info("seeded {} demo authentication factors", *added);
    auto keyed = seed_demo_terminal_keys(*directory, config.data_dir + "/terminal-keys");
    if (!keyed) return "seeding the demo terminal keys failed: " + keyed.error();
    if (*keyed > 0) {
      spdlog::info("made {} demo terminal key pairs in {}/terminal-keys", *keyed, config.data_dir);
    }
  }
  if (config.seed_load_merchants > 0 || config.seed_load_users > 0) {
    auto seeded = storage::seed_load_data(*directory, *ledger_store, config.seed_load_merchants,
                                          config.seed_load_users, config.seed_load_funding_minor,
                                          time->now_unix_ms());
    if (!seeded) {
      return "seeding the load-test data failed: " +
             std::string(storage::to_string(seeded.error()));
    }
    if (seeded->seeded) {
      spdlog::info("seeded load-test data: {} merchants, {} users", seeded->merchants,
                   seeded->users);
    }
  }
  return {};
}

void switch_node::impl::spawn_actors() {
  actor_config = std::make_unique<caf::actor_system_config>();
  if (config.actors_on_io_threads()) {
    asio_scheduler::install(*actor_config, io);
  } else {
    // CAF starts max(cores, 4) workers by default; on small machines the
    // extra ones only add contention (docs/architecture.md).
    actor_config->set("scheduler.max-threads",
                      static_cast<std::size_t>(config.effective_workers()));
  }
  // After its burst of spinning, an idle CAF worker polls every 50 us for
  // 500 rounds before it sleeps on its condition variable (which an external
  // enqueue signals). With registry sweeps every 250 ms that polling never
  // stopped: ~9% of a core while idle, taken from the I/O threads and the
  // ledger under load. Without it: ~1% idle, open-loop p99 13.3 ms against
  // 14.7 ms, the same throughput (bench/README.md, 2026-12-02).
  actor_config->set("work-stealing.moderate-poll-attempts", std::size_t{0});
  actor_config->add_message_types<caf::id_block::paysync>();
  if (config.cluster.enabled()) {
    // CAF's own remoting carries every message between nodes.
    load_cluster_remoting(*actor_config, config.cluster);
  }
  system = std::make_unique<caf::actor_system>(*actor_config);

  auto ctx = std::make_shared<switch_context>();
  ctx->node_id = static_cast<std::uint8_t>(config.node_id);
  ctx->time = time;
  ctx->metrics = metrics.get();
  ctx->directory = directory.get();
  ctx->ledger_reads = ledger_store.get();
  ctx->limits.txn_ttl_ms = config.txn_ttl_s * 1000;
  ctx->limits.max_open_per_terminal = config.max_open_per_terminal;
  ctx->limits.max_failed_joins = config.max_failed_joins;
  ctx->limits.join_lockout_ms = config.join_lockout_s * 1000;
  ctx->limits.max_frame_bytes = config.max_frame_bytes;
  ctx->limits.require_terminal_keys = config.require_terminal_keys;
  ctx->limits.payer.window_ms = config.velocity_window_s * 1000;
  ctx->limits.payer.max_count = config.velocity_max_count;
  ctx->limits.payer.max_sum_minor = config.velocity_max_minor;
  ctx->factors = factors.get();
  constexpr std::size_t max_limited_keys = 1'000'000;  // ~100 MB at most
  if (config.join_rate_per_msisdn > 0) {
    ctx->join_limits.by_msisdn = std::make_shared<keyed_rate_limiter>(
        rate_limit{config.join_rate_per_msisdn}, max_limited_keys);
  }
  if (config.join_rate_per_address > 0) {
    ctx->join_limits.by_address = std::make_shared<keyed_rate_limiter>(
        rate_limit{config.join_rate_per_address}, max_limited_keys);
  }
  ctx->receipts =
      std::make_shared<const protocols::receipt_signer>(keys->signing_seed, keys->pepper);
  ctx->auth.policy.defaults = {config.auth_none_below_minor, config.auth_knowledge_up_to_minor};
  for (const auto& rule : config.auth_merchant_rules) {
    ctx->auth.policy.per_merchant.push_back(*parse_merchant_rule(rule));
  }
  ctx->auth.lockout.max_failures = config.auth_max_failures;
  ctx->auth.lockout.first_lockout_ms = config.auth_lockout_s * 1000;
  ctx->auth.max_image_bytes = config.max_sample_bytes;
  ctx->auth.max_audio_bytes = config.max_sample_bytes;
  ctx->auth.biometric_thresholds = {config.face_threshold, config.iris_threshold,
                                    config.fingerprint_threshold, config.voice_threshold};
  auto pool = [&](unsigned workers, std::size_t queue, worker_priority priority,
                  std::atomic<std::int64_t>* depth) {
    work_pool_config pc;
    for (unsigned i = 0; i < workers; ++i) {
      pc.workers.push_back(system->spawn<caf::detached>(auth_worker, keys, priority));
    }
    pc.max_queued = queue;
    pc.depth = depth;
    return system->spawn(work_pool, std::move(pc));
  };
  ctx->knowledge_checks =
      pool(config.knowledge_workers, config.knowledge_queue, worker_priority::normal, nullptr);
  // Biometric checks run in the background (SCHED_IDLE): a saturated pool
  // yields the CPU to the I/O path instead of slowing every payment down. Each check stays on its
  // worker's thread: the pool size, not OpenCV, decides how many cores
  // biometrics may take.
  biometrics::run_on_calling_threads();
  ctx->biometric_checks = pool(config.biometric_workers, config.biometric_queue,
                               worker_priority::background, &metrics->biometric_queue_depth);
  ledger_config lc{ledger_store.get(), config.ledger_batch_max, time, metrics.get(), {}};
  lc.velocity = storage::velocity_rule{ctx->limits.payer.window_ms, ctx->limits.payer.max_count,
                                       ctx->limits.payer.max_sum_minor};
  ctx->ledger = system->spawn<caf::detached>(actors::ledger, std::move(lc));
  const auto shard_count = static_cast<std::uint16_t>(config.effective_shards());
  for (std::uint16_t i = 0; i < shard_count; ++i) {
    registry_shard_config sc;
    sc.node_id = ctx->node_id;
    sc.shard_index = i;
    sc.shard_count = shard_count;
    sc.tombstone_ttl_ms = 2 * ctx->limits.txn_ttl_ms;
    sc.time = time;
    sc.metrics = metrics.get();
    ctx->shards.push_back(system->spawn(registry_shard, sc));
    presence_shard_config pc;
    pc.shard_index = i;
    pc.customer_ttl_ms = 2 * ctx->limits.txn_ttl_ms + 3'600'000;
    pc.time = time;
    ctx->presence.push_back(system->spawn(presence_shard, pc));
  }
  const auto outbox =
      config.sms_outbox.empty() ? config.data_dir + "/sms-outbox.jsonl" : config.sms_outbox;
  ctx->sms = system->spawn<caf::detached>(
      sms_sender,
      std::shared_ptr<protocols::sms_gateway>(protocols::make_file_sms_gateway(outbox)));
  context = std::move(ctx);
}

boost::system::result<void, std::string> switch_node::impl::join_cluster() {
  const auto& cc = config.cluster;
  if (!cc.enabled()) return {};
  auto peers = check_cluster_config(cc, config.node_id);
  if (!peers) return peers.error();
  std::vector<std::uint8_t> nodes{context->node_id};
  for (const auto& p : *peers) nodes.push_back(p.node);
  auto map = std::make_shared<cluster_map>(context->node_id, std::move(nodes));
  settlement_window_config wc;
  wc.node = context->node_id;
  wc.map = map;
  wc.ledger = context->ledger;
  wc.reads = ledger_store.get();
  wc.time = time;
  wc.report_directory = config.data_dir + "/settlement-windows";
  wc.interval = std::chrono::seconds(cc.settlement_window_s);
  windows = system->spawn(settlement_window, std::move(wc));
  node_directory_config dc;
  const node_card local_card{context->node_id, context->shards, context->presence, context->ledger,
                             windows};
  dc.local = local_card;
  dc.peers = *peers;
  dc.map = map;
  dc.time = time;
  dc.metrics = metrics.get();
  cluster_directory = system->spawn(node_directory, std::move(dc));
  auto published =
      cc.tls() ? caf::openssl::publish(cluster_directory, static_cast<std::uint16_t>(cc.port),
                                       cc.address.c_str(), true)
               : system->middleman().publish(cluster_directory, static_cast<std::uint16_t>(cc.port),
                                             cc.address.c_str(), true);
  if (!published) {
    return "cannot publish the node on " + cc.address + ":" + std::to_string(cc.port) + ": " +
           system->render(published.error());
  }
  cluster_port = *published;
  cluster_view_config vc;
  vc.map = map;
  vc.local = context->presence;
  cluster_presence = system->spawn(cluster_view, std::move(vc));
  // The context is not yet shared with any session: completing it here is safe.
  context->cluster = map;
  context->cluster_presence = cluster_presence;
  auto connector =
      cc.tls() ? system->openssl_manager().actor_handle() : system->middleman().actor_handle();
  for (const auto& peer : *peers) {
    // Only the lower id of a pair dials, so there is one BASP connection per
    // pair; a peer with a lower id greets the directory instead
    // (docs/cluster.md, who dials).
    if (peer.node < context->node_id) continue;
    peer_link_config pc;
    pc.self_card = local_card;
    pc.peer = peer;
    pc.directory = cluster_directory;
    pc.connector = connector;
    pc.reconnect_min = std::chrono::milliseconds(cc.reconnect_min_ms);
    pc.reconnect_max = std::chrono::milliseconds(cc.reconnect_max_ms);
    peer_links.push_back(system->spawn(peer_link, std::move(pc)));
  }
  spdlog::info("cluster: node {} published on {}:{}{}, {} peer(s)", context->node_id, cc.address,
               cluster_port, cc.tls() ? " (TLS)" : "", peers->size());
  return {};
}

protocols::http_response switch_node::impl::serve_http(
    const protocols::peer_request& request) const {
  if (request.target == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n", {}};
  if (auto page = protocols::serve_link_page(request)) {
    // A page request enriched by a trusted gateway: the browser presents the
    // number again, as a cookie, on the page's WebSocket upgrade.
    if (page->status == 200 && protocols::parse_link_path(request.target)) {
      if (auto msisdn = identity->gateway_msisdn(request); !msisdn.empty()) {
        page->headers.emplace_back(
            "Set-Cookie", identity->issue_cookie(msisdn, time->now_unix_ms(), request.secure));
      }
    }
    return std::move(*page);
  }
  return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

std::optional<bridge_guard> switch_node::impl::guard_for(
    std::shared_ptr<protocols::ws_connection> connection, const protocols::peer_request& request,
    std::uint32_t message_rate_per_minute) {
  bridge_guard guard{connection, {message_rate_per_minute}, time, metrics.get(), {}};
  // A carrier gateway carries many handsets from one address: no cap there.
  if (gateways->contains(request.remote_address)) return guard;
  if (!connections_by_address->acquire(request.remote_address)) {
    metrics->connections_refused_per_address.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("refused a connection from {}: {} open from that address already",
                 request.remote_address, config.max_connections_per_address);
    return std::nullopt;
  }
  guard.on_release = [counter = connections_by_address.get(), address = request.remote_address] {
    counter->release(address);
  };
  return guard;
}

boost::system::result<void, std::string> switch_node::impl::listen() {
  auto parsed = protocols::trusted_gateways::parse(config.trusted_gateways);
  if (!parsed) return "--trusted-gateway: " + parsed.error();
  // A fresh key per process: a restart invalidates the identity cookies.
  gateways = *parsed;
  identity.emplace(std::move(*parsed), protocols::handset_identity::random_key(),
                   config.msisdn_header);
  connections_by_address = std::make_unique<address_counter>(config.max_connections_per_address);

  protocols::listener_options common;
  common.max_frame_bytes = config.max_frame_bytes;
  common.hard_frame_bytes = config.hard_frame_bytes;
  common.max_connections = config.max_connections;
  common.idle_timeout = std::chrono::seconds(config.idle_timeout_s);
  common.max_binary_frame_bytes = config.max_sample_bytes;
  if (config.tls_enabled()) {
    auto loaded =
        protocols::load_server_tls({config.tls_cert, config.tls_key, config.data_dir + "/tls"});
    if (!loaded) return "TLS: " + protocols::describe(loaded.error());
    if (loaded->created) {
      spdlog::info("made a self-signed TLS certificate: {}", loaded->certificate_file);
    }
    tls = std::move(*loaded);
  }
  // The operator port (copied from `common` below) stays plaintext: loopback only.
  auto terminal_common = common;
  if (tls) {
    terminal_common.tls = tls->context;
    terminal_common.tls_required = config.tls == "required";
  }

  auto billing_options = terminal_common;
  billing_options.name = "billing";
  billing_options.address = config.billing_address;
  billing_options.port = config.billing_port;
  protocols::listener_callbacks billing_callbacks;
  billing_callbacks.on_connect =
      [this](std::shared_ptr<protocols::ws_connection> connection,
             const protocols::peer_request& request) -> std::shared_ptr<protocols::ws_handler> {
    auto guard = guard_for(connection, request, config.billing_message_rate);
    if (!guard) return nullptr;
    // Order-receiving centres share the private line, on their own path.
    if (request.target == "/centre" || request.target.rfind("/centre?", 0) == 0) {
      auto session = system->spawn(order_centre_session, context, std::move(connection));
      return std::make_shared<session_bridge<order_centre_session_actor>>(std::move(session),
                                                                          std::move(*guard));
    }
    auto session = system->spawn(billing_session, context, std::move(connection));
    return std::make_shared<session_bridge<billing_session_actor>>(std::move(session),
                                                                   std::move(*guard));
  };
  auto billing = protocols::ws_listener::start(io, billing_options, billing_callbacks);
  if (!billing) {
    return "cannot listen for billing terminals on " + config.billing_address + ":" +
           std::to_string(config.billing_port) + ": " +
           std::string(protocols::to_string(billing.error()));
  }
  billing_listener = *billing;

  auto paying_options = terminal_common;
  paying_options.name = "paying";
  paying_options.address = config.paying_address;
  paying_options.port = config.paying_port;
  protocols::listener_callbacks paying_callbacks;
  paying_callbacks.on_connect =
      [this](std::shared_ptr<protocols::ws_connection> connection,
             const protocols::peer_request& request) -> std::shared_ptr<protocols::ws_handler> {
    // From a trusted gateway's header, or from the cookie the link page set.
    auto guard = guard_for(connection, request, config.paying_message_rate);
    if (!guard) return nullptr;
    const auto msisdn = identity->msisdn_of(request, time->now_unix_ms());
    // Joins are limited per source address too, except from a carrier's
    // gateway, behind which every handset shares an address.
    auto source =
        gateways->contains(request.remote_address) ? std::string{} : request.remote_address;
    auto session =
        system->spawn(paying_session, context, std::move(connection), msisdn, std::move(source));
    return std::make_shared<session_bridge<paying_session_actor>>(std::move(session),
                                                                  std::move(*guard));
  };
  paying_callbacks.on_http = [this](const protocols::peer_request& request) {
    return serve_http(request);
  };
  auto paying = protocols::ws_listener::start(io, paying_options, paying_callbacks);
  if (!paying) {
    return "cannot listen for handsets on " + config.paying_address + ":" +
           std::to_string(config.paying_port) + ": " +
           std::string(protocols::to_string(paying.error()));
  }
  paying_listener = *paying;

  // The operator port: plain HTTP, metrics and health, no WebSocket.
  auto operator_options = common;
  operator_options.name = "operator";
  operator_options.address = config.operator_address;
  operator_options.port = config.operator_port;
  operator_options.max_connections = 64;
  protocols::listener_callbacks operator_callbacks;
  operator_callbacks.on_connect =
      [](std::shared_ptr<protocols::ws_connection>,
         const protocols::peer_request&) -> std::shared_ptr<protocols::ws_handler> {
    return nullptr;
  };
  operator_callbacks.on_http = [this](const protocols::peer_request& request) {
    if (request.target == "/metrics") {
      return protocols::http_response{
          200, "text/plain; version=0.0.4; charset=utf-8", metrics->render(), {}};
    }
    if (request.target == "/healthz")
      return protocols::http_response{200, "text/plain", "ok\n", {}};
    return protocols::http_response{404, "text/plain", "not found\n", {}};
  };
  auto operator_port = protocols::ws_listener::start(io, operator_options, operator_callbacks);
  if (!operator_port) {
    return "cannot listen for operators on " + config.operator_address + ":" +
           std::to_string(config.operator_port) + ": " +
           std::string(protocols::to_string(operator_port.error()));
  }
  operator_listener = *operator_port;
  return {};
}

void switch_node::impl::start_io() {
  if (!io_threads.empty()) return;
  work = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      io.get_executor());
  for (unsigned i = 0; i < config.effective_io_threads(); ++i) {
    io_threads.emplace_back([this] { io.run(); });
  }
}

void switch_node::impl::stop_io() {
  work.reset();
  io.stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
}

// Polls `done` every 10 ms until it holds or `limit` passes.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool switch_node::impl::shut_down() {
  if (stopped) return !abandoned;
  stopped = true;
  // The io threads run until the actor system is gone: under the asio
  // scheduler the actors need them to hear their exit and to quit (a start
  // that failed before start_io starts them here).
  if (system && config.actors_on_io_threads()) start_io();
  if (billing_listener) billing_listener->stop_all();
  if (paying_listener) paying_listener->stop_all();
  if (operator_listener) operator_listener->stop_all();
  // Keep the io threads running until every connection has closed, so each
  // session actor hears of it and quits. A peer that does not answer the
  // close frame (it never reads, or has vanished) gets a grace period, then
  // loses its connection without the handshake: its session must not outlive
  // the actor system.
  const auto all_closed = [&] {
    return (billing_listener ? billing_listener->connection_count() : 0) +
               (paying_listener ? paying_listener->connection_count() : 0) ==
           0;
  };
  if (!wait_until(all_closed, std::chrono::seconds(3))) {
    if (billing_listener) billing_listener->abort_all();
    if (paying_listener) paying_listener->abort_all();
    wait_until(all_closed, std::chrono::seconds(2));
  }
  if (system) {
    // A settle request still queued at the ledger is dropped, uncommitted, and
    // its billing session tells the terminal nothing was charged: exactly
    // what happened.
    for (const auto& link : peer_links) caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
    if (cluster_presence) caf::anon_send_exit(cluster_presence, caf::exit_reason::user_shutdown);
    if (windows) caf::anon_send_exit(windows, caf::exit_reason::user_shutdown);
    if (cluster_directory) {
      caf::anon_send_exit(cluster_directory, caf::exit_reason::user_shutdown);
    }
    for (const auto& shard : context->shards) {
      caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    }
    for (const auto& shard : context->presence) {
      caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(context->sms, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context->knowledge_checks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context->biometric_checks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(context->ledger, caf::exit_reason::user_shutdown);
    if (!wait_until([&] { return system->registry().running() == 0; }, std::chrono::seconds(5))) {
      // Destroying the actor system under live actors would let their next
      // jobs, run on the io threads, touch a freed system. Stop the io
      // threads instead and leave everything as it is for the process to
      // exit: what the ledger committed is durable, nothing else is owed.
      spdlog::error(
          "shutdown: {} actors still running after 5 s; abandoning them (the process should "
          "exit now)",
          system->registry().running());
      abandoned = true;
      stop_io();
      return false;
    }
    context.reset();
    // The io threads spawn every session and outlive the system.
    release_caf_thread_state(io, io_threads.size());
    system.reset();
  }
  stop_io();
  return true;
}

switch_node::switch_node(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

switch_node::~switch_node() {
  impl_->shut_down();
  // Live actors still use the stores, the metrics and the actor system.
  if (impl_->abandoned) (void)impl_.release();
}

boost::system::result<std::unique_ptr<switch_node>, std::string> switch_node::start(
    const switch_config& config, std::shared_ptr<const clock> time) {
  auto i = std::make_unique<impl>();
  i->config = config;
  i->time = std::move(time);
  if (auto r = i->open_storage(); !r) return r.error();
  i->spawn_actors();
  auto node = std::unique_ptr<switch_node>(new switch_node(std::move(i)));
  // After `node` owns the actors: on an error its destructor stops them.
  if (auto r = node->impl_->join_cluster(); !r) return r.error();
  if (auto r = node->impl_->listen(); !r) return r.error();
  // Known only once the paying port is bound; set before any connection can
  // arrive, since nothing is accepted until the io threads run.
  node->impl_->context->public_base_url =
      node->impl_->config.effective_public_url(node->paying_port());
  node->impl_->start_io();
  return node;
}

std::uint16_t switch_node::billing_port() const { return impl_->billing_listener->port(); }
std::uint16_t switch_node::paying_port() const { return impl_->paying_listener->port(); }
std::string switch_node::billing_endpoint() const {
  return impl_->billing_listener->address() + ":" + std::to_string(billing_port());
}
std::string switch_node::paying_endpoint() const {
  return impl_->paying_listener->address() + ":" + std::to_string(paying_port());
}
std::string switch_node::operator_endpoint() const {
  return impl_->operator_listener->address() + ":" +
         std::to_string(impl_->operator_listener->port());
}
std::string switch_node::receipt_key() const {
  const auto& r = *impl_->context->receipts;
  return r.public_key() + " (key_id " + r.key_id() + ")";
}
std::string switch_node::public_url() const { return impl_->context->public_base_url; }
bool switch_node::tls() const { return impl_->tls.has_value(); }
std::string switch_node::tls_fingerprint() const {
  return impl_->tls ? impl_->tls->fingerprint_sha256 : std::string{};
}
std::string switch_node::tls_certificate_file() const {
  return impl_->tls ? impl_->tls->certificate_file : std::string{};
}
std::string switch_node::data_directory() const {
  return std::filesystem::absolute(impl_->config.data_dir).lexically_normal().string();
}
const storage::ledger_store& switch_node::ledger() const { return *impl_->ledger_store; }
const storage::directory_store& switch_node::directory() const { return *impl_->directory; }
std::uint16_t switch_node::cluster_port() const { return impl_->cluster_port; }
bool switch_node::stop() { return impl_->shut_down(); }

}  // namespace paysync::actors
