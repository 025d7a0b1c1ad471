#include "protocols/ws_listener.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "protocols/terminal_client.hpp"
#include "tests/protocols/net_test_support.hpp"

namespace paysync::protocols {
namespace {

using namespace std::chrono_literals;
using testing::has_head;
using testing::io_runner;
using testing::raw_socket;
using testing::recording_handler;

constexpr std::string_view upgrade_request =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

class WsListener : public ::testing::Test {
 protected:
  // Starts a listener whose on_connect records the peer and hands out
  // recording handlers (echoing unless `echo` is false).
  void start(listener_options options = {}, bool echo = true) {
    listener_callbacks callbacks;
    callbacks.on_connect = [this, echo](std::shared_ptr<ws_connection> conn,
                                        const peer_request& peer) -> std::shared_ptr<ws_handler> {
      if (refuse_) return nullptr;
      if (make_handler_) return make_handler_(std::move(conn));
      if (!welcome_.empty()) conn->send_text(welcome_);
      auto h = std::make_shared<recording_handler>(std::move(conn), echo);
      if (hook_) h->on_text_hook = hook_;
      {
        std::lock_guard lock{mu_};
        handlers_.push_back(h);
        peers_.push_back(peer);
      }
      cv_.notify_all();
      return h;
    };
    callbacks.on_http = on_http_;
    auto started = ws_listener::start(runner_.io(), std::move(options), std::move(callbacks));
    ASSERT_TRUE(started) << to_string(started.error());
    listener_ = *started;
  }

  void TearDown() override {
    if (listener_) listener_->stop_all();
  }

  client_options client_opts() const {
    client_options o;
    o.port = listener_->port();
    o.connect_timeout = 2000ms;
    return o;
  }

  std::unique_ptr<ws_client> connect() {
    auto c = ws_client::connect(client_opts());
    EXPECT_TRUE(c) << to_string(c.error());
    return c ? std::move(*c) : nullptr;
  }

  // The handler of the i-th accepted connection, once it exists.
  std::shared_ptr<recording_handler> handler(std::size_t i) {
    std::unique_lock lock{mu_};
    cv_.wait_for(lock, 2s, [&] { return handlers_.size() > i; });
    return handlers_.size() > i ? handlers_[i] : nullptr;
  }
  peer_request peer(std::size_t i) {
    std::unique_lock lock{mu_};
    cv_.wait_for(lock, 2s, [&] { return peers_.size() > i; });
    return peers_.size() > i ? peers_[i] : peer_request{};
  }

  // Waits (polling) until the listener counts `n` connections.
  bool wait_count(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (listener_->connection_count() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  io_runner runner_{2};
  std::shared_ptr<ws_listener> listener_;
  bool refuse_ = false;
  std::string welcome_;  // sent from on_connect, before the upgrade completes
  std::function<std::shared_ptr<ws_handler>(std::shared_ptr<ws_connection>)> make_handler_;
  std::function<void(ws_connection&, const std::string&)> hook_;
  std::function<http_response(const peer_request&)> on_http_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<recording_handler>> handlers_;
  std::vector<peer_request> peers_;
};

TEST_F(WsListener, EchoRoundTrip) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text("hello"));
  auto reply = c->receive_text(2s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, "hello");
  EXPECT_EQ(listener_->connection_count(), 1u);

  c->close();
  auto h = handler(0);
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::peer_closed);
  EXPECT_TRUE(wait_count(0));
  std::lock_guard lock{h->mu};
  EXPECT_EQ(h->texts, std::vector<std::string>{"hello"});
  EXPECT_EQ(h->closed_calls, 1);
  EXPECT_EQ(h->calls_after_close, 0);
}

TEST_F(WsListener, FramesSentFromOnConnectArriveAfterTheUpgrade) {
  welcome_ = R"({"type":"welcome"})";
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->receive_text(2s).value(), welcome_);
  ASSERT_TRUE(c->send_text("next"));
  EXPECT_EQ(c->receive_text(2s).value(), "next");
}

