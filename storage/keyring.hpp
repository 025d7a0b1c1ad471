#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "storage/store_error.hpp"

namespace paysync::storage {

// The switch's secrets, kept in one key file beside the LMDB files (mode
// 0600, created on first start). A stolen database without this file gives
// an attacker neither the biometric templates nor a way to test PIN guesses
// offline.
struct keyring {
  std::array<std::uint8_t, 32> template_key{};  // XChaCha20-Poly1305 key for templates
  std::array<std::uint8_t, 32> pepper{};  // keys the HMAC applied to every secret before Argon2id
  std::array<std::uint8_t, 32> signing_seed{};  // Ed25519 seed (receipts)
  ~keyring();
};

// Reads the key file at `path`, or creates it (0600) with fresh CSPRNG keys
// when it does not exist. Fails with invalid_argument when the file exists
// but is readable by others (wider than 0600) or has the wrong size or magic,
// and io_error when it cannot be read or written.
result<keyring> load_or_create_keyring(const std::string& path);

}  // namespace paysync::storage
