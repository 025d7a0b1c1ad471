#include "actors/receipt_cli.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>

#include "protocols/receipt_signature.hpp"
#include "storage/keyring.hpp"

namespace paysync::actors {
namespace {

namespace po = boost::program_options;

// Parses `options` (+ positional `file`); returns an exit code when done.
std::optional<int> parse(int argc, char** argv, const po::options_description& options,
                         std::string_view command, po::variables_map& vm,
                         const po::positional_options_description* positional = nullptr) {
  try {
    auto parser = po::command_line_parser(argc, argv).options(options);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync " << command << ": " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  return std::nullopt;
}

// A line of input as a JSON object: bare, or as `paysync terminal` and the
// demo print it ("< {…}", "billing <- {…}").
std::optional<boost::json::object> message_in(std::string_view line) {
  const auto brace = line.find('{');
  if (brace == std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto value = boost::json::parse(line.substr(brace), ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

}  // namespace

int run_receipt_key_cli(int argc, char** argv) {
  std::string data_dir = "paysync-data";
  po::options_description options(
      "paysync receipt-key — the public key that verifies this switch's receipts\n\nOptions");
  options.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value(data_dir), "folder of the switch's files");
  po::variables_map vm;
  if (auto done = parse(argc, argv, options, "receipt-key", vm)) return *done;
  const auto path = data_dir + "/keys";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::cerr << "paysync receipt-key: no key file at " << path
              << " (the switch makes it on its first start)\n";
    return 1;
  }
  auto keys = storage::load_or_create_keyring(path);
  if (!keys) {
    std::cerr << "paysync receipt-key: cannot read " << path << ": "
              << storage::to_string(keys.error()) << "\n";
    return 1;
  }
  const protocols::receipt_signer signer(keys->signing_seed, keys->pepper);
  std::cout << signer.public_key() << " key_id " << signer.key_id() << "\n";
  return 0;
}

int run_verify_receipt_cli(int argc, char** argv) {
  std::string public_key, file;
  po::options_description options(
      "paysync verify-receipt — check signed receipts offline\n\n"
      "  paysync verify-receipt --public-key KEY [FILE]\n\n"
      "Reads receipt and settled messages, one JSON object per line (FILE or\n"
      "stdin; text before the first '{' is ignored), and prints for each whether\n"
      "the switch's signature holds. Exit status 0 when every one is valid.\n\nOptions");
  options.add_options()("help,h", "show this help")(
      "public-key", po::value(&public_key)->required(),
      "the switch's receipt key, base64url (`paysync receipt-key`)");
  po::options_description all;
  all.add(options).add_options()("file", po::value(&file));
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (auto done = parse(argc, argv, all, "verify-receipt", vm, &positional)) return *done;
  std::ifstream from_file;
  if (!file.empty()) {
    from_file.open(file);
    if (!from_file) {
      std::cerr << "paysync verify-receipt: cannot read " << file << "\n";
      return 1;
    }
  }
  std::istream& in = file.empty() ? std::cin : from_file;
  std::size_t checked = 0, invalid = 0;
  for (std::string line; std::getline(in, line);) {
    auto message = message_in(line);
    if (!message) continue;
    const auto* type = message->if_contains("type");
    if (!type || (*type != "receipt" && *type != "settled")) continue;
    ++checked;
    const auto verdict = protocols::verify_receipt(*message, public_key);
    if (verdict != protocols::receipt_check::valid) ++invalid;
    const auto* txn = message->if_contains("txn");
    std::cout << protocols::to_string(verdict) << " " << std::string_view(type->get_string()) << " "
              << (txn && txn->is_string() ? std::string(txn->get_string()) : "?") << "\n";
  }
  if (checked == 0) {
    std::cerr << "paysync verify-receipt: no receipt or settled message in the input\n";
    return 1;
  }
  return invalid == 0 ? 0 : 1;
}

}  // namespace paysync::actors