TEST_F(WsListener, EmptyFramesAreDelivered) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text(""));
  EXPECT_EQ(c->receive_text(2s).value(), "");
  ASSERT_TRUE(c->send_text("x"));
  EXPECT_EQ(c->receive_text(2s).value(), "x");
}

TEST_F(WsListener, BinaryFramesGoToOnBinary) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_binary(std::string("\x00\x01\xff", 3)));
  ASSERT_TRUE(c->send_text("after"));
  auto h = handler(0);
  ASSERT_TRUE(h->wait_texts(1));
  std::lock_guard lock{h->mu};
  ASSERT_EQ(h->binaries.size(), 1u);
  EXPECT_EQ(h->binaries[0], std::string("\x00\x01\xff", 3));
  EXPECT_EQ(h->texts, std::vector<std::string>{"after"});
}

// The listener reads the first 256 bytes of a message on their own (so an
// idle connection holds a small buffer) and the rest after: messages on
// either side of that boundary, and long ones, must arrive whole and in order.
TEST_F(WsListener, MessagesLongerThanTheFirstReadArriveWholeAndInOrder) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  std::vector<std::string> sent;
  for (const std::size_t size : {255u, 256u, 257u, 1000u, 60000u, 1u}) {
    std::string text(size, 'a');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(c->send_text(text));
    EXPECT_EQ(c->receive_text(2s).value(), text) << size << " bytes";
    sent.push_back(std::move(text));
  }
  std::string image(50000, '\0');
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(c->send_binary(image));
  ASSERT_TRUE(c->send_text("after"));
  auto h = handler(0);
  ASSERT_TRUE(h->wait_texts(sent.size() + 1));
  std::lock_guard lock{h->mu};
  sent.push_back("after");
  EXPECT_EQ(h->texts, sent);
  ASSERT_EQ(h->binaries.size(), 1u);
  EXPECT_EQ(h->binaries[0], image);
}

TEST_F(WsListener, TwoConnectionsAreIsolated) {
  start();
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->send_text("one"));
  ASSERT_TRUE(b->send_text("two"));
  EXPECT_EQ(a->receive_text(2s).value(), "one");
  EXPECT_EQ(b->receive_text(2s).value(), "two");
  EXPECT_EQ(a->receive_text(50ms).error(), client_error::timeout);
  EXPECT_EQ(b->receive_text(0ms).error(), client_error::timeout);

  a->close();
  auto ha = handler(0);
  auto hb = handler(1);
  ASSERT_TRUE(ha->wait_closed());
  ASSERT_TRUE(b->send_text("still here"));
  EXPECT_EQ(b->receive_text(2s).value(), "still here");
  EXPECT_FALSE(hb->closed_reason().has_value());
  EXPECT_NE(ha->connection().id(), hb->connection().id());
  std::scoped_lock lock{ha->mu, hb->mu};
  EXPECT_EQ(ha->texts.size() + hb->texts.size(), 3u);
}

TEST_F(WsListener, OversizedFrameIsDiscardedAndTheConnectionSurvives) {
  listener_options options;
  options.max_frame_bytes = 1024;
  options.hard_frame_bytes = 64 * 1024;
  start(options);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text(std::string(4096, 'x')));
  ASSERT_TRUE(c->send_text(std::string(1024, 'y')));  // exactly the limit: delivered
  ASSERT_TRUE(c->send_text("after"));
  EXPECT_EQ(c->receive_text(2s).value(), std::string(1024, 'y'));
  EXPECT_EQ(c->receive_text(2s).value(), "after");
  auto h = handler(0);
  std::lock_guard lock{h->mu};
  EXPECT_EQ(h->oversized, std::vector<std::size_t>{4096});
  EXPECT_EQ(h->texts.size(), 2u);
  EXPECT_FALSE(h->closed.has_value());
}

