#include "actors/idempotency_cache.hpp"

namespace paysync::actors {

boost::json::object readdressed(boost::json::object reply, const boost::json::value& ref) {
  if (ref.is_null()) {
    reply.erase("ref");
  } else {
    reply["ref"] = ref;
  }
  return reply;
}

idempotency_cache::outcome idempotency_cache::begin(const std::string& key,
                                                    const std::string& fingerprint,
                                                    const boost::json::value& ref) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (entries_.size() >= capacity_ && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop();
    }
    entries_.emplace(key, entry{fingerprint, false, {}, {}});
    order_.push(key);
    return {verdict::first, {}};
  }
  auto& e = it->second;
  if (e.fingerprint != fingerprint) return {verdict::conflict, {}};
  if (!e.done) {
    e.waiting_refs.push_back(ref);
    return {verdict::waiting, {}};
  }
  return {verdict::replay, readdressed(e.reply, ref)};
}

std::vector<boost::json::object> idempotency_cache::complete(const std::string& key,
                                                             boost::json::object reply) {
  std::vector<boost::json::object> out;
  auto it = entries_.find(key);
  if (it == entries_.end()) return out;  // forgotten meanwhile (capacity): nothing waits
  auto& e = it->second;
  reply.erase("ref");
  for (const auto& ref : e.waiting_refs) out.push_back(readdressed(reply, ref));
  e.waiting_refs.clear();
  e.reply = std::move(reply);
  e.done = true;
  return out;
}

}  // namespace paysync::actors
