// bench_load — the load-sizing benchmark of paysync (bench/README.md).
//
// Starts the switch (or attaches to one), measures the echo ceiling of a bare
// Beast server with the same clients, then drives billing terminals and
// handsets through flow A (optionally mixed with flow B) in closed and open
// loop, or holds many idle terminals; writes <out>/load.json, load.md and,
// when it ran open loops, load.svg.

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "bench/load/interrupt.hpp"
#include "bench/load/load_driver.hpp"
#include "bench/load/process.hpp"
#include "bench/load/report.hpp"
#include "bench/load/ws_net.hpp"

#ifndef PAYSYNC_DEFAULT_BINARY
#define PAYSYNC_DEFAULT_BINARY ""
#endif

namespace {

using namespace paysync::bench;
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::milliseconds;

constexpr const char* velocity_count_for_load = "1000000";
constexpr const char* velocity_minor_for_load = "100000000000000";
constexpr std::uint64_t max_seed_parties = 100000;  // paysync serve's own limit

struct options {
  std::string mode = "full";
  std::string paysync = PAYSYNC_DEFAULT_BINARY;
  std::string billing, paying, metrics_url;
  long switch_pid = 0;
  std::string out = "bench-load-out";
  std::string data_root = "/tmp";
  bool keep_data = false;
  unsigned terminals = 64;
  unsigned handsets = 0;  // 0: terminals + terminals / 4
  unsigned threads = 1;
  double duration_s = 10, warmup_s = 2, drain_s = 5;
  unsigned rounds = 3;
  double rate = 0;
  double open_fraction = 0.5;
  std::vector<double> sweep;
  bool no_echo = false;
  std::size_t echo_frame_bytes = 200;
  std::uint64_t users = max_seed_parties;
  unsigned payments_per_payer = 10;
  double flow_b = 0;
  std::int64_t amount_minor = 100;
  unsigned switch_workers = 2, switch_shards = 2, switch_io_threads = 0;
  std::vector<std::string> switch_args;
  std::uint64_t idle = 0;  // 0: what the switch's open-file limit leaves room for
  double idle_billing_fraction = 0.5;
  unsigned processes = 0;  // 0: as many as the generator's own limit needs
  double hold_s = 25;
  unsigned switch_idle_timeout_s = 10;
  std::vector<std::string> source_addresses;
  std::uint64_t payment_timeout_ms = 10000;
  // --idle-worker: a generator process started by an idle run.
  bool idle_worker = false;
  std::uint64_t worker_billing = 0, worker_handsets = 0, first_terminal = 0, first_user = 0;
};

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream in(item);
    std::string part;
    while (std::getline(in, part, ',')) {
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

std::optional<options> parse(int argc, char** argv) {
  options o;
  std::vector<std::string> sweep, sources;
  po::options_description d(
      "bench_load — paysync load-sizing benchmark (see bench/README.md)\n\nOptions");
  // clang-format off
  d.add_options()
    ("help,h", "this help")
    ("mode", po::value(&o.mode)->default_value(o.mode),
     "full: per round the echo ceiling, closed loop, then open loop at --open-fraction of the "
     "round's closed-loop rate | closed | open (--rate) | sweep (--sweep) | idle")
    ("paysync", po::value(&o.paysync)->default_value(o.paysync), "the switch binary to start")
    ("billing", po::value(&o.billing), "attach to a running switch: billing host:port")
    ("paying", po::value(&o.paying), "attach: paying host:port")
    ("metrics", po::value(&o.metrics_url),
     "the switch's metrics URL (default: from operator=host:port in its PAYSYNC_READY line)")
    ("switch-pid", po::value(&o.switch_pid), "attach: the switch's pid, for RSS and CPU time")
    ("out", po::value(&o.out)->default_value(o.out), "folder for load.json, load.md, load.svg")
    ("data-root", po::value(&o.data_root)->default_value(o.data_root),
     "where the started switch's fresh data folder is made")
    ("keep-data", po::bool_switch(&o.keep_data), "keep that folder")
    ("terminals", po::value(&o.terminals)->default_value(o.terminals), "billing terminals")
    ("handsets", po::value(&o.handsets)->default_value(o.handsets),
     "handset connections (0: terminals + terminals/4, spares for payers reconnecting)")
    ("threads", po::value(&o.threads)->default_value(o.threads),
     "generator threads (lanes) on the one io_context")
    ("duration-s", po::value(&o.duration_s)->default_value(o.duration_s), "measured window")
    ("warmup-s", po::value(&o.warmup_s)->default_value(o.warmup_s), "before each window")
    ("drain-s", po::value(&o.drain_s)->default_value(o.drain_s), "after it, for payments in flight")
    ("rounds", po::value(&o.rounds)->default_value(o.rounds),
     "repetitions (echo, closed[, open]) for medians")
    ("rate", po::value(&o.rate), "open loop: payments per second")
    ("open-fraction", po::value(&o.open_fraction)->default_value(o.open_fraction),
     "full mode: the open-loop rate as a fraction of the closed-loop rate")
    ("sweep", po::value(&sweep)->multitoken(), "sweep mode: open-loop rates, e.g. 500,1000,2000")
    ("no-echo", po::bool_switch(&o.no_echo), "skip the echo ceiling")
    ("echo-frame-bytes", po::value(&o.echo_frame_bytes)->default_value(o.echo_frame_bytes),
     "echo frame size")
    ("users", po::value(&o.users)->default_value(o.users), "payers seeded and used (<= 100000)")
    ("payments-per-payer", po::value(&o.payments_per_payer)->default_value(o.payments_per_payer),
     "a handset reconnects as the next payer after this many payments (0: never)")
    ("flow-b", po::value(&o.flow_b)->default_value(o.flow_b),
     "share of payments in flow B (pay_merchant), 0..1")
    ("amount-minor", po::value(&o.amount_minor)->default_value(o.amount_minor), "per payment")
    ("switch-workers", po::value(&o.switch_workers)->default_value(o.switch_workers),
     "--workers of the started switch")
    ("switch-shards", po::value(&o.switch_shards)->default_value(o.switch_shards),
     "--shards of the started switch")
    ("switch-io-threads", po::value(&o.switch_io_threads)->default_value(o.switch_io_threads),
     "--io-threads of the started switch (0: its default, one per hardware thread with the "
     "actors on them; a switch older than --scheduler needs 1)")
    ("switch-arg", po::value(&o.switch_args)->multitoken(),
     "extra argument for the started switch (repeatable)")
    ("idle", po::value(&o.idle)->default_value(o.idle),
     "idle mode: terminals to open (0: as many as the switch's open-file limit allows)")
    ("idle-billing-fraction",
     po::value(&o.idle_billing_fraction)->default_value(o.idle_billing_fraction),
     "idle mode: share of billing terminals (the rest are handsets)")
    ("processes", po::value(&o.processes)->default_value(o.processes),
     "idle mode: generator processes (0: as the generator's own open-file limit requires)")
    ("hold-s", po::value(&o.hold_s)->default_value(o.hold_s), "idle mode: how long to hold")
    ("switch-idle-timeout-s",
     po::value(&o.switch_idle_timeout_s)->default_value(o.switch_idle_timeout_s),
     "idle mode: --idle-timeout-s of the started switch (so its pings happen during the hold)")
    ("source-addresses", po::value(&sources)->multitoken(),
     "local addresses to connect from, round-robin (idle default 127.0.0.2-127.0.0.5)")
    ("payment-timeout-ms", po::value(&o.payment_timeout_ms)->default_value(o.payment_timeout_ms),
     "a payment unfinished after this is counted as a timeout and abandoned");
  po::options_description hidden;
  hidden.add_options()
    ("idle-worker", po::bool_switch(&o.idle_worker))
    ("worker-billing", po::value(&o.worker_billing))
    ("worker-handsets", po::value(&o.worker_handsets))
    ("first-terminal", po::value(&o.first_terminal))
    ("first-user", po::value(&o.first_user));
  // clang-format on
  po::options_description all;
  all.add(d).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, all), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "bench_load: " << e.what() << "\n";
    return std::nullopt;
  }
  if (vm.count("help")) {
    std::cout << d << "\n";
    std::exit(0);
  }
  for (const auto& r : split_list(sweep)) o.sweep.push_back(std::stod(r));
  o.source_addresses = split_list(sources);
  if (o.handsets == 0) o.handsets = o.terminals + std::max(1u, o.terminals / 4);
  o.users = std::clamp<std::uint64_t>(o.users, 1, max_seed_parties);
  const std::set<std::string> modes{"full", "closed", "open", "sweep", "idle"};
  if (!modes.count(o.mode)) {
    std::cerr << "bench_load: unknown --mode " << o.mode << "\n";
    return std::nullopt;
  }
  if (o.mode == "open" && o.rate <= 0) {
    std::cerr << "bench_load: --mode open needs --rate\n";
    return std::nullopt;
  }
  if (o.mode == "sweep" && o.sweep.empty()) {
    std::cerr << "bench_load: --mode sweep needs --sweep RATES\n";
    return std::nullopt;
  }
  if (o.billing.empty() != o.paying.empty()) {
    std::cerr << "bench_load: --billing and --paying go together\n";
    return std::nullopt;
  }
  return o;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

std::uint64_t own_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

milliseconds seconds_ms(double s) { return milliseconds(static_cast<long long>(s * 1000)); }

// ---- the switch --------------------------------------------------------------

struct switch_handle {
  std::unique_ptr<child_process> process;  // empty when attached
  pid_t pid = 0;
  endpoint billing, paying;
  std::string operator_address;  // host:port from the ready line, if any
  std::string ready_line, command, data_dir;
};

std::optional<switch_handle> start_switch(const options& o, std::uint64_t merchants,
                                          std::uint64_t users, bool trust_all_loopback,
                                          const std::string& log_path, std::string& error) {
  switch_handle h;
  if (!o.billing.empty()) {
    if (!split_host_port(o.billing, h.billing.host, h.billing.port) ||
        !split_host_port(o.paying, h.paying.host, h.paying.port)) {
      error = "bad --billing or --paying (host:port)";
      return std::nullopt;
    }
    h.pid = static_cast<pid_t>(o.switch_pid);
    h.command = "attached to billing=" + o.billing + " paying=" + o.paying;
    return h;
  }
  std::string pattern = o.data_root + "/paysync-load-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "cannot make a data folder under " + o.data_root;
    return std::nullopt;
  }
  h.data_dir = pattern;
  std::vector<std::string> argv{o.paysync,
                                "serve",
                                "--data-dir",
                                h.data_dir,
                                "--billing-port",
                                "0",
                                "--paying-port",
                                "0",
                                "--workers",
                                std::to_string(o.switch_workers),
                                "--shards",
                                std::to_string(o.switch_shards),
                                "--io-threads",
                                std::to_string(o.switch_io_threads),
                                "--seed-load-merchants",
                                std::to_string(merchants),
                                "--seed-load-users",
                                std::to_string(users),
                                "--velocity-max-count",
                                velocity_count_for_load,
                                "--velocity-max-minor",
                                velocity_minor_for_load,
                                "--log-level",
                                "warn"};
  // Newer switches have an operator port (default 7900): take an ephemeral one
  // so that the run never collides with another switch on this machine.
  {
    std::string help_error;
    auto help =
        child_process::spawn({o.paysync, "serve", "--help"}, "/dev/null", false, help_error);
    if (help && help->wait_for_line("  --operator-port", milliseconds(20000))) {
      argv.insert(argv.end(), {"--operator-port", "0"});
    }
  }
  if (trust_all_loopback) {
    argv.insert(argv.end(), {"--trusted-gateway", "127.0.0.0/8", "--trusted-gateway", "::1/128"});
  }
  if (o.mode == "idle") {
    argv.insert(argv.end(), {"--idle-timeout-s", std::to_string(o.switch_idle_timeout_s)});
  }
  // The load directory's terminals have no Ed25519 keys; a hello is once per
  // connection, so signing it would not change the figures measured here.
  argv.insert(argv.end(), {"--require-terminal-keys", "false"});
  // The abuse limits (per-address connection caps, message and join rates)
  // would cap the offered load itself; this bench measures capacity.
  argv.insert(argv.end(), {"--max-connections-per-address", "0", "--billing-message-rate", "0",
                           "--paying-message-rate", "0", "--join-rate-per-msisdn", "0",
                           "--join-rate-per-address", "0"});
  argv.insert(argv.end(), o.switch_args.begin(), o.switch_args.end());
  for (const auto& a : argv) h.command += (h.command.empty() ? "" : " ") + a;
  h.process = child_process::spawn(argv, log_path, false, error);
  if (!h.process) return std::nullopt;
  h.pid = h.process->pid();
  on_interrupt_clean_up(h.pid, o.keep_data ? "" : h.data_dir);
  auto line = h.process->wait_for_line("PAYSYNC_READY", milliseconds(600000));
  if (!line) {
    error = "the switch did not print PAYSYNC_READY (see " + log_path + ")";
    h.process->stop(milliseconds(3000));
    return std::nullopt;
  }
  h.ready_line = *line;
  auto billing = line_field(*line, "billing");
  auto paying = line_field(*line, "paying");
  if (!billing || !paying || !split_host_port(*billing, h.billing.host, h.billing.port) ||
      !split_host_port(*paying, h.paying.host, h.paying.port)) {
    error = "cannot read the addresses in: " + *line;
    return std::nullopt;
  }
  if (auto op = line_field(*line, "operator")) h.operator_address = *op;
  return h;
}

