#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "actors/cluster_config.hpp"

namespace paysync::actors {

// Everything an operator can set, from a config file (INI-style "key = value",
// the same names as the long options) and the command line; the command line
// wins. Every default is the embedded single-node set-up of the quick start.
struct switch_config {
  std::string config_file;
  std::string data_dir = "paysync-data";
  std::string billing_address = "127.0.0.1";  // billing terminals: a private line
  std::uint16_t billing_port = 7700;
  std::string paying_address = "127.0.0.1";  // handsets: the mobile side
  std::uint16_t paying_port = 7800;
  // TLS on the billing and paying ports (docs/protocol.md, section 1): "auto"
  // serves TLS and plaintext on the same port, "required" answers plaintext
  // with HTTP 426, "off" speaks plaintext only. Without tls_cert and tls_key a
  // self-signed pair is made in <data-dir>/tls on the first start.
  std::string tls = "auto";
  std::string tls_cert, tls_key;
  std::string operator_address = "127.0.0.1";  // metrics and health, for operators only
  std::uint16_t operator_port = 7900;
  std::string public_url;  // base of payment links; default http://<paying address>:<port>
  unsigned node_id = 0;
  unsigned shards = 0;  // 0: one per hardware thread
  // "asio": the actors run on the io threads (actors/asio_scheduler.hpp);
  // "caf": on CAF's own worker pool of `workers` threads.
  std::string scheduler = "asio";
  unsigned workers = 0;     // CAF scheduler threads under "caf"; 0: one per hardware thread
  unsigned io_threads = 0;  // Asio threads; 0: one per hardware thread under "asio", else 1
  std::int64_t txn_ttl_s = 300;
  std::vector<std::string> trusted_gateways{"127.0.0.1/32", "::1/128"};
  std::string msisdn_header = "X-MSISDN";
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t hard_frame_bytes = 1024 * 1024;
  std::size_t max_connections = 200'000;
  // Abuse limits (docs/security.md); 0 turns one off.
  std::size_t max_connections_per_address = 1'000;  // trusted gateways exempt
  std::uint32_t billing_message_rate = 6'000;       // frames a minute per connection
  std::uint32_t paying_message_rate = 600;
  std::uint32_t join_rate_per_msisdn = 30;    // joins a minute, across connections
  std::uint32_t join_rate_per_address = 120;  // trusted gateways exempt
  std::int64_t idle_timeout_s = 60;
  std::size_t max_open_per_terminal = 1'000;
  std::uint32_t max_failed_joins = 5;
  std::int64_t join_lockout_s = 60;
  std::size_t ledger_batch_max = 1024;
  std::int64_t velocity_window_s = 86'400;
  std::uint32_t velocity_max_count = 50;
  std::int64_t velocity_max_minor = 15'000'000;
  std::string sms_outbox;  // default <data-dir>/sms-outbox.jsonl
  // Authentication (claims 16-19): amount thresholds, lockouts, worker pools.
  std::int64_t auth_none_below_minor = 100'000;
  // Biometric score thresholds; negative = the matcher's calibrated default.
  double face_threshold = -1, iris_threshold = -1, fingerprint_threshold = -1, voice_threshold = -1;
  std::int64_t auth_knowledge_up_to_minor = 1'000'000;
  std::vector<std::string> auth_merchant_rules;  // "merchant:none_below:knowledge_up_to"
  std::uint32_t auth_max_failures = 3;
  std::int64_t auth_lockout_s = 60;
  unsigned knowledge_workers = 1;
  std::size_t knowledge_queue = 256;
  unsigned biometric_workers = 1;
  std::size_t biometric_queue = 16;
  std::size_t max_sample_bytes = 512 * 1024;
  std::size_t map_size_mb = 4096;
  bool require_terminal_keys = true;  // refuse billing terminals and centres without a key
  bool seed_demo = true;              // seed the demo merchants and users into an empty directory
  // Synthetic merchants m-load-<n> (terminal t-load-<n>, till 6<n>) and users
  // u-load-<n> (msisdn 2547100<n>) for load tests; idempotent.
  std::size_t seed_load_merchants = 0;
  std::size_t seed_load_users = 0;
  std::int64_t seed_load_funding_minor = 100'000'000;
  bool demo = false;  // after start, run a demo payment and print its transcript
  std::string log_level = "info";
  cluster_config cluster;  // one switch on many nodes (docs/cluster.md)

  unsigned effective_shards() const;
  unsigned effective_workers() const;
  unsigned effective_io_threads() const;
  bool actors_on_io_threads() const { return scheduler == "asio"; }
  std::string effective_public_url(std::uint16_t bound_paying_port) const;
  bool tls_enabled() const { return tls != "off"; }
};

enum class parse_outcome : std::uint8_t { run, help_shown };

// Parses `paysync serve` options. On --help prints the usage to `out`.
// Errors are a message for the operator.
boost::system::result<parse_outcome, std::string> parse_switch_config(int argc,
                                                                      const char* const* argv,
                                                                      switch_config& config,
                                                                      std::ostream& out);

}  // namespace paysync::actors
