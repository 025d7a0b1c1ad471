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
// The ledger re-checks the balance atomically when it commits; the velocity
// limits are a risk control checked here, so two payments of one payer racing
// each other may both pass (each is bounded by the balance regardless).
verdict check_payer(const storage::directory_store& directory, const storage::ledger_store& ledger,
                    const std::string& user_id, const std::string& account_id,
                    std::int64_t amount_minor, std::int64_t now_unix_ms,
                    const payer_limits& limits);

}  // namespace paysync::actors
