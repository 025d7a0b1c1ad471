// paysync: the settlement switch and its operator commands.
//
//   paysync [serve] [options]   run the switch (see paysync serve --help)
//   paysync terminal [options]  a line-oriented WebSocket terminal (billing or handset)
//   paysync demo [options]      play one demo payment against a running switch
//   paysync audit [options]     check the ledger: balances against the journal

#include <signal.h>
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string_view>

#include "actors/allocator.hpp"
#include "actors/clock.hpp"
#include "actors/cluster_cli.hpp"
#include "actors/enrolment.hpp"
#include "actors/receipt_cli.hpp"
#include "actors/switch_config.hpp"
#include "actors/switch_node.hpp"
#include "actors/terminal_key_cli.hpp"
#include "protocols/demo_payment.hpp"
#include "protocols/money.hpp"
#include "protocols/terminal_cli.hpp"
#include "storage/environment.hpp"
#include "storage/ledger_store.hpp"

namespace {

using namespace paysync;
namespace po = boost::program_options;

constexpr std::string_view version = "0.1.0";

void print_usage(std::ostream& out) {
  out << "paysync " << version << " — an actor-based electronic settlement switch\n\n"
      << "usage:\n"
      << "  paysync [serve] [options]   run the switch (paysync serve --help)\n"
      << "  paysync terminal [options]  line-oriented WebSocket terminal (paysync terminal "
         "--help)\n"
      << "  paysync demo [options]      one demo payment against a running switch\n"
      << "  paysync audit [options]     check the ledger's balances against its journal\n"
      << "  paysync enrol [options]     add, list and revoke a user's authentication factors\n"
      << "  paysync terminal-key ...    the Ed25519 keys of billing terminals and order centres\n"
      << "  paysync receipt-key         the public key that verifies this switch's receipts\n"
      << "  paysync verify-receipt ...  check signed receipts offline\n"
      << "  paysync close-window ...    close the settlement window on every node of a cluster\n"
      << "  paysync version\n";
}

std::string balance_line(const storage::ledger_store& ledger, const std::string& account) {
  auto a = ledger.find_account(account);
  if (!a) return account + ": (missing)";
  return account + ": " + protocols::format_money(a->balance_minor, a->currency);
}

int serve(int argc, char** argv) {
  actors::switch_config config;
  auto parsed = actors::parse_switch_config(argc, argv, config, std::cout);
  if (!parsed) {
    std::cerr << "paysync: " << parsed.error() << "\n";
    return 2;
  }
  if (*parsed == actors::parse_outcome::help_shown) return 0;
  auto level = spdlog::level::from_str(config.log_level);
  spdlog::set_level(level);
  // Logs go to stderr: stdout carries the addresses and the demo transcript.
  spdlog::set_default_logger(spdlog::stderr_color_mt("paysync"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  // Every thread started from here on inherits the mask, so only sigwait
  // below sees SIGINT/SIGTERM.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto node = actors::switch_node::start(config, std::make_shared<actors::system_clock>());
  if (!node) {
    std::cerr << "paysync: " << node.error() << "\n";
    return 1;
  }
  auto& n = **node;
  const std::string ws = n.tls() ? "wss://" : "ws://";
  std::cout << "paysync " << version << " is serving\n"
            << "  billing terminals (private line)  " << ws << n.billing_endpoint() << "/\n"
            << "  handsets (mobile)                 " << ws << n.paying_endpoint() << "/\n"
            << "  payment links                     " << n.public_url()
            << "/pay/<merchant>/<token>\n"
            << "  operator (metrics, health)        http://" << n.operator_endpoint()
            << "/metrics\n"
            << "  ledger and directory (LMDB)       " << n.data_directory() << "\n"
            << "  receipts signed with              " << n.receipt_key() << "\n"
            << "  memory allocator                  " << actors::memory_allocator() << "\n";
  if (n.tls()) {
    std::cout << "  TLS certificate                   " << n.tls_certificate_file() << "\n"
              << "  its SHA-256 fingerprint           " << n.tls_fingerprint() << "\n";
  }
  std::cout << "PAYSYNC_READY billing=" << n.billing_endpoint() << " paying=" << n.paying_endpoint()
            << " operator=" << n.operator_endpoint() << std::endl;

  if (config.demo) {
    protocols::demo_options demo;
    demo.host = config.billing_address == "0.0.0.0" ? "127.0.0.1" : config.billing_address;
    demo.billing_port = n.billing_port();
    demo.paying_port = n.paying_port();
    demo.msisdn_header = config.msisdn_header;
    demo.key_file = config.data_dir + "/terminal-keys/" + demo.terminal + ".key";
    demo.tls.enabled = n.tls();
    demo.tls.pin_sha256 = n.tls_fingerprint();  // this very switch, whoever signed its certificate
    const std::string payer = "user:u-1001", merchant = "merchant:m-kahawa";
    std::cout << "\nDemo: Amina (254700000001) pays Kahawa Coffee House 150.00 KES\n"
              << "  before  " << balance_line(n.ledger(), payer) << "; "
              << balance_line(n.ledger(), merchant) << "\n";
    auto result = protocols::run_demo_payment(demo, std::cout);
    // One write of a few hundred bytes: the log lines of the switch's own
    // threads share the pipe and must not land inside the summary.
    std::ostringstream summary;
    if (result) {
      summary << "\n  settled " << result->txn << " as ledger entry " << result->sequence
              << "\n  after   " << balance_line(n.ledger(), payer) << "; "
              << balance_line(n.ledger(), merchant) << "\n";
    } else {
      summary << "\n  the demo payment did not complete: " << result.error() << "\n";
    }
    summary << "\nThe switch keeps serving; try it with `paysync terminal` (docs/protocol.md). "
               "Ctrl-C stops it.\n";
    std::cout << std::flush << summary.str() << std::flush;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "paysync: stopping (" << strsignal(signal_number) << ")" << std::endl;
  if (!n.stop()) {
    // Actors that would not quit still run on their own threads; returning
    // would destroy what they use (static objects included).
    std::cout << "paysync: stopped without waiting for every actor (see the log above)"
              << std::endl;
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }
  return 0;
}

int demo(int argc, char** argv) {
  protocols::demo_options o;
  std::int64_t timeout_ms = 5000;
  po::options_description options("paysync demo — one payment through a running switch");
  options.add_options()("help,h", "show this help")(
      "host", po::value(&o.host)->default_value(o.host), "switch address")(
      "billing-port", po::value(&o.billing_port)->default_value(o.billing_port), "billing port")(
      "paying-port", po::value(&o.paying_port)->default_value(o.paying_port), "paying port")(
      "terminal", po::value(&o.terminal)->default_value(o.terminal), "billing terminal id")(
      "key-file", po::value(&o.key_file)->default_value(o.key_file),
      "the terminal's secret key (signs its hello)")(
      "msisdn", po::value(&o.msisdn)->default_value(o.msisdn), "payer's number")(
      "amount", po::value(&o.amount_minor)->default_value(o.amount_minor), "minor units")(
      "currency", po::value(&o.currency)->default_value(o.currency), "ISO 4217 code")(
      "timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "per step")(
      "tls", po::bool_switch(&o.tls.enabled), "connect over TLS (wss://)")(
      "ca-file", po::value(&o.tls.ca_file), "with --tls: trust this PEM file's certificates")(
      "pin-sha256", po::value(&o.tls.pin_sha256),
      "with --tls: accept only the certificate with this SHA-256 fingerprint")(
      "insecure", po::bool_switch(&o.tls.insecure), "with --tls: accept any certificate");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync demo: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  o.timeout = std::chrono::milliseconds(timeout_ms);
  auto result = protocols::run_demo_payment(o, std::cout);
  if (!result) {
    std::cerr << "paysync demo: " << result.error() << "\n";
    return 1;
  }
  std::cout << "\nsettled " << result->txn << " (ledger entry " << result->sequence << ")\n";
  return 0;
}

int audit(int argc, char** argv) {
  std::string data_dir = "paysync-data";
  po::options_description options("paysync audit — check the ledger (read-only)");
  options.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value(data_dir), "folder of the LMDB files");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync audit: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  storage::environment_options eo;
  eo.directory = data_dir;
  auto env = storage::environment::open(eo);
  if (!env) {
    std::cerr << "paysync audit: cannot open " << data_dir << ": "
              << storage::to_string(env.error()) << "\n";
    return 1;
  }
  storage::ledger_store ledger(**env);
  auto totals = ledger.balance_totals();
  auto mismatched = ledger.audit();
  auto entries = ledger.entry_count();
  if (!totals || !mismatched || !entries) {
    std::cerr << "paysync audit: the ledger could not be read\n";
    return 1;
  }
  boost::json::object report;
  report["entries"] = *entries;
  boost::json::object sums;
  bool balanced = true;
  for (const auto& [currency, sum] : *totals) {
    sums[currency] = sum;
    balanced = balanced && sum == 0;
  }
  report["sum_of_balances"] = sums;
  boost::json::array bad;
  for (const auto& id : *mismatched) bad.emplace_back(id);
  report["accounts_disagreeing_with_journal"] = bad;
  report["consistent"] = balanced && mismatched->empty();
  std::cout << boost::json::serialize(report) << "\n";
  return balanced && mismatched->empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "paysync: libsodium failed to initialise\n";
    return 1;
  }
  std::string_view command = argc > 1 ? argv[1] : "serve";
  // `paysync --data-dir x` means `paysync serve --data-dir x`.
  if (command.substr(0, 1) == "-" && command != "-h" && command != "--help") command = "serve";
  const bool explicit_command = argc > 1 && argv[1][0] != '-';
  int sub_argc = explicit_command ? argc - 1 : argc;
  char** sub_argv = explicit_command ? argv + 1 : argv;
  if (command == "serve") return serve(sub_argc, sub_argv);
  if (command == "terminal") return protocols::run_terminal_cli(sub_argc, sub_argv);
  if (command == "demo") return demo(sub_argc, sub_argv);
  if (command == "audit") return audit(sub_argc, sub_argv);
  if (command == "enrol") return actors::run_enrol_cli(sub_argc, sub_argv);
  if (command == "terminal-key") return actors::run_terminal_key_cli(sub_argc, sub_argv);
  if (command == "receipt-key") return actors::run_receipt_key_cli(sub_argc, sub_argv);
  if (command == "verify-receipt") return actors::run_verify_receipt_cli(sub_argc, sub_argv);
  if (command == "close-window") return actors::run_close_window_cli(sub_argc, sub_argv);
  if (command == "version" || command == "--version") {
    std::cout << "paysync " << version << "\n";
    return 0;
  }
  if (command == "help" || command == "-h" || command == "--help") {
    print_usage(std::cout);
    return 0;
  }
  std::cerr << "paysync: unknown command \"" << command << "\"\n\n";
  print_usage(std::cerr);
  return 2;
}
