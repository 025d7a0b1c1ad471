#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace paysync::protocols {

// Amounts travel and are stored as integer minor units plus an ISO 4217 code;
// floating point never touches money.
inline constexpr std::int64_t max_amount_minor = 999'999'999'999;  // < 10^12 minor units

// Three upper-case ASCII letters, e.g. "KES".
bool is_currency_code(std::string_view code) noexcept;

// Digits after the decimal point for `code` (ISO 4217 exponent): 0 for JPY,
// 3 for BHD, 2 for most and for codes this table does not know.
int minor_unit_digits(std::string_view code) noexcept;

// "1,250.50 KES" — for people (transcripts, the link page); never parsed back.
std::string format_money(std::int64_t amount_minor, std::string_view currency);

}  // namespace paysync::protocols