TEST_F(WsListener, FrameAboveHardLimitClosesWith1009) {
  listener_options options;
  options.max_frame_bytes = 1024;
  options.hard_frame_bytes = 8 * 1024;
  start(options);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text(std::string(10000, 'x')));
  EXPECT_EQ(c->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ(c->close_code(), 1009);
  auto h = handler(0);
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::frame_too_large);
  std::lock_guard lock{h->mu};
  EXPECT_TRUE(h->oversized.empty());
  EXPECT_EQ(h->closed_calls, 1);
}

TEST_F(WsListener, RefusedUpgradeGivesHandshakeFailedAnd503) {
  start();
  refuse_ = true;
  auto c = ws_client::connect(client_opts());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::handshake_failed);

  raw_socket raw{listener_->port()};
  ASSERT_TRUE(raw.send_all(upgrade_request));
  const auto response = raw.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  EXPECT_NE(response.find("service unavailable"), std::string::npos);
  EXPECT_TRUE(raw.wait_peer_closed());
  EXPECT_TRUE(wait_count(0));
}

TEST_F(WsListener, PlainHttpIsServedByOnHttpWithKeepAlive) {
  on_http_ = [](const peer_request& peer) {
    http_response r;
    r.body = "hello " + peer.target;
    r.headers.emplace_back("X-Test", "1");
    return r;
  };
  start();
  raw_socket raw{listener_->port()};
  ASSERT_TRUE(raw.send_all("GET /link?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto first = raw.read_response();
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK", 0), 0u) << first;
  EXPECT_NE(first.find("X-Test: 1"), std::string::npos);
  EXPECT_NE(first.find("\r\n\r\nhello /link?x=1"), std::string::npos) << first;

  // HEAD: the headers GET would send, no body, and the connection goes on.
  ASSERT_TRUE(raw.send_all("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto head = raw.read_until(has_head);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 8"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");

  ASSERT_TRUE(raw.send_all("GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto second = raw.read_response();
  EXPECT_EQ(second.rfind("HTTP/1.1 200 OK", 0), 0u) << second;
  EXPECT_NE(second.find("hello /second"), std::string::npos);
  EXPECT_TRUE(raw.wait_peer_closed());
  EXPECT_EQ(listener_->connection_count(), 0u);
}

TEST_F(WsListener, PlainHttpWithoutOnHttpGets404) {
  start();
  raw_socket raw{listener_->port()};
  ASSERT_TRUE(raw.send_all("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto response = raw.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 404", 0), 0u) << response;
}

TEST_F(WsListener, BadOrHugeRequestsGet400Or431) {
  listener_options options;
  options.max_http_request_bytes = 1024;
  start(options);
  {
    raw_socket raw{listener_->port()};
    ASSERT_TRUE(raw.send_all("NOT A REQUEST\r\n\r\n"));
    auto response = raw.read_response();
    EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
    EXPECT_TRUE(raw.wait_peer_closed());
  }
  {
    raw_socket raw{listener_->port()};
    ASSERT_TRUE(
        raw.send_all("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n"));
    auto response = raw.read_response();
    EXPECT_EQ(response.rfind("HTTP/1.1 431", 0), 0u) << response;
    EXPECT_TRUE(raw.wait_peer_closed());
  }
}

TEST_F(WsListener, HeadersReachPeerRequestLowerCased) {
  start();
  auto options = client_opts();
  options.target = "/pay/m-kahawa/AbC?lang=sw";
  options.headers = {{"X-MSISDN", "254700000001"}, {"X-Carrier", "demo"}};
  auto c = ws_client::connect(options);
  ASSERT_TRUE(c);
  const auto p = peer(0);
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.target, "/pay/m-kahawa/AbC?lang=sw");
  EXPECT_EQ(p.remote_address, "127.0.0.1");
  EXPECT_NE(p.remote_port, 0);
  EXPECT_NE(p.remote_port, listener_->port());
  EXPECT_EQ(p.header("x-msisdn"), "254700000001");
  EXPECT_EQ(p.header("x-carrier"), "demo");
  EXPECT_EQ(p.header("host"), "127.0.0.1:" + std::to_string(listener_->port()));
  EXPECT_EQ(p.header("absent"), "");
  for (const auto& [name, value] : p.headers) {
    for (char ch : name) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(ch))) << name;
  }
}

TEST_F(WsListener, SlowConsumerIsClosed) {
  listener_options options;
  options.max_queued_bytes = 256 * 1024;
  start(options);
  auto c = connect();  // and never reads
  ASSERT_TRUE(c);
  auto h = handler(0);
  const std::string frame(16 * 1024, 'f');
  // Flood from this thread (ws_connection is thread-safe); at most 64 MiB.
  for (int i = 0; i < 4096 && !h->closed_reason(); ++i) h->connection().send_text(frame);
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::slow_consumer);
  EXPECT_TRUE(wait_count(0));
}

TEST_F(WsListener, ConnectionUsedAfterCloseIsHarmless) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  auto h = handler(0);
  auto conn = h->connection_ptr();
  const auto id = conn->id();
  c->close();
  ASSERT_TRUE(h->wait_closed());
  ASSERT_TRUE(wait_count(0));
  std::vector<std::thread> users;
  for (int t = 0; t < 4; ++t) {
    users.emplace_back([conn] {
      for (int i = 0; i < 100; ++i) conn->send_text("late");
      conn->close();
    });
  }
  for (auto& u : users) u.join();
  EXPECT_EQ(conn->id(), id);

  auto again = connect();  // the listener is fine
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->send_text("x"));
  EXPECT_EQ(again->receive_text(2s).value(), "x");
  std::lock_guard lock{h->mu};
  EXPECT_EQ(h->closed_calls, 1);
  EXPECT_EQ(h->calls_after_close, 0);
}

