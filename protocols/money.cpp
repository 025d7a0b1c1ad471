#include "protocols/money.hpp"

#include <array>
#include <cstdlib>

namespace paysync::protocols {

bool is_currency_code(std::string_view code) noexcept {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

int minor_unit_digits(std::string_view code) noexcept {
  struct exponent {
    std::string_view code;
    int digits;
  };
  static constexpr std::array<exponent, 14> exceptions{{
      {"BHD", 3},
      {"CLP", 0},
      {"IQD", 3},
      {"ISK", 0},
      {"JOD", 3},
      {"JPY", 0},
      {"KRW", 0},
      {"KWD", 3},
      {"LYD", 3},
      {"OMR", 3},
      {"RWF", 0},
      {"TND", 3},
      {"UGX", 0},
      {"VND", 0},
  }};
  for (const auto& e : exceptions) {
    if (e.code == code) return e.digits;
  }
  return 2;
}

std::string format_money(std::int64_t amount_minor, std::string_view currency) {
  const bool negative = amount_minor < 0;
  // Work on the magnitude as unsigned so INT64_MIN does not overflow.
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(amount_minor)
                                     : static_cast<std::uint64_t>(amount_minor);
  const int digits = minor_unit_digits(currency);
  std::uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string whole = std::to_string(magnitude / scale);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  std::string out = negative ? "-" : "";
  out += grouped;
  if (digits > 0) {
    std::string fraction = std::to_string(magnitude % scale);
    out.push_back('.');
    out.append(static_cast<std::size_t>(digits) - fraction.size(), '0');
    out += fraction;
  }
  out.push_back(' ');
  out.append(currency);
  return out;
}

}  // namespace paysync::protocols
