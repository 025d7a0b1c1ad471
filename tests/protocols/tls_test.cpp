// TLS on the listener and the client: real sockets on 127.0.0.1, a real
// self-signed pair written to a scratch directory.

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <mutex>
#include <random>

#include "protocols/terminal_client.hpp"
#include "protocols/tls_context.hpp"
#include "protocols/ws_listener.hpp"
#include "tests/protocols/net_test_support.hpp"
#include "tests/support/temp_directory.hpp"
#include "tests/support/tls_probe.hpp"

namespace paysync::protocols {
namespace {

using namespace std::chrono_literals;
using testing::has_head;
using testing::io_runner;
using testing::raw_socket;
using testing::recording_handler;
using testing_support::tls_probe;

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = load_server_tls({"", "", dir_.sub("tls")});
    ASSERT_TRUE(loaded) << describe(loaded.error());
    tls_ = std::move(*loaded);
  }

  void start(bool required) {
    listener_options options;
    options.tls = tls_.context;
    options.tls_required = required;
    options.handshake_timeout = 2s;
    listener_callbacks callbacks;
    callbacks.on_connect = [this](std::shared_ptr<ws_connection> conn,
                                  const peer_request& peer) -> std::shared_ptr<ws_handler> {
      std::lock_guard lock{mu_};
      peers_.push_back(peer);
      return std::make_shared<recording_handler>(std::move(conn));
    };
    callbacks.on_http = [this](const peer_request& peer) {
      std::lock_guard lock{mu_};
      peers_.push_back(peer);
      return http_response{200, "text/plain", "page\n", {}};
    };
    auto started = ws_listener::start(runner_.io(), options, std::move(callbacks));
    ASSERT_TRUE(started) << to_string(started.error());
    listener_ = *started;
  }

  void TearDown() override {
    if (listener_) listener_->stop_all();
  }

  client_result<std::unique_ptr<ws_client>> connect(client_tls tls) {
    client_options o;
    o.port = listener_->port();
    o.connect_timeout = 2s;
    o.tls = std::move(tls);
    return ws_client::connect(o);
  }
  client_tls pinned() const { return {true, "", tls_.fingerprint_sha256, false}; }

  std::vector<peer_request> peers() {
    std::lock_guard lock{mu_};
    return peers_;
  }

  testing_support::scratch_directory dir_;
  server_tls tls_;
  io_runner runner_;
  std::shared_ptr<ws_listener> listener_;
  std::mutex mu_;
  std::vector<peer_request> peers_;
};

TEST_F(Tls, WssRoundTripWithThePinnedCertificate) {
  start(true);
  auto c = connect(pinned());
  ASSERT_TRUE(c) << to_string(c.error());
  ASSERT_TRUE((*c)->send_text("over tls"));
  EXPECT_EQ((*c)->receive_text(2s).value(), "over tls");
  ASSERT_EQ(peers().size(), 1u);
  EXPECT_TRUE(peers()[0].secure);
  (*c)->close();
}

TEST_F(Tls, TheSelfSignedCertificateServesAsItsOwnCaFor127001) {
  start(false);
  auto c = connect({true, tls_.certificate_file, "", false});
  ASSERT_TRUE(c) << to_string(c.error());
  ASSERT_TRUE((*c)->send_text("verified"));
  EXPECT_EQ((*c)->receive_text(2s).value(), "verified");
}

TEST_F(Tls, WithoutTrustTheHandshakeFailsAsAValue) {
  start(false);
  auto c = connect({true, "", "", false});  // the system's CAs never signed it
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::tls_failed);
}

TEST_F(Tls, MessagesLongerThanTheFirstReadArriveWholeOverTls) {
  start(false);
  auto c = connect(pinned());
  ASSERT_TRUE(c) << to_string(c.error());
  for (const std::size_t size : {255u, 256u, 257u, 20000u, 60000u, 1u}) {
    std::string text(size, 'a');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    ASSERT_TRUE((*c)->send_text(text));
    EXPECT_EQ((*c)->receive_text(2s).value(), text) << size << " bytes";
  }
}

TEST_F(Tls, AutoServesPlaintextAndTlsOnOnePort) {
  start(false);
  auto plain = connect({});
  ASSERT_TRUE(plain) << to_string(plain.error());
  auto secure = connect(pinned());
  ASSERT_TRUE(secure) << to_string(secure.error());
  ASSERT_TRUE((*plain)->send_text("plain"));
  ASSERT_TRUE((*secure)->send_text("secure"));
  EXPECT_EQ((*plain)->receive_text(2s).value(), "plain");
  EXPECT_EQ((*secure)->receive_text(2s).value(), "secure");
  auto seen = peers();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].secure, seen[1].secure);
}

