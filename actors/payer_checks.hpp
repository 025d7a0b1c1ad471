#pragma once

#include <cstdint>
#include <string>

#include "actors/messages.hpp"
#include "actors/switch_context.hpp"

namespace paysync::storage {
class directory_store;
class ledger_store;
}  // namespace paysync::storage

namespace paysync::actors {

// The checks of claim 12, in order, each with its own refusal code so the
// terminal learns which one refused: the payer is still registered and active
// (payer_unregistered, payer_blocked); their payments in the velocity window
// stay within the count and the sum allowed (velocity_limit); their balance
// covers the amount (insufficient_funds). Reads LMDB directly (microseconds).
//
// These read this node's copy of the ledger, for an early answer with the
// details; the ledger of the payer's partition checks the balance and the
// velocity limits again inside its commit (storage::velocity_rule), so two
// payments racing each other, or made through different nodes, cannot
// together pass a limit.
verdict check_payer(const storage::directory_store& directory, const storage::ledger_store& ledger,
                    const std::string& user_id, const std::string& account_id,
                    std::int64_t amount_minor, std::int64_t now_unix_ms,
                    const payer_limits& limits);

}  // namespace paysync::actors
