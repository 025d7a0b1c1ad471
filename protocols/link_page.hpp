#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/ws_listener.hpp"

namespace paysync::protocols {

// The payment-link page (claim 6), served from the paying port:
//
//   GET /pay/<merchant>/<token>       web/pay.html (flow A: the link in `opened`)
//   GET /pay/till/<till>              web/pay.html (flow B: the sticker at the till)
//   GET /pay/assets/<file>            pay.css, pay.js, icon.svg
//
// The page opens a WebSocket to the same host and port and pays the
// transaction as a handset does (docs/protocol.md, "The payment link page").
// The files are compiled into the binary (cmake/EmbedFiles.cmake); nothing is
// read from disk at run time.

// The two segments of a link path; query strings and fragments are ignored.
// /pay/till/<till> with 1-16 digits is a till path: `till` is set and
// `merchant` and `token` are empty. (No link token is all digits, so a
// merchant whose id is "till" keeps its links.) /pay/assets/... is never a
// link: those are the page's files.
struct link_path {
  std::string merchant;  // 1-64 of [A-Za-z0-9_-]
  std::string token;     // 1-64 of [0-9a-z]; the page itself checks the exact format
  std::string till;      // 1-16 of [0-9]: the merchant's static code, flow B
};
std::optional<link_path> parse_link_path(std::string_view target);

// The page or one of its assets for GET and HEAD (405 for other methods on
// those paths), with security headers: a Content-Security-Policy allowing only
// the page's own origin (and WebSockets), nosniff, no referrer, no caching, no
// framing. nullopt for every other path. The caller adds the identity cookie
// (handset_identity::issue_cookie) to a 200 answer for a parse_link_path target.
std::optional<http_response> serve_link_page(const peer_request& request);

}  // namespace paysync::protocols
