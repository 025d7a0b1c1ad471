// The Beast server: one `session` per TCP connection (HTTP first, then maybe
// WebSocket), one strand per session, errors as values, a bounded write queue.
// All Beast server code lives in this one translation unit (Beast compiles slowly).
//
// Lifetimes: a session is owned by the completion handlers of its pending
// operations (shared_from_this); the listener keeps a weak_ptr per session for
// stop_all(); the ws_connection handed to the application holds a weak_ptr too,
// so it is harmless after the session is gone. The handler is owned by the
// session and released right after on_closed.

#include "protocols/ws_listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <cerrno>
#include <list>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

namespace paysync::protocols {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

std::string_view peer_request::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

std::string_view to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::peer_closed:
      return "peer_closed";
    case close_reason::io_error:
      return "io_error";
    case close_reason::idle_timeout:
      return "idle_timeout";
    case close_reason::slow_consumer:
      return "slow_consumer";
    case close_reason::frame_too_large:
      return "frame_too_large";
    case close_reason::closed_by_server:
      return "closed_by_server";
  }
  return "unknown";
}

std::string_view to_string(listen_error e) noexcept {
  switch (e) {
    case listen_error::bad_address:
      return "bad_address";
    case listen_error::bind_failed:
      return "bind_failed";
    case listen_error::listen_failed:
      return "listen_failed";
  }
  return "unknown";
}

