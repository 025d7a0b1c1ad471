#include "protocols/handset_identity.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace paysync::protocols {
namespace {

static_assert(handset_identity::key_bytes == crypto_auth_KEYBYTES);
constexpr std::size_t max_expiry_digits = 12;  // seconds until the year 33658

// What the MAC covers: a fixed context, so a MAC made for something else under
// the same key can never pass for a cookie, then the cookie's own fields.
std::string mac_input(std::string_view msisdn, std::string_view expiry) {
  std::string in = "paysync msisdn cookie v1\n";
  in += msisdn;
  in += '.';
  in += expiry;
  return in;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

handset_identity::handset_identity(trusted_gateways gateways,
                                   std::span<const std::uint8_t, key_bytes> key,
                                   std::string msisdn_header)
    : gateways_(std::move(gateways)), header_(std::move(msisdn_header)) {
  for (auto& c : header_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::copy(key.begin(), key.end(), key_.begin());
}

handset_identity::~handset_identity() { sodium_memzero(key_.data(), key_.size()); }

std::array<std::uint8_t, handset_identity::key_bytes> handset_identity::random_key() {
  std::array<std::uint8_t, key_bytes> key{};
  crypto_auth_keygen(key.data());
  return key;
}

std::string handset_identity::gateway_msisdn(const peer_request& request) const {
  const auto presented = request.header(header_);
  if (presented.empty()) return {};
  if (!gateways_.contains(request.remote_address)) {
    spdlog::warn("paying: ignored a caller number from untrusted address {}",
                 request.remote_address);
    return {};
  }
  return normalize_msisdn(presented);
}

std::string handset_identity::msisdn_of(const peer_request& request,
                                        std::int64_t now_unix_ms) const {
  if (auto number = gateway_msisdn(request); !number.empty()) return number;
  const auto cookies = request.header("cookie");
  if (cookies.empty()) return {};
  return cookie_msisdn(cookies, now_unix_ms);
}

std::string handset_identity::mac_of(std::string_view msisdn, std::string_view expiry) const {
  const auto in = mac_input(msisdn, expiry);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(in.data()), in.size(), key_.data());
  char text[sodium_base64_ENCODED_LEN(crypto_auth_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

std::string handset_identity::issue_cookie(std::string_view msisdn, std::int64_t now_unix_ms,
                                           bool secure) const {
  // Digits only, 8 to 15 of them.
  if (msisdn.empty() || normalize_msisdn(msisdn) != msisdn) return {};
  const auto expiry = std::to_string(now_unix_ms / 1000 + cookie_max_age_s);
  return std::string(cookie_name) + "=" + std::string(msisdn) + "." + expiry + "." +
         mac_of(msisdn, expiry) + "; Max-Age=" + std::to_string(cookie_max_age_s) +
         "; Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

// The first valid paysync_msisdn cookie in a Cookie header ("a=b; c=d"; repeated
// Cookie headers arrive joined with ", ", and no valid value contains a comma).
std::string handset_identity::cookie_msisdn(std::string_view header,
                                            std::int64_t now_unix_ms) const {
  const std::int64_t now_s = now_unix_ms / 1000;
  while (!header.empty()) {
    const auto end = header.find_first_of(";,");
    const auto pair = trim(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);

    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != cookie_name) continue;
    const auto value = pair.substr(eq + 1);
    const auto dot1 = value.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : value.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) continue;
    const auto msisdn = value.substr(0, dot1);
    const auto expiry = value.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto mac_text = value.substr(dot2 + 1);
    if (msisdn.size() < 8 || msisdn.size() > 15 || !all_digits(msisdn)) continue;
    if (expiry.size() > max_expiry_digits || !all_digits(expiry)) continue;

    unsigned char mac[crypto_auth_BYTES];
    std::size_t mac_len = 0;
    const char* mac_end = nullptr;
    if (sodium_base642bin(mac, sizeof mac, mac_text.data(), mac_text.size(), nullptr, &mac_len,
                          &mac_end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        mac_len != sizeof mac || mac_end != mac_text.data() + mac_text.size()) {
      continue;
    }
    const auto in = mac_input(msisdn, expiry);
    // Constant time: crypto_auth_verify compares with sodium_memcmp.
    if (crypto_auth_verify(mac, reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                           key_.data()) != 0) {
      continue;
    }
    const std::int64_t expires_s = std::stoll(std::string(expiry));
    // Expired; or valid for longer than this switch ever issues (its clock went back).
    if (expires_s <= now_s || expires_s > now_s + cookie_max_age_s + 60) continue;
    return std::string(msisdn);
  }
  return {};
}

}  // namespace paysync::protocols
