#include "actors/terminal_key_cli.hpp"

#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <iostream>

#include "actors/cli_parse.hpp"
#include "protocols/terminal_auth.hpp"
#include "storage/environment.hpp"

namespace paysync::actors {

boost::system::result<std::size_t, std::string> seed_demo_terminal_keys(
    storage::directory_store& directory, const std::string& key_dir) {
  // The terminals of storage/demo_seed.cpp.
  static constexpr const char* demo_terminals[] = {"t-kahawa-01", "t-kahawa-02", "t-mboga-01",
                                                   "t-dawa-01",   "t-closed-01", "t-kahawa-99",
                                                   "oc-nairobi"};
  std::size_t made = 0;
  for (const char* id : demo_terminals) {
    auto t = directory.find_terminal(id);
    const auto path = key_dir + "/" + id + ".key";
    // Once only: a key file left from an earlier start means the operator has
    // since changed or revoked the key, and a restart must not undo that.
    struct stat existing {};
    if (!t || !t->public_key.empty() || ::stat(path.c_str(), &existing) == 0) continue;
    if (::mkdir(key_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + key_dir;
    }
    const auto keys = protocols::generate_terminal_keypair();
    if (auto w = protocols::write_terminal_key_file(path, keys); !w) {
      return w.error();
    }
    t->public_key.assign(keys.public_key.begin(), keys.public_key.end());
    if (!directory.put_terminal(*t)) return std::string("cannot store the key of ") + id;
    ++made;
  }
  return made;
}

int run_terminal_key_cli(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string data_dir = "paysync-data", out;
  std::vector<std::string> command;
  po::options_description options(
      "paysync terminal-key — the Ed25519 keys of billing terminals and order centres\n\n"
      "  paysync terminal-key [options] new TERMINAL --out FILE   make a pair, register the\n"
      "                                                          public key, write the secret\n"
      "  paysync terminal-key [options] register TERMINAL KEY     register a public key\n"
      "                                                          (base64url, 32 bytes)\n"
      "  paysync terminal-key [options] revoke TERMINAL           remove the key: the terminal\n"
      "                                                          can no longer say hello\n"
      "  paysync terminal-key [options] show TERMINAL\n\n"
      "Options");
  options.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value(data_dir), "folder of the LMDB files")(
      "out", po::value(&out), "where `new` writes the secret key (mode 0600)");
  po::variables_map vm;
  if (!parse_with_command(argc, argv, options, command, vm, "terminal-key")) return 2;
  if (vm.count("help") || command.size() < 2) {
    std::cout << options << "\n";
    return vm.count("help") ? 0 : 2;
  }
  storage::environment_options eo;
  eo.directory = data_dir;
  auto env = storage::environment::open(eo);
  if (!env) {
    std::cerr << "paysync terminal-key: cannot open " << data_dir << "\n";
    return 1;
  }
  storage::directory_store directory(**env);
  auto t = directory.find_terminal(command[1]);
  if (!t) {
    std::cerr << "paysync terminal-key: no terminal \"" << command[1] << "\"\n";
    return 1;
  }
  const auto& verb = command[0];
  if (verb == "show" && command.size() == 2) {
    std::cout << (t->public_key.empty() ? "(no key)" : protocols::to_base64url(t->public_key))
              << "\n";
    return 0;
  }
  if (verb == "new" && command.size() == 2) {
    if (out.empty()) {
      std::cerr << "paysync terminal-key: new needs --out FILE for the secret key\n";
      return 2;
    }
    const auto keys = protocols::generate_terminal_keypair();
    if (auto w = protocols::write_terminal_key_file(out, keys); !w) {
      std::cerr << "paysync terminal-key: " << w.error() << "\n";
      return 1;
    }
    t->public_key.assign(keys.public_key.begin(), keys.public_key.end());
  } else if (verb == "register" && command.size() == 3) {
    auto key = protocols::from_base64url(command[2]);
    if (!key || key->size() != protocols::terminal_public_key_bytes) {
      std::cerr << "paysync terminal-key: a public key is 32 bytes in base64url\n";
      return 2;
    }
    t->public_key.assign(key->data(), key->size());
  } else if (verb == "revoke" && command.size() == 2) {
    t->public_key.clear();
  } else {
    std::cerr << "paysync terminal-key: expected new, register, revoke or show (see --help)\n";
    return 2;
  }
  if (!directory.put_terminal(*t)) {
    std::cerr << "paysync terminal-key: the directory refused the change\n";
    return 1;
  }
  std::cout << verb << " " << t->id << ": "
            << (t->public_key.empty() ? "no key" : protocols::to_base64url(t->public_key)) << "\n";
  return 0;
}

}  // namespace paysync::actors