namespace {

class listener_impl;
class tls_detector;

// Connection ids are unique in the process, across listeners.
std::atomic<std::uint64_t> next_connection_id{1};

// The first read of each WebSocket message appends at most this many bytes:
// every request a terminal sends in a payment fits (they are 60-200 bytes).
constexpr std::size_t first_read_bytes = 256;

close_reason reason_for(const error_code& ec) {
  if (ec == websocket::error::closed || ec == net::error::eof || ec == http::error::end_of_stream) {
    return close_reason::peer_closed;
  }
  if (ec == beast::error::timeout) return close_reason::idle_timeout;
  if (ec == websocket::error::message_too_big) return close_reason::frame_too_large;
  return close_reason::io_error;
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The connection's strand as a concrete type rather than beast::tcp_stream's
// type-erased any_io_executor: every read, write, timer and post of a session
// goes through its executor, and erasing it cost ~3% of the switch's CPU
// under load (copies, prefer() and require() through function pointers).
using strand_executor = net::strand<net::io_context::executor_type>;
using tcp_socket = net::basic_stream_socket<tcp, strand_executor>;
using tcp_stream = beast::basic_stream<tcp, strand_executor>;
using plain_stream = tcp_stream;
using tls_stream = beast::ssl_stream<tcp_stream>;
template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// One TCP connection: reads HTTP requests until one is a WebSocket upgrade,
// then speaks WebSocket. Every member below is touched only on the strand.
// `Stream` is plain_stream or tls_stream; both serve the same HTTP and
// WebSocket, so a plaintext session costs what it did before TLS existed.
template <class Stream>
class session final : public std::enable_shared_from_this<session<Stream>> {
 public:
  // `buffer`: bytes already read while detecting TLS. `tls` is the server
  // context for a tls_stream and nothing for a plain_stream.
  template <class... Tls>
  session(std::shared_ptr<listener_impl> owner, std::uint64_t id, tcp_stream&& stream,
          tcp::endpoint remote, beast::flat_buffer buffer, Tls&... tls);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  std::uint64_t id() const noexcept { return id_; }

  // Any thread.
  void run() {
    net::dispatch(strand_, [self = this->shared_from_this()] {
      if constexpr (is_tls<Stream>) {
        self->do_tls_handshake();
      } else {
        self->do_http_read();
      }
    });
  }
  // Plaintext on a port that requires TLS: every request gets HTTP 426.
  void refuse_plaintext() noexcept { refuse_plaintext_ = true; }
  // defer rather than post: called from a thread that runs the io_context
  // (an actor under the asio scheduler), the write is queued on that thread
  // instead of waking another one; from any other thread it is a post.
  void post_send(std::string frame) {
    net::defer(strand_, [self = this->shared_from_this(), f = std::move(frame)]() mutable {
      self->enqueue(std::move(f));
    });
  }
  void post_close() {
    net::defer(strand_, [self = this->shared_from_this()] { self->request_close(); });
  }
  void post_shutdown() {
    net::post(strand_, [self = this->shared_from_this()] { self->shutdown(); });
  }
  void post_abort() {
    net::post(strand_, [self = this->shared_from_this()] {
      self->hard_close(close_reason::closed_by_server);
    });
  }

 private:
  enum class phase : std::uint8_t { http, upgrading, open, closing, done };

  const listener_options& opts() const noexcept;

  // TLS phase (tls_stream only).
  void do_tls_handshake();
  void on_tls_handshake(error_code ec, std::size_t bytes_used);

  // HTTP phase.
  void do_http_read();
  void on_http_read(error_code ec, std::size_t bytes);
  void serve_http(const http::request<http::string_body>& req, const peer_request& peer);
  void write_response(unsigned status, std::string_view text, bool keep_alive,
                      std::string_view upgrade = {});
  void refuse_with_426(const http::request<http::string_body>& req);
  void on_response_written(bool keep_alive, error_code ec, std::size_t bytes);
  peer_request make_peer(const http::request<http::string_body>& req) const;

  // Upgrade and WebSocket phase.
  void upgrade(http::request<http::string_body> req, const peer_request& peer);
  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void deliver_message();
  void enqueue(std::string frame);
  void do_write();
  void on_write(error_code ec, std::size_t bytes);
  void request_close();
  void do_close();
  void on_close(error_code ec);
  void shutdown();
  void hard_close(close_reason why);
  void finish(close_reason why);
  void release_slot() noexcept;

  std::shared_ptr<listener_impl> owner_;
  const std::uint64_t id_;
  strand_executor strand_;
  websocket::stream<Stream> ws_;
  tcp::endpoint remote_;
  beast::flat_buffer buffer_;  // HTTP bytes, then one WebSocket message; freed when idle
  std::unique_ptr<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<http::response<http::string_body>> response_;  // while being written
  std::shared_ptr<ws_handler> handler_;
  std::list<std::string> queue_;  // outbound text frames; front() is being written
  std::size_t queued_bytes_ = 0;
  std::size_t discarded_bytes_ = 0;     // of the current oversized message
  std::optional<close_reason> reason_;  // why we are closing, when we started it
  phase phase_ = phase::http;
  bool writing_ = false;
  bool close_requested_ = false;  // close after the queued frames
  bool discarding_ = false;
  bool torn_down_ = false;  // socket closed by us: deliver nothing more
  bool slot_held_ = false;
  bool refuse_plaintext_ = false;
};

template <class Stream>
class connection_proxy final : public ws_connection {
 public:
  connection_proxy(std::weak_ptr<session<Stream>> s, std::uint64_t id)
      : session_(std::move(s)), id_(id) {}
  void send_text(std::string frame) override {
    if (auto s = session_.lock()) s->post_send(std::move(frame));
  }
  void close() override {
    if (auto s = session_.lock()) s->post_close();
  }
  std::uint64_t id() const noexcept override { return id_; }

 private:
  const std::weak_ptr<session<Stream>> session_;
  const std::uint64_t id_;
};

class listener_impl final : public ws_listener, public std::enable_shared_from_this<listener_impl> {
 public:
  listener_impl(net::io_context& io, listener_options options, listener_callbacks callbacks)
      : io_(io),
        options_(std::move(options)),
        callbacks_(std::move(callbacks)),
        acceptor_(net::make_strand(io)),
        backoff_timer_(acceptor_.get_executor()) {}

  std::optional<listen_error> open() {
    error_code ec;
    auto address = net::ip::make_address(options_.address, ec);
    if (ec) return listen_error::bad_address;
    tcp::endpoint endpoint{address, options_.port};
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return listen_error::bind_failed;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return listen_error::bind_failed;
    acceptor_.bind(endpoint, ec);
    if (ec) return listen_error::bind_failed;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return listen_error::listen_failed;
    auto local = acceptor_.local_endpoint(ec);
    if (ec) return listen_error::listen_failed;
    bound_address_ = local.address().to_string();
    bound_port_ = local.port();
    spdlog::info("{}: listening on {}:{}", options_.name, bound_address_, bound_port_);
    return std::nullopt;
  }

  void start_accepting() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  std::string address() const override { return bound_address_; }
  std::uint16_t port() const override { return bound_port_; }
  std::size_t connection_count() const noexcept override {
    return connections_.load(std::memory_order_relaxed);
  }

  void stop_all() override {
    session_snapshot open;
    {
      std::lock_guard lock{mutex_};
      if (stopped_) return;
      stopped_ = true;
      open = snapshot_locked();
    }
    spdlog::info("{}: stopping, closing {} connections", options_.name, open.size());
    // Refuse new connections now, from this thread: on Linux shutdown() takes a
    // listening socket out of LISTEN (new SYNs get a reset) and fails the pending
    // accept. The acceptor object itself is closed on its strand.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      self->acceptor_.close(ignored);
      self->backoff_timer_.cancel();
    });
    open.for_each([](auto& s) { s.post_shutdown(); });
  }

