#pragma once

#include <cstddef>
#include <cstdint>

#include "storage/directory_store.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::storage {

struct seed_summary {
  bool seeded = false;  // false: the directory already held merchants; nothing was touched
  std::size_t merchants = 0, terminals = 0, users = 0, fundings = 0;
};

// Seeds the demo data set documented in docs/demo-data.md on first start:
// merchants with tills and disclosure policies, their billing terminals, users
// keyed by MSISDN, their accounts, and wallet fundings posted from the float
// account "system:float:KES" (so the sum of balances stays 0). Does nothing when
// any merchant exists. Safe to call on every start.
result<seed_summary> seed_demo_data(directory_store& directory, ledger_store& ledger,
                                    std::int64_t now_unix_ms);

// Synthetic data for load tests: `merchants` merchants "m-load-<n>" (till
// "6<n>", account "merchant:m-load-<n>", one active terminal "t-load-<n>") and
// `users` users "u-load-<n>" (msisdn "2547100<n>", account "user:u-load-<n>",
// funded with `funding_minor` KES from "system:float:KES" under settlement id
// "seed:funding:u-load-<n>"), where <n> is zero-based and five digits
// ("00000".."99999"). Idempotent: ids that exist are skipped, so a second call
// with the same arguments writes nothing (seeded == false). Writes in batches
// of a few thousand records per transaction.
// REQUIRES: merchants <= 100000, users <= 100000, funding_minor >= 0
// (invalid_argument otherwise); funding_minor == 0 posts no fundings.
// The summary counts what this call created.
result<seed_summary> seed_load_data(directory_store& directory, ledger_store& ledger,
                                    std::size_t merchants, std::size_t users,
                                    std::int64_t funding_minor, std::int64_t now_unix_ms);

}  // namespace paysync::storage
