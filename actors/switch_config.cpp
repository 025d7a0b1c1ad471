#include "actors/switch_config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <fstream>
#include <ostream>
#include <thread>

#include "actors/auth_policy.hpp"

namespace paysync::actors {
namespace po = boost::program_options;

namespace {

// Boost 1.81's error_with_option_name::what() replaces each placeholder
// ("%value%", "%canonical_option%", ...) until none is left, so an option or
// a value that contains its own placeholder never returns (found by
// tests/fuzz/fuzz_switch_config: "node-id = %value%"). This copy of the error
// spells '%' as '?' in what it substitutes.
struct printable_error : po::error_with_option_name {
  explicit printable_error(const po::error_with_option_name& e) : po::error_with_option_name(e) {
    for (auto& [name, value] : m_substitutions) std::replace(value.begin(), value.end(), '%', '?');
  }
};

std::string message_of(const po::error& e) {
  if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e)) {
    return printable_error(*named).what();
  }
  return e.what();
}

}  // namespace

unsigned switch_config::effective_shards() const {
  return shards > 0 ? shards : std::max(1u, std::thread::hardware_concurrency());
}

unsigned switch_config::effective_workers() const {
  return workers > 0 ? workers : std::max(1u, std::thread::hardware_concurrency());
}

unsigned switch_config::effective_io_threads() const {
  if (io_threads > 0) return io_threads;
  return actors_on_io_threads() ? std::max(1u, std::thread::hardware_concurrency()) : 1u;
}

