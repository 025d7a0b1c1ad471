#include "protocols/qr_code.hpp"

#include <spdlog/spdlog.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <stdexcept>

namespace paysync::protocols {

std::string_view to_string(qr_error e) noexcept {
  switch (e) {
    case qr_error::text_too_long:
      return "text_too_long";
    case qr_error::encoder_failure:
      return "encoder_failure";
  }
  return "unknown";
}

void throw_exception_from_error(qr_error e, const boost::source_location& loc) {
  throw std::runtime_error("paysync QR error: " + std::string(to_string(e)) + " at " +
                           loc.file_name() + ":" + std::to_string(loc.line()));
}

qr_result<qr_matrix> qr_modules(std::string_view text) {
  if (text.size() > qr_max_text_bytes) return qr_error::text_too_long;
  cv::Mat encoded;
  try {
    cv::QRCodeEncoder::Params params;
    params.correction_level = cv::QRCodeEncoder::CORRECT_LEVEL_M;
    cv::QRCodeEncoder::create(params)->encode(std::string(text), encoded);
  } catch (const cv::Exception& e) {
    spdlog::error("qr: the encoder failed for {} bytes: {}", text.size(), e.what());
    return qr_error::encoder_failure;
  }
  if (encoded.empty() || encoded.type() != CV_8UC1) return qr_error::encoder_failure;

  // OpenCV draws one pixel per module (0 dark, 255 light) inside a margin of
  // its own choosing. The finder patterns touch three corners of the symbol,
  // so the dark pixels' bounding box is exactly the symbol.
  std::vector<cv::Point> dark_points;
  cv::findNonZero(encoded < 128, dark_points);
  if (dark_points.empty()) return qr_error::encoder_failure;
  const cv::Rect box = cv::boundingRect(dark_points);
  if (box.width != box.height || box.width < 21 || box.width > 177 || (box.width - 17) % 4 != 0) {
    spdlog::error("qr: the encoder drew a {}x{} symbol", box.width, box.height);
    return qr_error::encoder_failure;
  }
  qr_matrix out;
  out.side = box.width;
  out.dark.resize(static_cast<std::size_t>(out.side) * static_cast<std::size_t>(out.side));
  const cv::Mat symbol = encoded(box);
  for (int y = 0; y < out.side; ++y) {
    const auto* row = symbol.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.side; ++x) {
      out.dark[static_cast<std::size_t>(y * out.side + x)] = row[x] < 128 ? 1 : 0;
    }
  }
  return out;
}

qr_result<std::vector<std::uint8_t>> qr_png(std::string_view text) {
  auto modules = qr_modules(text);
  if (!modules) return modules.error();
  const int n = modules->side + 2 * qr_quiet_zone_modules;
  cv::Mat image(n * qr_png_module_px, n * qr_png_module_px, CV_8UC1, cv::Scalar(255));
  for (int y = 0; y < modules->side; ++y) {
    for (int x = 0; x < modules->side; ++x) {
      if (!modules->is_dark(x, y)) continue;
      const cv::Rect cell((x + qr_quiet_zone_modules) * qr_png_module_px,
                          (y + qr_quiet_zone_modules) * qr_png_module_px, qr_png_module_px,
                          qr_png_module_px);
      image(cell).setTo(cv::Scalar(0));
    }
  }
  std::vector<std::uint8_t> png;
  try {
    if (!cv::imencode(".png", image, png, {cv::IMWRITE_PNG_BILEVEL, 1})) {
      return qr_error::encoder_failure;
    }
  } catch (const cv::Exception& e) {
    spdlog::error("qr: PNG encoding failed: {}", e.what());
    return qr_error::encoder_failure;
  }
  return png;
}

qr_result<std::string> qr_svg(std::string_view text) {
  auto modules = qr_modules(text);
  if (!modules) return modules.error();
  const int n = modules->side + 2 * qr_quiet_zone_modules;
  const auto size = std::to_string(n);
  std::string svg;
  svg.reserve(static_cast<std::size_t>(modules->side * modules->side) * 4 + 256);
  svg += R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )" + size + " " + size +
         R"(" shape-rendering="crispEdges"><rect width=")" + size + R"(" height=")" + size +
         R"(" fill="#fff"/><path fill="#000" d=")";
  // One sub-path per horizontal run of dark modules: "M x y h len v1 h -len z".
  for (int y = 0; y < modules->side; ++y) {
    for (int x = 0; x < modules->side;) {
      if (!modules->is_dark(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < modules->side && modules->is_dark(x + run, y)) ++run;
      const auto len = std::to_string(run);
      svg += "M" + std::to_string(x + qr_quiet_zone_modules) + " " +
             std::to_string(y + qr_quiet_zone_modules) + "h" + len + "v1h-" + len + "z";
      x += run;
    }
  }
  svg += R"("/></svg>)";
  return svg;
}

}  // namespace paysync::protocols
