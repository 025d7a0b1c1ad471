#include "protocols/terminal_cli.hpp"

#include <poll.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "protocols/terminal_auth.hpp"
#include "protocols/terminal_client.hpp"
#include "protocols/tls_context.hpp"

namespace paysync::protocols {

namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto stdin_poll_ms = 20;  // how often frames are printed while waiting for input

struct cli_options {
  client_options client;
  std::chrono::milliseconds linger{1000};
  std::optional<terminal_keypair> keys;  // answers the switch's hello challenge
};

// Puts spdlog on stderr for the command's lifetime: stdout carries frames only.
// The stderr logger is never destroyed: other threads may still hold the raw
// default-logger pointer when it is swapped back.
class stderr_logging {
 public:
  stderr_logging() : previous_(spdlog::default_logger()) {
    static const auto logger = std::make_shared<spdlog::logger>(
        "terminal", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_level(previous_->level());
    spdlog::set_default_logger(logger);
  }
  ~stderr_logging() { spdlog::set_default_logger(previous_); }
  stderr_logging(const stderr_logging&) = delete;
  stderr_logging& operator=(const stderr_logging&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

enum class step : std::uint8_t { go_on, closed, failed };

step report(client_error e) {
  if (e == client_error::closed) {
    std::cerr << "paysync terminal: the switch closed the connection\n";
    return step::closed;
  }
  std::cerr << "paysync terminal: connection failed: " << to_string(e) << '\n';
  return step::failed;
}

// With a key, a `challenge` is answered at once with the signed hello.
step answer_challenge(terminal_session& session, const boost::json::object& challenge,
                      const terminal_keypair& keys) {
  for (const char* field : {"terminal", "centre"}) {
    const auto* id = challenge.if_contains(field);
    const auto* nonce = challenge.if_contains("nonce");
    if (!id || !id->is_string() || !nonce || !nonce->is_string()) continue;
    boost::json::object hello{{"type", "hello"}, {field, *id}, {"nonce", *nonce}};
    hello["signature"] = sign_hello(keys, id->get_string(), nonce->get_string());
    auto sent = session.send(std::move(hello));
    return sent ? step::go_on : report(sent.error());
  }
  return step::go_on;
}

// Prints (through the observer) every frame that arrives within `timeout`;
// a zero timeout prints what is already there.
step drain(terminal_session& session, std::chrono::milliseconds timeout,
           const terminal_keypair* keys) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - clock_type::now(), clock_type::duration::zero()));
    auto message = session.receive(left);
    if (message && keys) {
      const auto* type = message->if_contains("type");
      if (type && *type == "challenge") {
        if (auto s = answer_challenge(session, *message, *keys); s != step::go_on) return s;
      }
    }
    if (message || message.error() == client_error::bad_json) continue;  // printed already
    if (message.error() == client_error::timeout) return step::go_on;
    return report(message.error());
  }
}

step send_line(terminal_session& session, std::string_view raw) {
  const auto line = trim(raw);
  if (line.empty()) return step::go_on;
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  if (!ec && value.is_object()) {
    auto sent = session.send(std::move(value.as_object()));
    return sent ? step::go_on : report(sent.error());
  }
  std::cerr << "paysync terminal: not a JSON object, sent as it is\n";
  auto sent = session.send_raw(line);
  return sent ? step::go_on : report(sent.error());
}

