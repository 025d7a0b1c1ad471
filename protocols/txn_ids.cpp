#include "protocols/txn_ids.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

namespace paysync::protocols {
namespace {

constexpr std::string_view base32_alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t value_bytes = 16;
constexpr std::size_t base32_chars = 26;  // ceil(128 / 5); the top 2 bits are zero
constexpr std::string_view hex_digits = "0123456789abcdef";

std::string_view prefix_of(id_kind kind) { return kind == id_kind::transaction ? "tx" : "lk"; }

int base32_value(char c) noexcept {
  auto pos = base32_alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

int hex_value(char c) noexcept {
  auto pos = hex_digits.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Encodes 128 bits as 26 base32 digits, most significant first.
void encode_base32(const std::uint8_t (&bytes)[value_bytes], char* out) {
  unsigned __int128 value = 0;
  for (auto b : bytes) value = (value << 8) | b;
  for (std::size_t i = base32_chars; i-- > 0;) {
    out[i] = base32_alphabet[static_cast<std::size_t>(value & 31u)];
    value >>= 5;
  }
}

struct random_buffer {
  std::array<std::uint8_t, 4096> bytes{};
  std::size_t used = sizeof(bytes);  // empty until first use
  ~random_buffer() { sodium_memzero(bytes.data(), bytes.size()); }
};

constexpr std::size_t time_bytes = 6;  // 48 bits of milliseconds

std::string id_from(id_kind kind, txn_route route, const std::uint8_t (&value)[value_bytes]) {
  std::string id;
  id.resize(id_length);
  auto prefix = prefix_of(kind);
  id[0] = prefix[0];
  id[1] = prefix[1];
  id[2] = hex_digits[route.node >> 4];
  id[3] = hex_digits[route.node & 15];
  id[4] = hex_digits[route.shard >> 4];
  id[5] = hex_digits[route.shard & 15];
  encode_base32(value, id.data() + 6);
  return id;
}

}  // namespace

void random_bytes(void* out, std::size_t size) {
  thread_local random_buffer buffer;
  auto* dst = static_cast<std::uint8_t*>(out);
  while (size > 0) {
    if (buffer.used == buffer.bytes.size()) {
      randombytes_buf(buffer.bytes.data(), buffer.bytes.size());
      buffer.used = 0;
    }
    const std::size_t n = std::min(size, buffer.bytes.size() - buffer.used);
    std::memcpy(dst, buffer.bytes.data() + buffer.used, n);
    // Consumed bytes are erased so an id cannot be recovered from the buffer later.
    sodium_memzero(buffer.bytes.data() + buffer.used, n);
    buffer.used += n;
    dst += n;
    size -= n;
  }
}

std::string make_transaction_id(txn_route route, std::int64_t created_unix_ms) {
  constexpr std::int64_t latest = (std::int64_t{1} << (8 * time_bytes)) - 1;
  auto ms = static_cast<std::uint64_t>(std::clamp<std::int64_t>(created_unix_ms, 0, latest));
  std::uint8_t value[value_bytes];
  for (std::size_t i = time_bytes; i-- > 0;) {
    value[i] = static_cast<std::uint8_t>(ms & 0xffu);
    ms >>= 8;
  }
  random_bytes(value + time_bytes, sizeof(value) - time_bytes);
  return id_from(id_kind::transaction, route, value);
}

std::string make_link_token(txn_route route) {
  std::uint8_t value[value_bytes];
  random_bytes(value, sizeof(value));
  return id_from(id_kind::link_token, route, value);
}

std::optional<txn_route> parse_id(id_kind kind, std::string_view id) noexcept {
  if (id.size() != id_length || id.substr(0, 2) != prefix_of(kind)) return std::nullopt;
  int digits[4];
  for (int i = 0; i < 4; ++i) {
    digits[i] = hex_value(id[2 + i]);
    if (digits[i] < 0) return std::nullopt;
  }
  // 26 base32 digits hold 130 bits; a canonical 128-bit value leaves the first < 8.
  int first = base32_value(id[6]);
  if (first < 0 || first >= 8) return std::nullopt;
  for (std::size_t i = 7; i < id_length; ++i) {
    if (base32_value(id[i]) < 0) return std::nullopt;
  }
  return txn_route{static_cast<std::uint8_t>(digits[0] * 16 + digits[1]),
                   static_cast<std::uint8_t>(digits[2] * 16 + digits[3])};
}

std::string make_code(std::uint16_t shard, std::uint16_t shard_count) {
  assert(shard_count > 0 && shard_count <= 1000 && shard < shard_count);
  constexpr std::uint32_t code_space = 1'000'000;
  // Codes c with c % shard_count == shard are shard + k * shard_count for
  // k in [0, slots); pick k uniformly.
  const std::uint32_t slots = (code_space - shard + shard_count - 1) / shard_count;
  std::uint32_t k = 0;
  random_bytes(&k, sizeof(k));
  // Rejection sampling keeps the choice uniform.
  const std::uint32_t limit = UINT32_MAX - (UINT32_MAX % slots);
  while (k >= limit) random_bytes(&k, sizeof(k));
  const std::uint32_t value = shard + (k % slots) * shard_count;
  std::string code(code_length, '0');
  std::uint32_t v = value;
  for (std::size_t i = code_length; i-- > 0;) {
    code[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return code;
}

std::optional<std::uint16_t> shard_of_code(std::string_view code,
                                           std::uint16_t shard_count) noexcept {
  if (code.size() != code_length || shard_count == 0) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return static_cast<std::uint16_t>(value % shard_count);
}

}  // namespace paysync::protocols
