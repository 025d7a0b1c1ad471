#include "biometrics/face_matcher.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "biometrics/factories.hpp"
#include "tests/biometrics/face_iris_crafted.hpp"
#include "tests/biometrics/face_iris_data.hpp"

namespace paysync::biometrics {
namespace {

using testing::encode;

class FaceMatcher : public ::testing::Test {
 protected:
  void SetUp() override {
    matcher_ = make_face_matcher();
    if (!matcher_) GTEST_SKIP() << "face cascades not installed (opencv-data)";
  }
  template_bytes orl(int subject, int image) {
    // Built with snprintf: "s" + std::to_string(...) trips a false
    // -Wrestrict in GCC 12's inlined string concatenation.
    char name[32];
    std::snprintf(name, sizeof name, "s%d/%d.pgm", subject, image);
    const auto path = testing::biometrics_dir() / "face" / "orl-att" / name;
    auto t = matcher_->extract(testing::read_bytes(path));
    EXPECT_TRUE(t.has_value()) << path << ": " << (t ? "" : to_string(t.error()));
    return t ? *t : template_bytes{};
  }
  refusal refusal_of(const std::vector<std::uint8_t>& sample) {
    auto t = matcher_->extract(sample);
    EXPECT_FALSE(t.has_value());
    return t ? refusal::bad_template : t.error();
  }
  std::unique_ptr<matcher> matcher_;
};

// Three ORL subjects, images 1-5 enrolled (as in the bench protocol), image 6
// probing: each probe's best score against its own subject beats its best
// against the other two.
TEST_F(FaceMatcher, GenuineScoresBeatImpostorScores) {
  PAYSYNC_REQUIRE_DATA("face/orl-att");
  const int subjects[] = {1, 2, 3};
  std::vector<std::vector<template_bytes>> enrolled;
  for (const int s : subjects)
    enrolled.push_back({orl(s, 1), orl(s, 2), orl(s, 3), orl(s, 4), orl(s, 5)});
  for (std::size_t p = 0; p < std::size(subjects); ++p) {
    const auto probe = orl(subjects[p], 6);
    double genuine = 0, impostor = 0;
    for (std::size_t e = 0; e < enrolled.size(); ++e) {
      for (const auto& reference : enrolled[e]) {
        const double score = *matcher_->compare(probe, reference);
        EXPECT_GE(score, 0.0);
        EXPECT_LE(score, 1.0);
        (e == p ? genuine : impostor) = std::max(e == p ? genuine : impostor, score);
      }
    }
    EXPECT_GT(genuine, impostor) << "subject s" << subjects[p];
  }
}

TEST_F(FaceMatcher, TemplateRoundTripAndBadTemplates) {
  PAYSYNC_REQUIRE_DATA("face/orl-att");
  const auto t = orl(1, 1);
  ASSERT_GE(t.size(), 3u);
  EXPECT_EQ(t[0], static_cast<std::uint8_t>(modality::face));
  EXPECT_EQ(t[1] | (t[2] << 8), matcher_->template_version());
  // Serialised bytes survive a copy and compare with themselves as best.
  const template_bytes copy(t.begin(), t.end());
  EXPECT_DOUBLE_EQ(*matcher_->compare(t, copy), 1.0);
  EXPECT_GT(*matcher_->compare(t, copy), *matcher_->compare(t, orl(1, 2)));

  auto other_modality = t;
  other_modality[0] = static_cast<std::uint8_t>(modality::iris);
  auto other_version = t;
  other_version[1] ^= 0x7F;
  const template_bytes truncated(t.begin(), t.end() - 1);
  for (const auto& bad : {other_modality, other_version, truncated, template_bytes{}}) {
    auto r = matcher_->compare(t, bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), refusal::bad_template);
    EXPECT_EQ(matcher_->compare(bad, t).error(), refusal::bad_template);
  }
  EXPECT_GT(matcher_->default_threshold(), 0.0);
  EXPECT_LT(matcher_->default_threshold(), 1.0);
}

TEST_F(FaceMatcher, RefusesEachCraftedInputWithItsReason) {
  EXPECT_EQ(refusal_of(encode(testing::blank(92, 112), ".png")), refusal::low_quality);
  EXPECT_EQ(refusal_of(encode(testing::noise(92, 112), ".jpg")), refusal::low_quality);
  auto jpeg = encode(testing::smooth_scene(92, 112), ".jpg");
  jpeg.resize(jpeg.size() / 2);
  EXPECT_EQ(refusal_of(jpeg), refusal::undecodable);
  EXPECT_EQ(refusal_of(testing::random_bytes(3000, 5)), refusal::unsupported_format);
  EXPECT_EQ(refusal_of(testing::huge_png_header()), refusal::too_large);
  EXPECT_EQ(refusal_of(encode(testing::smooth_scene(40, 40), ".png")), refusal::too_small);
  EXPECT_EQ(refusal_of(encode(testing::smooth_scene(160, 200), ".png")), refusal::no_face);
}

}  // namespace
}  // namespace paysync::biometrics
