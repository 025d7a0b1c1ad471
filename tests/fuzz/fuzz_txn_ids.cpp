// libFuzzer target: transaction ids, link tokens and six-digit codes
// (protocols/txn_ids.hpp), as a handset's join names them.

#include <cstddef>
#include <cstdint>

#include "protocols/txn_ids.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace p = paysync::protocols;
using paysync::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = paysync::fuzz::text_of(data, size);
  for (const auto kind : {p::id_kind::transaction, p::id_kind::link_token}) {
    if (const auto route = p::parse_id(kind, text)) {
      require(text.size() == p::id_length, "a parsed id is id_length long");
      require(text.substr(0, 2) == (kind == p::id_kind::transaction ? "tx" : "lk"),
              "a parsed id has its kind's prefix");
      // A fresh id for the same route parses back to it.
      const auto fresh = kind == p::id_kind::transaction
                             ? p::make_transaction_id(*route, static_cast<std::int64_t>(size) << 30)
                             : p::make_link_token(*route);
      require(p::parse_id(kind, fresh) == route, "a fresh id round-trips");
    }
  }
  // The shard count comes from the first two bytes (1..1000), the code from the rest.
  if (size >= 2) {
    const auto shard_count = static_cast<std::uint16_t>((data[0] << 8 | data[1]) % 1000 + 1);
    const auto code = text.substr(2);
    if (const auto shard = p::shard_of_code(code, shard_count)) {
      require(code.size() == p::code_length, "a code is code_length digits");
      require(*shard < shard_count, "a code's shard is below the shard count");
    }
    const auto shard = static_cast<std::uint16_t>(size % shard_count);
    require(p::shard_of_code(p::make_code(shard, shard_count), shard_count) == shard,
            "make_code round-trips");
  }
  return 0;
}
