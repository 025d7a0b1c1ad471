// The blocking WebSocket client and terminal_session. Each client owns an
// io_context that runs only inside its calls (run_one_until a deadline), so no
// call can hang. Completion handlers write to members, never to a caller's
// stack: an operation left pending by a timeout (a read) stays valid and the
// next call picks up its result.

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "protocols/terminal_client.hpp"
#include "protocols/tls_context.hpp"

namespace paysync::protocols {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using clock_type = std::chrono::steady_clock;

std::string_view to_string(client_error e) noexcept {
  switch (e) {
    case client_error::resolve_failed:
      return "resolve_failed";
    case client_error::connect_failed:
      return "connect_failed";
    case client_error::handshake_failed:
      return "handshake_failed";
    case client_error::timeout:
      return "timeout";
    case client_error::closed:
      return "closed";
    case client_error::io_error:
      return "io_error";
    case client_error::bad_json:
      return "bad_json";
    case client_error::tls_failed:
      return "tls_failed";
  }
  return "unknown";
}

void throw_exception_from_error(client_error e, const boost::source_location& loc) {
  throw std::runtime_error("paysync client error: " + std::string(to_string(e)) + " at " +
                           loc.file_name() + ":" + std::to_string(loc.line()));
}

namespace {

constexpr auto close_wait = std::chrono::milliseconds{1000};

bool is_closed_error(const error_code& ec) {
  return ec == websocket::error::closed || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::not_connected;
}

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// A client over beast::tcp_stream (ws://) or tls_stream (wss://).
template <class NextLayer>
class client_impl final : public ws_client {
  static constexpr bool is_tls = std::is_same_v<NextLayer, tls_stream>;

 public:
  // `tls`: the client context for a tls_stream, nullptr for a tcp_stream.
  client_impl(const client_options& options, std::shared_ptr<ssl::context> tls)
      : options_(options), tls_(std::move(tls)), ws_(make_stream(io_, tls_.get())) {}

  ~client_impl() override {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    drain();
  }

  client_result<void> open() {
    const auto deadline = clock_type::now() + options_.connect_timeout;
    auto endpoints = resolve(deadline);
    if (!endpoints) return endpoints.error();

    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_at(deadline);
    op_ = {};
    tcp_layer.async_connect(*endpoints, [this](error_code ec, const tcp::endpoint&) {
      op_.ec = ec;
      op_.done = true;
    });
    if (!wait_or_abort(deadline)) return client_error::timeout;
    if (op_.ec == beast::error::timeout) return client_error::timeout;
    if (op_.ec) {
      detail_ = op_.ec.message();
      return client_error::connect_failed;
    }

    tcp_layer.expires_never();
    error_code ignored;
    tcp_layer.socket().set_option(tcp::no_delay(true), ignored);  // small frames: no Nagle delay
    if constexpr (is_tls) {
      if (auto shaken = tls_handshake(deadline); !shaken) return shaken;
    }
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::max(
        std::chrono::milliseconds{1},
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()));
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = options_.headers](websocket::request_type& req) {
          req.set(http::field::user_agent, "paysync-terminal");
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    op_ = {};
    const auto host = options_.host + ":" + std::to_string(options_.port);
    ws_.async_handshake(handshake_response_, host, options_.target, [this](error_code ec) {
      op_.ec = ec;
      op_.done = true;
    });
    if (!wait_or_abort(deadline + std::chrono::milliseconds{100})) return client_error::timeout;
    if (op_.ec == beast::error::timeout) return client_error::timeout;
    if (op_.ec) {
      detail_ = op_.ec.message();
      if (op_.ec == websocket::error::upgrade_declined) {
        detail_ = "HTTP " + std::to_string(handshake_response_.result_int()) + " " +
                  std::string(handshake_response_.reason());
        auto body = handshake_response_.body().substr(0, 200);
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
        if (!body.empty()) detail_ += ": " + body;
      }
      return client_error::handshake_failed;
    }
    // From now on Beast's handshake timeout bounds only the close handshake.
    timeouts.handshake_timeout = close_wait;
    ws_.set_option(timeouts);
    return {};
  }

  const std::string& detail() const noexcept { return detail_; }

  client_result<void> send_text(std::string_view frame) override { return send(frame, true); }
  client_result<void> send_binary(std::string_view frame) override { return send(frame, false); }

