#pragma once

#include <array>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Terminals prove who they are with Ed25519 (libsodium): `hello` names the
// terminal, the switch answers a fresh nonce, and the terminal signs
// "paysync/hello/v1|<terminal id>|<nonce>" with its secret key. A stolen
// terminal id is worthless without the key, and a captured signature is
// worthless on any other connection (its nonce is single-use).
namespace paysync::protocols {

inline constexpr std::size_t terminal_public_key_bytes = 32;
inline constexpr std::size_t terminal_secret_key_bytes = 64;

struct terminal_keypair {
  std::array<std::uint8_t, terminal_public_key_bytes> public_key{};
  std::array<std::uint8_t, terminal_secret_key_bytes> secret_key{};
  ~terminal_keypair();
};

terminal_keypair generate_terminal_keypair();

// Unpadded base64url, the encoding of keys, nonces and signatures on the wire.
std::string to_base64url(std::string_view bytes);
std::optional<std::string> from_base64url(std::string_view text);

// 32 CSPRNG bytes, base64url.
std::string make_hello_nonce();

std::string sign_hello(const terminal_keypair& keys, std::string_view terminal_id,
                       std::string_view nonce);
bool verify_hello(std::string_view public_key, std::string_view terminal_id, std::string_view nonce,
                  std::string_view signature_b64url) noexcept;

// A secret key file: one line "paysync-terminal-key-v1 <base64url secret key>"
// (the public key is its second half), mode 0600.
boost::system::result<void, std::string> write_terminal_key_file(const std::string& path,
                                                                 const terminal_keypair& keys);
boost::system::result<terminal_keypair, std::string> read_terminal_key_file(
    const std::string& path);

}  // namespace paysync::protocols
