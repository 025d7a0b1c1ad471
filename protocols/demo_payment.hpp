#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "protocols/terminal_client.hpp"

namespace paysync::protocols {

struct demo_options {
  std::string host = "127.0.0.1";
  std::uint16_t billing_port = 7700;
  std::uint16_t paying_port = 7800;
  std::string terminal = "t-kahawa-01";
  std::string key_file = "paysync-data/terminal-keys/t-kahawa-01.key";  // signs the hello
  std::string msisdn = "254700000001";  // sent as X-MSISDN, as a trusted gateway would
  std::string msisdn_header = "X-MSISDN";
  std::int64_t amount_minor = 15000;
  std::string currency = "KES";
  std::chrono::milliseconds timeout{5000};
  client_tls tls;  // both connections; `paysync serve --demo` pins the switch's certificate
};

struct demo_outcome {
  std::string txn;
  std::uint64_t sequence = 0;  // the ledger's journal sequence of the settlement
};

// Plays flow A over real WebSockets, exactly as docs/protocol.md describes it:
// a billing terminal says hello and opens a transaction; a handset joins with
// the link token, confirms the merchant, sees the amount the terminal sends,
// confirms it, and gets its receipt while the terminal gets "settled". Every
// frame is printed to `transcript`, with a line naming each step.
boost::system::result<demo_outcome, std::string> run_demo_payment(const demo_options& options,
                                                                  std::ostream& transcript);

}  // namespace paysync::protocols