// The metrics URL and its parts; nothing when the switch exposes none.
struct metrics_source {
  std::string host, target, url;
  std::uint16_t port = 0;
};

std::optional<metrics_source> find_metrics(const options& o, const switch_handle& h,
                                           std::string& why) {
  metrics_source m;
  std::string address;
  if (!o.metrics_url.empty()) {
    std::string url = o.metrics_url;
    if (url.rfind("http://", 0) == 0) url = url.substr(7);
    const auto slash = url.find('/');
    address = url.substr(0, slash);
    m.target = slash == std::string::npos ? "/metrics" : url.substr(slash);
  } else if (!h.operator_address.empty()) {
    address = h.operator_address;
    m.target = "/metrics";
  } else {
    why =
        "the switch printed no operator=host:port in its PAYSYNC_READY line and no --metrics "
        "was given";
    return std::nullopt;
  }
  if (!split_host_port(address, m.host, m.port)) {
    why = "cannot read the metrics address " + address;
    return std::nullopt;
  }
  m.url = "http://" + address + m.target;
  return m;
}

std::string read_metrics(const std::optional<metrics_source>& m, std::string& why) {
  if (!m) return {};
  std::string error;
  auto r = http_get(m->host, m->port, m->target, milliseconds(3000), error);
  if (!r) {
    why = m->url + ": " + error;
    return {};
  }
  if (r->status != 200) {
    why = m->url + ": HTTP " + std::to_string(r->status);
    return {};
  }
  return r->body;
}

