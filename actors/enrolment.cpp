#include "actors/enrolment.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>

#include "actors/biometric_kind.hpp"
#include "actors/cli_parse.hpp"
#include "biometrics/matcher.hpp"
#include "protocols/txn_ids.hpp"
#include "storage/environment.hpp"
#include "storage/secrets.hpp"

namespace paysync::actors {
namespace {

using outcome = boost::system::result<storage::factor_record, std::string>;

outcome fail(std::string message) {
  return outcome(boost::system::in_place_error, std::move(message));
}

constexpr std::size_t max_samples = 8;
constexpr std::size_t max_sample_file_bytes = 4 * 1024 * 1024;

std::string new_factor_id() {
  unsigned char bytes[8];
  protocols::random_bytes(bytes, sizeof(bytes));
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "f-";
  for (auto b : bytes) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 15]);
  }
  return id;
}

bool all_digits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

outcome enrol_factor(storage::factor_store& factors, const storage::directory_store& directory,
                     const storage::keyring& keys, const enrol_request& r,
                     std::int64_t now_unix_ms) {
  if (!directory.find_user(r.user_id)) return fail("no user \"" + r.user_id + "\"");
  storage::factor_record f;
  f.user_id = r.user_id;
  f.factor_id = new_factor_id();
  f.kind = r.kind;
  f.created_unix_ms = now_unix_ms;
  switch (r.kind) {
    case storage::factor_kind::pin:
      if (r.secret.size() < 4 || r.secret.size() > 12 || !all_digits(r.secret)) {
        return fail("a PIN is 4 to 12 digits");
      }
      break;
    case storage::factor_kind::password:
      if (r.secret.size() < 8 || r.secret.size() > 128) {
        return fail("a password is 8 to 128 bytes");
      }
      break;
    case storage::factor_kind::question:
      if (r.label.empty() || r.label.size() > 256) return fail("the question is 1 to 256 bytes");
      if (storage::normalise_answer(r.secret).empty()) return fail("the answer is empty");
      f.label = r.label;
      break;
    default:
      break;
  }
  if (!storage::is_biometric(r.kind)) {
    const auto secret =
        r.kind == storage::factor_kind::question ? storage::normalise_answer(r.secret) : r.secret;
    auto hash = storage::hash_secret(keys, secret);
    if (!hash) return fail("hashing failed");
    f.secrets.push_back(std::move(*hash));
  } else {
    if (r.samples.empty() || r.samples.size() > max_samples) {
      return fail("a biometric factor needs 1 to " + std::to_string(max_samples) + " samples");
    }
    const auto matcher = biometrics::make_matcher(*modality_of(r.kind));
    f.template_version = matcher->template_version();
    for (std::size_t i = 0; i < r.samples.size(); ++i) {
      auto t = matcher->extract(r.samples[i]);
      if (!t) {
        return fail("sample " + std::to_string(i + 1) +
                    " was refused: " + std::string(biometrics::to_string(t.error())));
      }
      f.secrets.push_back(storage::seal_template(keys, f.user_id, f.factor_id, *t));
      sodium_memzero(t->data(), t->size());
    }
  }
  if (auto stored = factors.put(f); !stored) {
    return fail("storing the factor failed: " + std::string(storage::to_string(stored.error())));
  }
  return f;
}

boost::system::result<std::size_t, std::string> seed_demo_factors(
    storage::factor_store& factors, const storage::directory_store& directory,
    const storage::keyring& keys, std::int64_t now_unix_ms) {
  struct demo {
    const char* user;
    storage::factor_kind kind;
    const char* label;
    const char* secret;
  };
  static constexpr demo demo_factors[] = {
      {"u-1001", storage::factor_kind::pin, "", "1234"},
      {"u-1001", storage::factor_kind::question, "What was the name of your first school?",
       "Kilimani Primary"},
      {"u-1002", storage::factor_kind::pin, "", "4321"},
      {"u-1002", storage::factor_kind::question, "In which town were you born?", "Kisumu"},
      {"u-1002", storage::factor_kind::question, "What is your favourite dish?", "Ugali"},
      {"u-1003", storage::factor_kind::password, "", "chebet-secret"},
  };
  std::size_t added = 0;
  for (const auto& d : demo_factors) {
    auto existing = factors.list(d.user);
    if (!existing) return std::string("the factor store is unavailable");
    const bool seeded_before = std::any_of(existing->begin(), existing->end(), [&](const auto& f) {
      return f.kind == d.kind && f.label == d.label;
    });
    if (seeded_before || !directory.find_user(d.user)) continue;
    auto f = enrol_factor(factors, directory, keys, {d.user, d.kind, d.label, d.secret, {}},
                          now_unix_ms);
    if (!f) return f.error();
    ++added;
  }
  return added;
}

