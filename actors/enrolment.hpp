#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/directory_store.hpp"
#include "storage/factor_store.hpp"
#include "storage/keyring.hpp"

// The operator API for authentication factors (claims 16-19): add, list and
// revoke a user's factors. `paysync enrol` is its command line; it works on
// the LMDB files directly, also while the switch runs.
namespace paysync::actors {

struct enrol_request {
  std::string user_id;
  storage::factor_kind kind = storage::factor_kind::pin;
  std::string label;   // the question, for `question`
  std::string secret;  // PIN (4-12 digits), password (8-128 bytes) or the answer
  std::vector<std::vector<std::uint8_t>> samples;  // biometrics: 1-8 images or recordings
};

// Validates, hashes or extracts and seals, and stores a new factor; returns
// it (secrets included, for tests). Errors are messages for the operator,
// naming the refused sample and why ("sample 2: no_face").
boost::system::result<storage::factor_record, std::string> enrol_factor(
    storage::factor_store& factors, const storage::directory_store& directory,
    const storage::keyring& keys, const enrol_request& request, std::int64_t now_unix_ms);

// The demo users' knowledge factors (docs/demo-data.md), for users without
// any factor yet. Returns how many factors it added.
boost::system::result<std::size_t, std::string> seed_demo_factors(
    storage::factor_store& factors, const storage::directory_store& directory,
    const storage::keyring& keys, std::int64_t now_unix_ms);

// `paysync enrol ...`; argv[0] is "enrol".
int run_enrol_cli(int argc, char** argv);

// `paysync terminal-key new|register|revoke|show ...`; argv[0] is "terminal-key".
int run_terminal_key_cli(int argc, char** argv);

}  // namespace paysync::actors
