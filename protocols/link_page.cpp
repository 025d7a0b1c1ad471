#include "protocols/link_page.hpp"

#include <algorithm>
#include <array>

#include "paysync/web_assets.hpp"  // generated from web/ at build time

namespace paysync::protocols {
namespace {

constexpr std::size_t max_segment_bytes = 64;
constexpr std::size_t max_till_digits = 16;  // as the directory keeps tills
constexpr std::string_view pay_prefix = "/pay/";
constexpr std::string_view till_segment = "till";
constexpr std::string_view assets_segment = "assets";
constexpr std::string_view assets_prefix = "/pay/assets/";

template <std::size_t N>
std::string_view bytes_of(const unsigned char (&data)[N]) {
  return {reinterpret_cast<const char*>(data), N};
}

struct asset {
  std::string_view name;
  std::string_view content_type;
  std::string_view body;
};

const std::array<asset, 3>& assets() {
  static const std::array<asset, 3> all{{
      {"pay.css", "text/css; charset=utf-8", bytes_of(web::pay_css)},
      {"pay.js", "text/javascript; charset=utf-8", bytes_of(web::pay_js)},
      {"icon.svg", "image/svg+xml", bytes_of(web::icon_svg)},
  }};
  return all;
}

bool segment_ok(std::string_view s, bool lower_alnum_only) {
  if (s.empty() || s.size() > max_segment_bytes) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    const bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (lower_alnum_only) return lower;
    return lower || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
  });
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

http_response with_security_headers(http_response r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; "
                         "form-action 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

std::optional<link_path> parse_link_path(std::string_view target) {
  auto path = path_of(target);
  if (!path.starts_with(pay_prefix)) return std::nullopt;
  path.remove_prefix(pay_prefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto merchant = path.substr(0, slash);
  const auto token = path.substr(slash + 1);
  if (!segment_ok(merchant, false) || !segment_ok(token, true)) return std::nullopt;
  // /pay/assets/... names the page's files, never a link.
  if (merchant == assets_segment) return std::nullopt;
  const bool digits_only =
      std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (merchant == till_segment && digits_only) {
    if (token.size() > max_till_digits) return std::nullopt;
    return link_path{{}, {}, std::string(token)};
  }
  return link_path{std::string(merchant), std::string(token), {}};
}

std::optional<http_response> serve_link_page(const peer_request& request) {
  const auto path = path_of(request.target);
  std::optional<http_response> answer;
  if (path.starts_with(assets_prefix)) {
    const auto name = path.substr(assets_prefix.size());
    for (const auto& a : assets()) {
      if (a.name == name) {
        answer = http_response{200, std::string(a.content_type), std::string(a.body), {}};
      }
    }
  } else if (parse_link_path(path)) {
    answer =
        http_response{200, "text/html; charset=utf-8", std::string(bytes_of(web::pay_html)), {}};
  }
  if (!answer) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    answer = http_response{
        405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET, HEAD"}}};
  }
  return with_security_headers(std::move(*answer));
}

}  // namespace paysync::protocols
