#include "actors/payer_checks.hpp"

#include "protocols/money.hpp"
#include "storage/directory_store.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::actors {

using protocols::wire_error;

verdict check_payer(const storage::directory_store& directory, const storage::ledger_store& ledger,
                    const std::string& user_id, const std::string& account_id,
                    std::int64_t amount_minor, std::int64_t now_unix_ms,
                    const payer_limits& limits) {
  auto user = directory.find_user(user_id);
  if (!user) {
    return user.error() == storage::store_error::not_found
               ? refused(wire_error::payer_unregistered, "the payer is no longer registered")
               : refused(wire_error::internal, "the directory is unavailable");
  }
  if (user->status != storage::party_status::active) {
    return refused(wire_error::payer_blocked, user->status == storage::party_status::suspended
                                                  ? "the payer's account is suspended"
                                                  : "the payer's account is blocked");
  }

  // Counting stops at the limit: by then the payment is refused whatever the sum.
  auto spent = ledger.spending_since(account_id, now_unix_ms - limits.window_ms, limits.max_count);
  if (!spent) return refused(wire_error::internal, "the ledger is unavailable");
  const std::uint32_t count = spent->count;
  const std::int64_t sum = spent->sum_minor;
  const auto hours = limits.window_ms / 3'600'000;
  if (count >= limits.max_count) {
    return refused(wire_error::velocity_limit,
                   "the payer has already made " + std::to_string(count) +
                       " payments in the last " + std::to_string(hours) + " h (the limit is " +
                       std::to_string(limits.max_count) + ")");
  }
  if (sum > limits.max_sum_minor - amount_minor) {  // sum saturates; this cannot overflow
    return refused(wire_error::velocity_limit,
                   "this payment would take the payer's spending in the last " +
                       std::to_string(hours) + " h above " +
                       protocols::format_money(limits.max_sum_minor, user->currency));
  }

  auto account = ledger.find_account(account_id);
  if (!account) return refused(wire_error::internal, "the payer's account is missing");
  if (account->balance_minor < amount_minor) {
    return refused(wire_error::insufficient_funds,
                   "the payer's available balance is below the amount");
  }
  return accepted();
}

}  // namespace paysync::actors