// Sends stdin line by line while printing what arrives; returns at end of input.
step pump_stdin(terminal_session& session, const terminal_keypair* keys) {
  std::string pending;
  char chunk[4096];
  for (;;) {
    if (auto s = drain(session, 0ms, keys); s != step::go_on) return s;
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&in, 1, stdin_poll_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const auto n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of input (or an unreadable stdin)
    pending.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      if (auto s = send_line(session, std::string_view{pending}.substr(start, nl - start));
          s != step::go_on) {
        return s;
      }
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  return send_line(session, pending);  // a last line without a newline
}

// Returns the options, or the exit code when the command should stop now.
std::variant<cli_options, int> parse_options(int argc, char** argv) {
  std::string host;
  unsigned port = 0;
  std::string target;
  std::vector<std::string> headers;
  unsigned timeout_ms = 0;
  unsigned linger_ms = 0;
  std::string key_file;
  client_tls tls;
  po::options_description described{
      "paysync terminal: send JSON messages (one per line on stdin) over a WebSocket\n"
      "and print every frame: \"> \" sent, \"< \" received.\n\nOptions"};
  described.add_options()                                                              //
      ("help,h", "show this help")                                                     //
      ("host", po::value(&host)->default_value("127.0.0.1"), "switch host")            //
      ("port", po::value(&port)->required(), "switch port")                            //
      ("target", po::value(&target)->default_value("/"), "request target, e.g. /pay")  //
      ("header", po::value(&headers)->composing(),
       "extra upgrade header NAME:VALUE, repeatable (e.g. X-MSISDN:254700000001)")  //
      ("timeout-ms", po::value(&timeout_ms)->default_value(5000),
       "connect and send timeout in milliseconds")  //
      ("linger-ms", po::value(&linger_ms)->default_value(1000),
       "after input ends, wait this long for more frames")  //
      ("key-file", po::value(&key_file),
       "the terminal's secret key (paysync terminal-key new): a `challenge` is answered "
       "with the signed hello at once")                                    //
      ("tls", po::bool_switch(&tls.enabled), "connect over TLS (wss://)")  //
      ("ca-file", po::value(&tls.ca_file),
       "with --tls: trust the certificates in this PEM file instead of the system's CAs; the "
       "switch's self-signed one is <data-dir>/tls/cert.pem")  //
      ("pin-sha256", po::value(&tls.pin_sha256),
       "with --tls: accept only the certificate with this SHA-256 fingerprint (the switch "
       "prints it when it starts)")  //
      ("insecure", po::bool_switch(&tls.insecure),
       "with --tls: accept any certificate (for tests; anyone on the path can read along)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, described), vm);
    if (vm.count("help") != 0) {
      std::cout << described << '\n';
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync terminal: " << e.what() << "\n\n" << described << '\n';
    return 2;
  }
  if (port == 0 || port > std::numeric_limits<std::uint16_t>::max()) {
    std::cerr << "paysync terminal: --port must be between 1 and 65535\n";
    return 2;
  }
  if (!tls.enabled && (!tls.ca_file.empty() || !tls.pin_sha256.empty() || tls.insecure)) {
    std::cerr << "paysync terminal: --ca-file, --pin-sha256 and --insecure need --tls\n";
    return 2;
  }
  if (!tls.pin_sha256.empty() && normalize_fingerprint(tls.pin_sha256).empty()) {
    std::cerr << "paysync terminal: --pin-sha256 wants 64 hex digits (colons allowed)\n";
    return 2;
  }
  cli_options out;
  out.client.tls = tls;
  out.client.host = host;
  out.client.port = static_cast<std::uint16_t>(port);
  out.client.target = target;
  out.client.connect_timeout = std::chrono::milliseconds{timeout_ms};
  out.client.send_timeout = std::chrono::milliseconds{timeout_ms};
  out.linger = std::chrono::milliseconds{linger_ms};
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      std::cerr << "paysync terminal: --header wants NAME:VALUE, got \"" << h << "\"\n";
      return 2;
    }
    out.client.headers.emplace_back(trim(h.substr(0, colon)), trim(h.substr(colon + 1)));
  }
  if (!key_file.empty()) {
    auto keys = read_terminal_key_file(key_file);
    if (!keys) {
      std::cerr << "paysync terminal: " << keys.error() << '\n';
      return 2;
    }
    out.keys.emplace(std::move(*keys));
  }
  return out;
}

}  // namespace

int run_terminal_cli(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<cli_options>(parsed);
  stderr_logging logging;

  auto session = terminal_session::connect(options.client);
  if (!session) {
    std::cerr << "paysync terminal: cannot connect to "
              << (options.client.tls.enabled ? "wss://" : "ws://") << options.client.host << ':'
              << options.client.port << options.client.target << ": " << to_string(session.error())
              << (session.error() == client_error::tls_failed
                      ? " (the line above says why; see --ca-file, --pin-sha256)"
                      : "")
              << '\n';
    return 1;
  }
  session->set_observer([](bool outbound, std::string_view frame) {
    std::cout << (outbound ? "> " : "< ") << frame << '\n' << std::flush;
  });

  const terminal_keypair* keys = options.keys ? &*options.keys : nullptr;
  auto result = pump_stdin(*session, keys);
  if (result == step::go_on) result = drain(*session, options.linger, keys);
  session->close();
  return result == step::failed ? 1 : 0;
}

}  // namespace paysync::protocols
