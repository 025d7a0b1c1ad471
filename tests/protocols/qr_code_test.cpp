#include "protocols/qr_code.hpp"

#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/wechat_qrcode.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/txn_ids.hpp"

namespace paysync::protocols {
namespace {

// Debian's OpenCV 4.6 is built without quirc: cv::QRCodeDetector locates a
// symbol but cannot decode it ("Library QUIRC is not linked"), and its locator
// misses about one random link symbol in fifteen. The decoder of record is
// therefore WeChatQRCode (opencv_contrib, a ZXing-based decoder that needs no
// model files); where QRCodeDetector can decode, it must agree.
cv::Mat image_of(const std::vector<std::uint8_t>& png) {
  return cv::imdecode(png, cv::IMREAD_GRAYSCALE);
}

// Whether this OpenCV's QRCodeDetector decodes at all (asked once).
bool detector_decodes() {
  static const bool decodes = [] {
    auto png = qr_png("paysync");
    return png && cv::QRCodeDetector().detectAndDecode(image_of(*png)) == "paysync";
  }();
  return decodes;
}

std::string decode_png(const std::vector<std::uint8_t>& png) {
  const cv::Mat image = image_of(png);
  if (image.empty()) return "<not a PNG>";
  cv::wechat_qrcode::WeChatQRCode wechat;
  const auto decoded = wechat.detectAndDecode(image);
  if (decoded.size() != 1) return "<not decoded>";
  if (detector_decodes()) {
    const auto by_detector = cv::QRCodeDetector().detectAndDecode(image);
    if (!by_detector.empty() && by_detector != decoded[0]) return "<decoders disagree>";
  }
  return decoded[0];
}

// The link of docs/protocol.md: a fixed symbol, so the locator's misses on
// some symbols cannot make the test flaky.
const std::string documented_link =
    "http://127.0.0.1:7800/pay/m-kahawa/lk000106qc08xfcmz2p3885jb4d3kt6x";

std::string typical_link() {
  return "http://127.0.0.1:7800/pay/m-kahawa/" + make_link_token({0, 1});
}

// The module grid of a qr_png image, quiet zone included: one sample at each
// module's centre.
std::vector<std::vector<bool>> png_grid(const std::vector<std::uint8_t>& png) {
  const cv::Mat image = cv::imdecode(png, cv::IMREAD_GRAYSCALE);
  const int n = image.cols / qr_png_module_px;
  std::vector<std::vector<bool>> grid(static_cast<std::size_t>(n), std::vector<bool>(n));
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      grid[y][x] = image.at<std::uint8_t>(y * qr_png_module_px + qr_png_module_px / 2,
                                          x * qr_png_module_px + qr_png_module_px / 2) < 128;
    }
  }
  return grid;
}

// The module grid an SVG of qr_svg paints: its one path is a list of
// "M x y h len v1 h -len z" runs.
std::vector<std::vector<bool>> svg_grid(const std::string& path, int n) {
  std::vector<std::vector<bool>> grid(static_cast<std::size_t>(n), std::vector<bool>(n));
  std::istringstream in(path);
  char m = 0, h = 0, v = 0, h2 = 0, z = 0;
  int x = 0, y = 0, len = 0, one = 0, back = 0;
  while (in >> m >> x >> y >> h >> len >> v >> one >> h2 >> back >> z) {
    EXPECT_EQ(m, 'M');
    EXPECT_EQ(h, 'h');
    EXPECT_EQ(v, 'v');
    EXPECT_EQ(one, 1);
    EXPECT_EQ(back, -len);
    EXPECT_EQ(z, 'z');
    for (int i = 0; i < len; ++i) {
      EXPECT_FALSE(grid[y][x + i]) << "module painted twice at " << x + i << "," << y;
      grid[y][x + i] = true;
    }
  }
  EXPECT_TRUE(in.eof()) << "unparsed path data";
  return grid;
}

TEST(QrCode, PngOfTheDocumentedLinkIsLocatedAndDecoded) {
  auto png = qr_png(documented_link);
  ASSERT_TRUE(png) << to_string(png.error());
  ASSERT_GT(png->size(), 8u);
  EXPECT_EQ(std::string(png->begin(), png->begin() + 8), "\x89PNG\r\n\x1a\n");
  std::vector<cv::Point2f> corners;
  ASSERT_TRUE(cv::QRCodeDetector().detect(image_of(*png), corners));
  ASSERT_EQ(corners.size(), 4u);
  // The symbol's corners lie at the inner edge of the quiet zone.
  const float margin = qr_quiet_zone_modules * qr_png_module_px;
  EXPECT_NEAR(corners[0].x, margin, qr_png_module_px);
  EXPECT_NEAR(corners[0].y, margin, qr_png_module_px);
  EXPECT_EQ(decode_png(*png), documented_link);
}

TEST(QrCode, PngsOfTypicalLinksDecodeToTheExactLink) {
  for (int i = 0; i < 40; ++i) {
    const auto link = typical_link();
    ASSERT_EQ(link.size(), 35u + 32u);
    auto png = qr_png(link);
    ASSERT_TRUE(png) << to_string(png.error());
    ASSERT_EQ(decode_png(*png), link);
  }
}

