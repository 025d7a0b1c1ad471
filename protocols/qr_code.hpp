#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace paysync::protocols {

// QR codes of payment links (claim 6), made with OpenCV's cv::QRCodeEncoder at
// error-correction level M (a sticker or a screen may be scuffed or glared).
// No OpenCV type appears here: callers get PNG bytes or SVG text.

enum class qr_error : std::uint8_t {
  text_too_long = 1,  // more than qr_max_text_bytes
  encoder_failure,    // the encoder threw or returned something that is not a symbol
};
std::string_view to_string(qr_error e) noexcept;
template <class T>
using qr_result = boost::system::result<T, qr_error>;
// Lets qr_result<T>::value() throw a std::runtime_error naming the error.
[[noreturn]] void throw_exception_from_error(qr_error e, const boost::source_location& loc);

// The longest text encoded, in bytes. A paysync link is about 75 bytes.
// OpenCV 4.6's encoder writes unreadable symbols for some lengths from
// version 13 on (e.g. 288 bytes at level M); every length up to this limit
// (at most version 12) decodes back, which the tests check length by length.
inline constexpr std::size_t qr_max_text_bytes = 256;
// Light modules around the symbol, as ISO/IEC 18004 asks.
inline constexpr int qr_quiet_zone_modules = 4;
// Pixels per module in qr_png.
inline constexpr int qr_png_module_px = 8;

// The symbol itself, without a quiet zone: side x side modules, row-major.
struct qr_matrix {
  int side = 0;                    // 21 + 4 * (version - 1)
  std::vector<std::uint8_t> dark;  // side * side entries; 1 = dark module
  bool is_dark(int x, int y) const { return dark[static_cast<std::size_t>(y * side + x)] != 0; }
};

// The modules of `text` (byte, numeric or alphanumeric mode, chosen by the encoder).
qr_result<qr_matrix> qr_modules(std::string_view text);

// A 1-bit grayscale PNG: qr_png_module_px pixels per module, quiet zone included.
qr_result<std::vector<std::uint8_t>> qr_png(std::string_view text);

// A compact SVG: a white background <rect> and one <path> of the dark modules,
// in module units (viewBox "0 0 n n" with n = side + 2 * quiet zone); scales
// to any size without blurring.
qr_result<std::string> qr_svg(std::string_view text);

}  // namespace paysync::protocols
