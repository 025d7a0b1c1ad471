#include "actors/cluster_config.hpp"

#include <boost/program_options.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <charconv>
#include <chrono>
#include <set>

namespace paysync::actors {
namespace po = boost::program_options;

namespace {

template <class Int>
bool parse_int(std::string_view text, Int& out, Int max) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return false;
  out = static_cast<Int>(value);
  return true;
}

}  // namespace

boost::system::result<peer_address, std::string> parse_peer(const std::string& text) {
  const auto bad = "--peer \"" + text + "\" is not N@host:port (N 0-255)";
  const auto at = text.find('@');
  const auto colon = text.rfind(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at + 2) return bad;
  peer_address p;
  unsigned node = 0;
  if (!parse_int<unsigned>(std::string_view(text).substr(0, at), node, 255u)) return bad;
  p.node = static_cast<std::uint8_t>(node);
  p.host = text.substr(at + 1, colon - at - 1);
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
  }
  unsigned port = 0;
  if (!parse_int<unsigned>(std::string_view(text).substr(colon + 1), port, 65535u) || port == 0) {
    return bad;
  }
  p.port = static_cast<std::uint16_t>(port);
  if (p.host.empty() || p.host.size() > 253) return bad;
  return p;
}

void add_cluster_options(po::options_description& options, cluster_config& c) {
  // clang-format off
  options.add_options()
      ("cluster-port", po::value(&c.port)->default_value(c.port),
       "port on which this node accepts its peers (CAF remoting); 0 = a single node, no cluster")
      ("cluster-address", po::value(&c.address)->default_value(c.address),
       "address on which this node accepts its peers")
      ("peer", po::value(&c.peers)->composing(),
       "a peer node as N@host:port (its --node-id and --cluster-address:--cluster-port); "
       "repeatable")
      ("cluster-tls-certificate", po::value(&c.tls_certificate),
       "PEM certificate of this node: peers then talk TLS (caf_openssl); needs the key and CA")
      ("cluster-tls-key", po::value(&c.tls_key), "PEM private key of that certificate")
      ("cluster-tls-ca-file", po::value(&c.tls_ca_file),
       "PEM CA certificates that peers' certificates must chain to")
      ("cluster-reconnect-min-ms", po::value(&c.reconnect_min_ms)->default_value(c.reconnect_min_ms),
       "first retry after a peer is lost or refuses; doubled on each failure")
      ("cluster-reconnect-max-ms", po::value(&c.reconnect_max_ms)->default_value(c.reconnect_max_ms),
       "longest wait between retries")
      ("cluster-heartbeat-ms", po::value(&c.heartbeat_ms)->default_value(c.heartbeat_ms),
       "send a BASP heartbeat to every connected peer this often")
      ("cluster-timeout-ms", po::value(&c.timeout_ms)->default_value(c.timeout_ms),
       "close the connection to a peer heard nothing from for this long (a hung node is then "
       "marked down); must be more than --cluster-heartbeat-ms")
      ("settlement-window-s",
       po::value(&c.settlement_window_s)->default_value(c.settlement_window_s),
       "close this node's settlement window every so many seconds (net the merchants' "
       "clearing accounts into their accounts); 0 = only on command (paysync close-window)");
  // clang-format on
}

boost::system::result<std::vector<peer_address>, std::string> check_cluster_config(
    const cluster_config& c, unsigned own_node_id) {
  std::vector<peer_address> out;
  if (c.port > 65535) return std::string("--cluster-port must be 0-65535");
  if (!c.enabled() && !c.peers.empty()) {
    return std::string("--peer needs --cluster-port (this node's own remoting port)");
  }
  if (c.reconnect_min_ms < 1 || c.reconnect_max_ms < c.reconnect_min_ms) {
    return std::string("--cluster-reconnect-min-ms must be >= 1 and <= --cluster-reconnect-max-ms");
  }
  if (c.heartbeat_ms < 1) return std::string("--cluster-heartbeat-ms must be >= 1");
  if (c.timeout_ms <= c.heartbeat_ms) {
    // One late heartbeat would then close a healthy connection.
    return std::string("--cluster-timeout-ms must be more than --cluster-heartbeat-ms");
  }
  if (c.settlement_window_s < 0) return std::string("--settlement-window-s must be >= 0");
  const bool any_tls = !c.tls_certificate.empty() || !c.tls_key.empty() || !c.tls_ca_file.empty();
  if (any_tls && (c.tls_certificate.empty() || c.tls_key.empty() || c.tls_ca_file.empty())) {
    return std::string(
        "--cluster-tls-certificate, --cluster-tls-key and --cluster-tls-ca-file go together");
  }
  std::set<unsigned> seen{own_node_id};
  for (const auto& text : c.peers) {
    auto p = parse_peer(text);
    if (!p) return p.error();
    if (!seen.insert(p->node).second) {
      return "--peer " + text + ": node " + std::to_string(p->node) +
             " is this node or is named twice";
    }
    out.push_back(std::move(*p));
  }
  return out;
}

void load_cluster_remoting(caf::actor_system_config& cfg, const cluster_config& c) {
  cfg.load<caf::io::middleman>();
  // CAF sends no heartbeat by default, and a peer that stops reading without
  // closing its sockets would then stay up forever.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(c.heartbeat_ms)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(c.timeout_ms)});
  if (!c.tls()) return;
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = c.tls_certificate;
  cfg.openssl_key = c.tls_key;
  cfg.openssl_cafile = c.tls_ca_file;
}

}  // namespace paysync::actors