TEST_F(WsListener, CloseSendsQueuedFramesFirst) {
  hook_ = [](ws_connection& conn, const std::string& frame) {
    if (frame != "bye") return;
    conn.send_text("a");
    conn.send_text("b");
    conn.close();
    conn.send_text("after close");  // dropped
  };
  start(listener_options{}, /*echo=*/false);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text("bye"));
  EXPECT_EQ(c->receive_text(2s).value(), "a");
  EXPECT_EQ(c->receive_text(2s).value(), "b");
  EXPECT_EQ(c->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ(c->close_code(), 1000);
  auto h = handler(0);
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::closed_by_server);
}

TEST_F(WsListener, StopAllClosesEveryConnection) {
  start();
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a && b);
  raw_socket http_client{listener_->port()};  // a keep-alive HTTP connection
  ASSERT_TRUE(http_client.send_all("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(http_client.read_response().rfind("HTTP/1.1 404", 0), 0u);
  ASSERT_TRUE(wait_count(2));

  listener_->stop_all();
  EXPECT_EQ(a->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ(b->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ(a->close_code(), 1000);
  for (std::size_t i = 0; i < 2; ++i) {
    auto h = handler(i);
    ASSERT_TRUE(h->wait_closed());
    EXPECT_EQ(h->closed_reason(), close_reason::closed_by_server);
  }
  EXPECT_TRUE(http_client.wait_peer_closed());
  EXPECT_TRUE(wait_count(0));
  auto late = ws_client::connect(client_opts());
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), client_error::connect_failed);
}

TEST_F(WsListener, StopAllWritesTheFramesAlreadyQueuedBeforeTheCloseFrame) {
  // More than the loopback socket buffers hold, so writes are still under
  // way when stop_all runs: they must reach the peer whole, then the close.
  constexpr std::size_t frames = 256;
  const std::string payload(64 * 1024, 'x');
  hook_ = [&](ws_connection& conn, const std::string& frame) {
    if (frame != "burst") return;
    for (std::size_t i = 0; i < frames; ++i) conn.send_text(std::to_string(i) + payload);
  };
  listener_options options;
  options.max_queued_bytes = 2 * frames * payload.size();
  start(options, /*echo=*/false);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_text("burst"));
  auto h = handler(0);
  ASSERT_TRUE(h && h->wait_texts(1));  // the hook has queued every frame
  listener_->stop_all();
  for (std::size_t i = 0; i < frames; ++i) {
    auto frame = c->receive_text(5s);
    ASSERT_TRUE(frame) << "frame " << i << ": " << to_string(frame.error());
    EXPECT_EQ(*frame, std::to_string(i) + payload) << "frame " << i;
  }
  EXPECT_EQ(c->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ(c->close_code(), 1000);
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::closed_by_server);
  EXPECT_TRUE(wait_count(0));
}