  void abort_all() override {
    session_snapshot open;
    {
      std::lock_guard lock{mutex_};
      open = snapshot_locked();
    }
    if (open.size() == 0) return;
    spdlog::warn("{}: {} connections did not finish closing; dropping them", options_.name,
                 open.size());
    open.for_each([](auto& s) { s.post_abort(); });
  }

  // For sessions (any thread).
  const listener_options& options() const noexcept { return options_; }
  const listener_callbacks& callbacks() const noexcept { return callbacks_; }
  bool stopped() const {
    std::lock_guard lock{mutex_};
    return stopped_;
  }
  // Reserves one WebSocket connection slot; false when max_connections are open.
  bool try_reserve_slot() noexcept {
    if (connections_.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections) {
      connections_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void release_slot() noexcept { connections_.fetch_sub(1, std::memory_order_relaxed); }
  template <class Stream>
  void unregister(std::uint64_t id) {
    std::lock_guard lock{mutex_};
    sessions_of<Stream>().erase(id);
  }

  // Registers a new session for stop_all() and starts it; when the listener
  // has stopped meanwhile the session is dropped (its socket closes with it).
  template <class Stream>
  void adopt(const std::shared_ptr<session<Stream>>& s, std::uint64_t id) {
    {
      std::lock_guard lock{mutex_};
      if (stopped_) return;
      sessions_of<Stream>().emplace(id, s);
    }
    s->run();
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           [self = shared_from_this()](error_code ec, tcp_socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp_socket socket);

  // Out of descriptors or memory: wait, then try again (never spin). A failure
  // tied to one connection (it was aborted before we took it): accept again now.
  void retry_accept(const error_code& ec) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log_ >= std::chrono::seconds(1)) {
      spdlog::warn("{}: accept failed: {} ({} similar errors suppressed)", options_.name,
                   ec.message(), suppressed_errors_);
      last_error_log_ = now;
      suppressed_errors_ = 0;
    } else {
      ++suppressed_errors_;
    }
    if (ec == net::error::connection_aborted || ec.value() == EPROTO) return do_accept();
    backoff_ = backoff_ == std::chrono::milliseconds{}
                   ? std::chrono::milliseconds{50}
                   : std::min(backoff_ * 2, std::chrono::milliseconds{1000});
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (wait_ec || self->stopped()) return;
      self->do_accept();
    });
  }

  net::io_context& io_;
  const listener_options options_;
  const listener_callbacks callbacks_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{};
  std::chrono::steady_clock::time_point last_error_log_{};
  std::uint64_t suppressed_errors_ = 0;
  std::string bound_address_;
  std::uint16_t bound_port_ = 0;
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  bool stopped_ = false;  // guarded by mutex_
  // The sessions registered at one moment, acted on outside the lock.
  struct session_snapshot {
    std::vector<std::weak_ptr<session<plain_stream>>> plain;
    std::vector<std::weak_ptr<session<tls_stream>>> secure;
    std::size_t size() const noexcept { return plain.size() + secure.size(); }
    // Calls f(session&) for each session still alive.
    template <class F>
    void for_each(F f) const {
      for (const auto& weak : plain) {
        if (auto s = weak.lock()) f(*s);
      }
      for (const auto& weak : secure) {
        if (auto s = weak.lock()) f(*s);
      }
    }
  };
  session_snapshot snapshot_locked() const {
    session_snapshot out;
    out.plain.reserve(plain_sessions_.size());
    for (const auto& [id, s] : plain_sessions_) out.plain.push_back(s);
    out.secure.reserve(tls_sessions_.size());
    for (const auto& [id, s] : tls_sessions_) out.secure.push_back(s);
    return out;
  }

  // Guarded by mutex_. Two maps, so a plaintext session needs no virtual call.
  std::unordered_map<std::uint64_t, std::weak_ptr<session<plain_stream>>> plain_sessions_;
  std::unordered_map<std::uint64_t, std::weak_ptr<session<tls_stream>>> tls_sessions_;

  template <class Stream>
  auto& sessions_of() {
    if constexpr (is_tls<Stream>) {
      return tls_sessions_;
    } else {
      return plain_sessions_;
    }
  }
};

