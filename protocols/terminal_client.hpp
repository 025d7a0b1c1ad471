#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paysync::protocols {

enum class client_error : std::uint8_t {
  resolve_failed = 1,
  connect_failed,
  handshake_failed,  // TCP up, WebSocket upgrade refused or broken
  timeout,
  closed,  // the switch closed the connection
  io_error,
  bad_json,    // a text frame from the switch was not a JSON object
  tls_failed,  // TCP up, TLS handshake failed: untrusted or unpinned certificate, no TLS there
};
std::string_view to_string(client_error e) noexcept;
template <class T>
using client_result = boost::system::result<T, client_error>;
// Lets client_result<T>::value() throw (a std::runtime_error naming the error)
// instead of failing to compile; found by argument-dependent lookup.
[[noreturn]] void throw_exception_from_error(client_error e, const boost::source_location& loc);

// TLS towards the switch (wss://). With none of ca_file, pin_sha256 and
// insecure the system's trusted CAs verify the certificate and its name.
struct client_tls {
  bool enabled = false;
  std::string ca_file;     // PEM: trust these CAs (a self-signed certificate is its own CA)
  std::string pin_sha256;  // accept exactly the certificate with this SHA-256 fingerprint
  bool insecure = false;   // accept any certificate: for tests, never for payments
};

struct client_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string target = "/";
  // Extra headers on the upgrade request, e.g. {"X-MSISDN", "254700000001"} as a
  // trusted carrier gateway would add them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{5000};  // resolve + connect + upgrade
  // Bounds each send; after a send timed out the client is unusable.
  std::chrono::milliseconds send_timeout{5000};
  client_tls tls;
};

// A blocking WebSocket client for one connection: used by the CLI, the demo and
// the integration tests. Not thread-safe; each call finishes or times out.
// The switch's keep-alive pings are answered only while a receive_text() call
// waits: a client that stays out of receive_text() longer than the switch's
// idle timeout is closed as idle.
class ws_client {
 public:
  static client_result<std::unique_ptr<ws_client>> connect(const client_options& options);
  virtual ~ws_client() = default;
  virtual client_result<void> send_text(std::string_view frame) = 0;
  virtual client_result<void> send_binary(std::string_view frame) = 0;
  // The next text frame, waiting at most `timeout`. Binary frames are skipped.
  virtual client_result<std::string> receive_text(std::chrono::milliseconds timeout) = 0;
  // Sends a close frame and waits briefly for the switch's close.
  virtual void close() = 0;
  // True once the switch closed the connection (after a receive saw it).
  virtual bool is_closed() const noexcept = 0;
  // The status code of the switch's close frame (1000 normal, 1009 too big, ...),
  // or 0 while open or when the connection ended without one.
  virtual std::uint16_t close_code() const noexcept = 0;
};

// JSON on top of ws_client, per docs/protocol.md: every request gets a fresh
// "ref" unless it has one, and replies are matched by type or by ref while
// other messages wait in an inbox. An observer sees every frame (for transcripts).
class terminal_session {
 public:
  using observer = std::function<void(bool outbound, std::string_view frame)>;

  explicit terminal_session(std::unique_ptr<ws_client> client);
  static client_result<terminal_session> connect(const client_options& options);

  void set_observer(observer o) { observer_ = std::move(o); }

  // Sends `message` (adding "ref" when absent) and returns the ref used.
  client_result<std::string> send(boost::json::object message);
  // Sends a raw frame exactly as given (for tests of malformed input).
  client_result<void> send_raw(std::string_view frame);
  // The next message, from the inbox first.
  client_result<boost::json::object> receive(std::chrono::milliseconds timeout);
  // The first message whose "type" equals `type`, or whose type is "error";
  // other messages stay in the inbox in order.
  client_result<boost::json::object> wait_for(std::string_view type,
                                              std::chrono::milliseconds timeout);
  // The first message whose "ref" equals `ref`; others stay in the inbox.
  client_result<boost::json::object> wait_for_ref(std::string_view ref,
                                                  std::chrono::milliseconds timeout);
  // send() then wait_for_ref().
  client_result<boost::json::object> request(boost::json::object message,
                                             std::chrono::milliseconds timeout);
  std::size_t inbox_size() const noexcept { return inbox_.size(); }
  void close();
  ws_client& client() noexcept { return *client_; }

 private:
  client_result<boost::json::object> next_from_wire(std::chrono::milliseconds timeout);

  std::unique_ptr<ws_client> client_;
  std::deque<boost::json::object> inbox_;
  observer observer_;
  std::uint64_t next_ref_ = 1;
};

}  // namespace paysync::protocols