TEST_F(Tls, RequiredAnswersPlaintextHttpWith426AndWhereToGo) {
  start(true);
  raw_socket s{listener_->port()};
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("GET /pay/m-kahawa/lkX HTTP/1.1\r\nHost: 127.0.0.1:7800\r\n\r\n"));
  const auto response = s.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Upgrade: TLS/1.2, HTTP/1.1\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("use https://"), std::string::npos) << response;
  EXPECT_NE(response.find("https://127.0.0.1:7800/pay/m-kahawa/lkX"), std::string::npos);
  EXPECT_TRUE(s.wait_peer_closed());
  EXPECT_TRUE(peers().empty()) << "the application never sees a plaintext request";
}

TEST_F(Tls, RequiredRefusesAPlaintextWebSocket) {
  start(true);
  auto c = connect({});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::handshake_failed);
  raw_socket s{listener_->port()};
  ASSERT_TRUE(s.send_all(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  const auto response = s.read_until(has_head);
  EXPECT_EQ(response.rfind("HTTP/1.1 426", 0), 0u) << response;
  EXPECT_NE(response.find("wss://127.0.0.1/"), std::string::npos) << response;
  EXPECT_EQ(listener_->connection_count(), 0u);
}

TEST_F(Tls, AWrongPinFailsTheHandshakeCleanlyAndTheServerGoesOn) {
  start(true);
  auto other = pinned();
  other.pin_sha256[0] = other.pin_sha256[0] == 'A' ? 'B' : 'A';
  auto c = connect(other);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::tls_failed);
  EXPECT_TRUE(peers().empty());
  auto good = connect(pinned());
  ASSERT_TRUE(good) << to_string(good.error());
}

TEST_F(Tls, AMalformedPinIsRefusedBeforeConnecting) {
  start(true);
  auto c = connect({true, "", "not-a-fingerprint", false});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::tls_failed);
}

TEST_F(Tls, HttpsPagesAreServedAndMarkedSecure) {
  start(true);
  auto r =
      tls_probe(listener_->port(), "GET /pay HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r.handshake_ok) << r.error;
  EXPECT_EQ(r.response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.response;
  EXPECT_NE(r.response.find("\r\n\r\npage\n"), std::string::npos) << r.response;
  ASSERT_EQ(peers().size(), 1u);
  EXPECT_TRUE(peers()[0].secure);
  EXPECT_EQ(peers()[0].target, "/pay");
}

TEST_F(Tls, OldProtocolVersionsAreRefused) {
  start(true);
  auto old = tls_probe(listener_->port(), "", TLS1_1_VERSION);
  EXPECT_FALSE(old.handshake_ok);
  auto current = tls_probe(listener_->port(), "", TLS1_2_VERSION);
  EXPECT_TRUE(current.handshake_ok) << current.error;
  EXPECT_EQ(current.protocol, "TLSv1.2");
}

TEST_F(Tls, GarbageOnATlsPortClosesThatConnectionOnly) {
  start(true);
  std::mt19937 random{7};
  for (int round = 0; round < 12; ++round) {
    std::string junk(1 + random() % 600, '\0');
    for (auto& c : junk) c = static_cast<char>(random());
    if (round % 2 == 0) junk[0] = '\x16';  // looks like a TLS record: goes to the handshake
    if (round % 4 == 0 && junk.size() > 2) junk[1] = '\x03';
    raw_socket s{listener_->port()};
    ASSERT_TRUE(s.connected());
    s.send_all(junk);
    EXPECT_TRUE(s.wait_peer_closed(3s)) << "round " << round;
  }
  auto c = connect(pinned());
  ASSERT_TRUE(c) << to_string(c.error());
  ASSERT_TRUE((*c)->send_text("still here"));
  EXPECT_EQ((*c)->receive_text(2s).value(), "still here");
}

TEST_F(Tls, ASilentConnectionIsClosedAfterTheHandshakeTimeout) {
  start(false);
  raw_socket s{listener_->port()};
  ASSERT_TRUE(s.connected());
  EXPECT_TRUE(s.wait_peer_closed(4s));
}

TEST_F(Tls, StopAllClosesTlsAndPlaintextConnections) {
  start(false);
  auto plain = connect({});
  auto secure = connect(pinned());
  ASSERT_TRUE(plain && secure);
  listener_->stop_all();
  EXPECT_EQ((*plain)->receive_text(2s).error(), client_error::closed);
  EXPECT_EQ((*secure)->receive_text(2s).error(), client_error::closed);
}

}  // namespace
}  // namespace paysync::protocols
