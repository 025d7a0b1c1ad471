#pragma once

// Part 1 of bench_auth: what one PIN verification costs with paysync's
// Argon2id parameters (storage/secrets.hpp), beside libsodium's INTERACTIVE
// parameters, through the switch's own storage::verify_secret.

#include <cstddef>
#include <string>
#include <vector>

namespace paysync::bench::auth {

struct argon_row {
  std::string name;
  unsigned long long opslimit = 0;
  std::size_t memlimit = 0;
  std::size_t runs = 0;
  double cpu_p50_ms = 0, cpu_p90_ms = 0, wall_p50_ms = 0, wall_p90_ms = 0;
};

struct argon_result {
  bool ok = false;  // every verification of the right PIN said yes, of a wrong one no
  std::string error;
  argon_row paysync, interactive;
};

// `rounds` rounds, each `paysync_per_round` verifications with paysync's
// parameters then `interactive_per_round` with INTERACTIVE ones (A/B
// interleaved), on the calling thread; CPU is the thread's CPU time.
argon_result measure_argon(std::size_t rounds, std::size_t paysync_per_round,
                           std::size_t interactive_per_round);

}  // namespace paysync::bench::auth
