#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "storage/keyring.hpp"
#include "storage/store_error.hpp"

// PINs, passwords and answers are stored only as Argon2id hashes, and every
// biometric template only sealed with an AEAD. Both are keyed by the key file.
namespace paysync::storage {

// Argon2id cost: libsodium's INTERACTIVE setting (2 passes, 64 MiB) costs
// ~170 ms of CPU here — six PIN payments a second per core. A 4-digit PIN has
// 10,000 values, so no hash cost protects it against offline guessing on its
// own; the pepper does (an attacker with the database but not the key file
// cannot test a single guess). Argon2id stays for defence in depth at a cost
// the switch can pay: 2 passes over 1 MiB, ~1-3 ms (bench/auth measures it).
inline constexpr unsigned long long secret_hash_opslimit = 2;
inline constexpr std::size_t secret_hash_memlimit = 1 << 20;

// Normalises an answer for hashing and comparison: trims, lower-cases ASCII
// and folds runs of spaces, so "  Wanjiru " matches "wanjiru".
std::string normalise_answer(std::string_view answer);

// The Argon2id string (salt and parameters included) of HMAC(pepper, secret).
result<std::string> hash_secret(const keyring& keys, std::string_view secret);

// Whether `secret` matches `hash` (constant time in the secret).
bool verify_secret(const keyring& keys, std::string_view hash, std::string_view secret);

// Seals a template: 24-byte random nonce || XChaCha20-Poly1305 ciphertext,
// with "paysync/template/v1|<user id>|<factor id>" as associated data, so a
// template moved to another user or factor no longer opens.
std::string seal_template(const keyring& keys, std::string_view user_id, std::string_view factor_id,
                          std::span<const std::uint8_t> plain);

// The template, or corrupt when the ciphertext was tampered with, swapped or
// truncated.
result<std::string> open_template(const keyring& keys, std::string_view user_id,
                                  std::string_view factor_id, std::string_view sealed);

}  // namespace paysync::storage