TEST_F(WsListener, AbortAllDropsConnectionsWhosePeerNeverAnswersTheClose) {
  start();
  auto silent = connect();  // never reads: stop_all's close frame goes unanswered
  ASSERT_TRUE(silent);
  ASSERT_TRUE(wait_count(1));
  listener_->stop_all();
  auto h = handler(0);
  ASSERT_TRUE(h);
  // The close handshake waits for the peer's half...
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(listener_->connection_count(), 1u);
  EXPECT_FALSE(h->closed_reason().has_value());
  // ...until abort_all drops the connection without it.
  listener_->abort_all();
  ASSERT_TRUE(h->wait_closed());
  EXPECT_EQ(h->closed_reason(), close_reason::closed_by_server);
  EXPECT_TRUE(wait_count(0));
  // The peer finds the close frame, then the end of the connection.
  EXPECT_EQ(silent->receive_text(2s).error(), client_error::closed);
  std::lock_guard lock{h->mu};
  EXPECT_EQ(h->closed_calls, 1);
}

TEST_F(WsListener, RefusesUpgradesBeyondMaxConnections) {
  listener_options options;
  options.max_connections = 1;
  start(options);
  auto first = connect();
  ASSERT_TRUE(first);
  auto second = ws_client::connect(client_opts());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), client_error::handshake_failed);
  EXPECT_EQ(listener_->connection_count(), 1u);

  first->close();
  ASSERT_TRUE(wait_count(0));
  auto third = connect();
  ASSERT_TRUE(third);
  ASSERT_TRUE(third->send_text("ok"));
  EXPECT_EQ(third->receive_text(2s).value(), "ok");
}

TEST_F(WsListener, IdleTimeoutClosesASilentPeerButNotAReadingOne) {
  listener_options options;
  options.idle_timeout = 200ms;  // a ping after 200-400 ms of silence, closed 200 ms later
  start(options);
  // A reading client answers the keep-alive pings and stays.
  auto reader = connect();
  ASSERT_TRUE(reader);
  // A raw peer that upgrades and then never reads nor answers.
  raw_socket silent{listener_->port()};
  ASSERT_TRUE(silent.send_all(upgrade_request));
  EXPECT_EQ(silent.read_until(has_head).rfind("HTTP/1.1 101", 0), 0u);

  // Waiting in receive_text, the reader answers pings while the silent peer times out.
  EXPECT_EQ(reader->receive_text(900ms).error(), client_error::timeout);
  auto hs = handler(1);
  ASSERT_TRUE(hs->wait_closed());
  EXPECT_EQ(hs->closed_reason(), close_reason::idle_timeout);
  ASSERT_TRUE(reader->send_text("alive"));
  EXPECT_EQ(reader->receive_text(2s).value(), "alive");
  EXPECT_FALSE(handler(0)->closed_reason().has_value());
}

