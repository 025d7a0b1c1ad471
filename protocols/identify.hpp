#pragma once

#include <chrono>
#include <string_view>

#include "protocols/terminal_auth.hpp"
#include "protocols/terminal_client.hpp"

namespace paysync::protocols {

// Identifies a billing terminal ("terminal") or an order centre ("centre")
// on `session`: sends hello; when the switch answers with a challenge, signs
// its nonce with `keys` and sends the signed hello. Returns the switch's last
// answer: `welcome`, or the `error` that refused it. Without keys, the
// challenge itself is returned.
client_result<boost::json::object> identify(terminal_session& session, std::string_view id_field,
                                            std::string_view id, const terminal_keypair* keys,
                                            std::chrono::milliseconds timeout);

}  // namespace paysync::protocols
