#include "storage/secrets.hpp"

#include <sodium.h>

#include <cctype>
#include <cstring>

namespace paysync::storage {
namespace {

// HMAC-SHA512-256 of the secret under the pepper: the value Argon2id hashes.
std::array<unsigned char, crypto_auth_BYTES> peppered(const keyring& keys,
                                                      std::string_view secret) {
  std::array<unsigned char, crypto_auth_BYTES> mac{};
  crypto_auth(mac.data(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
              keys.pepper.data());
  return mac;
}

std::string associated_data(std::string_view user_id, std::string_view factor_id) {
  std::string ad = "paysync/template/v1|";
  ad.append(user_id).push_back('|');
  ad.append(factor_id);
  return ad;
}

}  // namespace

std::string normalise_answer(std::string_view answer) {
  std::string out;
  bool space = false;
  for (char c : answer) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

result<std::string> hash_secret(const keyring& keys, std::string_view secret) {
  auto mac = peppered(keys, secret);
  std::string out(crypto_pwhash_STRBYTES, '\0');
  const int rc = crypto_pwhash_str_alg(out.data(), reinterpret_cast<const char*>(mac.data()),
                                       mac.size(), secret_hash_opslimit, secret_hash_memlimit,
                                       crypto_pwhash_ALG_ARGON2ID13);
  sodium_memzero(mac.data(), mac.size());
  if (rc != 0) return store_error::io_error;
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool verify_secret(const keyring& keys, std::string_view hash, std::string_view secret) {
  std::string h(hash);  // crypto_pwhash_str_verify wants a NUL-terminated string
  auto mac = peppered(keys, secret);
  const bool ok = crypto_pwhash_str_verify(h.c_str(), reinterpret_cast<const char*>(mac.data()),
                                           mac.size()) == 0;
  sodium_memzero(mac.data(), mac.size());
  return ok;
}

std::string seal_template(const keyring& keys, std::string_view user_id, std::string_view factor_id,
                          std::span<const std::uint8_t> plain) {
  const auto ad = associated_data(user_id, factor_id);
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                             &written, plain.data(), plain.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()),
                                             ad.size(), nullptr, nonce, keys.template_key.data());
  out.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return out;
}

result<std::string> open_template(const keyring& keys, std::string_view user_id,
                                  std::string_view factor_id, std::string_view sealed) {
  constexpr auto overhead =
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < overhead) return store_error::corrupt;
  const auto ad = associated_data(user_id, factor_id);
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plain(sealed.size() - overhead, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &written, nullptr,
          nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce,
          keys.template_key.data()) != 0) {
    return store_error::corrupt;
  }
  plain.resize(written);
  return plain;
}

}  // namespace paysync::storage