int run_enrol_cli(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string data_dir = "paysync-data", user, msisdn;
  std::vector<std::string> command;
  po::options_description options(
      "paysync enrol — a user's authentication factors\n\n"
      "  paysync enrol [options] --user ID add pin 1234\n"
      "  paysync enrol [options] --user ID add password 'correct horse'\n"
      "  paysync enrol [options] --user ID add question 'Your first school?' 'Kilimani'\n"
      "  paysync enrol [options] --user ID add face|iris|fingerprint|voice FILE [FILE...]\n"
      "  paysync enrol [options] --user ID list\n"
      "  paysync enrol [options] --user ID revoke FACTOR-ID\n\n"
      "Options");
  options.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value(data_dir), "folder of the LMDB files")(
      "user", po::value(&user), "user id (u-1001)")("msisdn", po::value(&msisdn),
                                                    "or the user's phone number");
  po::variables_map vm;
  if (!parse_with_command(argc, argv, options, command, vm, "enrol")) return 2;
  if (vm.count("help") || command.empty()) {
    std::cout << options << "\n";
    return vm.count("help") ? 0 : 2;
  }
  storage::environment_options eo;
  eo.directory = data_dir;
  auto env = storage::environment::open(eo);
  if (!env) {
    std::cerr << "paysync enrol: cannot open " << data_dir << "\n";
    return 1;
  }
  storage::directory_store directory(**env);
  storage::factor_store factors(**env);
  if (user.empty() && !msisdn.empty()) {
    auto u = directory.find_user_by_msisdn(msisdn);
    if (!u) {
      std::cerr << "paysync enrol: no user has number " << msisdn << "\n";
      return 1;
    }
    user = u->id;
  }
  if (user.empty()) {
    std::cerr << "paysync enrol: --user or --msisdn is required\n";
    return 2;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (command[0] == "list") {
    auto list = factors.list(user);
    if (!list) return 1;
    for (const auto& f : *list) {
      auto attempts = factors.attempts(f.user_id, f.factor_id);
      std::cout << f.factor_id << "  " << storage::to_string(f.kind)
                << (f.revoked ? "  revoked" : "  active")
                << (f.label.empty() ? "" : "  \"" + f.label + "\"")
                << (storage::is_biometric(f.kind)
                        ? "  " + std::to_string(f.secrets.size()) + " template(s), version " +
                              std::to_string(f.template_version)
                        : "")
                << (attempts && attempts->locked_until_unix_ms > now ? "  locked" : "") << "\n";
    }
    return 0;
  }
  if (command[0] == "revoke" && command.size() == 2) {
    auto r = factors.revoke(user, command[1]);
    if (!r) {
      std::cerr << "paysync enrol: " << storage::to_string(r.error()) << "\n";
      return 1;
    }
    std::cout << "revoked " << command[1] << "\n";
    return 0;
  }
  if (command[0] != "add" || command.size() < 3) {
    std::cerr << "paysync enrol: expected add, list or revoke (see --help)\n";
    return 2;
  }
  auto kind = storage::parse_factor_kind(command[1]);
  if (!kind) {
    std::cerr << "paysync enrol: unknown factor \"" << command[1] << "\"\n";
    return 2;
  }
  auto keys = storage::load_or_create_keyring(data_dir + "/keys");
  if (!keys) {
    std::cerr << "paysync enrol: cannot use the key file " << data_dir << "/keys\n";
    return 1;
  }
  enrol_request request;
  request.user_id = user;
  request.kind = *kind;
  if (*kind == storage::factor_kind::question) {
    if (command.size() != 4) {
      std::cerr << "paysync enrol: add question QUESTION ANSWER\n";
      return 2;
    }
    request.label = command[2];
    request.secret = command[3];
  } else if (!storage::is_biometric(*kind)) {
    request.secret = command[2];
  } else {
    for (std::size_t i = 2; i < command.size(); ++i) {
      std::ifstream in(command[i], std::ios::binary);
      if (!in) {
        std::cerr << "paysync enrol: cannot read " << command[i] << "\n";
        return 1;
      }
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      if (bytes.size() > max_sample_file_bytes) {
        std::cerr << "paysync enrol: " << command[i] << " is larger than 4 MiB\n";
        return 1;
      }
      request.samples.push_back(std::move(bytes));
    }
  }
  auto f = enrol_factor(factors, directory, *keys, request, now);
  sodium_memzero(request.secret.data(), request.secret.size());
  if (!f) {
    std::cerr << "paysync enrol: " << f.error() << "\n";
    return 1;
  }
  std::cout << "added " << storage::to_string(f->kind) << " " << f->factor_id << " for " << user
            << "\n";
  return 0;
}

}  // namespace paysync::actors
