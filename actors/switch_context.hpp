#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/auth_policy.hpp"
#include "actors/clock.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"
#include "actors/rate_limiter.hpp"
#include "protocols/receipt_signature.hpp"

namespace paysync::storage {
class directory_store;
class factor_store;
class ledger_store;
}  // namespace paysync::storage

namespace paysync::actors {

class cluster_map;

// What a payer may spend (claim 12): checked before an amount is offered and
// again before the ledger is asked to settle.
struct payer_limits {
  std::int64_t window_ms = 86'400'000;      // the velocity window: the last 24 h
  std::uint32_t max_count = 50;             // payments in the window
  std::int64_t max_sum_minor = 15'000'000;  // their sum (150,000.00 in a 2-digit currency)
};

// Authentication before money moves (claims 16-19).
struct auth_settings {
  auth_policy policy;
  storage::lockout_policy lockout;           // failures before a lockout, and its length
  std::uint32_t max_sample_refusals = 5;     // unusable samples per challenge before it fails
  std::size_t max_image_bytes = 512 * 1024;  // face, iris, fingerprint
  std::size_t max_audio_bytes = 512 * 1024;  // voice
  // Score thresholds of face, iris, fingerprint and voice (factor_kind 4-7);
  // negative: the matcher's own, calibrated at FMR 0.1% by bench/biometrics.
  std::array<double, 4> biometric_thresholds{-1, -1, -1, -1};
};

// Tunables shared by the session actors; every one has a bound.
struct session_limits {
  std::int64_t txn_ttl_ms = 300'000;          // an opened transaction lives this long at most
  std::size_t max_open_per_terminal = 1'000;  // live transactions per billing connection
  std::size_t max_finished_remembered = 256;  // per billing connection, for status/replays
  std::uint32_t max_failed_joins = 5;         // per handset connection before a lockout
  std::int64_t join_lockout_ms = 60'000;
  std::int64_t request_timeout_ms = 10'000;  // session -> registry/billing requests
  std::size_t max_frame_bytes = 64 * 1024;   // as configured on the listeners (for messages)
  std::size_t max_idempotency_keys = 1'024;  // remembered per connection
  bool require_terminal_keys = true;         // refuse terminals without a registered key
  std::uint32_t max_bad_signatures = 3;      // per connection, then it is closed
  payer_limits payer;
};

// What every session actor needs; built once at start, shared read-only.
struct switch_context {
  std::uint8_t node_id = 0;
  session_limits limits;
  std::string public_base_url;  // "http://127.0.0.1:7800": links are <base>/pay/<merchant>/<token>
  std::shared_ptr<const clock> time;
  switch_metrics* metrics = nullptr;  // owned by the node; never null
  // Directory and ledger reads go straight to LMDB (read transactions are
  // concurrent and cost microseconds); every ledger write goes through `ledger`.
  const storage::directory_store* directory = nullptr;
  const storage::ledger_store* ledger_reads = nullptr;
  ledger_actor ledger;
  std::vector<registry_shard_actor> shards;
  std::vector<presence_shard_actor> presence;
  sms_sender_actor sms;
  auth_settings auth;
  // Shared by every handset connection; null = unlimited.
  struct {
    std::shared_ptr<keyed_rate_limiter> by_msisdn, by_address;
  } join_limits;
  // Signs every receipt and settled message; null only in actor tests.
  std::shared_ptr<const protocols::receipt_signer> receipts;
  storage::factor_store* factors = nullptr;  // thread-safe; writes only attempt counters
  auth_pool_actor knowledge_checks;          // Argon2id, a few ms each
  auth_pool_actor biometric_checks;          // decode, extract, compare; low priority

  // The cluster (docs/cluster.md); null on a single node. `cluster_presence`
  // asks this node's presence shards and then every peer's.
  std::shared_ptr<const cluster_map> cluster;
  presence_shard_actor cluster_presence;

  registry_shard_actor shard(std::size_t index) const { return shards[index % shards.size()]; }
  std::uint16_t shard_count() const { return static_cast<std::uint16_t>(shards.size()); }
  // The presence shard that owns a merchant id or a number.
  presence_shard_actor presence_of(std::string_view key) const {
    return presence[std::hash<std::string_view>{}(key) % presence.size()];
  }
  // Where to look up a merchant's terminals or a number's handsets: on a
  // single node its presence shard, in a cluster every node's (reach,
  // forward, resolve, push). Attach and detach always use presence_of.
  presence_shard_actor presence_lookup(std::string_view key) const {
    return cluster_presence ? cluster_presence : presence_of(key);
  }
};

}  // namespace paysync::actors