// ---- TLS detection -----------------------------------------------------------

// With TLS on, each accepted connection first waits for its first bytes: a
// TLS ClientHello makes a tls_stream session, anything else a plain_stream
// one (refused with HTTP 426 when TLS is required). The bytes read while
// detecting go to the session, which parses them as TLS or HTTP.
class tls_detector final : public std::enable_shared_from_this<tls_detector> {
 public:
  tls_detector(std::shared_ptr<listener_impl> owner, std::uint64_t id, tcp_socket&& socket,
               tcp::endpoint remote)
      : owner_(std::move(owner)), id_(id), stream_(std::move(socket)), remote_(remote) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_after(self->owner_->options().handshake_timeout);
      beast::async_detect_ssl(self->stream_, self->buffer_,
                              beast::bind_front_handler(&tls_detector::on_detect, self));
    });
  }

 private:
  void on_detect(error_code ec, bool tls) {
    if (ec) return;  // the peer left or stayed silent; the socket closes with this object
    stream_.expires_never();
    if (tls) {
      auto s = std::make_shared<session<tls_stream>>(owner_, id_, std::move(stream_), remote_,
                                                     std::move(buffer_), *owner_->options().tls);
      return owner_->adopt(s, id_);
    }
    auto s = std::make_shared<session<plain_stream>>(owner_, id_, std::move(stream_), remote_,
                                                     std::move(buffer_));
    if (owner_->options().tls_required) s->refuse_plaintext();
    owner_->adopt(s, id_);
  }

  std::shared_ptr<listener_impl> owner_;
  const std::uint64_t id_;
  tcp_stream stream_;
  tcp::endpoint remote_;
  beast::flat_buffer buffer_;
};

void listener_impl::on_accept(error_code ec, tcp_socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || stopped()) return;
    return retry_accept(ec);
  }
  backoff_ = {};
  error_code remote_ec;
  socket.set_option(tcp::no_delay(true), remote_ec);  // small frames: no Nagle delay
  auto remote = socket.remote_endpoint(remote_ec);
  if (remote_ec) {  // the peer left before we saw it
    return do_accept();
  }
  const auto id = next_connection_id.fetch_add(1, std::memory_order_relaxed);
  if (options_.tls) {
    std::make_shared<tls_detector>(shared_from_this(), id, std::move(socket), remote)->run();
  } else {
    adopt(std::make_shared<session<plain_stream>>(
              shared_from_this(), id, tcp_stream{std::move(socket)}, remote, beast::flat_buffer{}),
          id);
  }
  do_accept();
}