std::string switch_config::effective_public_url(std::uint16_t bound_paying_port) const {
  if (!public_url.empty()) {
    auto url = public_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  auto host = paying_address == "0.0.0.0" || paying_address == "::" ? "127.0.0.1" : paying_address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return (tls_enabled() ? "https://" : "http://") + host + ":" + std::to_string(bound_paying_port);
}

boost::system::result<parse_outcome, std::string> parse_switch_config(int argc,
                                                                      const char* const* argv,
                                                                      switch_config& c,
                                                                      std::ostream& out) {
  // Ports are read as unsigned and checked below: Boost's lexical_cast into a
  // uint16_t multiplies in int and overflows it on a long run of digits (UB;
  // found by tests/fuzz/fuzz_switch_config).
  unsigned billing_port = c.billing_port, paying_port = c.paying_port,
           operator_port = c.operator_port;
  po::options_description general("paysync serve — the settlement switch");
  general.add_options()("help,h", "show this help")(
      "config", po::value(&c.config_file), "read options from this file (key = value lines)");

  po::options_description options("Options (also valid as config-file keys)");
  // clang-format off
  options.add_options()
      ("data-dir", po::value(&c.data_dir)->default_value(c.data_dir),
       "folder of the LMDB files (ledger and directory); created if missing")
      ("billing-address", po::value(&c.billing_address)->default_value(c.billing_address),
       "listen address for billing terminals and order centres (the private line)")
      ("billing-port", po::value(&billing_port)->default_value(billing_port),
       "port for billing terminals; 0 picks a free one")
      ("paying-address", po::value(&c.paying_address)->default_value(c.paying_address),
       "listen address for handsets and payment links (the mobile side)")
      ("paying-port", po::value(&paying_port)->default_value(paying_port),
       "port for handsets and links; 0 picks a free one")
      ("tls", po::value(&c.tls)->default_value(c.tls),
       "TLS on the billing and paying ports: auto (TLS and plaintext on the same port), "
       "required (plaintext gets HTTP 426) or off")
      ("tls-cert", po::value(&c.tls_cert),
       "PEM certificate chain (leaf first); without --tls-cert and --tls-key a self-signed "
       "pair is made in <data-dir>/tls on the first start")
      ("tls-key", po::value(&c.tls_key), "PEM private key of --tls-cert (not readable by all)")
      ("operator-address", po::value(&c.operator_address)->default_value(c.operator_address),
       "listen address of the operator port (GET /metrics in Prometheus text, GET /healthz)")
      ("operator-port", po::value(&operator_port)->default_value(operator_port),
       "operator port; 0 picks a free one")
      ("public-url", po::value(&c.public_url),
       "base URL of payment links (default https://<paying-address>:<paying-port>, http:// "
       "with --tls off)")
      ("node-id", po::value(&c.node_id)->default_value(c.node_id),
       "this node's number (0-255), written into every transaction id")
      ("shards", po::value(&c.shards)->default_value(c.shards),
       "registry and presence shards (1-255); 0 = one per hardware thread")
      ("scheduler", po::value(&c.scheduler)->default_value(c.scheduler),
       "where the actors run: asio (on the network threads, one hand-off fewer per frame) or "
       "caf (CAF's worker pool, --workers threads)")
      ("workers", po::value(&c.workers)->default_value(c.workers),
       "CAF worker threads under --scheduler caf; 0 = one per hardware thread")
      ("io-threads", po::value(&c.io_threads)->default_value(c.io_threads),
       "network threads serving every listener (and the actors under --scheduler asio); 0 = "
       "one per hardware thread under asio, 1 under caf")
      ("txn-ttl-s", po::value(&c.txn_ttl_s)->default_value(c.txn_ttl_s),
       "seconds an opened transaction lives before it expires")
      ("trusted-gateway", po::value(&c.trusted_gateways)->multitoken()->composing(),
       "source address or CIDR block trusted to send the caller's MSISDN header "
       "(repeatable; default 127.0.0.1/32 and ::1/128)")
      ("msisdn-header", po::value(&c.msisdn_header)->default_value(c.msisdn_header),
       "header in which trusted gateways send the caller's number")
      ("max-frame-bytes", po::value(&c.max_frame_bytes)->default_value(c.max_frame_bytes),
       "larger frames are discarded with a frame_too_large error")
      ("hard-frame-bytes", po::value(&c.hard_frame_bytes)->default_value(c.hard_frame_bytes),
       "larger frames close the connection (WebSocket status 1009)")
      ("max-connections", po::value(&c.max_connections)->default_value(c.max_connections),
       "per listener; further upgrades get HTTP 503")
      ("max-connections-per-address",
       po::value(&c.max_connections_per_address)->default_value(c.max_connections_per_address),
       "open connections from one source address (trusted gateways exempt); further upgrades "
       "get HTTP 503; 0 = no limit")
      ("billing-message-rate",
       po::value(&c.billing_message_rate)->default_value(c.billing_message_rate),
       "messages a minute one billing connection may send (in bursts of as many); more get "
       "rate_limited; 0 = no limit")
      ("paying-message-rate",
       po::value(&c.paying_message_rate)->default_value(c.paying_message_rate),
       "the same for one handset connection")
      ("join-rate-per-msisdn",
       po::value(&c.join_rate_per_msisdn)->default_value(c.join_rate_per_msisdn),
       "joins (and pay_merchant) a minute by one phone number over all its connections; "
       "0 = no limit")
      ("join-rate-per-address",
       po::value(&c.join_rate_per_address)->default_value(c.join_rate_per_address),
       "the same by one source address (trusted gateways exempt)")
      ("idle-timeout-s", po::value(&c.idle_timeout_s)->default_value(c.idle_timeout_s),
       "silent connections are pinged after this, and closed if the ping goes unanswered")
      ("max-open-per-terminal",
       po::value(&c.max_open_per_terminal)->default_value(c.max_open_per_terminal),
       "open transactions one billing connection may hold")
      ("max-failed-joins", po::value(&c.max_failed_joins)->default_value(c.max_failed_joins),
       "failed joins on one handset connection before a lockout")
      ("join-lockout-s", po::value(&c.join_lockout_s)->default_value(c.join_lockout_s),
       "length of that lockout")
      ("velocity-window-s", po::value(&c.velocity_window_s)->default_value(c.velocity_window_s),
       "payer checks: the window over which a payer's payments are counted and summed")
      ("velocity-max-count",
       po::value(&c.velocity_max_count)->default_value(c.velocity_max_count),
       "payer checks: most payments by one payer in the window")
      ("velocity-max-minor",
       po::value(&c.velocity_max_minor)->default_value(c.velocity_max_minor),
       "payer checks: most minor units one payer may pay in the window")
      ("sms-outbox", po::value(&c.sms_outbox),
       "file the SMS gateway appends payment links to, one JSON line per message "
       "(default <data-dir>/sms-outbox.jsonl)")
      ("auth-none-below-minor",
       po::value(&c.auth_none_below_minor)->default_value(c.auth_none_below_minor),
       "payments below this amount need no authentication")
      ("auth-knowledge-up-to-minor",
       po::value(&c.auth_knowledge_up_to_minor)->default_value(c.auth_knowledge_up_to_minor),
       "payments up to this amount need a PIN, password or question (or better); above, "
       "a biometric factor")
      ("auth-merchant-rule", po::value(&c.auth_merchant_rules)->composing(),
       "merchant:none_below:knowledge_up_to — thresholds for one merchant (repeatable)")
      ("auth-max-failures", po::value(&c.auth_max_failures)->default_value(c.auth_max_failures),
       "failed answers in a row before a factor is locked")
      ("face-threshold", po::value(&c.face_threshold)->default_value(c.face_threshold),
       "face score (0-1) a sample must reach; negative: the matcher's threshold, calibrated at "
       "a false match rate of 0.1% on public data (bench/README.md)")
      ("iris-threshold", po::value(&c.iris_threshold)->default_value(c.iris_threshold),
       "the same for iris")
      ("fingerprint-threshold",
       po::value(&c.fingerprint_threshold)->default_value(c.fingerprint_threshold),
       "the same for fingerprints")
      ("voice-threshold", po::value(&c.voice_threshold)->default_value(c.voice_threshold),
       "the same for voice")
      ("auth-lockout-s", po::value(&c.auth_lockout_s)->default_value(c.auth_lockout_s),
       "first lockout; each further lockout of the factor lasts twice as long (at most a day)")
      ("knowledge-workers", po::value(&c.knowledge_workers)->default_value(c.knowledge_workers),
       "threads checking PINs, passwords and answers (Argon2id)")
      ("knowledge-queue", po::value(&c.knowledge_queue)->default_value(c.knowledge_queue),
       "answers waiting for a knowledge worker before the switch answers busy")
      ("biometric-workers", po::value(&c.biometric_workers)->default_value(c.biometric_workers),
       "threads checking images and recordings, at a lower scheduling priority")
      ("biometric-queue", po::value(&c.biometric_queue)->default_value(c.biometric_queue),
       "samples waiting for a biometric worker before the switch answers busy")
      ("max-sample-bytes", po::value(&c.max_sample_bytes)->default_value(c.max_sample_bytes),
       "largest image or recording a handset may send for authentication")
      ("ledger-batch-max", po::value(&c.ledger_batch_max)->default_value(c.ledger_batch_max),
       "most settlements in one durable ledger commit")
      ("map-size-mb", po::value(&c.map_size_mb)->default_value(c.map_size_mb),
       "LMDB map size (address space; the file grows as needed)")
      ("require-terminal-keys",
       po::value(&c.require_terminal_keys)->default_value(c.require_terminal_keys),
       "refuse billing terminals and order centres that have no registered Ed25519 key "
       "(true/false); a terminal with a key must always sign its hello")
      ("seed-demo", po::value(&c.seed_demo)->default_value(c.seed_demo),
       "seed the demo merchants and users into an empty directory (true/false)")
      ("seed-load-merchants",
       po::value(&c.seed_load_merchants)->default_value(c.seed_load_merchants),
       "seed this many synthetic merchants m-load-<n> (terminal t-load-<n>, till 6<n>) for "
       "load tests (at most 100000; idempotent)")
      ("seed-load-users", po::value(&c.seed_load_users)->default_value(c.seed_load_users),
       "seed this many synthetic payers u-load-<n> (msisdn 2547100<n>, 5 digits) for load tests")
      ("seed-load-funding-minor",
       po::value(&c.seed_load_funding_minor)->default_value(c.seed_load_funding_minor),
       "opening balance of each synthetic payer, in minor units")
      ("demo", po::bool_switch(&c.demo),
       "after start, run a demo payment through the switch and print its transcript")
      ("log-level", po::value(&c.log_level)->default_value(c.log_level),
       "trace, debug, info, warn, error or off");
  // clang-format on
  add_cluster_options(options, c.cluster);

  po::options_description all;
  all.add(general).add(options);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, all), vm);
    if (vm.count("help")) {
      out << "usage: paysync serve [options]\n\n" << all << "\n";
      return parse_outcome::help_shown;
    }
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) return "cannot read config file \"" + path + "\"";
      po::store(po::parse_config_file(file, options), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return message_of(e) + " (see paysync serve --help)";
  }
  if (billing_port > 65535 || paying_port > 65535 || operator_port > 65535) {
    return std::string("--billing-port, --paying-port and --operator-port must be 0-65535");
  }
  c.billing_port = static_cast<std::uint16_t>(billing_port);
  c.paying_port = static_cast<std::uint16_t>(paying_port);
  c.operator_port = static_cast<std::uint16_t>(operator_port);
  if (c.tls != "auto" && c.tls != "required" && c.tls != "off") {
    return "--tls \"" + c.tls + "\" is not auto, required or off";
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return std::string("--tls-cert and --tls-key go together: name both files or neither");
  }
  if (c.node_id > 255) return std::string("--node-id must be 0-255");
  if (c.effective_shards() > 255) return std::string("--shards must be 1-255");
  if (c.txn_ttl_s < 1) return std::string("--txn-ttl-s must be at least 1");
  if (c.scheduler != "asio" && c.scheduler != "caf") {
    return "--scheduler \"" + c.scheduler + "\" is not asio or caf";
  }
  if (c.max_frame_bytes < 1024 || c.hard_frame_bytes < c.max_frame_bytes) {
    return std::string("--max-frame-bytes must be >= 1024 and <= --hard-frame-bytes");
  }
  if (c.velocity_window_s < 1 || c.velocity_max_count < 1 || c.velocity_max_minor < 1) {
    return std::string(
        "--velocity-window-s, --velocity-max-count and --velocity-max-minor must be positive");
  }
  for (const auto& rule : c.auth_merchant_rules) {
    if (!parse_merchant_rule(rule)) {
      return "--auth-merchant-rule \"" + rule + "\" is not merchant:none_below:knowledge_up_to";
    }
  }
  if (c.auth_max_failures < 1 || c.auth_lockout_s < 1 || c.knowledge_workers < 1 ||
      c.biometric_workers < 1 || c.knowledge_queue < 1 || c.biometric_queue < 1) {
    return std::string("auth limits, worker counts and queues must be at least 1");
  }
  if (c.max_sample_bytes < 1024 || c.max_sample_bytes > c.hard_frame_bytes) {
    return std::string("--max-sample-bytes must be >= 1024 and <= --hard-frame-bytes");
  }
  if (c.seed_load_merchants > 100'000 || c.seed_load_users > 100'000) {
    return std::string("--seed-load-merchants and --seed-load-users are at most 100000");
  }
  if (c.ledger_batch_max < 1 || c.ledger_batch_max > 10'000) {
    return std::string("--ledger-batch-max must be 1-10000");
  }
  if (auto cluster = check_cluster_config(c.cluster, c.node_id); !cluster) return cluster.error();
  return parse_outcome::run;
}

}  // namespace paysync::actors
