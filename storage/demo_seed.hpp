#pragma once

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

}  // namespace paysync::storage