TEST(QrCode, PngHasAFourModuleQuietZoneAndWholeModules) {
  const auto link = typical_link();
  auto modules = qr_modules(link);
  ASSERT_TRUE(modules);
  EXPECT_EQ((modules->side - 17) % 4, 0);
  auto png = qr_png(link);
  ASSERT_TRUE(png);
  const cv::Mat image = cv::imdecode(*png, cv::IMREAD_GRAYSCALE);
  const int n = modules->side + 2 * qr_quiet_zone_modules;
  ASSERT_EQ(image.cols, n * qr_png_module_px);
  ASSERT_EQ(image.rows, n * qr_png_module_px);
  const auto grid = png_grid(*png);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const bool quiet = x < qr_quiet_zone_modules || y < qr_quiet_zone_modules ||
                         x >= n - qr_quiet_zone_modules || y >= n - qr_quiet_zone_modules;
      const bool expected =
          !quiet && modules->is_dark(x - qr_quiet_zone_modules, y - qr_quiet_zone_modules);
      ASSERT_EQ(grid[y][x], expected) << "module " << x << "," << y;
    }
  }
  // The top-left finder pattern starts right after the quiet zone.
  EXPECT_TRUE(grid[qr_quiet_zone_modules][qr_quiet_zone_modules]);
}

TEST(QrCode, SvgIsWellFormedWithTheSameModules) {
  const auto link = typical_link();
  auto svg = qr_svg(link);
  ASSERT_TRUE(svg) << to_string(svg.error());
  auto png = qr_png(link);
  ASSERT_TRUE(png);

  boost::property_tree::ptree tree;
  std::istringstream in(*svg);
  ASSERT_NO_THROW(boost::property_tree::read_xml(in, tree)) << *svg;
  const auto& root = tree.get_child("svg");
  EXPECT_EQ(root.get<std::string>("<xmlattr>.xmlns"), "http://www.w3.org/2000/svg");
  const auto grid = png_grid(*png);
  const int n = static_cast<int>(grid.size());
  EXPECT_EQ(root.get<std::string>("<xmlattr>.viewBox"),
            "0 0 " + std::to_string(n) + " " + std::to_string(n));
  int paths = 0;
  std::string d;
  for (const auto& [name, child] : root) {
    if (name == "path") {
      ++paths;
      d = child.get<std::string>("<xmlattr>.d");
    }
  }
  ASSERT_EQ(paths, 1);
  EXPECT_EQ(svg_grid(d, n), grid);
  EXPECT_LT(svg->size(), 8000u) << "not compact";
}

TEST(QrCode, EveryVersionUpToTheLimitDecodes) {
  // OpenCV 4.6's encoder breaks at some lengths from version 13 on, the first
  // length of a version among them; the limit keeps below them. Check each
  // version's capacity in byte mode at level M (as links are encoded) and the
  // lengths either side of it, and every fifth length; drawn at 3 pixels a
  // module. (Each decode takes ~0.1 s, so not all 256.)
  const std::string alphabet = "0123456789abcdefghjkmnpqrstvwxyz/:.-";
  std::set<std::size_t> lengths{1, qr_max_text_bytes};
  for (std::size_t capacity : {14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251}) {
    lengths.insert({capacity - 1, capacity, capacity + 1});
  }
  for (std::size_t length = 5; length < qr_max_text_bytes; length += 5) lengths.insert(length);
  cv::wechat_qrcode::WeChatQRCode wechat;
  for (const std::size_t length : lengths) {
    std::string text;
    for (std::size_t i = 0; i < length; ++i) text.push_back(alphabet[(i * 7 + length) % 36]);
    auto modules = qr_modules(text);
    ASSERT_TRUE(modules) << "length " << length << ": " << to_string(modules.error());
    const int px = 3, n = modules->side + 2 * qr_quiet_zone_modules;
    cv::Mat image(n * px, n * px, CV_8UC1, cv::Scalar(255));
    for (int y = 0; y < modules->side; ++y) {
      for (int x = 0; x < modules->side; ++x) {
        if (!modules->is_dark(x, y)) continue;
        image(cv::Rect((x + qr_quiet_zone_modules) * px, (y + qr_quiet_zone_modules) * px, px, px))
            .setTo(cv::Scalar(0));
      }
    }
    const auto decoded = wechat.detectAndDecode(image);
    ASSERT_EQ(decoded.size(), 1u) << "length " << length;
    ASSERT_EQ(decoded[0], text) << "length " << length;
  }
}

TEST(QrCode, NumericAlphanumericAndUtf8TextsDecode) {
  for (const std::string& text : {std::string("500100690903"), std::string("PAYSYNC TILL 500100"),
                                  std::string("Kahawa Coffee House – Nairobi ☕")}) {
    auto png = qr_png(text);
    ASSERT_TRUE(png) << text;
    EXPECT_EQ(decode_png(*png), text);
  }
}

TEST(QrCode, RefusesTextBeyondTheLimit) {
  const std::string text(qr_max_text_bytes + 1, 'a');
  auto png = qr_png(text);
  ASSERT_FALSE(png);
  EXPECT_EQ(png.error(), qr_error::text_too_long);
  auto svg = qr_svg(text);
  ASSERT_FALSE(svg);
  EXPECT_EQ(svg.error(), qr_error::text_too_long);
  EXPECT_EQ(to_string(qr_error::text_too_long), "text_too_long");
  EXPECT_EQ(to_string(qr_error::encoder_failure), "encoder_failure");
  EXPECT_THROW((void)png.value(), std::runtime_error);
}

}  // namespace
}  // namespace paysync::protocols
