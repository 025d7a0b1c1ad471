#pragma once

// The load generator's network layer, the only code of bench_load that
// includes Beast (one slow translation unit): an asynchronous WebSocket
// client connection, a bare Beast echo server (the ceiling), and a small
// HTTP GET for the switch's /metrics.

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paysync::bench {

using executor = boost::asio::strand<boost::asio::io_context::executor_type>;

// One connection's events. Every call happens on the connection's executor,
// one at a time; on_closed is the last call and follows on_open(true) only.
class ws_events {
 public:
  virtual void on_open(bool ok, std::string_view error) = 0;
  // The frame is valid only during the call.
  virtual void on_text(std::string_view frame) = 0;
  virtual void on_closed(std::string_view reason) = 0;

 protected:
  ~ws_events() = default;
};

struct ws_target {
  std::string host = "127.0.0.1";  // numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
  std::string path = "/";
  // Bind the client socket to this local address first (with
  // IP_BIND_ADDRESS_NO_PORT, so the kernel picks the port at connect time and
  // every source address has its own ephemeral range). Empty: the kernel's
  // choice.
  std::string source_address;
  std::vector<std::pair<std::string, std::string>> headers;  // on the upgrade request
  std::chrono::milliseconds connect_timeout{10000};          // TCP connect + upgrade
};

// An asynchronous client connection (Beast websocket over a TCP socket) on
// one strand. Keep-alive pings from the server are answered by Beast while a
// read is pending, and a read is always pending once open.
//
// Lifetime: pending operations keep the object alive; `events` must outlive
// it or be detached with detach() (on the executor) before it dies.
// Threading: every method must be called on the connection's executor.
class ws_client_conn {
 public:
  static std::shared_ptr<ws_client_conn> connect(executor ex, const ws_target& target,
                                                 ws_events* events);
  virtual ~ws_client_conn() = default;
  // Queues a text frame; frames go out in call order, one write at a time.
  // Frames sent before the upgrade completes wait for it.
  virtual void send(std::string frame) = 0;
  // A close frame after the queued frames.
  virtual void close() = 0;
  // Closes the socket at once (no close handshake); pending operations fail.
  virtual void abort() = 0;
  // No more events from now on.
  virtual void detach() = 0;
  virtual std::uint64_t bytes_sent() const noexcept = 0;
  virtual std::uint64_t bytes_received() const noexcept = 0;
};

// A bare Boost.Beast WebSocket echo server on its own thread with its own
// io_context: each text frame is written back as it came. No JSON, no actors:
// the ceiling any WebSocket switch built on Beast could reach here.
class echo_server {
 public:
  static std::unique_ptr<echo_server> start(const std::string& address);
  virtual ~echo_server() = default;
  virtual std::uint16_t port() const noexcept = 0;
  virtual std::size_t connection_count() const noexcept = 0;
  // CPU time of the server's thread so far.
  virtual double thread_cpu_seconds() const noexcept = 0;
  // The server closes every connection first (so TIME_WAIT lands on its side)
  // and stops accepting; returns when that was done.
  virtual void close_all() = 0;
};

struct http_response_text {
  unsigned status = 0;
  std::string body;
};

// GET http://host:port/target with a deadline. Nothing on any failure
// (`error` says why).
std::optional<http_response_text> http_get(const std::string& host, std::uint16_t port,
                                           const std::string& target,
                                           std::chrono::milliseconds timeout, std::string& error);

}  // namespace paysync::bench
