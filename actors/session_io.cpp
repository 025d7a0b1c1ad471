#include "actors/session_io.hpp"

#include <boost/json.hpp>

#include "protocols/message_codec.hpp"

namespace paysync::actors {

namespace json = boost::json;

bool session_io::admit(const request_meta& request, const std::string& fingerprint) {
  if (request.idempotency_key.empty()) return true;
  auto seen = keys_.begin(request.idempotency_key, fingerprint, request.ref);
  switch (seen.kind) {
    case idempotency_cache::verdict::first:
      return true;
    case idempotency_cache::verdict::replay:
      event(json::serialize(seen.reply));
      return false;
    case idempotency_cache::verdict::conflict:
      metrics_->refused(protocols::wire_error::idempotency_conflict);
      event(protocols::encode_error(
          request.ref, protocols::wire_error::idempotency_conflict,
          "idempotency_key \"" + request.idempotency_key + "\" was used for a different request"));
      return false;
    case idempotency_cache::verdict::waiting:
      return false;
  }
  return false;
}

void session_io::reply(const request_meta& request, std::string frame) {
  if (!request.idempotency_key.empty()) {
    for (auto& retry : keys_.complete(request.idempotency_key, json::parse(frame).as_object())) {
      event(json::serialize(retry));
    }
  }
  event(std::move(frame));
}

void session_io::error(const request_meta& request, protocols::wire_error code,
                       std::string_view message, std::string_view txn) {
  metrics_->refused(code);
  reply(request, protocols::encode_error(request.ref, code, message, txn));
}

void session_io::event(std::string frame) {
  if (!closed_) connection_->send_text(std::move(frame));
}

}  // namespace paysync::actors