// ---- idle workers ----------------------------------------------------------

json::object summary_json(const connect_summary& c, std::uint64_t rss_delta_kb) {
  json::object o;
  o["billing_ready"] = c.billing_ready;
  o["billing_failed"] = c.billing_failed;
  o["handsets_ready"] = c.handsets_ready;
  o["handsets_failed"] = c.handsets_failed;
  o["seconds"] = c.seconds;
  o["rss_delta_kb"] = rss_delta_kb;
  json::object f;
  for (const auto& [k, v] : c.failures) f[k] = v;
  o["failures"] = std::move(f);
  return o;
}

connect_summary summary_from_json(const json::object& o, std::uint64_t& rss_delta_kb) {
  connect_summary c;
  c.billing_ready = o.at("billing_ready").to_number<std::uint64_t>();
  c.billing_failed = o.at("billing_failed").to_number<std::uint64_t>();
  c.handsets_ready = o.at("handsets_ready").to_number<std::uint64_t>();
  c.handsets_failed = o.at("handsets_failed").to_number<std::uint64_t>();
  c.seconds = o.at("seconds").to_number<double>();
  rss_delta_kb = o.at("rss_delta_kb").to_number<std::uint64_t>();
  for (const auto& [k, v] : o.at("failures").as_object()) {
    c.failures[std::string(k)] += v.to_number<std::uint64_t>();
  }
  return c;
}

