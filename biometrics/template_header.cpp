#include "biometrics/template_header.hpp"

namespace paysync::biometrics {

template_bytes make_template(modality m, std::uint16_t version, std::size_t payload_bytes) {
  template_bytes t(template_header_bytes + payload_bytes, 0);
  t[0] = static_cast<std::uint8_t>(m);
  t[1] = static_cast<std::uint8_t>(version & 0xFF);
  t[2] = static_cast<std::uint8_t>(version >> 8);
  return t;
}

std::optional<std::span<const std::uint8_t>> template_payload(std::span<const std::uint8_t> t,
                                                              modality m, std::uint16_t version,
                                                              std::size_t payload_bytes) noexcept {
  if (t.size() != template_header_bytes + payload_bytes) return std::nullopt;
  if (t[0] != static_cast<std::uint8_t>(m)) return std::nullopt;
  if ((t[1] | (std::uint16_t{t[2]} << 8)) != version) return std::nullopt;
  return t.subspan(template_header_bytes);
}

}  // namespace paysync::biometrics
