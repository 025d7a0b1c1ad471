#include "bench/auth/ws_link.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

namespace paysync::bench::auth {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class link final : public ws_link, public std::enable_shared_from_this<link> {
 public:
  link(asio::io_context& io, ws_link_events* events) : ws_(io), events_(events) {}

  void start(const ws_target& target) {
    target_ = target;
    beast::error_code ec;
    const auto address = asio::ip::make_address(target.host, ec);
    if (ec) return fail_open("bad address " + target.host);
    auto& socket = beast::get_lowest_layer(ws_);
    socket.expires_after(std::chrono::seconds(10));
    socket.async_connect(tcp::endpoint(address, target.port),
                         [self = shared_from_this()](beast::error_code e) { self->on_connect(e); });
  }

  void send_text(std::string frame) override {
    queue_.push_back({std::make_shared<const std::string>(std::move(frame)), true});
    flush();
  }

  void send_binary(std::shared_ptr<const std::string> frame) override {
    queue_.push_back({std::move(frame), false});
    flush();
  }

  void close() override {
    closing_ = true;
    flush();
  }

  void detach() override { events_ = nullptr; }
  std::uint64_t bytes_sent() const noexcept override { return bytes_sent_; }
  std::uint64_t frames_sent() const noexcept override { return frames_sent_; }
  std::uint64_t frames_received() const noexcept override { return frames_received_; }

 private:
  struct outgoing {
    std::shared_ptr<const std::string> data;
    bool text = true;
  };

  void on_connect(beast::error_code ec) {
    if (ec) return fail_open("connect: " + ec.message());
    auto& socket = beast::get_lowest_layer(ws_);
    socket.expires_never();
    socket.socket().set_option(tcp::no_delay(true), ec);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = target_.headers](websocket::request_type& request) {
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
    ws_.read_message_max(16u << 20);
    ws_.async_handshake(target_.host + ":" + std::to_string(target_.port), target_.path,
                        [self = shared_from_this()](beast::error_code e) { self->on_upgraded(e); });
  }

  void on_upgraded(beast::error_code ec) {
    if (ec) return fail_open("upgrade: " + ec.message());
    open_ = true;
    if (events_ != nullptr) events_->on_open(true, {});
    read();
    flush();
  }

  void fail_open(const std::string& why) {
    if (events_ != nullptr) events_->on_open(false, why);
    events_ = nullptr;
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return on_closed(ec == websocket::error::closed ? "closed by the switch" : ec.message());
    ++frames_received_;
    if (events_ != nullptr) {
      const auto data = buffer_.cdata();
      events_->on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                        ws_.got_text());
    }
    buffer_.consume(buffer_.size());
    read();
  }

  void on_closed(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    if (events_ != nullptr) events_->on_closed(why);
    events_ = nullptr;
  }

  void flush() {
    if (!open_ || writing_ || closed_) return;
    if (queue_.empty()) {
      if (closing_ && !close_sent_) {
        close_sent_ = true;
        writing_ = true;
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code) { self->writing_ = false; });
      }
      return;
    }
    writing_ = true;
    auto& next = queue_.front();
    ws_.text(next.text);
    ws_.async_write(asio::buffer(*next.data),
                    [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                      self->on_written(ec, n);
                    });
  }

  void on_written(beast::error_code ec, std::size_t n) {
    writing_ = false;
    queue_.pop_front();
    if (ec) return on_closed("write: " + ec.message());
    bytes_sent_ += n;
    ++frames_sent_;
    flush();
  }

  websocket::stream<beast::tcp_stream> ws_;
  ws_link_events* events_;
  ws_target target_;
  beast::flat_buffer buffer_;
  std::deque<outgoing> queue_;
  bool open_ = false, writing_ = false, closing_ = false, close_sent_ = false, closed_ = false;
  std::uint64_t bytes_sent_ = 0, frames_sent_ = 0, frames_received_ = 0;
};

struct get_op : std::enable_shared_from_this<get_op> {
  get_op(asio::io_context& io, std::function<void(std::optional<std::string>)> done)
      : stream(io), done(std::move(done)) {}

  void start(const std::string& host, std::uint16_t port, const std::string& target,
             std::chrono::milliseconds timeout) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return finish(std::nullopt);
    request = {http::verb::get, target, 11};
    request.set(http::field::host, host + ":" + std::to_string(port));
    request.set(http::field::connection, "close");
    stream.expires_after(timeout);
    stream.async_connect(
        tcp::endpoint(address, port), [self = shared_from_this()](beast::error_code e) {
          if (e) return self->finish(std::nullopt);
          http::async_write(self->stream, self->request, [self](beast::error_code e2, std::size_t) {
            if (e2) return self->finish(std::nullopt);
            self->read();
          });
        });
  }

  void read() {
    http::async_read(stream, buffer, response,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec || self->response.result() != http::status::ok) {
                         return self->finish(std::nullopt);
                       }
                       self->finish(std::move(self->response.body()));
                     });
  }

  void finish(std::optional<std::string> body) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (done) std::exchange(done, nullptr)(std::move(body));
  }

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response<http::string_body> response;
  std::function<void(std::optional<std::string>)> done;
};

}  // namespace

std::shared_ptr<ws_link> ws_link::connect(asio::io_context& io, const ws_target& target,
                                          ws_link_events* events) {
  auto l = std::make_shared<link>(io, events);
  l->start(target);
  return l;
}

void async_http_get(asio::io_context& io, const std::string& host, std::uint16_t port,
                    const std::string& target, std::chrono::milliseconds timeout,
                    std::function<void(std::optional<std::string>)> done) {
  std::make_shared<get_op>(io, std::move(done))->start(host, port, target, timeout);
}

std::optional<std::string> http_get(const std::string& host, std::uint16_t port,
                                    const std::string& target, std::chrono::milliseconds timeout) {
  asio::io_context io;
  std::optional<std::string> out;
  async_http_get(io, host, port, target, timeout,
                 [&out](std::optional<std::string> body) { out = std::move(body); });
  io.run();
  return out;
}

}  // namespace paysync::bench::auth