json::object status_json(const idle_status& s) {
  json::object o;
  o["billing_open"] = s.billing_open;
  o["handsets_open"] = s.handsets_open;
  o["closed"] = s.closed;
  json::object c;
  for (const auto& [k, v] : s.closes) c[k] = v;
  o["closes"] = std::move(c);
  return o;
}

idle_status status_from_json(const json::object& o) {
  idle_status s;
  s.billing_open = o.at("billing_open").to_number<std::uint64_t>();
  s.handsets_open = o.at("handsets_open").to_number<std::uint64_t>();
  s.closed = o.at("closed").to_number<std::uint64_t>();
  for (const auto& [k, v] : o.at("closes").as_object()) {
    s.closes[std::string(k)] += v.to_number<std::uint64_t>();
  }
  return s;
}

driver_config idle_driver_config(const options& o, const endpoint& billing,
                                 const endpoint& paying) {
  driver_config c;
  c.billing = billing;
  c.paying = paying;
  c.threads = o.threads;
  c.first_terminal = o.first_terminal;
  c.first_user = o.first_user;
  c.users = max_seed_parties;
  c.source_addresses = o.source_addresses;
  c.max_connecting_per_lane = 128;
  c.connect_timeout = milliseconds(30000);
  return c;
}

// bench_load --idle-worker: opens its share, reports, holds until stdin ends.
int idle_worker_main(const options& o) {
  endpoint billing, paying;
  if (!split_host_port(o.billing, billing.host, billing.port) ||
      !split_host_port(o.paying, paying.host, paying.port)) {
    std::cerr << "idle worker: bad addresses\n";
    return 2;
  }
  load_driver driver(idle_driver_config(o, billing, paying));
  const auto before = sample_process(::getpid());
  auto opened = driver.open_idle(o.worker_billing, o.worker_handsets, std::chrono::seconds(180));
  std::this_thread::sleep_for(milliseconds(500));
  const auto after = sample_process(::getpid());
  std::cout << "IDLE_READY "
            << json::serialize(summary_json(
                   opened, after.rss_kb > before.rss_kb ? after.rss_kb - before.rss_kb : 0))
            << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "status") {
      std::cout << "IDLE_STATUS " << json::serialize(status_json(driver.idle_state())) << std::endl;
    } else if (line == "stop") {
      break;
    }
  }
  driver.abort_all();
  return 0;
}

// One share of the idle terminals: in this process or in a child.
class idle_share {
 public:
  virtual ~idle_share() = default;
  virtual connect_summary wait_ready(std::uint64_t& rss_delta_kb) = 0;
  virtual idle_status status() = 0;
  virtual void stop() = 0;
};

class local_share final : public idle_share {
 public:
  local_share(const options& o, const endpoint& billing, const endpoint& paying, std::uint64_t b,
              std::uint64_t h)
      : driver_(idle_driver_config(o, billing, paying)), billing_(b), handsets_(h) {}
  connect_summary wait_ready(std::uint64_t& rss_delta_kb) override {
    const auto before = sample_process(::getpid());
    auto s = driver_.open_idle(billing_, handsets_, std::chrono::seconds(180));
    std::this_thread::sleep_for(milliseconds(500));
    const auto after = sample_process(::getpid());
    rss_delta_kb = after.rss_kb > before.rss_kb ? after.rss_kb - before.rss_kb : 0;
    return s;
  }
  idle_status status() override { return driver_.idle_state(); }
  void stop() override { driver_.abort_all(); }

 private:
  load_driver driver_;
  std::uint64_t billing_, handsets_;
};

