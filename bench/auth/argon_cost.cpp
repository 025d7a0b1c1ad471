#include "bench/auth/argon_cost.hpp"

#include <sodium.h>
#include <time.h>

#include <array>
#include <chrono>
#include <cstring>

#include "bench/auth/stats.hpp"
#include "storage/keyring.hpp"
#include "storage/secrets.hpp"

namespace paysync::bench::auth {
namespace {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct samples {
  std::vector<double> cpu_ms, wall_ms;
  std::size_t wrong_answers = 0;
};

// One timed storage::verify_secret; `expect` is what it must return.
void timed_verify(const storage::keyring& keys, const std::string& hash, const std::string& pin,
                  bool expect, samples& out) {
  const auto cpu0 = thread_cpu_ns();
  const auto wall0 = std::chrono::steady_clock::now();
  const bool ok = storage::verify_secret(keys, hash, pin);
  const auto wall1 = std::chrono::steady_clock::now();
  const auto cpu1 = thread_cpu_ns();
  out.cpu_ms.push_back(static_cast<double>(cpu1 - cpu0) / 1e6);
  out.wall_ms.push_back(std::chrono::duration<double, std::milli>(wall1 - wall0).count());
  if (ok != expect) ++out.wrong_answers;
}

argon_row summarise(std::string name, unsigned long long ops, std::size_t mem, const samples& s) {
  argon_row r;
  r.name = std::move(name);
  r.opslimit = ops;
  r.memlimit = mem;
  r.runs = s.cpu_ms.size();
  r.cpu_p50_ms = quantile(s.cpu_ms, 0.5);
  r.cpu_p90_ms = quantile(s.cpu_ms, 0.9);
  r.wall_p50_ms = quantile(s.wall_ms, 0.5);
  r.wall_p90_ms = quantile(s.wall_ms, 0.9);
  return r;
}

}  // namespace

argon_result measure_argon(std::size_t rounds, std::size_t paysync_per_round,
                           std::size_t interactive_per_round) {
  argon_result result;
  if (sodium_init() < 0) {
    result.error = "sodium_init failed";
    return result;
  }
  storage::keyring keys;
  randombytes_buf(keys.pepper.data(), keys.pepper.size());
  const std::string pin = "2468", wrong = "2469";

  // paysync's own hash, made by the switch's code.
  auto paysync_hash = storage::hash_secret(keys, pin);
  if (!paysync_hash) {
    result.error = "storage::hash_secret failed";
    return result;
  }
  // The same construction (Argon2id over HMAC-SHA512-256(pepper, PIN), see
  // storage/secrets.hpp) at INTERACTIVE cost. The parameters live in the hash
  // string, so storage::verify_secret runs it exactly as the switch would.
  std::array<unsigned char, crypto_auth_BYTES> mac{};
  crypto_auth(mac.data(), reinterpret_cast<const unsigned char*>(pin.data()), pin.size(),
              keys.pepper.data());
  std::string interactive_hash(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(interactive_hash.data(), reinterpret_cast<const char*>(mac.data()),
                            mac.size(), crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    result.error = "crypto_pwhash_str_alg (INTERACTIVE) failed: out of memory?";
    return result;
  }
  sodium_memzero(mac.data(), mac.size());
  interactive_hash.resize(std::strlen(interactive_hash.c_str()));

  samples ours, theirs;
  // Warm-up: first touches of the memory, page faults of a fresh heap.
  timed_verify(keys, *paysync_hash, pin, true, ours);
  timed_verify(keys, interactive_hash, pin, true, theirs);
  ours = {};
  theirs = {};
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < paysync_per_round; ++i) {
      // Every tenth with a wrong PIN: a refusal costs the same.
      const bool right = i % 10 != 9;
      timed_verify(keys, *paysync_hash, right ? pin : wrong, right, ours);
    }
    for (std::size_t i = 0; i < interactive_per_round; ++i) {
      timed_verify(keys, interactive_hash, pin, true, theirs);
    }
  }
  result.paysync = summarise("paysync (storage/secrets.hpp)", storage::secret_hash_opslimit,
                             storage::secret_hash_memlimit, ours);
  result.interactive =
      summarise("libsodium INTERACTIVE", crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE, theirs);
  result.ok = ours.wrong_answers == 0 && theirs.wrong_answers == 0;
  if (!result.ok) result.error = "a verification gave the wrong answer";
  return result;
}

}  // namespace paysync::bench::auth
