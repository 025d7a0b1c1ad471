#pragma once

// A blocking TLS client for tests: one HTTP/1.1 request over a fresh TLS
// connection to 127.0.0.1, any certificate accepted, everything read until
// the server closes. No Beast: Asio's ssl::stream and a hand-written request.

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <string>

namespace paysync::testing_support {

struct tls_probe_result {
  bool handshake_ok = false;
  std::string error;     // why the handshake or the request failed
  std::string response;  // the raw HTTP response (head and body)
  std::string protocol;  // "TLSv1.2", "TLSv1.3"
};

// `request` is sent as it is (it should say "Connection: close"). With
// `max_version` set (e.g. TLS1_1_VERSION) the client offers nothing newer.
inline tls_probe_result tls_probe(std::uint16_t port, const std::string& request,
                                  int max_version = 0) {
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  tls_probe_result out;
  net::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  if (max_version != 0) {
    SSL_CTX_set_min_proto_version(ctx.native_handle(), 0);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    SSL_CTX_set_security_level(ctx.native_handle(), 0);  // let OpenSSL 3 offer TLS 1.1
  }
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<net::ip::tcp::socket> stream{io, ctx};
  boost::system::error_code ec;
  stream.lowest_layer().connect({net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    out.error = "connect: " + ec.message();
    return out;
  }
  // Never hang a test: every blocking read gives up after 5 s.
  timeval limit{5, 0};
  ::setsockopt(stream.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
               sizeof limit);
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) {
    out.error = "handshake: " + ec.message();
    return out;
  }
  out.handshake_ok = true;
  out.protocol = SSL_get_version(stream.native_handle());
  if (request.empty()) return out;
  net::write(stream, net::buffer(request), ec);
  if (ec) {
    out.error = "write: " + ec.message();
    return out;
  }
  char chunk[4096];
  for (;;) {
    const auto n = stream.read_some(net::buffer(chunk), ec);
    out.response.append(chunk, n);
    if (ec) break;  // eof, or a truncated stream when the server skips close_notify
  }
  return out;
}

}  // namespace paysync::testing_support
