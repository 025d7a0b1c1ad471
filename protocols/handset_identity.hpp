#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocols/trusted_gateway.hpp"
#include "protocols/ws_listener.hpp"

namespace paysync::protocols {

// Who is on the other end of a handset connection: the calling number
// (MSISDN, claim 12), from one of two sources only.
//
// 1. The header a trusted carrier gateway inserts (X-MSISDN by default), when
//    the TCP peer is in `gateways`. From any other peer the header is ignored.
// 2. A cookie the switch itself issued, `paysync_msisdn=<msisdn>.<expiry_unix_s>.<mac>`,
//    where <mac> is base64url (no padding) of crypto_auth (HMAC-SHA512-256)
//    over the number and expiry under a per-process secret key.
//
// Why the cookie: carriers enrich a browser's page GET with the number, but
// the WebSocket upgrade the page opens afterwards may not carry the header.
// The link page's response sets the cookie (issue_cookie) when the page request
// came from a trusted gateway with a number; the browser presents it on the
// upgrade. A forged, altered or expired cookie is ignored. The key lives only
// in memory, so a restart invalidates every cookie (they last 15 minutes).
//
// Thread-safe: every member is const after construction.
class handset_identity {
 public:
  static constexpr std::size_t key_bytes = 32;  // crypto_auth_KEYBYTES
  static constexpr std::int64_t cookie_max_age_s = 900;
  static constexpr std::string_view cookie_name = "paysync_msisdn";

  // `msisdn_header`: the gateway's header name (any case; compared lower-case).
  // REQUIRES: sodium_init() succeeded (for random_key and the MAC).
  handset_identity(trusted_gateways gateways, std::span<const std::uint8_t, key_bytes> key,
                   std::string msisdn_header = "x-msisdn");
  ~handset_identity();
  handset_identity(const handset_identity&) = delete;
  handset_identity& operator=(const handset_identity&) = delete;

  // key_bytes from libsodium's CSPRNG: one per process, never stored.
  static std::array<std::uint8_t, key_bytes> random_key();

  // The normalised number (E.164 digits) from the header when the peer is a
  // trusted gateway; otherwise from a valid, unexpired cookie; otherwise "".
  std::string msisdn_of(const peer_request& request, std::int64_t now_unix_ms) const;

  // The normalised number from the header, only when the peer is a trusted
  // gateway; "" otherwise (and a warning is logged when an untrusted peer
  // presented one).
  std::string gateway_msisdn(const peer_request& request) const;

  // A Set-Cookie header value carrying `msisdn` for cookie_max_age_s seconds:
  // HttpOnly, SameSite=Strict, Path=/, and Secure when `secure` (the page came
  // over TLS, so the browser must never send it in plaintext). "" when
  // `msisdn` is not 8 to 15 digits.
  std::string issue_cookie(std::string_view msisdn, std::int64_t now_unix_ms,
                           bool secure = false) const;

 private:
  std::string mac_of(std::string_view msisdn, std::string_view expiry) const;
  std::string cookie_msisdn(std::string_view cookie_header, std::int64_t now_unix_ms) const;

  trusted_gateways gateways_;
  std::string header_;
  std::array<std::uint8_t, key_bytes> key_{};
};

}  // namespace paysync::protocols
