#pragma once
// Helpers for the network tests: an io_context on background threads, a
// handler that records what it saw, raw sockets for hand-written HTTP.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocols/ws_listener.hpp"

namespace paysync::protocols::testing {

using namespace std::chrono_literals;

// True once `b` holds a whole HTTP head (for raw_socket::read_until).
inline bool has_head(const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }

// An io_context run by `threads` background threads until destroyed.
class io_runner {
 public:
  explicit io_runner(int threads = 2) : work_(boost::asio::make_work_guard(io_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~io_runner() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// Waits until `pred` holds (checked under `mu` whenever `cv` is notified).
template <class Pred>
bool wait_for(std::mutex& mu, std::condition_variable& cv, Pred pred,
              std::chrono::milliseconds timeout = 2000ms) {
  std::unique_lock lock{mu};
  return cv.wait_for(lock, timeout, pred);
}

// Records every call; echoes text frames when `echo` is set. Thread-safe.
class recording_handler final : public ws_handler {
 public:
  explicit recording_handler(std::shared_ptr<ws_connection> conn, bool echo = true)
      : conn_(std::move(conn)), echo_(echo) {}

  void on_text(std::string frame) override {
    if (on_text_hook) on_text_hook(*conn_, frame);
    if (echo_) conn_->send_text(frame);
    record([&] { texts.push_back(std::move(frame)); });
  }
  void on_binary(std::string frame) override {
    record([&] { binaries.push_back(std::move(frame)); });
  }
  void on_oversized(std::size_t bytes) override {
    record([&] { oversized.push_back(bytes); });
  }
  void on_closed(close_reason why) override {
    record([&] {
      ++closed_calls;
      if (!closed) closed = why;
    });
  }

  // Waits until the handler saw at least `n` text frames.
  bool wait_texts(std::size_t n, std::chrono::milliseconds timeout = 2000ms) {
    return wait_for(
        mu, cv, [&] { return texts.size() >= n; }, timeout);
  }
  bool wait_closed(std::chrono::milliseconds timeout = 2000ms) {
    return wait_for(
        mu, cv, [&] { return closed.has_value(); }, timeout);
  }
  std::optional<close_reason> closed_reason() {
    std::lock_guard lock{mu};
    return closed;
  }
  ws_connection& connection() { return *conn_; }
  std::shared_ptr<ws_connection> connection_ptr() { return conn_; }

  // Runs (on the strand) before the echo; may send extra frames.
  std::function<void(ws_connection&, const std::string&)> on_text_hook;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  std::vector<std::size_t> oversized;
  std::optional<close_reason> closed;
  int closed_calls = 0;
  int calls_after_close = 0;

 private:
  template <class F>
  void record(F f) {
    {
      std::lock_guard lock{mu};
      if (closed) ++calls_after_close;
      f();
    }
    cv.notify_all();
  }

  std::shared_ptr<ws_connection> conn_;
  bool echo_;
};

// A plain blocking TCP socket for hand-written requests.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~raw_socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `done(buffer)` holds, the peer closes, or the timeout passes.
  std::string read_until(const std::function<bool(const std::string&)>& done,
                         std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char chunk[4096];
    while (!done(buffer_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        peer_closed_ = true;
        break;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return std::exchange(buffer_, {});
  }

  // One HTTP response (head and a Content-Length body), or what arrived.
  std::string read_response(std::chrono::milliseconds timeout = 2000ms) {
    return read_until(
        [](const std::string& b) {
          const auto end = b.find("\r\n\r\n");
          if (end == std::string::npos) return false;
          auto cl = b.find("Content-Length: ");
          if (cl == std::string::npos || cl > end) return true;
          const auto length = std::stoul(b.substr(cl + 16));
          return b.size() >= end + 4 + length;
        },
        timeout);
  }

  // True when the peer closed the connection within the timeout.
  bool wait_peer_closed(std::chrono::milliseconds timeout = 2000ms) {
    read_until([](const std::string&) { return false; }, timeout);
    return peer_closed_;
  }

 private:
  int fd_;
  bool connected_ = false;
  bool peer_closed_ = false;
  std::string buffer_;
};

}  // namespace paysync::protocols::testing
