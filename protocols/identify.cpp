#include "protocols/identify.hpp"

#include <boost/json.hpp>

namespace paysync::protocols {

client_result<boost::json::object> identify(terminal_session& session, std::string_view id_field,
                                            std::string_view id, const terminal_keypair* keys,
                                            std::chrono::milliseconds timeout) {
  boost::json::object hello{{"type", "hello"}};
  hello[id_field] = id;
  auto reply = session.request(hello, timeout);
  if (!reply || !keys) return reply;
  const auto* type = reply->if_contains("type");
  const auto* nonce = reply->if_contains("nonce");
  if (!type || *type != "challenge" || !nonce || !nonce->is_string()) return reply;
  const std::string_view n = nonce->get_string();
  hello["nonce"] = n;
  hello["signature"] = sign_hello(*keys, id, n);
  return session.request(std::move(hello), timeout);
}

}  // namespace paysync::protocols
