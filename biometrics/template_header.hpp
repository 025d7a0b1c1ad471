#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "biometrics/matcher.hpp"

// The 3-byte header every template starts with (matcher.hpp): byte 0 =
// modality, bytes 1-2 = version, little endian. Private to the matchers.
namespace paysync::biometrics {

inline constexpr std::size_t template_header_bytes = 3;

// A template of `payload_bytes` zero bytes behind the header.
template_bytes make_template(modality m, std::uint16_t version, std::size_t payload_bytes);

// The payload when the header names modality m and version, and the payload
// is exactly payload_bytes long; else nothing (the caller's bad_template).
std::optional<std::span<const std::uint8_t>> template_payload(std::span<const std::uint8_t> t,
                                                              modality m, std::uint16_t version,
                                                              std::size_t payload_bytes) noexcept;

}  // namespace paysync::biometrics
