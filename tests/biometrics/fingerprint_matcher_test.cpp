#include "biometrics/fingerprint_matcher.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "biometrics/factories.hpp"
#include "tests/biometrics/fingerprint_voice_support.hpp"

namespace paysync::biometrics {
namespace {

namespace t = fp_voice_testing;

std::vector<std::uint8_t> impression(const std::string& db, int finger, int n) {
  const std::string f = std::to_string(finger);
  return t::read_bytes(t::biometrics_dir() / "fingerprint" / "fvc2000-b" / db / f /
                       (f + "_" + std::to_string(n) + ".tif"));
}

std::vector<std::uint8_t> png(const cv::Mat& img) {
  std::vector<std::uint8_t> out;
  cv::imencode(".png", img, out);
  return out;
}

// Parallel ridges with a 9-pixel period: a clean print-like texture that
// holds no ridge ending or bifurcation at all.
cv::Mat parallel_ridges(int width, int height) {
  cv::Mat img(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      double u = 0.8 * x + 0.6 * y;
      img.at<std::uint8_t>(y, x) =
          cv::saturate_cast<std::uint8_t>(128 + 90 * std::cos(2 * std::numbers::pi * u / 9.0));
    }
  }
  return img;
}

TEST(FingerprintMatcher, GenuineBeatsImpostorWithinEachDb) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("fingerprint/fvc2000-b");
  const auto m = make_fingerprint_matcher();
  for (const std::string db : {"DB1_B", "DB2_B"}) {
    std::vector<template_bytes> first, second;
    for (int finger : {101, 102, 103}) {
      auto a = m->extract(impression(db, finger, 1));
      auto b = m->extract(impression(db, finger, 2));
      ASSERT_TRUE(a && b) << db << " " << finger;
      first.push_back(*a);
      second.push_back(*b);
    }
    for (std::size_t i = 0; i < first.size(); ++i) {
      const double genuine = *m->compare(first[i], second[i]);
      EXPECT_GE(genuine, m->default_threshold()) << db << " finger " << i;
      for (std::size_t j = 0; j < first.size(); ++j) {
        if (j == i) continue;
        const double impostor = *m->compare(first[i], first[j]);
        EXPECT_GT(genuine, impostor) << db << " " << i << " vs " << j;
        EXPECT_LT(impostor, m->default_threshold()) << db << " " << i << " vs " << j;
      }
    }
  }
}

TEST(FingerprintMatcher, TemplateRoundTrip) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("fingerprint/fvc2000-b");
  const auto m = make_fingerprint_matcher();
  auto a = m->extract(impression("DB2_B", 104, 3));
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[0], static_cast<std::uint8_t>(modality::fingerprint));
  EXPECT_EQ((*a)[1] | ((*a)[2] << 8), m->template_version());
  EXPECT_LT(a->size(), 4096u);
  auto features = fingerprint::decode(*a);
  ASSERT_TRUE(features);
  EXPECT_GE(features->minutiae.size(), 10u);
  EXPECT_EQ(fingerprint::encode(*features), *a);
  EXPECT_GE(*m->compare(*a, *a), 0.9);
}

TEST(FingerprintMatcher, CompareRefusesForeignOrCorruptTemplates) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("fingerprint/fvc2000-b");
  const auto m = make_fingerprint_matcher();
  auto a = m->extract(impression("DB1_B", 105, 1));
  ASSERT_TRUE(a);
  template_bytes voice = *a;
  voice[0] = static_cast<std::uint8_t>(modality::voice);
  template_bytes version = *a;
  version[2] ^= 0x40;
  template_bytes shorter(a->begin(), a->end() - 1);
  template_bytes longer = *a;
  longer.push_back(0);
  template_bytes bad_cell = *a;
  bad_cell[8] = 200;  // the first grid cell: codes stop at 180
  for (const auto* t : {&voice, &version, &shorter, &longer, &bad_cell}) {
    auto r = m->compare(*a, *t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), refusal::bad_template);
  }
  EXPECT_EQ(m->compare(template_bytes{3, 1, 0}, *a).error(), refusal::bad_template);
}

TEST(FingerprintMatcher, BlankAndNoiseImagesAreLowQuality) {
  const auto m = make_fingerprint_matcher();
  EXPECT_EQ(m->extract(png(cv::Mat(300, 300, CV_8UC1, cv::Scalar(200)))).error(),
            refusal::low_quality);
  cv::Mat noise(300, 300, CV_8UC1);
  cv::randu(noise, 0, 256);
  EXPECT_EQ(m->extract(png(noise)).error(), refusal::low_quality);
}

TEST(FingerprintMatcher, RidgesWithoutMinutiaeAreTooFewMinutiae) {
  const auto m = make_fingerprint_matcher();
  EXPECT_EQ(m->extract(png(parallel_ridges(300, 300))).error(), refusal::too_few_minutiae);
}

TEST(FingerprintMatcher, BrokenOrOversizedFilesAreRefused) {
  const auto m = make_fingerprint_matcher();
  EXPECT_EQ(m->extract(t::random_bytes(4000, 7)).error(), refusal::unsupported_format);
  EXPECT_EQ(m->extract(png(parallel_ridges(100, 100))).error(), refusal::too_small);
  EXPECT_EQ(m->extract(png(parallel_ridges(1100, 300))).error(), refusal::too_large);
}

TEST(FingerprintMatcher, TruncatedTiffIsUndecodable) {
  PAYSYNC_FP_VOICE_REQUIRE_DATA("fingerprint/fvc2000-b");
  const auto m = make_fingerprint_matcher();
  auto tiff = impression("DB3_B", 102, 1);
  ASSERT_GT(tiff.size(), 1000u);
  tiff.resize(tiff.size() / 2);
  EXPECT_EQ(m->extract(tiff).error(), refusal::undecodable);
}

}  // namespace
}  // namespace paysync::biometrics
