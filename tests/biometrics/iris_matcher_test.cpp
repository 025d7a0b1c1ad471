#include "biometrics/iris_matcher.hpp"

#include <gtest/gtest.h>

#include "biometrics/factories.hpp"
#include "tests/biometrics/face_iris_crafted.hpp"
#include "tests/biometrics/face_iris_data.hpp"

namespace paysync::biometrics {
namespace {

using testing::encode;

class IrisMatcher : public ::testing::Test {
 protected:
  template_bytes casia(int eye, int session, int image) {
    char name[32];
    std::snprintf(name, sizeof name, "%03d/%03d_%d_%d.jpg", eye, eye, session, image);
    const auto path = testing::biometrics_dir() / "iris" / "casia-irisv1" / name;
    auto t = matcher_->extract(testing::read_bytes(path));
    EXPECT_TRUE(t.has_value()) << path << ": " << (t ? "" : to_string(t.error()));
    return t ? *t : template_bytes{};
  }
  refusal refusal_of(const std::vector<std::uint8_t>& sample) {
    auto t = matcher_->extract(sample);
    EXPECT_FALSE(t.has_value());
    return t ? refusal::bad_template : t.error();
  }
  std::unique_ptr<matcher> matcher_ = make_iris_matcher();
};

// Three CASIA eyes, session 1 image 1 enrolled, session 2 image 1 probing
// (cross-session): every genuine score beats every impostor score.
TEST_F(IrisMatcher, GenuineScoresBeatImpostorScores) {
  PAYSYNC_REQUIRE_DATA("iris/casia-irisv1");
  const int eyes[] = {2, 4, 6};
  std::vector<template_bytes> enrolled, probes;
  for (const int e : eyes) {
    enrolled.push_back(casia(e, 1, 1));
    probes.push_back(casia(e, 2, 1));
  }
  double lowest_genuine = 1, highest_impostor = 0;
  for (std::size_t p = 0; p < probes.size(); ++p) {
    for (std::size_t e = 0; e < enrolled.size(); ++e) {
      const double score = *matcher_->compare(probes[p], enrolled[e]);
      if (p == e) {
        lowest_genuine = std::min(lowest_genuine, score);
      } else {
        highest_impostor = std::max(highest_impostor, score);
      }
    }
  }
  EXPECT_GT(lowest_genuine, highest_impostor);
  // At FMR 0.1% the threshold rejects a few percent of genuine pairs, so
  // only the impostors are held to it here.
  EXPECT_LT(highest_impostor, matcher_->default_threshold());
}

TEST_F(IrisMatcher, TemplateRoundTripAndBadTemplates) {
  PAYSYNC_REQUIRE_DATA("iris/casia-irisv1");
  const auto t = casia(1, 1, 1);
  ASSERT_EQ(t.size(), 3u + 2048u);
  EXPECT_EQ(t[0], static_cast<std::uint8_t>(modality::iris));
  EXPECT_EQ(t[1] | (t[2] << 8), matcher_->template_version());
  const template_bytes copy(t.begin(), t.end());
  EXPECT_GT(*matcher_->compare(t, copy), 0.99);
  EXPECT_GT(*matcher_->compare(t, copy), *matcher_->compare(t, casia(1, 1, 2)));
  auto other_modality = t;
  other_modality[0] = static_cast<std::uint8_t>(modality::face);
  auto other_version = t;
  other_version[2] ^= 0x01;
  auto truncated = t;
  truncated.resize(100);
  for (const auto& bad : {other_modality, other_version, truncated, template_bytes{}}) {
    auto r = matcher_->compare(bad, t);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), refusal::bad_template);
  }
}

TEST_F(IrisMatcher, RefusesEachCraftedInputWithItsReason) {
  EXPECT_EQ(refusal_of(encode(testing::blank(320, 280), ".jpg")), refusal::low_quality);
  EXPECT_EQ(refusal_of(encode(testing::noise(320, 280), ".png")), refusal::low_quality);
  auto jpeg = encode(testing::smooth_scene(320, 280), ".jpg");
  jpeg.resize(jpeg.size() * 2 / 3);
  EXPECT_EQ(refusal_of(jpeg), refusal::undecodable);
  EXPECT_EQ(refusal_of(testing::random_bytes(5000, 9)), refusal::unsupported_format);
  EXPECT_EQ(refusal_of(testing::huge_png_header()), refusal::too_large);
  EXPECT_EQ(refusal_of(encode(testing::smooth_scene(100, 80), ".png")), refusal::too_small);
  // No dark disc at all, then a dark disc with no iris-sclera edge around it.
  EXPECT_EQ(refusal_of(encode(testing::smooth_scene(320, 280), ".png")),
            refusal::iris_not_segmented);
  cv::Mat disc = testing::smooth_scene(320, 280);
  cv::circle(disc, {160, 140}, 40, cv::Scalar(45), cv::FILLED);
  EXPECT_EQ(refusal_of(encode(disc, ".png")), refusal::iris_not_segmented);
}

}  // namespace
}  // namespace paysync::biometrics