// ---- session ---------------------------------------------------------------

template <class Stream>
template <class... Tls>
session<Stream>::session(std::shared_ptr<listener_impl> owner, std::uint64_t id,
                         tcp_stream&& stream, tcp::endpoint remote, beast::flat_buffer buffer,
                         Tls&... tls)
    : owner_(std::move(owner)),
      id_(id),
      strand_(stream.get_executor()),
      ws_(std::move(stream), tls...),
      remote_(remote),
      buffer_(std::move(buffer)) {}

template <class Stream>
session<Stream>::~session() {
  release_slot();
  owner_->template unregister<Stream>(id_);
}

template <class Stream>
const listener_options& session<Stream>::opts() const noexcept {
  return owner_->options();
}

template <class Stream>
void session<Stream>::release_slot() noexcept {
  if (slot_held_) {
    slot_held_ = false;
    owner_->release_slot();
  }
}

template <class Stream>
void session<Stream>::do_tls_handshake() {
  if constexpr (is_tls<Stream>) {
    beast::get_lowest_layer(ws_).expires_after(opts().handshake_timeout);
    ws_.next_layer().async_handshake(
        ssl::stream_base::server, buffer_.data(),
        beast::bind_front_handler(&session::on_tls_handshake, this->shared_from_this()));
  }
}

template <class Stream>
void session<Stream>::on_tls_handshake(error_code ec, std::size_t bytes_used) {
  if (ec) {  // not TLS after all, an old protocol version, or an untrusting client
    spdlog::debug("{}: connection {}: TLS handshake failed: {}", opts().name, id_, ec.message());
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return;
  }
  // A client sends nothing after its ClientHello before the handshake ends, so
  // the handshake used every byte read while detecting; this frees the buffer.
  (void)bytes_used;
  buffer_ = beast::flat_buffer{};
  do_http_read();
}

template <class Stream>
void session<Stream>::do_http_read() {
  parser_ = std::make_unique<http::request_parser<http::string_body>>();
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(opts().max_http_request_bytes, UINT32_MAX)));
  parser_->body_limit(opts().max_http_request_bytes);
  buffer_.max_size(opts().max_http_request_bytes);
  beast::get_lowest_layer(ws_).expires_after(opts().handshake_timeout);
  http::async_read(ws_.next_layer(), buffer_, *parser_,
                   beast::bind_front_handler(&session::on_http_read, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_http_read(error_code ec, std::size_t) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return write_response(431, "request header fields too large\n", false);
  }
  if (ec == http::error::body_limit) return write_response(413, "request too large\n", false);
  if (ec && is_http_parse_error(ec) && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return write_response(400, "bad request\n", false);
  }
  if (ec) {  // the peer left, or the request did not arrive in time
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return;
  }
  auto req = parser_->release();
  parser_.reset();
  if (refuse_plaintext_) return refuse_with_426(req);
  const auto peer = make_peer(req);
  if (websocket::is_upgrade(req)) return upgrade(std::move(req), peer);
  serve_http(req, peer);
}

template <class Stream>
peer_request session<Stream>::make_peer(const http::request<http::string_body>& req) const {
  peer_request peer;
  peer.method = std::string(req.method_string());
  peer.target = std::string(req.target());
  peer.remote_address = remote_.address().to_string();
  peer.remote_port = remote_.port();
  peer.secure = is_tls<Stream>;
  for (const auto& field : req) {
    auto name = lower(field.name_string());
    auto [it, inserted] = peer.headers.try_emplace(std::move(name), field.value());
    if (!inserted) {
      it->second += ", ";
      it->second += field.value();
    }
  }
  return peer;
}

