#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paysync::protocols {

// Where a transaction lives: the switch node and the registry shard that own
// it. Both are written into every id and token handed out, so any node can
// route a handset to the owner without a lookup.
struct txn_route {
  std::uint8_t node = 0;
  std::uint8_t shard = 0;
  friend bool operator==(const txn_route&, const txn_route&) = default;
};

enum class id_kind : std::uint8_t {
  transaction,  // "tx…": names the transaction in every message
  link_token,   // "lk…": the bearer secret inside the link a handset opens
};

// An id is 32 characters: a 2-letter kind prefix ("tx" or "lk"), the node and
// the shard as two lower-case hex digits each, then a 128-bit value in 26
// characters of Crockford base32 (lower case, most significant first), e.g.
// "tx0001" + "01m88wmrbm9cy9w7s0mnypx321". A link token's value is 128 bits
// from libsodium's CSPRNG: it is the bearer secret of a payment link. A
// transaction id's value is its creation time (milliseconds since the Unix
// epoch, 48 bits) followed by 80 CSPRNG bits, so ids made later sort later:
// the ledger indexes settlements by id, and keys that grow with time are
// appended to one edge of that B-tree instead of dirtying a random page per
// settlement on every commit (bench/README.md). 80 bits still make guessing
// a live id hopeless, and joins by id are rate-limited and locked out.
inline constexpr std::size_t id_length = 32;

// A created_unix_ms outside [0, 2^48) (2^48 ms is in the year 10889) is clamped into it.
std::string make_transaction_id(txn_route route, std::int64_t created_unix_ms);
std::string make_link_token(txn_route route);

// The route inside a well-formed id of `kind`; nullopt for anything else
// (wrong length, prefix, alphabet, or a value of more than 128 bits).
std::optional<txn_route> parse_id(id_kind kind, std::string_view id) noexcept;

// Short numeric codes for people to type: six digits whose value modulo
// `shard_count` is `shard`, so the code alone finds its shard. A code is only
// valid together with the merchant's till (it is bound to that merchant) and
// only while its transaction is open.
inline constexpr std::size_t code_length = 6;

// REQUIRES: 0 < shard_count <= 1000, shard < shard_count.
std::string make_code(std::uint16_t shard, std::uint16_t shard_count);

// The shard for a six-digit code, nullopt when `code` is not six ASCII digits.
std::optional<std::uint16_t> shard_of_code(std::string_view code,
                                           std::uint16_t shard_count) noexcept;

// Fills `out` with CSPRNG bytes. Draws from a per-thread 4 KiB buffer refilled
// by randombytes_buf, because one getrandom syscall per id would dominate the
// cost of opening a transaction (see docs/architecture.md).
void random_bytes(void* out, std::size_t size);

}  // namespace paysync::protocols
