#include "protocols/terminal_auth.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace paysync::protocols {
namespace {

constexpr std::string_view key_file_tag = "paysync-terminal-key-v1 ";

std::string hello_text(std::string_view terminal_id, std::string_view nonce) {
  std::string m = "paysync/hello/v1|";
  m.append(terminal_id).push_back('|');
  m.append(nonce);
  return m;
}

}  // namespace

terminal_keypair::~terminal_keypair() { sodium_memzero(secret_key.data(), secret_key.size()); }

terminal_keypair generate_terminal_keypair() {
  terminal_keypair k;
  crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

std::string to_base64url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  // libsodium 1.0.18 decodes every byte from 0x80 up as '_' (found by
  // tests/fuzz/fuzz_terminal_key): only the alphabet itself is base64url here.
  const auto in_alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  if (!std::all_of(text.begin(), text.end(), in_alphabet)) return std::nullopt;
  std::string out(text.size(), '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

std::string make_hello_nonce() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  return to_base64url(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string sign_hello(const terminal_keypair& keys, std::string_view terminal_id,
                       std::string_view nonce) {
  const auto m = hello_text(terminal_id, nonce);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                       keys.secret_key.data());
  return to_base64url(std::string_view(reinterpret_cast<const char*>(sig), sizeof(sig)));
}

bool verify_hello(std::string_view public_key, std::string_view terminal_id, std::string_view nonce,
                  std::string_view signature_b64url) noexcept {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) return false;
  auto sig = from_base64url(signature_b64url);
  if (!sig || sig->size() != crypto_sign_BYTES) return false;
  const auto m = hello_text(terminal_id, nonce);
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) ==
         0;
}

boost::system::result<void, std::string> write_terminal_key_file(const std::string& path,
                                                                 const terminal_keypair& keys) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot create " + path;
  std::string line(key_file_tag);
  line += to_base64url(std::string_view(reinterpret_cast<const char*>(keys.secret_key.data()),
                                        keys.secret_key.size()));
  line.push_back('\n');
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  sodium_memzero(line.data(), line.size());
  ::close(fd);
  if (!ok) return "cannot write " + path;
  return {};
}

boost::system::result<terminal_keypair, std::string> read_terminal_key_file(
    const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "cannot read the key file " + path;
  if (line.rfind(key_file_tag, 0) != 0) return path + " is not a paysync terminal key file";
  auto secret = from_base64url(std::string_view(line).substr(key_file_tag.size()));
  sodium_memzero(line.data(), line.size());
  if (!secret || secret->size() != terminal_secret_key_bytes) return path + " holds no valid key";
  terminal_keypair k;
  std::memcpy(k.secret_key.data(), secret->data(), terminal_secret_key_bytes);
  sodium_memzero(secret->data(), secret->size());
  crypto_sign_ed25519_sk_to_pk(k.public_key.data(), k.secret_key.data());
  return k;
}

}  // namespace paysync::protocols