class child_share final : public idle_share {
 public:
  explicit child_share(std::unique_ptr<child_process> p) : process_(std::move(p)) {}
  connect_summary wait_ready(std::uint64_t& rss_delta_kb) override {
    auto line = process_->wait_for_line("IDLE_READY ", milliseconds(300000));
    rss_delta_kb = 0;
    if (!line) {
      connect_summary failed;
      ++failed.failures["generator process gave no IDLE_READY"];
      return failed;
    }
    return summary_from_json(json::parse(line->substr(11)).as_object(), rss_delta_kb);
  }
  idle_status status() override {
    process_->write_line("status");
    auto line = process_->wait_for_line("IDLE_STATUS ", milliseconds(30000));
    if (!line) return {};
    return status_from_json(json::parse(line->substr(12)).as_object());
  }
  void stop() override {
    process_->write_line("stop");
    process_->close_stdin();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (process_->running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    process_->stop(milliseconds(2000));
  }

 private:
  std::unique_ptr<child_process> process_;
};

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("bench_load") : p.string();
}

// ---- phases ------------------------------------------------------------------

driver_config load_config(const options& o, const switch_handle& sw) {
  driver_config c;
  c.billing = sw.billing;
  c.paying = sw.paying;
  c.threads = o.threads;
  c.terminals = o.terminals;
  c.handsets = o.handsets;
  c.users = o.users;
  c.payments_per_payer = o.payments_per_payer;
  c.flow_b_fraction = o.flow_b;
  c.amount_minor = o.amount_minor;
  c.source_addresses = o.source_addresses;
  c.payment_timeout = milliseconds(o.payment_timeout_ms);
  return c;
}

phase_record echo_phase(const options& o, load_driver& driver, const switch_handle& sw,
                        std::vector<std::string>& notes) {
  phase_record rec;
  rec.kind = "echo";
  // The switch idles meanwhile; its CPU shows whether it takes any from the ceiling.
  rec.have_switch = sw.pid > 0;
  rec.connections = o.terminals + o.handsets;
  auto server = echo_server::start("127.0.0.1");
  auto connected = driver.connect_echo(server->port(), rec.connections, o.echo_frame_bytes,
                                       std::chrono::seconds(60));
  if (connected.echo_failed > 0) {
    notes.push_back("echo: " + std::to_string(connected.echo_failed) + " connections failed");
  }
  double gen0 = 0, srv0 = 0;
  window_hooks hooks;
  hooks.opened = [&] {
    if (rec.have_switch) rec.switch_before = sample_process(sw.pid);
    rec.host_before = sample_host_cpu();
    gen0 = process_cpu_s();
    srv0 = server->thread_cpu_seconds();
  };
  hooks.closed = [&] {
    rec.host_after = sample_host_cpu();
    if (rec.have_switch) rec.switch_after = sample_process(sw.pid);
    const double srv = server->thread_cpu_seconds() - srv0;
    rec.echo_server_cpu_s = srv;
    rec.generator_cpu_s = process_cpu_s() - gen0 - srv;  // the server thread is ours too
  };
  rec.stats = driver.run_echo(seconds_ms(o.warmup_s), seconds_ms(o.duration_s), hooks);
  server->close_all();  // the server closes first: TIME_WAIT on its side
  std::this_thread::sleep_for(milliseconds(200));
  driver.drop_echo();
  server.reset();
  return rec;
}

phase_record payment_phase(const options& o, load_driver& driver, const switch_handle& sw,
                           const std::optional<metrics_source>& metrics, double rate) {
  phase_record rec;
  rec.kind = rate > 0 ? "open" : "closed";
  rec.offered_per_s = rate;
  rec.connections = o.terminals + o.handsets;
  rec.have_switch = sw.pid > 0;
  double gen0 = 0;
  window_hooks hooks;
  std::string ignored;
  hooks.opened = [&] {
    if (rec.have_switch) rec.switch_before = sample_process(sw.pid);
    rec.host_before = sample_host_cpu();
    gen0 = process_cpu_s();
    rec.metrics_before = read_metrics(metrics, ignored);
  };
  hooks.closed = [&] {
    rec.host_after = sample_host_cpu();
    rec.metrics_after = read_metrics(metrics, ignored);
    rec.generator_cpu_s = process_cpu_s() - gen0;
    if (rec.have_switch) rec.switch_after = sample_process(sw.pid);
  };
  rec.stats = driver.run_payments(rate, seconds_ms(o.warmup_s), seconds_ms(o.duration_s),
                                  seconds_ms(o.drain_s), hooks);
  return rec;
}

