#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace paysync::protocols {

// The HTTP request that opened a connection: a WebSocket upgrade or a plain GET.
struct peer_request {
  std::string method;          // "GET"
  std::string target;          // "/pay/m-kahawa/AbC..." including any query string
  std::string remote_address;  // "127.0.0.1" (IPv4 dotted or IPv6 text)
  std::uint16_t remote_port = 0;
  bool secure = false;  // arrived over TLS
  // Names lower-cased; a repeated header's values are joined with ", ".
  std::map<std::string, std::string, std::less<>> headers;

  // The header's value, or "" when absent. `name` must be lower-case.
  std::string_view header(std::string_view name) const;
};

enum class close_reason : std::uint8_t {
  peer_closed = 1,   // the peer sent a close frame or closed TCP
  io_error,          // reset, broken pipe, failed handshake
  idle_timeout,      // no traffic and no pong within listener_options::idle_timeout
  slow_consumer,     // the outbound queue outgrew listener_options::max_queued_bytes
  frame_too_large,   // a frame beyond hard_frame_bytes (closed with status 1009)
  closed_by_server,  // ws_connection::close() or ws_listener::stop_all()
};
std::string_view to_string(close_reason r) noexcept;

// The outbound half of one WebSocket connection. Thread-safe: any thread may
// call it at any time, even after the connection closed (calls then do nothing).
class ws_connection {
 public:
  virtual ~ws_connection() = default;
  // Queues one text frame; frames are written in call order. When the queued
  // bytes exceed max_queued_bytes the connection is closed as a slow consumer.
  // Frames queued during on_connect are written once the upgrade completes;
  // frames queued after close() are dropped.
  virtual void send_text(std::string frame) = 0;
  // Sends a close frame after the frames already queued, then closes.
  virtual void close() = 0;
  // Unique per listener process; for logs.
  virtual std::uint64_t id() const noexcept = 0;
};

// The inbound half, implemented by the owner of the connection (the actor
// layer). Every call for one connection happens on that connection's strand,
// one at a time, in order; on_closed is the last call and happens exactly once.
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  virtual void on_text(std::string frame) = 0;
  virtual void on_binary(std::string frame) = 0;
  // A frame longer than max_frame_bytes (and at most hard_frame_bytes) was read
  // and discarded; the connection stays open. `frame_bytes` is its size.
  virtual void on_oversized(std::size_t frame_bytes) = 0;
  virtual void on_closed(close_reason why) = 0;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct listener_options {
  std::string name = "ws";  // for log lines: "billing", "paying"
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see ws_listener::port()
  std::size_t max_frame_bytes = 64 * 1024;
  // Binary frames (images and recordings for authentication) may be larger
  // than text frames; 0 = the same as max_frame_bytes.
  std::size_t max_binary_frame_bytes = 0;
  std::size_t hard_frame_bytes = 1024 * 1024;
  std::size_t max_queued_bytes = 1024 * 1024;
  std::size_t max_connections = 200000;  // beyond it upgrades get HTTP 503
  std::size_t max_http_request_bytes = 8 * 1024;
  std::chrono::milliseconds handshake_timeout{10000};
  // No inbound traffic for this long -> ping; no answer for as long again -> closed.
  // Zero disables it.
  std::chrono::milliseconds idle_timeout{60000};
  // TLS (tls_context.hpp). With a context every connection's first bytes
  // decide: a TLS ClientHello is served over TLS, anything else as plaintext
  // on the same port, or, with tls_required, refused: plaintext requests and
  // upgrades get HTTP 426. Without a context the port speaks plaintext only.
  std::shared_ptr<boost::asio::ssl::context> tls;
  bool tls_required = false;
};

struct listener_callbacks {
  // Called on the io thread before the upgrade is accepted. Return the handler
  // for this connection, or nullptr to refuse the upgrade with HTTP 503.
  std::function<std::shared_ptr<ws_handler>(std::shared_ptr<ws_connection>, const peer_request&)>
      on_connect;
  // Called on the io thread for plain (non-upgrade) HTTP requests. When empty,
  // every such request gets 404. Keep-alive is honoured.
  std::function<http_response(const peer_request&)> on_http;
};

enum class listen_error : std::uint8_t { bad_address = 1, bind_failed, listen_failed };
std::string_view to_string(listen_error e) noexcept;

// A TCP listener speaking HTTP/1.1 and WebSocket (RFC 6455) with Boost.Beast.
// One strand per connection. Accept failures such as EMFILE are logged at most
// once a second and retried after a back-off; the accept loop never spins.
//
// Lifetime: the listener keeps itself alive while it accepts and while any of
// its connections is open (dropping the returned pointer does not stop it);
// stop_all() ends that. It needs `io` to be run by one or more threads. If the
// io_context is destroyed with connections still open, their handlers are
// destroyed without on_closed.
class ws_listener {
 public:
  static boost::system::result<std::shared_ptr<ws_listener>, listen_error> start(
      boost::asio::io_context& io, listener_options options, listener_callbacks callbacks);
  virtual ~ws_listener() = default;

  virtual std::string address() const = 0;
  virtual std::uint16_t port() const = 0;  // the bound port (useful with port 0)
  virtual std::size_t connection_count() const noexcept = 0;
  // Stops accepting and closes every open connection: frames already sent
  // or queued are written first, then the close frame (each handler gets
  // on_closed(closed_by_server)).
  virtual void stop_all() = 0;
  // After stop_all: tears down the connections still open without waiting
  // for the peer's half of the close handshake (a peer that never reads, or
  // has vanished, would otherwise hold its connection until the handshake
  // times out). Each handler still gets on_closed(closed_by_server).
  virtual void abort_all() = 0;
};

}  // namespace paysync::protocols
