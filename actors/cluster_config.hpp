#pragma once

// The cluster part of the switch's configuration (docs/cluster.md): this
// node's CAF remoting port and its peers. Kept apart from switch_config so
// the options and their checks live in one place.

#include <boost/program_options/options_description.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace caf {
class actor_system_config;
}

namespace paysync::actors {

// One peer node: "N@host:port" on the command line.
struct peer_address {
  std::uint8_t node = 0;
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const peer_address&, const peer_address&) = default;
};

// Parses "N@host:port" (N 0-255, host a name or IPv4 address, or [v6]);
// errors are a message for the operator.
boost::system::result<peer_address, std::string> parse_peer(const std::string& text);

struct cluster_config {
  std::string address = "127.0.0.1";  // where this node publishes its directory actor
  unsigned port = 0;                  // 0: no cluster (a single node)
  std::vector<std::string> peers;     // "N@host:port", as given
  // TLS between nodes through caf_openssl; all three, or none (plain TCP).
  std::string tls_certificate, tls_key, tls_ca_file;
  std::int64_t reconnect_min_ms = 100;  // first retry after a peer is lost
  std::int64_t reconnect_max_ms = 2'000;
  // BASP heartbeats: a node that hangs with its connections open (stopped,
  // swapping, deadlocked) sends none, and its peers close the connection
  // after the timeout, which fires their monitors like a crash would.
  std::int64_t heartbeat_ms = 1'000;
  std::int64_t timeout_ms = 5'000;       // > heartbeat_ms
  std::int64_t settlement_window_s = 0;  // 0: windows close only on command

  bool enabled() const { return port != 0; }
  bool tls() const { return !tls_certificate.empty(); }
};

// Adds --cluster-port, --cluster-address, --peer and the TLS, reconnect and
// heartbeat options to `options`, writing into `c`.
void add_cluster_options(boost::program_options::options_description& options, cluster_config& c);

// The checks after parsing: peers well-formed, not this node, no node twice;
// TLS all or nothing; the heartbeat shorter than the timeout. Returns the
// parsed peers.
boost::system::result<std::vector<peer_address>, std::string> check_cluster_config(
    const cluster_config& c, unsigned own_node_id);

// Loads CAF's remoting into `cfg` with the heartbeat and timeout, and
// caf_openssl with this node's PEM files when the cluster talks TLS: the
// switch and `paysync close-window` reach peers the same way.
void load_cluster_remoting(caf::actor_system_config& cfg, const cluster_config& c);

}  // namespace paysync::actors