template <class Stream>
void session<Stream>::serve_http(const http::request<http::string_body>& req,
                                 const peer_request& peer) {
  http_response answer;
  const auto& on_http = owner_->callbacks().on_http;
  if (!on_http) {
    answer.status = 404;
    answer.body = "not found\n";
  } else {
    try {
      answer = on_http(peer);
    } catch (const std::exception& e) {
      spdlog::error("{}: on_http threw: {}", opts().name, e.what());
      answer = http_response{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
  }
  response_ = std::make_unique<http::response<http::string_body>>(
      static_cast<http::status>(answer.status), req.version());
  auto& res = *response_;
  res.set(http::field::server, "paysync");
  res.set(http::field::content_type, answer.content_type);
  for (const auto& [name, value] : answer.headers) res.set(name, value);
  res.keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    res.content_length(answer.body.size());  // the length of what GET would send
  } else {
    res.body() = std::move(answer.body);
    res.prepare_payload();
  }
  const bool keep_alive = res.keep_alive();
  beast::get_lowest_layer(ws_).expires_after(opts().handshake_timeout);
  http::async_write(ws_.next_layer(), res,
                    beast::bind_front_handler(&session::on_response_written,
                                              this->shared_from_this(), keep_alive));
}

// A port that requires TLS answers plaintext HTTP, a WebSocket upgrade
// included, with 426 and where to go instead (RFC 9110, section 15.5.22).
template <class Stream>
void session<Stream>::refuse_with_426(const http::request<http::string_body>& req) {
  std::string text = "this port speaks TLS only: use https:// (or wss:// for WebSocket)";
  const auto host = req[http::field::host];
  const bool plain_host =
      !host.empty() && host.size() <= 255 &&
      std::all_of(host.begin(), host.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      });
  if (plain_host) {
    const auto scheme = websocket::is_upgrade(req) ? "wss://" : "https://";
    text += ", here " + std::string(scheme) + std::string(host) +
            (req.target().size() <= 2048 ? std::string(req.target()) : std::string("/"));
  }
  text += "\n";
  write_response(426, text, false, "TLS/1.2, HTTP/1.1");
}

// A short text answer; with keep_alive false the connection closes after it.
template <class Stream>
void session<Stream>::write_response(unsigned status, std::string_view text, bool keep_alive,
                                     std::string_view upgrade) {
  parser_.reset();
  response_ =
      std::make_unique<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  auto& res = *response_;
  res.set(http::field::server, "paysync");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  if (!upgrade.empty()) res.set(http::field::upgrade, upgrade);
  res.keep_alive(keep_alive);
  res.body() = std::string(text);
  res.prepare_payload();
  beast::get_lowest_layer(ws_).expires_after(opts().handshake_timeout);
  http::async_write(ws_.next_layer(), res,
                    beast::bind_front_handler(&session::on_response_written,
                                              this->shared_from_this(), keep_alive));
}

