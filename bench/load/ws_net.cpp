// Beast lives here only: this translation unit takes a minute to compile.

#include "bench/load/ws_net.hpp"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace paysync::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

namespace {

// Linux: bind() reserves no port; connect() picks one for the full 4-tuple.
#ifndef IP_BIND_ADDRESS_NO_PORT
constexpr int ip_bind_address_no_port = 24;
#else
constexpr int ip_bind_address_no_port = IP_BIND_ADDRESS_NO_PORT;
#endif

class client_impl final : public ws_client_conn, public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(executor ex, const ws_target& target, ws_events* events)
      : ws_(ex), target_(target), events_(events) {}

  void start() {
    auto& socket = beast::get_lowest_layer(ws_).socket();
    error_code ec;
    auto remote = net::ip::make_address(target_.host, ec);
    if (ec) return fail_open("bad address " + target_.host);
    socket.open(remote.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (ec) return fail_open("socket: " + ec.message());
    if (!target_.source_address.empty()) {
      const int one = 1;
      ::setsockopt(socket.native_handle(), IPPROTO_IP, ip_bind_address_no_port, &one, sizeof one);
      auto local = net::ip::make_address(target_.source_address, ec);
      if (!ec) socket.bind(tcp::endpoint(local, 0), ec);
      if (ec) return fail_open("bind " + target_.source_address + ": " + ec.message());
    }
    beast::get_lowest_layer(ws_).expires_after(target_.connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(remote, target_.port),
        [self = shared_from_this()](error_code e) { self->on_connect(e); });
  }

  void send(std::string frame) override {
    if (closed_ || close_requested_) return;
    queue_.push_back(std::move(frame));
    if (open_ && !writing_) do_write();
  }

  void close() override {
    if (closed_ || close_requested_) return;
    close_requested_ = true;
    if (open_ && !writing_) do_close();
  }

  void abort() override {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void detach() override { events_ = nullptr; }
  std::uint64_t bytes_sent() const noexcept override { return bytes_sent_; }
  std::uint64_t bytes_received() const noexcept override { return bytes_received_; }

 private:
  void fail_open(const std::string& why) {
    closed_ = true;
    // Reported asynchronously so that the caller's connect() returns first.
    net::post(ws_.get_executor(), [self = shared_from_this(), why] {
      if (self->events_ != nullptr) self->events_->on_open(false, why);
    });
  }

  void on_connect(error_code ec) {
    if (ec) {
      closed_ = true;
      if (events_ != nullptr) events_->on_open(false, "connect: " + ec.message());
      return;
    }
    beast::get_lowest_layer(ws_).expires_never();
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = target_.connect_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = target_.headers](websocket::request_type& req) {
          req.set(http::field::user_agent, "paysync-bench-load");
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    ws_.async_handshake(target_.host + ":" + std::to_string(target_.port), target_.path,
                        [self = shared_from_this()](error_code e) { self->on_handshake(e); });
  }

  void on_handshake(error_code ec) {
    if (ec) {
      closed_ = true;
      if (events_ != nullptr) events_->on_open(false, "handshake: " + ec.message());
      return;
    }
    open_ = true;
    ws_.text(true);
    if (events_ != nullptr) events_->on_open(true, {});
    do_read();
    if (close_requested_ && queue_.empty()) {
      do_close();
    } else if (!queue_.empty() && !writing_) {
      do_write();
    }
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t bytes) {
      self->on_read(ec, bytes);
    });
  }

  void on_read(error_code ec, std::size_t bytes) {
    if (ec) return finish(ec == websocket::error::closed ? "closed by peer" : ec.message());
    bytes_received_ += bytes;
    if (events_ != nullptr && ws_.got_text()) {
      const auto data = buffer_.cdata();
      events_->on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (!closed_) do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](error_code ec, std::size_t bytes) {
                      self->on_write(ec, bytes);
                    });
  }

  void on_write(error_code ec, std::size_t bytes) {
    writing_ = false;
    if (ec) return finish("write: " + ec.message());
    bytes_sent_ += bytes;
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (close_requested_) do_close();
  }

  void do_close() {
    writing_ = true;  // nothing else is written after the close frame
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](error_code) { self->abort(); });
  }

  void finish(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    if (events_ != nullptr) {
      auto* events = std::exchange(events_, nullptr);
      events->on_closed(why);
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  ws_target target_;
  ws_events* events_;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
  bool close_requested_ = false;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_received_ = 0;
};

// ---- echo server -----------------------------------------------------------

class echo_session : public std::enable_shared_from_this<echo_session> {
 public:
  explicit echo_session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.async_accept([self = shared_from_this()](error_code ec) {
      if (!ec) self->do_read();
    });
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return;
      self->ws_.text(self->ws_.got_text());
      self->ws_.async_write(self->buffer_.data(), [self](error_code write_ec, std::size_t) {
        if (write_ec) return;
        self->buffer_.consume(self->buffer_.size());
        self->do_read();
      });
    });
  }

  void shut() {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

class echo_impl final : public echo_server {
 public:
  explicit echo_impl(const std::string& address)
      : acceptor_(io_, tcp::endpoint(net::ip::make_address(address), 0)) {
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~echo_impl() override {
    close_all();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const noexcept override { return port_; }
  std::size_t connection_count() const noexcept override { return connections_.load(); }

  double thread_cpu_seconds() const noexcept override {
    clockid_t clock{};
    if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0) {
      return 0;
    }
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }

  void close_all() override {
    std::promise<void> done;
    net::post(io_, [this, &done] {
      error_code ignored;
      acceptor_.close(ignored);
      for (auto& weak : sessions_) {
        if (auto s = weak.lock()) s->shut();
      }
      sessions_.clear();
      connections_ = 0;
      done.set_value();
    });
    if (!io_.stopped()) done.get_future().wait_for(std::chrono::seconds(5));
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        auto session = std::make_shared<echo_session>(std::move(socket));
        sessions_.push_back(session);
        ++connections_;
        session->start();
      }
      do_accept();
    });
  }

  net::io_context io_{1};
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::list<std::weak_ptr<echo_session>> sessions_;
  std::atomic<std::size_t> connections_{0};
  std::thread thread_;
};

}  // namespace

std::shared_ptr<ws_client_conn> ws_client_conn::connect(executor ex, const ws_target& target,
                                                        ws_events* events) {
  auto conn = std::make_shared<client_impl>(std::move(ex), target, events);
  conn->start();
  return conn;
}

std::unique_ptr<echo_server> echo_server::start(const std::string& address) {
  return std::make_unique<echo_impl>(address);
}

std::optional<http_response_text> http_get(const std::string& host, std::uint16_t port,
                                           const std::string& target,
                                           std::chrono::milliseconds timeout, std::string& error) {
  net::io_context io;
  beast::tcp_stream stream(io);
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    error = "bad address " + host;
    return std::nullopt;
  }
  stream.expires_after(timeout);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, host + ":" + std::to_string(port));
  request.set(http::field::user_agent, "paysync-bench-load");
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  error_code result = net::error::timed_out;
  stream.async_connect(tcp::endpoint(address, port), [&](error_code connect_ec) {
    if (connect_ec) {
      result = connect_ec;
      return;
    }
    http::async_write(stream, request, [&](error_code write_ec, std::size_t) {
      if (write_ec) {
        result = write_ec;
        return;
      }
      http::async_read(stream, buffer, response,
                       [&](error_code read_ec, std::size_t) { result = read_ec; });
    });
  });
  io.run();
  if (result) {
    error = result.message();
    return std::nullopt;
  }
  return http_response_text{response.result_int(), std::move(response.body())};
}

}  // namespace paysync::bench
