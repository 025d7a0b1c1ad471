#pragma once

// What a successful decode promises (protocols/message_codec.hpp): every
// bounded field is within its bound, so nothing a peer sends makes the actors
// store or echo more than the protocol allows.

#include <variant>

#include "protocols/message_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace paysync::fuzz {

namespace p = protocols;

inline void check_lines(const std::vector<p::order_line>& lines) {
  require(lines.size() <= p::max_order_lines, "order lines within max_order_lines");
  for (const auto& l : lines) {
    require(!l.sku.empty() && l.sku.size() <= p::max_sku_bytes, "sku of 1..max_sku_bytes");
    require(l.qty >= 1 && l.qty <= p::max_item_quantity, "quantity of 1..999");
  }
}

inline void check_body(const p::hello_msg& m) {
  require(m.terminal.size() <= p::max_id_bytes, "terminal id within max_id_bytes");
}
inline void check_body(const p::open_msg& m) {
  require(m.reference.size() <= p::max_reference_bytes, "reference within bounds");
  require(!m.amount || m.amount->amount_minor > 0, "an amount is positive");
  require(!m.ttl_s || *m.ttl_s > 0, "ttl_s is positive");
}
inline void check_body(const p::catalogue_msg& m) {
  require(m.items.size() <= p::max_catalogue_items, "items within max_catalogue_items");
  for (const auto& i : m.items) {
    require(!i.sku.empty() && i.sku.size() <= p::max_sku_bytes, "item sku within bounds");
    require(i.name.size() <= p::max_item_name_bytes, "item name within bounds");
    require(i.price_minor >= 0, "item price not negative");
    require(i.max_qty >= 1 && i.max_qty <= p::max_item_quantity, "item max_qty of 1..999");
  }
}
inline void check_body(const p::refund_msg& m) {
  require(m.amount.amount_minor > 0, "a refund is positive");
  require(m.reason.size() <= p::max_reason_bytes, "refund reason within bounds");
}
inline void check_body(const p::amount_msg& m) {
  require(m.amount.amount_minor > 0, "an amount is positive");
}
inline void check_body(const p::cancel_msg& m) {
  require(m.reason.size() <= p::max_reason_bytes, "cancel reason within bounds");
}
inline void check_body(const p::join_msg& m) { require(!m.key.empty(), "a join names its key"); }
inline void check_body(const p::order_msg& m) {
  check_lines(m.lines);
  require(m.note.size() <= p::max_note_bytes, "order note within bounds");
}
inline void check_body(const p::history_msg& m) {
  require(m.limit >= 1 && m.limit <= p::max_history_page, "history limit of 1..max_history_page");
}
inline void check_body(const p::auth_answer_msg& m) {
  require(m.answer.size() <= p::max_answer_bytes, "answer within max_answer_bytes");
}
inline void check_body(const p::centre_hello_msg& m) {
  require(m.centre.size() <= p::max_id_bytes, "centre id within max_id_bytes");
}
inline void check_body(const p::forward_order_msg& m) {
  check_lines(m.lines);
  require(m.note.size() <= p::max_note_bytes, "forwarded note within bounds");
  require(m.reference.size() <= p::max_reference_bytes, "forwarded reference within bounds");
}
template <class Other>
void check_body(const Other&) {}

inline void check_ref(const boost::json::value& ref) {
  require(ref.is_null() || ref.is_int64() || ref.is_uint64() ||
              (ref.is_string() && ref.get_string().size() <= p::max_ref_bytes),
          "a ref is null, an integer or a string of at most max_ref_bytes");
}

// Decodes `frame`, checks what it promises, and encodes the replies that echo
// parts of it (the ref, the error message) as the sessions do.
template <class Decode>
void check_decoded(std::string_view frame, Decode decode) {
  const auto decoded = decode(frame);
  if (decoded) {
    std::visit([](const auto& body) { check_body(body); }, decoded->body);
    require(decoded->idempotency_key.size() <= p::max_idempotency_key_bytes,
            "idempotency key within bounds");
    require(decoded->idempotency_key.empty() == decoded->fingerprint.empty(),
            "a fingerprint exactly when there is an idempotency key");
    check_ref(decoded->ref);
    // The ref is echoed verbatim in every reply.
    const auto reply = p::encode_error(decoded->ref, p::wire_error::bad_message, "x");
    require(!reply.empty(), "a reply encodes");
  } else {
    check_ref(decoded.error().ref);
    const auto reply =
        p::encode_error(decoded.error().ref, decoded.error().code, decoded.error().message);
    require(!reply.empty(), "an error reply encodes");
  }
}

}  // namespace paysync::fuzz