  client_result<std::string> receive_text(std::chrono::milliseconds timeout) override {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
      if (closed_) return client_error::closed;
      if (broken_) return client_error::io_error;
      if (!read_pending_) start_read();
      if (!run_until(read_done_, deadline)) return client_error::timeout;
      read_pending_ = false;
      read_done_ = false;
      if (read_ec_) return fail(read_ec_);
      std::string frame = beast::buffers_to_string(buffer_.data());
      buffer_ = beast::flat_buffer{};
      if (read_text_) return frame;
    }
  }

  void close() override {
    if (!closed_ && !broken_) {
      op_ = {};
      ws_.async_close(websocket::close_code::normal, [this](error_code ec) {
        op_.ec = ec;
        op_.done = true;
      });
      wait_or_abort(clock_type::now() + close_wait);
    }
    closed_ = true;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    drain();
  }

  bool is_closed() const noexcept override { return closed_; }
  std::uint16_t close_code() const noexcept override { return close_code_; }

 private:
  static websocket::stream<NextLayer> make_stream(net::io_context& io, ssl::context* tls) {
    if constexpr (is_tls) {
      return websocket::stream<NextLayer>(io, *tls);
    } else {
      (void)tls;
      return websocket::stream<NextLayer>(io);
    }
  }

  // Verifies the switch's certificate by its pin, by the CAs and host name, or
  // (insecure) not at all, then runs the TLS handshake within the deadline.
  client_result<void> tls_handshake(clock_type::time_point deadline) {
    auto& stream = ws_.next_layer();
    const auto& tls = options_.tls;
    error_code ec;
    net::ip::make_address(options_.host, ec);
    const bool numeric_host = !ec;  // an IP address is never sent as SNI
    if (!numeric_host) SSL_set_tlsext_host_name(stream.native_handle(), options_.host.c_str());
    if (!tls.pin_sha256.empty()) {
      // With a pin neither the chain nor the name matters: only the leaf's hash.
      stream.set_verify_mode(ssl::verify_peer);
      stream.set_verify_callback([this](bool, ssl::verify_context& vc) {
        X509_STORE_CTX* store = vc.native_handle();
        if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
        seen_fingerprint_ = sha256_fingerprint(X509_STORE_CTX_get_current_cert(store));
        return normalize_fingerprint(seen_fingerprint_) ==
               normalize_fingerprint(options_.tls.pin_sha256);
      });
    } else if (tls.insecure) {
      stream.set_verify_mode(ssl::verify_none);
    } else {
      stream.set_verify_mode(ssl::verify_peer);
      stream.set_verify_callback(ssl::host_name_verification(options_.host));
    }
    beast::get_lowest_layer(ws_).expires_at(deadline);
    op_ = {};
    stream.async_handshake(ssl::stream_base::client, [this](error_code handshake_ec) {
      op_.ec = handshake_ec;
      op_.done = true;
    });
    if (!wait_or_abort(deadline + std::chrono::milliseconds{100})) return client_error::timeout;
    beast::get_lowest_layer(ws_).expires_never();
    if (op_.ec == beast::error::timeout) return client_error::timeout;
    if (op_.ec) {
      detail_ = "TLS handshake failed: " + op_.ec.message();
      if (!tls.pin_sha256.empty() && !seen_fingerprint_.empty()) {
        detail_ += "; the certificate's SHA-256 fingerprint is " + seen_fingerprint_ +
                   ", not the pinned " + tls.pin_sha256;
      }
      return client_error::tls_failed;
    }
    return {};
  }

  client_result<tcp::resolver::results_type> resolve(clock_type::time_point deadline) {
    error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (!ec) {  // numeric: no resolver thread, nothing that can hang
      return tcp::resolver::results_type::create(tcp::endpoint{address, options_.port},
                                                 options_.host, std::to_string(options_.port));
    }
    tcp::resolver resolver{io_};
    bool done = false;
    tcp::resolver::results_type results;
    resolver.async_resolve(options_.host, std::to_string(options_.port),
                           [&](error_code resolve_ec, tcp::resolver::results_type r) {
                             ec = resolve_ec;
                             results = std::move(r);
                             done = true;
                           });
    if (!run_until(done, deadline)) {
      resolver.cancel();
      run_until(done, clock_type::time_point::max());  // completes with operation_aborted
      return client_error::timeout;
    }
    if (ec) {
      detail_ = ec.message();
      return client_error::resolve_failed;
    }
    return results;
  }

