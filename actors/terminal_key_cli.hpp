#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <string>

#include "storage/directory_store.hpp"

// The Ed25519 keys of billing terminals and order centres (issue 7): the
// operator's `paysync terminal-key` and the demo's key pairs.
namespace paysync::actors {

// The demo terminals' and order centre's Ed25519 key pairs
// (docs/demo-data.md): each one with neither a registered key nor a key file
// gets a new pair, its secret key written to <key_dir>/<id>.key (0600) for
// the demo and the tests to sign with. Returns how many it made.
boost::system::result<std::size_t, std::string> seed_demo_terminal_keys(
    storage::directory_store& directory, const std::string& key_dir);

// `paysync terminal-key new|register|revoke|show`; argv[0] is "terminal-key".
int run_terminal_key_cli(int argc, char** argv);

}  // namespace paysync::actors