void print_phase(const phase_record& p) {
  const auto& s = p.stats;
  if (p.kind == "echo") {
    std::printf("  echo    %8.0f round trips/s  (%u connections, server %.1f µs CPU each)\n",
                p.round_trips_per_s(), p.connections,
                s.echo_round_trips
                    ? p.echo_server_cpu_s * 1e6 / static_cast<double>(s.echo_round_trips)
                    : 0.0);
  } else {
    const auto& h = s.spans[span_ca_receipt];
    std::printf(
        "  %-6s  %8.0f settled/s%s  p50/p99/max confirm_amount->receipt %.2f/%.2f/%.2f ms",
        p.kind.c_str(), p.settled_per_s(),
        p.kind == "open"
            ? (" (offered " + std::to_string(static_cast<long>(p.offered_per_s)) + ")").c_str()
            : "",
        static_cast<double>(h.percentile(0.5)) / 1e6, static_cast<double>(h.percentile(0.99)) / 1e6,
        static_cast<double>(h.max()) / 1e6);
    std::uint64_t errors = 0;
    for (const auto& [k, v] : s.errors) errors += v;
    std::printf("  errors %llu\n", static_cast<unsigned long long>(errors));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines reach a log file at once
  auto parsed = parse(argc, argv);
  if (!parsed) return 2;
  options o = *parsed;
  if (o.idle_worker) return idle_worker_main(o);
  watch_interrupts();

  std::error_code ec;
  fs::create_directories(o.out, ec);
  run_record run;
  run.mode = o.mode;
  run.started_at = now_text();
  run.load_average_at_start = load_average();

  // Idle mode plans from the open-file limits; the other modes seed one
  // merchant per terminal.
  const bool idle = o.mode == "idle";
  if (idle && o.source_addresses.empty()) {
    o.source_addresses = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
  }
  std::uint64_t merchants = idle ? max_seed_parties : o.terminals;
  std::uint64_t users = idle ? max_seed_parties : o.users;
  if (idle && o.idle > 0) {
    merchants = std::min<std::uint64_t>(
        max_seed_parties,
        static_cast<std::uint64_t>(std::ceil(o.idle * o.idle_billing_fraction)) + 1);
    users = std::min<std::uint64_t>(max_seed_parties, o.idle);
  }
  if (idle && o.idle == 0) {
    // Unknown until the switch runs: seed for the most one process can hold.
    merchants = std::min<std::uint64_t>(max_seed_parties, own_fd_limit());
    users = std::min<std::uint64_t>(max_seed_parties, own_fd_limit());
  }

  const std::string log_path = fs::absolute(o.out).string() + "/switch.log";
  std::string error;
  std::printf("bench_load: starting the switch (seeding %llu merchants, %llu payers)...\n",
              static_cast<unsigned long long>(merchants), static_cast<unsigned long long>(users));
  std::fflush(stdout);
  const auto seed_started = std::chrono::steady_clock::now();
  auto sw = start_switch(o, merchants, users, !o.source_addresses.empty(), log_path, error);
  if (!sw) {
    std::cerr << "bench_load: " << error << "\n";
    return 1;
  }
  const double startup_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_started).count();
  run.switch_command = sw->command;
  run.ready_line = sw->ready_line;
  run.switch_pid = sw->pid;
  if (sw->pid > 0) {
    run.switch_start = sample_process(sw->pid);
    run.switch_fd_limit = open_file_limit(sw->pid);
  }
  std::printf("bench_load: %s (pid %ld, %.1f s)\n", sw->ready_line.c_str(),
              static_cast<long>(sw->pid), startup_s);
  if (!o.billing.empty()) {
    run.notes.push_back(
        "attached to a running switch: its velocity limits and trusted gateways are "
        "its own; payers rotate every " +
        std::to_string(o.payments_per_payer) + " payments");
  } else {
    run.notes.push_back(std::string("the switch ran with --velocity-max-count ") +
                        velocity_count_for_load + " --velocity-max-minor " +
                        velocity_minor_for_load +
                        " (load runs only: the defaults allow 50 payments per payer per day)");
    run.notes.push_back("switch startup with seeding took " + std::to_string(startup_s) + " s");
  }
  if (o.payments_per_payer > 0 && !idle) {
    run.notes.push_back("each handset reconnects as the next of " + std::to_string(o.users) +
                        " payers after " + std::to_string(o.payments_per_payer) +
                        " payments, so that no payer's history grows (the switch's velocity check "
                        "reads the payer's history in its window on every amount and "
                        "confirm_amount)");
  }

  std::string metrics_why;
  auto metrics = find_metrics(o, *sw, metrics_why);
  run.metrics_source = metrics ? metrics->url : metrics_why;
  run.metrics_before = read_metrics(metrics, metrics_why);
  if (metrics && run.metrics_before.empty()) run.metrics_source = metrics_why;

  json::object cfg;
  cfg["terminals"] = o.terminals;
  cfg["handsets"] = o.handsets;
  cfg["threads"] = o.threads;
  cfg["duration_s"] = o.duration_s;
  cfg["warmup_s"] = o.warmup_s;
  cfg["rounds"] = o.rounds;
  cfg["users"] = o.users;
  cfg["payments_per_payer"] = o.payments_per_payer;
  cfg["flow_b_fraction"] = o.flow_b;
  cfg["amount_minor"] = o.amount_minor;
  cfg["echo_frame_bytes"] = o.echo_frame_bytes;
  cfg["switch_workers"] = o.switch_workers;
  cfg["switch_shards"] = o.switch_shards;
  cfg["switch_io_threads"] = o.switch_io_threads;
  cfg["hardware_threads"] = std::thread::hardware_concurrency();
  json::array sources;
  for (const auto& s : o.source_addresses) sources.push_back(json::value(s));
  cfg["source_addresses"] = std::move(sources);
  run.config = std::move(cfg);

  std::vector<std::unique_ptr<idle_share>> shares;
  std::unique_ptr<load_driver> driver;
  int exit_code = 0;

  if (!idle) {
    driver = std::make_unique<load_driver>(load_config(o, *sw));
    bool connected = false;
    const unsigned rounds = o.mode == "sweep" ? std::max(1u, std::min(o.rounds, 1u)) : o.rounds;
    for (unsigned r = 1; r <= rounds; ++r) {
      round_record round;
      round.index = r;
      std::printf("round %u/%u\n", r, rounds);
      if (!o.no_echo) {
        round.echo = echo_phase(o, *driver, *sw, run.notes);
        print_phase(*round.echo);
      }
      if (!connected) {
        auto c = driver->connect_terminals(std::chrono::seconds(120));
        std::printf("  connected %llu/%u billing terminals, %llu/%u handsets in %.1f s\n",
                    static_cast<unsigned long long>(c.billing_ready), o.terminals,
                    static_cast<unsigned long long>(c.handsets_ready), o.handsets, c.seconds);
        if (c.billing_ready == 0 || c.handsets_ready == 0) {
          std::cerr << "bench_load: no terminals connected";
          for (const auto& [k, v] : c.failures) std::cerr << "; " << k << " x" << v;
          std::cerr << "\n";
          exit_code = 1;
          break;
        }
        connected = true;
      }
      if (o.mode == "full" || o.mode == "closed" || o.mode == "sweep") {
        round.closed = payment_phase(o, *driver, *sw, metrics, 0);
        print_phase(*round.closed);
      }
      if (o.mode == "full" || o.mode == "open") {
        const double rate = o.mode == "open"
                                ? o.rate
                                : std::max(1.0, round.closed->settled_per_s() * o.open_fraction);
        round.open = payment_phase(o, *driver, *sw, metrics, rate);
        print_phase(*round.open);
      }
      if (auto ratio = round.ceiling_ratio()) std::printf("  ceiling ratio %.3f\n", *ratio);
      run.rounds.push_back(std::move(round));
    }
    if (o.mode == "sweep" && exit_code == 0) {
      for (double rate : o.sweep) {
        std::printf("sweep at %.0f/s\n", rate);
        run.sweep.push_back(payment_phase(o, *driver, *sw, metrics, rate));
        print_phase(run.sweep.back());
      }
    }
  } else {
    idle_record rec;
    rec.switch_fd_limit = run.switch_fd_limit;
    rec.source_addresses = o.source_addresses;
    rec.switch_before = sw->pid > 0 ? sample_process(sw->pid) : proc_sample{};
    std::uint64_t n = o.idle;
    if (n == 0) {
      if (sw->pid > 0 && rec.switch_fd_limit > 0) {
        // Every terminal is one socket in the switch; leave room for the
        // files it opens itself (LMDB, logs, the SMS outbox) as it runs.
        const std::uint64_t used = rec.switch_before.open_fds + 32;
        n = rec.switch_fd_limit > used ? rec.switch_fd_limit - used : 0;
      } else {
        n = 19000;
      }
    }
    rec.requested_billing = std::min<std::uint64_t>(
        merchants,
        static_cast<std::uint64_t>(std::llround(static_cast<double>(n) * o.idle_billing_fraction)));
    rec.requested_handsets = std::min<std::uint64_t>(users, n - rec.requested_billing);
    const std::uint64_t per_process = own_fd_limit() > 300 ? own_fd_limit() - 300 : 1000;
    unsigned processes = o.processes;
    if (processes == 0) {
      processes = static_cast<unsigned>((n + per_process - 1) / per_process);
      processes = std::max(1u, processes);
    }
    rec.processes = processes;
    std::printf(
        "idle: opening %llu billing terminals and %llu handsets from %u process(es), %zu "
        "source address(es)\n",
        static_cast<unsigned long long>(rec.requested_billing),
        static_cast<unsigned long long>(rec.requested_handsets), processes,
        o.source_addresses.size());
    std::fflush(stdout);
    std::uint64_t b_first = 0, h_first = 0;
    for (unsigned i = 0; i < processes; ++i) {
      const std::uint64_t b =
          rec.requested_billing / processes + (i < rec.requested_billing % processes ? 1 : 0);
      const std::uint64_t h =
          rec.requested_handsets / processes + (i < rec.requested_handsets % processes ? 1 : 0);
      if (processes == 1) {
        shares.push_back(std::make_unique<local_share>(o, sw->billing, sw->paying, b, h));
      } else {
        std::vector<std::string> args{
            self_path(),         "--idle-worker",
            "--billing",         sw->billing.host + ":" + std::to_string(sw->billing.port),
            "--paying",          sw->paying.host + ":" + std::to_string(sw->paying.port),
            "--worker-billing",  std::to_string(b),
            "--worker-handsets", std::to_string(h),
            "--first-terminal",  std::to_string(b_first),
            "--first-user",      std::to_string(h_first),
            "--threads",         std::to_string(o.threads)};
        std::string sources_arg;
        for (const auto& s : o.source_addresses)
          sources_arg += (sources_arg.empty() ? "" : ",") + s;
        if (!sources_arg.empty()) args.insert(args.end(), {"--source-addresses", sources_arg});
        std::string spawn_error;
        auto child = child_process::spawn(
            args, fs::absolute(o.out).string() + "/generator-" + std::to_string(i) + ".log", true,
            spawn_error);
        if (!child) {
          std::cerr << "bench_load: " << spawn_error << "\n";
          exit_code = 1;
          break;
        }
        shares.push_back(std::make_unique<child_share>(std::move(child)));
      }
      b_first += b;
      h_first += h;
    }
    // Local shares open in wait_ready; children are already opening.
    for (auto& s : shares) {
      std::uint64_t rss = 0;
      auto c = s->wait_ready(rss);
      rec.opened.billing_ready += c.billing_ready;
      rec.opened.billing_failed += c.billing_failed;
      rec.opened.handsets_ready += c.handsets_ready;
      rec.opened.handsets_failed += c.handsets_failed;
      rec.opened.seconds = std::max(rec.opened.seconds, c.seconds);
      for (const auto& [k, v] : c.failures) rec.opened.failures[k] += v;
      rec.generator_rss_delta_kb += rss;
    }
    std::printf(
        "idle: %llu billing + %llu handsets open, %llu failed, in %.1f s\n",
        static_cast<unsigned long long>(rec.opened.billing_ready),
        static_cast<unsigned long long>(rec.opened.handsets_ready),
        static_cast<unsigned long long>(rec.opened.billing_failed + rec.opened.handsets_failed),
        rec.opened.seconds);
    std::fflush(stdout);
    std::this_thread::sleep_for(milliseconds(2000));
    if (sw->pid > 0) rec.switch_after_open = sample_process(sw->pid);
    std::this_thread::sleep_for(seconds_ms(o.hold_s));
    rec.hold_s = o.hold_s;
    for (auto& s : shares) {
      auto st = s->status();
      rec.after_hold.billing_open += st.billing_open;
      rec.after_hold.handsets_open += st.handsets_open;
      rec.after_hold.closed += st.closed;
      for (const auto& [k, v] : st.closes) rec.after_hold.closes[k] += v;
    }
    if (sw->pid > 0) rec.switch_after_hold = sample_process(sw->pid);
    const double terminals =
        static_cast<double>(rec.opened.billing_ready + rec.opened.handsets_ready);
    if (terminals > 0 && sw->pid > 0) {
      const double per_kb = (static_cast<double>(rec.switch_after_open.rss_kb) -
                             static_cast<double>(rec.switch_before.rss_kb)) /
                            terminals;
      if (per_kb > 0) {
        // 24 GiB machines; leave a quarter for the page cache and the ledger.
        const double by_memory = 18.0 * 1024 * 1024 / per_kb;
        char note[600];
        std::snprintf(
            note, sizeof note,
            "One switch process held %.0f terminals here, stopped only by the open-file limit "
            "(%llu). With RLIMIT_NOFILE raised (LimitNOFILE= in the unit, nofile in "
            "limits.conf), memory is the next bound: at %.1f KB of RSS per terminal, 18 GiB "
            "hold about %.1f million terminals, but each listener refuses upgrades beyond "
            "--max-connections (200,000 by default), so one process holds 400,000 (billing + "
            "paying) unless that is raised too; the kernel's own socket buffers (not in RSS) "
            "come on top.",
            terminals, static_cast<unsigned long long>(rec.switch_fd_limit), per_kb,
            by_memory / 1e6);
        rec.note = note;
      }
    }
    run.idle = rec;
  }

  run.metrics_after = read_metrics(metrics, metrics_why);
  if (metrics && run.metrics_after.empty()) run.metrics_source = metrics_why;
  if (sw->pid > 0) run.switch_end = sample_process(sw->pid);

  // Servers before clients: the switch closes the connections, so TIME_WAIT
  // stays on its side and the generator's ports are free at once.
  if (sw->process) {
    sw->process->stop(milliseconds(10000));
  }
  for (auto& s : shares) s->stop();
  shares.clear();
  driver.reset();
  if (!sw->data_dir.empty() && !o.keep_data) fs::remove_all(sw->data_dir, ec);
  on_interrupt_clean_up(0, "");  // the switch and its data are gone already

  const std::string md = write_reports(run, o.out);
  std::printf("\n%s", md.c_str());
  std::printf("bench_load: wrote %s/load.json and %s/load.md%s\n", o.out.c_str(), o.out.c_str(),
              writes_plot(run) ? (" and " + o.out + "/load.svg").c_str() : "");
  return exit_code;
}