  client_result<void> send(std::string_view frame, bool text) {
    if (closed_) return client_error::closed;
    if (broken_) return client_error::io_error;
    op_ = {};
    ws_.text(text);
    ws_.async_write(net::buffer(frame.data(), frame.size()), [this](error_code ec, std::size_t) {
      op_.ec = ec;
      op_.done = true;
    });
    // On timeout a frame may be half written: the connection is unusable.
    if (!wait_or_abort(clock_type::now() + options_.send_timeout)) return client_error::timeout;
    if (op_.ec) return fail(op_.ec);
    return {};
  }

  void start_read() {
    read_pending_ = true;
    read_done_ = false;
    ws_.async_read(buffer_, [this](error_code ec, std::size_t) {
      read_ec_ = ec;
      read_text_ = ws_.got_text();
      read_done_ = true;
    });
  }

  client_error fail(const error_code& ec) {
    if (is_closed_error(ec)) {
      closed_ = true;
      close_code_ = static_cast<std::uint16_t>(ws_.reason().code);
      return client_error::closed;
    }
    detail_ = ec.message();
    broken_ = true;
    return client_error::io_error;
  }

  // Runs handlers until `done` or the deadline; false on timeout. A deadline
  // already past still runs whatever is ready (a zero timeout polls).
  bool run_until(const bool& done, clock_type::time_point deadline) {
    while (!done) {
      if (io_.stopped()) io_.restart();
      const auto ran = clock_type::now() < deadline ? io_.run_one_until(deadline) : io_.poll_one();
      if (ran == 0) return done;  // timed out, nothing ready, or no work left
    }
    return true;
  }

  // Runs until the current op_ completes; on timeout tears the socket down (the
  // connection is then unusable) and lets the operation finish.
  bool wait_or_abort(clock_type::time_point deadline) {
    if (run_until(op_.done, deadline)) return true;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    broken_ = true;
    run_until(op_.done, clock_type::now() + close_wait);
    return false;
  }

  // Runs what is ready after the socket was closed (aborted operations). Never
  // waits: timers still pending are destroyed with the io_context.
  void drain() {
    io_.restart();
    io_.poll();
  }

  const client_options options_;
  const std::shared_ptr<ssl::context> tls_;  // outlives ws_
  net::io_context io_{1};
  websocket::stream<NextLayer> ws_;
  std::string seen_fingerprint_;  // of the switch's certificate, when pinning
  websocket::response_type handshake_response_;
  beast::flat_buffer buffer_;
  std::string detail_;
  struct op_state {  // the one connect, handshake, write or close in flight
    bool done = false;
    error_code ec;
  };
  op_state op_;
  error_code read_ec_;
  bool read_pending_ = false;
  bool read_done_ = false;
  bool read_text_ = false;
  bool closed_ = false;
  bool broken_ = false;
  std::uint16_t close_code_ = 0;
};

}  // namespace

namespace {

template <class NextLayer>
client_result<std::unique_ptr<ws_client>> open_client(const client_options& options,
                                                      std::shared_ptr<ssl::context> tls) {
  auto client = std::make_unique<client_impl<NextLayer>>(options, std::move(tls));
  if (auto opened = client->open(); !opened) {
    spdlog::info("terminal: cannot connect to {}:{}{}: {} {}", options.host, options.port,
                 options.target, to_string(opened.error()), client->detail());
    return opened.error();
  }
  return std::unique_ptr<ws_client>(std::move(client));
}

// TLS 1.2 at least, trusting --ca-file or the system's CAs. Errors are
// logged with their reason, as open_client logs its own.
client_result<std::shared_ptr<ssl::context>> client_context(const client_tls& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (!tls.pin_sha256.empty() && normalize_fingerprint(tls.pin_sha256).empty()) {
    spdlog::info("terminal: the pin \"{}\" is not a SHA-256 fingerprint (64 hex digits)",
                 tls.pin_sha256);
    return client_error::tls_failed;
  }
  error_code ec;
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      spdlog::info("terminal: cannot use the CA file {}: {}", tls.ca_file, ec.message());
      return client_error::tls_failed;
    }
  } else {
    ctx->set_default_verify_paths(ec);  // no system CAs: every handshake fails, and says why
  }
  return ctx;
}

}  // namespace

