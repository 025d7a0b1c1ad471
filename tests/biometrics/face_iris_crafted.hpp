#pragma once

#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

// Inputs made in code for the refusal tests of the face and iris matchers.
namespace paysync::biometrics::testing {

inline std::vector<std::uint8_t> encode(const cv::Mat& img, const std::string& ext) {
  std::vector<std::uint8_t> out;
  cv::imencode(ext, img, out);
  return out;
}

// Smooth shading and soft blobs: passes the quality checks, holds no face,
// no eye and no dark disc.
inline cv::Mat smooth_scene(int width, int height) {
  cv::Mat img(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<std::uint8_t>(y, x) = cv::saturate_cast<std::uint8_t>(
          110 + 60 * std::sin(x / 23.0) * std::cos(y / 31.0) + 0.2 * (x - y));
    }
  }
  cv::GaussianBlur(img, img, {0, 0}, 2.0);
  return img;
}

inline cv::Mat blank(int width, int height) {
  return cv::Mat(height, width, CV_8UC1, cv::Scalar(128));
}

inline cv::Mat noise(int width, int height) {
  cv::Mat img(height, width, CV_8UC1);
  cv::randu(img, 0, 256);
  return img;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  out[0] = 0x42;  // no image magic number starts with 'B'
  return out;
}

// A PNG header claiming 100000 x 100000 pixels.
inline std::vector<std::uint8_t> huge_png_header() {
  std::vector<std::uint8_t> png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0,    0,    0,
                                   13,   'I',  'H', 'D', 'R',  0x00, 0x01, 0x86, 0xA0, 0x00, 0x01,
                                   0x86, 0xA0, 8,   0,   0,    0,    0,    0,    0,    0,    0};
  for (const char c : std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12)) {
    png.push_back(static_cast<std::uint8_t>(c));
  }
  return png;
}

}  // namespace paysync::biometrics::testing
