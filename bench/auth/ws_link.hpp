#pragma once

// bench_auth's network layer, the only translation unit that includes Beast:
// an asynchronous WebSocket client connection that sends text and binary
// frames, and an asynchronous HTTP GET (the switch's /metrics). Everything
// runs on one io_context driven by one thread, so nothing here locks.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paysync::bench::auth {

// A connection's events, on the io_context's thread. on_closed is the last
// call and follows on_open(true) only.
class ws_link_events {
 public:
  virtual void on_open(bool ok, std::string_view error) = 0;
  // The frame is valid only during the call.
  virtual void on_frame(std::string_view frame, bool text) = 0;
  virtual void on_closed(std::string_view reason) = 0;

 protected:
  ~ws_link_events() = default;
};

struct ws_target {
  std::string host = "127.0.0.1";  // numeric address
  std::uint16_t port = 0;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // on the upgrade request
};

// Lifetime: pending operations keep the object alive; `events` must outlive
// it or be detached first. Call every method on the io_context's thread.
class ws_link {
 public:
  static std::shared_ptr<ws_link> connect(boost::asio::io_context& io, const ws_target& target,
                                          ws_link_events* events);
  virtual ~ws_link() = default;
  // Frames go out in call order, one write at a time; frames sent before the
  // upgrade completed wait for it.
  virtual void send_text(std::string frame) = 0;
  virtual void send_binary(std::shared_ptr<const std::string> frame) = 0;
  // A close frame after the queued frames.
  virtual void close() = 0;
  // No more events from now on.
  virtual void detach() = 0;
  virtual std::uint64_t bytes_sent() const noexcept = 0;
  virtual std::uint64_t frames_sent() const noexcept = 0;
  virtual std::uint64_t frames_received() const noexcept = 0;
};

// GET http://host:port/target; the body of a 200 answer, or nothing (on any
// failure, a status other than 200, or after `timeout`).
void async_http_get(boost::asio::io_context& io, const std::string& host, std::uint16_t port,
                    const std::string& target, std::chrono::milliseconds timeout,
                    std::function<void(std::optional<std::string>)> done);

// The same, blocking, on an io_context of its own (for the main thread).
std::optional<std::string> http_get(const std::string& host, std::uint16_t port,
                                    const std::string& target, std::chrono::milliseconds timeout);

}  // namespace paysync::bench::auth