template <class Stream>
void session<Stream>::on_response_written(bool keep_alive, error_code ec, std::size_t) {
  response_.reset();
  release_slot();
  if (!ec && keep_alive && !owner_->stopped()) return do_http_read();
  error_code ignored;
  auto& socket = beast::get_lowest_layer(ws_).socket();
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

template <class Stream>
void session<Stream>::upgrade(http::request<http::string_body> req, const peer_request& peer) {
  if (owner_->stopped()) return write_response(503, "shutting down\n", false);
  if (!owner_->try_reserve_slot()) {
    spdlog::debug("{}: connection {} refused: {} connections open", opts().name, id_,
                  owner_->connection_count());
    return write_response(503, "too many connections\n", false);
  }
  slot_held_ = true;
  std::shared_ptr<ws_handler> handler;
  if (const auto& on_connect = owner_->callbacks().on_connect) {
    try {
      handler =
          on_connect(std::make_shared<connection_proxy<Stream>>(this->weak_from_this(), id_), peer);
    } catch (const std::exception& e) {
      spdlog::error("{}: on_connect threw: {}", opts().name, e.what());
    }
  }
  if (!handler) {
    spdlog::debug("{}: connection {} refused by the application", opts().name, id_);
    return write_response(503, "service unavailable\n", false);
  }
  handler_ = std::move(handler);
  phase_ = phase::upgrading;

  buffer_ = beast::flat_buffer{};  // no HTTP bytes are kept; frees the buffer
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = opts().handshake_timeout;
  if (opts().idle_timeout.count() > 0) {
    // Beast pings after half its idle timeout and closes after the full one.
    timeouts.idle_timeout = 2 * opts().idle_timeout;
    timeouts.keep_alive_pings = true;
  } else {
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
  }
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "paysync"); }));
  ws_.read_message_max(opts().hard_frame_bytes);
  ws_.async_accept(req, beast::bind_front_handler(&session::on_accept, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_accept(error_code ec) {
  if (ec) return finish(reason_.value_or(close_reason::io_error));
  phase_ = phase::open;
  spdlog::debug("{}: connection {} open from {}:{}", opts().name, id_,
                remote_.address().to_string(), remote_.port());
  if (!queue_.empty()) {
    do_write();
  } else if (close_requested_) {
    do_close();
  }
  do_read();
}

template <class Stream>
void session<Stream>::do_read() {
  // Beast allocates the read's buffer when the read starts, not when bytes
  // arrive, so a connection waiting for its next message holds whatever this
  // read prepares: 1.5 KB by default, on every idle terminal. Asking for a
  // small first piece keeps an idle connection's buffer small; the rest of a
  // longer message is read with no limit (one more read for such a message).
  const std::size_t limit = ws_.is_message_done() ? first_read_bytes : 0;
  ws_.async_read_some(buffer_, limit,
                      beast::bind_front_handler(&session::on_read, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_read(error_code ec, std::size_t) {
  if (ec) return finish(reason_.value_or(reason_for(ec)));
  if (torn_down_) return finish(reason_.value_or(close_reason::io_error));  // data raced our close
  if (discarding_) {
    discarded_bytes_ += buffer_.size();
    buffer_.consume(buffer_.size());
  } else if (buffer_.size() > (ws_.got_text() || opts().max_binary_frame_bytes == 0
                                   ? opts().max_frame_bytes
                                   : opts().max_binary_frame_bytes)) {
    discarding_ = true;
    discarded_bytes_ = buffer_.size();
    buffer_.consume(buffer_.size());
  }
  if (ws_.is_message_done()) deliver_message();
  if (phase_ != phase::done) do_read();
}

template <class Stream>
void session<Stream>::deliver_message() {
  try {
    if (discarding_) {
      discarding_ = false;
      const auto bytes = std::exchange(discarded_bytes_, 0);
      spdlog::debug("{}: connection {}: discarded a {}-byte frame", opts().name, id_, bytes);
      handler_->on_oversized(bytes);
    } else {
      std::string frame = beast::buffers_to_string(buffer_.data());
      if (ws_.got_text()) {
        handler_->on_text(std::move(frame));
      } else {
        handler_->on_binary(std::move(frame));
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{}: connection {}: handler threw: {}", opts().name, id_, e.what());
    hard_close(close_reason::io_error);
  }
  // The next message's first read prepares first_read_bytes, which a waiting
  // connection holds anyway: a buffer that size is kept (no allocation per
  // message), a bigger one given back.
  if (buffer_.capacity() > first_read_bytes) {
    buffer_ = beast::flat_buffer{};
  } else {
    buffer_.clear();
  }
}

template <class Stream>
void session<Stream>::enqueue(std::string frame) {
  if (phase_ == phase::http || phase_ == phase::done || close_requested_ || torn_down_) return;
  queued_bytes_ += frame.size();
  if (queued_bytes_ > opts().max_queued_bytes) {
    spdlog::info("{}: connection {}: slow consumer ({} bytes queued), closing", opts().name, id_,
                 queued_bytes_);
    return hard_close(close_reason::slow_consumer);
  }
  queue_.push_back(std::move(frame));
  if (phase_ == phase::open && !writing_) do_write();
}

template <class Stream>
void session<Stream>::do_write() {
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(queue_.front()),
                  beast::bind_front_handler(&session::on_write, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_write(error_code ec, std::size_t) {
  writing_ = false;
  if (torn_down_ || phase_ == phase::done) return;
  if (ec) {
    // The read side sees the same broken socket; make sure it does soon.
    if (ec != websocket::error::closed) hard_close(close_reason::io_error);
    return;
  }
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  if (!queue_.empty()) return do_write();
  if (close_requested_) do_close();
}

template <class Stream>
void session<Stream>::request_close() {
  if (phase_ == phase::http || phase_ == phase::closing || phase_ == phase::done ||
      close_requested_ || torn_down_) {
    return;
  }
  close_requested_ = true;
  reason_ = reason_.value_or(close_reason::closed_by_server);
  if (phase_ == phase::open && !writing_ && queue_.empty()) do_close();
}

template <class Stream>
void session<Stream>::do_close() {
  phase_ = phase::closing;
  ws_.async_close(websocket::close_code::normal,
                  beast::bind_front_handler(&session::on_close, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_close(error_code ec) {
  // The pending read completes once the peer's close frame arrives (or the
  // handshake timeout tears the connection down); it calls finish().
  if (ec && !torn_down_ && phase_ != phase::done) hard_close(close_reason::closed_by_server);
}

template <class Stream>
void session<Stream>::shutdown() {
  switch (phase_) {
    case phase::http: {
      error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      return;
    }
    case phase::upgrading:
    case phase::open:
      // Frames already queued go out first, then the close frame: a write in
      // progress may be one whose bytes the peer already has (its completion
      // not yet run), and cutting the socket mid-frame would hand the peer a
      // torn frame. A peer that reads nothing is dropped after the grace
      // period by abort_all().
      return request_close();
    case phase::closing:
    case phase::done:
      return;
  }
}

// Closes the socket without a close handshake; pending operations complete
// with errors and the read (or accept) completion calls finish().
template <class Stream>
void session<Stream>::hard_close(close_reason why) {
  if (torn_down_ || phase_ == phase::done) return;
  torn_down_ = true;
  reason_ = reason_.value_or(why);
  queue_.clear();
  queued_bytes_ = 0;
  beast::get_lowest_layer(ws_).close();
}

template <class Stream>
void session<Stream>::finish(close_reason why) {
  if (phase_ == phase::done) return;
  phase_ = phase::done;
  queue_.clear();
  queued_bytes_ = 0;
  buffer_ = beast::flat_buffer{};
  release_slot();
  if (!torn_down_) {
    torn_down_ = true;
    beast::get_lowest_layer(ws_).close();
  }
  spdlog::debug("{}: connection {} closed: {}", opts().name, id_, to_string(why));
  if (auto handler = std::move(handler_)) {
    try {
      handler->on_closed(why);
    } catch (const std::exception& e) {
      spdlog::error("{}: connection {}: on_closed threw: {}", opts().name, id_, e.what());
    }
  }
}

}  // namespace

boost::system::result<std::shared_ptr<ws_listener>, listen_error> ws_listener::start(
    net::io_context& io, listener_options options, listener_callbacks callbacks) {
  auto listener = std::make_shared<listener_impl>(io, std::move(options), std::move(callbacks));
  if (auto error = listener->open()) {
    spdlog::error("{}: cannot listen: {}", listener->options().name, to_string(*error));
    return *error;
  }
  listener->start_accepting();
  return std::shared_ptr<ws_listener>(std::move(listener));
}

}  // namespace paysync::protocols
