#include "biometrics/image_decode.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>

#include "tests/biometrics/face_iris_data.hpp"

namespace paysync::biometrics {
namespace {

using bytes = std::vector<std::uint8_t>;

// A smooth synthetic picture (gradient, discs, soft texture): passes every
// quality test, like a photograph would.
cv::Mat natural_image(int width = 120, int height = 100) {
  cv::Mat img(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<std::uint8_t>(y, x) = cv::saturate_cast<std::uint8_t>(60 + x + 20 * std::sin(y / 7.0) +
                                                                   15 * std::cos((x + y) / 11.0));
    }
  }
  cv::circle(img, {width / 3, height / 2}, height / 5, cv::Scalar(30), cv::FILLED);
  cv::circle(img, {2 * width / 3, height / 2}, height / 6, cv::Scalar(200), cv::FILLED);
  cv::GaussianBlur(img, img, {5, 5}, 1.5);
  return img;
}

bytes encode(const cv::Mat& img, const std::string& ext) {
  bytes out;
  EXPECT_TRUE(cv::imencode(ext, img, out)) << ext;
  return out;
}

refusal refusal_of(const bytes& b, const decode_limits& limits = {}) {
  auto r = decode_grey(b, limits);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? refusal::bad_template : r.error();
}

TEST(ImageDecode, DecodesEachFormatToEightBitGrey) {
  const cv::Mat img = natural_image();
  for (const std::string ext : {".jpg", ".png", ".pgm", ".tiff"}) {
    const auto b = encode(img, ext);
    auto r = decode_grey(b);
    ASSERT_TRUE(r.has_value()) << ext << ": " << to_string(r.error());
    EXPECT_EQ(r->type(), CV_8UC1) << ext;
    EXPECT_EQ(r->cols, 120) << ext;
    EXPECT_EQ(r->rows, 100) << ext;
    auto size = read_image_size(b);
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(size->width_px, 120) << ext;
    EXPECT_EQ(size->height_px, 100) << ext;
  }
}

TEST(ImageDecode, ConvertsColourAndSixteenBitToGrey) {
  cv::Mat colour;
  cv::cvtColor(natural_image(), colour, cv::COLOR_GRAY2BGR);
  cv::Mat deep;
  natural_image().convertTo(deep, CV_16U, 256.0);
  for (const auto& b : {encode(colour, ".jpg"), encode(colour, ".png"), encode(deep, ".png"),
                        encode(deep, ".tiff"), encode(deep, ".pgm")}) {
    auto r = decode_grey(b);
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(r->type(), CV_8UC1);
  }
}

TEST(ImageDecode, ReadsPgmHeaderWithComment) {
  const cv::Mat img = natural_image(40, 36);
  std::string header = "P5\n# made by a test\n40 36\n255\n";
  bytes b(header.begin(), header.end());
  b.insert(b.end(), img.datastart, img.dataend);
  auto r = decode_grey(b);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  EXPECT_EQ(cv::norm(*r, img, cv::NORM_INF), 0);
}

TEST(ImageDecode, RefusesUnknownFormatsAndRandomBytes) {
  EXPECT_EQ(refusal_of({}), refusal::unsupported_format);
  const std::string gif = "GIF89a\x01\x00\x01\x00";
  EXPECT_EQ(refusal_of(bytes(gif.begin(), gif.end())), refusal::unsupported_format);
  const std::string ascii_pgm = "P2 2 2 255 0 1 2 3";
  EXPECT_EQ(refusal_of(bytes(ascii_pgm.begin(), ascii_pgm.end())), refusal::unsupported_format);
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    bytes noise(1 + rng() % 4096);
    for (auto& v : noise) v = static_cast<std::uint8_t>(rng());
    noise[0] = 0x00;  // never a magic number
    EXPECT_EQ(refusal_of(noise), refusal::unsupported_format);
  }
}

TEST(ImageDecode, RefusesMoreBytesThanTheCap) {
  bytes b = encode(natural_image(), ".jpg");
  decode_limits limits;
  limits.max_bytes = b.size() - 1;
  EXPECT_EQ(refusal_of(b, limits), refusal::too_large);
  bytes huge(decode_limits{}.max_bytes + 1, 0);
  huge[0] = 0xFF, huge[1] = 0xD8, huge[2] = 0xFF;
  EXPECT_EQ(refusal_of(huge), refusal::too_large);
}

