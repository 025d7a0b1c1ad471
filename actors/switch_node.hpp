#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/switch_config.hpp"

namespace paysync::storage {
class directory_store;
class ledger_store;
}  // namespace paysync::storage

namespace paysync::actors {

class clock;

// One running paysync node: the LMDB stores, the CAF actor system (ledger,
// registry shards, one actor per connection) and the two Beast listeners.
// Construction order is the start-up order; destruction stops in reverse
// (listeners, then sessions, then shards and ledger, then storage).
class switch_node {
 public:
  // Opens storage (seeding the demo data if configured), spawns the actors
  // and binds both listeners. Errors are messages for the operator.
  static boost::system::result<std::unique_ptr<switch_node>, std::string> start(
      const switch_config& config, std::shared_ptr<const clock> time);
  ~switch_node();
  switch_node(const switch_node&) = delete;
  switch_node& operator=(const switch_node&) = delete;

  std::string billing_endpoint() const;  // "127.0.0.1:7700"
  std::string paying_endpoint() const;
  std::string operator_endpoint() const;  // GET /metrics, GET /healthz
  std::uint16_t billing_port() const;
  std::uint16_t paying_port() const;
  std::string public_url() const;
  bool tls() const;                          // the billing and paying ports speak TLS
  std::string tls_fingerprint() const;       // "AB:CD:..." (SHA-256), "" without TLS
  std::string tls_certificate_file() const;  // "" without TLS
  std::string data_directory() const;
  std::string receipt_key() const;     // "<base64url public key> (key_id <id>)"
  std::uint16_t cluster_port() const;  // 0 on a single node
  const storage::ledger_store& ledger() const;
  const storage::directory_store& directory() const;

  // Stops accepting, closes every connection and lets the actors finish.
  // False when some actors did not finish in time and were abandoned, still
  // running: the process should then exit at once (std::_Exit), since
  // tearing anything down under them is unsafe.
  bool stop();

  struct impl;

 private:
  explicit switch_node(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace paysync::actors
