#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/interfaces.hpp"
#include "actors/session_io.hpp"
#include "actors/switch_context.hpp"
#include "actors/terminal_check.hpp"
#include "storage/directory_store.hpp"

namespace paysync::actors {

// The life of one transaction, as its billing session sees it.
enum class txn_state : std::uint8_t {
  opening,         // registering with the shard
  opened,          // waiting for a handset
  joined,          // a handset presented the id; the payer has not confirmed the merchant
  synchronized,    // the payer confirmed the merchant (claim 5); waiting for an amount
  amount_offered,  // the payer sees the amount; waiting for the final confirmation
  settling,        // the ledger is committing
  settled,
  cancelled,
  expired,
  failed,
};
std::string_view to_string(txn_state s) noexcept;
inline bool is_finished(txn_state s) noexcept { return s >= txn_state::settled; }

struct billing_txn {
  std::string txn, token, code, reference;
  std::int64_t expires_unix_ms = 0;
  std::int64_t amount_minor = 0;  // 0: not given yet
  std::string currency;
  txn_state state = txn_state::opening;
  bool initiated_by_payer = false;                       // flow B
  protocols::qr_format qr = protocols::qr_format::none;  // the link as a QR code in `opened`
  paying_session_actor handset;
  payer_card payer;
  std::vector<protocols::catalogue_item> catalogue;  // claims 15, 24
  bool catalogue_offered = false;
  settlement_outcome outcome;  // once settled or failed
  std::vector<caf::typed_response_promise<settlement_outcome>> confirmations;
};

struct billing_session_state {
  std::shared_ptr<const switch_context> ctx;
  std::unique_ptr<session_io> io;
  bool identified = false;
  std::optional<pending_challenge> challenge;
  std::uint32_t bad_signatures = 0;
  std::string terminal_id;
  storage::merchant_record merchant;
  merchant_card card;
  std::unordered_map<std::string, billing_txn> txns;
  std::size_t live = 0;  // transactions not finished
  // Oldest first, bounded by max_finished_remembered. A list, not a deque: a
  // std::deque allocates ~600 bytes when constructed, which every idle
  // terminal would pay (issue 6's memory budget is 10 KB per terminal).
  std::queue<std::string, std::list<std::string>> finished;
  std::size_t refunds_in_flight = 0;
  static inline const char* name = "billing_session";
};

billing_session_actor::behavior_type billing_session(
    billing_session_actor::stateful_pointer<billing_session_state> self,
    std::shared_ptr<const switch_context> ctx,
    std::shared_ptr<protocols::ws_connection> connection);

}  // namespace paysync::actors