TEST_F(WsListener, StartFailsOnBadAddressOrBusyPort) {
  start();
  listener_options bad;
  bad.address = "not an address";
  auto r1 = ws_listener::start(runner_.io(), bad, {});
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error(), listen_error::bad_address);
  listener_options busy;
  busy.port = listener_->port();
  auto r2 = ws_listener::start(runner_.io(), busy, {});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error(), listen_error::bind_failed);
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Out of descriptors, accept fails with EMFILE: the loop must back off (not
// spin) and accept again once descriptors are free.
TEST_F(WsListener, AcceptBacksOffWhenOutOfDescriptorsAndRecovers) {
#ifdef PAYSYNC_UBSAN
  // UBSan's first check of each virtual call tests the memory with a pipe;
  // with every descriptor taken that fails and it reports an "invalid vptr"
  // on healthy objects (Asio's, Boost.System's, ours). The normal build runs it.
  GTEST_SKIP() << "needs free descriptors for UBSan's vptr checks";
#endif
  start();
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = open_fd_count() + 16;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fillers.push_back(fd);
  ASSERT_FALSE(fillers.empty());
  ::close(fillers.back());  // exactly one descriptor left: for the client
  fillers.pop_back();

  errno = 0;
  raw_socket client{listener_->port()};  // the kernel completes the TCP handshake
  const bool connected = client.connected();
  const int connect_errno = errno;  // once under ctest -j2: not connected, cause unknown
  const double cpu_before = cpu_seconds();
  std::this_thread::sleep_for(300ms);  // measuring what the accept loop does meanwhile
  const double cpu_used = cpu_seconds() - cpu_before;

  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(connected) << "socket " << client.fd() << ": " << std::strerror(connect_errno);
  EXPECT_LT(cpu_used, 0.1) << "the accept loop spins on EMFILE";

  ASSERT_TRUE(client.send_all("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto response = client.read_response(2500ms);
  EXPECT_EQ(response.rfind("HTTP/1.1 404", 0), 0u) << response;
}

std::size_t rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// Not a test: measures the server's RSS per idle WebSocket connection. Run with
// --gtest_also_run_disabled_tests --gtest_filter='*IdleRss*'.
TEST_F(WsListener, DISABLED_IdleRssPerConnection) {
  constexpr int connections = 2000;
  // What an application holds per connection at the least: the ws_connection.
  struct minimal_handler final : ws_handler {
    explicit minimal_handler(std::shared_ptr<ws_connection> c) : conn(std::move(c)) {}
    void on_text(std::string frame) override { conn->send_text(std::move(frame)); }
    void on_binary(std::string) override {}
    void on_oversized(std::size_t) override {}
    void on_closed(close_reason) override {}
    std::shared_ptr<ws_connection> conn;
  };
  make_handler_ = [](std::shared_ptr<ws_connection> conn) {
    return std::make_shared<minimal_handler>(std::move(conn));
  };
  listener_options options;
  options.idle_timeout = 0ms;
  start(options);
  // Warm up allocator and io machinery with one connection.
  auto warm = connect();
  ASSERT_TRUE(warm);
  const auto before = rss_kb();
  std::vector<std::unique_ptr<raw_socket>> peers;
  for (int i = 0; i < connections; ++i) {
    auto s = std::make_unique<raw_socket>(listener_->port());
    ASSERT_TRUE(s->connected());
    ASSERT_TRUE(s->send_all(upgrade_request));
    ASSERT_EQ(s->read_until(has_head).rfind("HTTP/1.1 101", 0), 0u);
    peers.push_back(std::move(s));
  }
  ASSERT_TRUE(wait_count(connections + 1));
  const auto after = rss_kb();
  std::printf("idle connections: %d, RSS %zu KB -> %zu KB, %.2f KB per connection\n", connections,
              before, after, static_cast<double>(after - before) / connections);
  // One echo on each (a masked text frame "hi" with a zero key), then idle again.
  const std::string frame{"\x81\x82\x00\x00\x00\x00hi", 8};
  for (auto& s : peers) {
    ASSERT_TRUE(s->send_all(frame));
    ASSERT_EQ(s->read_until([](const std::string& b) { return b.size() >= 4; }), "\x81\x02hi");
  }
  const auto after_echo = rss_kb();
  std::printf("after one echo each: RSS %zu KB, %.2f KB per connection\n", after_echo,
              static_cast<double>(after_echo - before) / connections);
}

}  // namespace
}  // namespace paysync::protocols