client_result<std::unique_ptr<ws_client>> ws_client::connect(const client_options& options) {
  if (!options.tls.enabled) return open_client<beast::tcp_stream>(options, nullptr);
  auto ctx = client_context(options.tls);
  if (!ctx) return ctx.error();
  return open_client<tls_stream>(options, std::move(*ctx));
}

// ---- terminal_session --------------------------------------------------------

namespace {

std::string ref_text(const boost::json::value& ref) {
  if (const auto* s = ref.if_string()) return std::string(*s);
  return boost::json::serialize(ref);
}

bool has_type(const boost::json::object& message, std::string_view type) {
  const auto* t = message.if_contains("type");
  return t != nullptr && t->is_string() && t->get_string() == type;
}

bool has_ref(const boost::json::object& message, std::string_view ref) {
  const auto* r = message.if_contains("ref");
  return r != nullptr && ref_text(*r) == ref;
}

std::chrono::milliseconds remaining(clock_type::time_point deadline) {
  const auto left = deadline - clock_type::now();
  if (left <= clock_type::duration::zero()) return std::chrono::milliseconds{0};
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

}  // namespace

terminal_session::terminal_session(std::unique_ptr<ws_client> client)
    : client_(std::move(client)) {}

client_result<terminal_session> terminal_session::connect(const client_options& options) {
  auto client = ws_client::connect(options);
  if (!client) return client.error();
  return terminal_session{std::move(*client)};
}

client_result<std::string> terminal_session::send(boost::json::object message) {
  std::string ref;
  if (const auto* existing = message.if_contains("ref")) {
    ref = ref_text(*existing);
  } else {
    ref = std::to_string(next_ref_++);
    message["ref"] = ref;
  }
  if (auto sent = send_raw(boost::json::serialize(message)); !sent) return sent.error();
  return ref;
}

client_result<void> terminal_session::send_raw(std::string_view frame) {
  auto sent = client_->send_text(frame);
  if (sent && observer_) observer_(true, frame);
  return sent;
}

client_result<boost::json::object> terminal_session::next_from_wire(
    std::chrono::milliseconds timeout) {
  auto frame = client_->receive_text(timeout);
  if (!frame) return frame.error();
  if (observer_) observer_(false, *frame);
  boost::system::error_code ec;
  auto value = boost::json::parse(*frame, ec);
  if (ec || !value.is_object()) return client_error::bad_json;
  return std::move(value.as_object());
}

client_result<boost::json::object> terminal_session::receive(std::chrono::milliseconds timeout) {
  if (!inbox_.empty()) {
    auto message = std::move(inbox_.front());
    inbox_.pop_front();
    return message;
  }
  return next_from_wire(timeout);
}

client_result<boost::json::object> terminal_session::wait_for(std::string_view type,
                                                              std::chrono::milliseconds timeout) {
  auto matches = [type](const boost::json::object& m) {
    return has_type(m, type) || has_type(m, "error");
  };
  for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
    if (matches(*it)) {
      auto message = std::move(*it);
      inbox_.erase(it);
      return message;
    }
  }
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto message = next_from_wire(remaining(deadline));
    if (!message) return message;
    if (matches(*message)) return message;
    inbox_.push_back(std::move(*message));
  }
}

client_result<boost::json::object> terminal_session::wait_for_ref(
    std::string_view ref, std::chrono::milliseconds timeout) {
  for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
    if (has_ref(*it, ref)) {
      auto message = std::move(*it);
      inbox_.erase(it);
      return message;
    }
  }
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto message = next_from_wire(remaining(deadline));
    if (!message) return message;
    if (has_ref(*message, ref)) return message;
    inbox_.push_back(std::move(*message));
  }
}

client_result<boost::json::object> terminal_session::request(boost::json::object message,
                                                             std::chrono::milliseconds timeout) {
  auto ref = send(std::move(message));
  if (!ref) return ref.error();
  return wait_for_ref(*ref, timeout);
}

void terminal_session::close() {
  if (client_) client_->close();
}

}  // namespace paysync::protocols