// Headers that claim 100000 x 100000 pixels (10 Gpx) in a few dozen bytes:
// refused from the header, before any decoder allocates the raster.
TEST(ImageDecode, RefusesHugeDimensionHeadersBeforeDecoding) {
  // PNG: signature + IHDR (+ a fake IEND so it looks whole).
  bytes png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0,    0,    0,
               13,   'I',  'H', 'D', 'R',  0x00, 0x01, 0x86, 0xA0, 0x00, 0x01,
               0x86, 0xA0, 8,   0,   0,    0,    0,    0,    0,    0,    0};
  for (const char c : std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12)) png.push_back(c);
  EXPECT_EQ(refusal_of(png), refusal::too_large);
  // JPEG: SOI, SOF0 with height = width = 65000, SOS, EOI.
  const bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0xFD, 0xE8, 0xFD,
                      0xE8, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01,
                      0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9};
  EXPECT_EQ(refusal_of(jpeg), refusal::too_large);
  const std::string pgm = "P5 100000 100000 255\n";
  EXPECT_EQ(refusal_of(bytes(pgm.begin(), pgm.end())), refusal::too_large);
  // TIFF, little endian: IFD at 8 with ImageWidth and ImageLength LONG 100000.
  const bytes tiff = {'I',  'I',  42, 0, 8, 0, 0, 0, 2,    0,              //
                      0x00, 0x01, 4,  0, 1, 0, 0, 0, 0xA0, 0x86, 0x01, 0,  // 256
                      0x01, 0x01, 4,  0, 1, 0, 0, 0, 0xA0, 0x86, 0x01, 0,  // 257
                      0,    0,    0,  0};
  EXPECT_EQ(refusal_of(tiff), refusal::too_large);
  auto size = read_image_size(tiff);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width_px, 100000);
}

TEST(ImageDecode, RefusesTruncatedFilesOfEachFormat) {
  const cv::Mat img = natural_image();
  for (const std::string ext : {".jpg", ".png", ".pgm", ".tiff"}) {
    bytes b = encode(img, ext);
    for (const double keep : {0.9, 0.6, 0.3}) {
      bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(b.size() * keep));
      EXPECT_EQ(refusal_of(cut), refusal::undecodable) << ext << " kept " << keep;
    }
    bytes header_only(b.begin(), b.begin() + 4);
    const refusal r = refusal_of(header_only);
    EXPECT_TRUE(r == refusal::undecodable || r == refusal::unsupported_format) << ext;
  }
}

TEST(ImageDecode, RefusesTooSmallImages) {
  EXPECT_EQ(refusal_of(encode(natural_image(20, 20), ".png")), refusal::too_small);
  decode_limits limits;
  limits.min_width_px = 200;
  EXPECT_EQ(refusal_of(encode(natural_image(), ".png"), limits), refusal::too_small);
}

TEST(ImageDecode, RefusesBlankSaturatedAndNoiseLikeImages) {
  const cv::Mat blank(100, 120, CV_8UC1, cv::Scalar(128));
  EXPECT_EQ(refusal_of(encode(blank, ".png")), refusal::low_quality);
  cv::Mat saturated(100, 120, CV_8UC1, cv::Scalar(255));
  saturated(cv::Rect(0, 0, 60, 100)).setTo(0);
  saturated(cv::Rect(55, 45, 10, 10)).setTo(120);
  EXPECT_EQ(refusal_of(encode(saturated, ".png")), refusal::low_quality);
  cv::Mat noise(100, 120, CV_8UC1);
  cv::randu(noise, 0, 256);
  EXPECT_EQ(refusal_of(encode(noise, ".png")), refusal::low_quality);
  EXPECT_EQ(refusal_of(encode(noise, ".jpg")), refusal::low_quality);
  cv::Mat gaussian_noise(100, 120, CV_8UC1);
  cv::randn(gaussian_noise, 128, 40);
  EXPECT_EQ(refusal_of(encode(gaussian_noise, ".pgm")), refusal::low_quality);

  const auto q = measure_quality(natural_image());
  EXPECT_GT(q.neighbour_correlation, 0.9);
  EXPECT_LT(measure_quality(noise).neighbour_correlation, 0.1);
}

// Random corruption of valid files: every outcome is a value, never a crash.
TEST(ImageDecode, SurvivesCorruptedFiles) {
  const cv::Mat img = natural_image();
  std::mt19937 rng(11);
  for (const std::string ext : {".jpg", ".png", ".pgm", ".tiff"}) {
    const bytes original = encode(img, ext);
    for (int i = 0; i < 60; ++i) {
      bytes b = original;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
      auto r = decode_grey(b);
      if (r) {
        EXPECT_EQ(r->type(), CV_8UC1);
        EXPECT_LE(r->total(), decode_limits{}.max_pixels);
      }
    }
  }
}

// The thresholds of quality_limits hold for every image modality's data.
TEST(ImageDecode, AcceptsEveryDatasetImageSampled) {
  PAYSYNC_REQUIRE_DATA("face/orl-att");
  const auto root = testing::biometrics_dir();
  for (const auto* file :
       {"face/orl-att/s1/1.pgm", "face/orl-att/s7/3.pgm", "iris/casia-irisv1/001/001_1_1.jpg",
        "iris/casia-irisv1/040/040_2_4.jpg", "fingerprint/fvc2000-b/DB4_B/101/101_1.tif"}) {
    const auto b = testing::read_bytes(root / file);
    ASSERT_FALSE(b.empty()) << file;
    auto r = decode_grey(b);
    EXPECT_TRUE(r.has_value()) << file << ": " << (r ? "" : to_string(r.error()));
  }
}

}  // namespace
}  // namespace paysync::biometrics
