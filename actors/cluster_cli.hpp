#pragma once

// `paysync close-window`: closes the settlement window on every node of a
// running cluster (docs/cluster.md) over CAF's remoting, and prints the audit
// report as one JSON line. Exit status 0 when the report balances (every
// netted amount booked to its merchant, no transfer pending, every ledger
// summing to zero), 1 when it does not, 2 on a usage or connection error.

namespace paysync::actors {

int run_close_window_cli(int argc, const char* const* argv);

}  // namespace paysync::actors
