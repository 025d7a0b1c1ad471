#pragma once

// Private to biometrics/ (and its tests). The text-independent speaker
// model: a universal background model (UBM, a diagonal-covariance Gaussian
// mixture of speech frames from many speakers) and, per recording, its
// Baum-Welch statistics against the UBM: how many frames each component
// explains (n_c) and where those frames sit relative to the component mean
// (f_c, centred first-order sums). These statistics are the template:
// compact (independent of the recording's length), and a speaker model is
// just the relevance-MAP adaptation of the UBM means they imply.
//
// Two templates are compared by the linear approximation of the GMM-UBM
// log-likelihood ratio (Glembek et al., ICASSP 2009), made symmetric by
// averaging both directions: sum over c of the MAP mean offset of one
// recording, scaled by the inverse UBM variance, against the centred
// first-order statistics of the other, per frame.
//
// Why this model: per recording mean/covariance statistics compared with a
// symmetric divergence did not separate FSDD's speakers once cepstral mean
// normalisation removed the channel (tuning part: EER ~40% for single
// digits), because a spoken digit's phonetic content dominates global
// statistics; the UBM splits frames by acoustic class first, so speakers
// are compared sound by sound.

#include <cstdint>
#include <opencv2/core.hpp>
#include <span>
#include <vector>

#include "biometrics/matcher.hpp"

namespace paysync::biometrics::voice {

struct background_model {
  int components = 0, dims = 0;
  std::span<const float> weights;    // components
  std::span<const float> means;      // components x dims, row-major
  std::span<const float> variances;  // components x dims, row-major
};

// The UBM compiled into the library (voice_ubm_data.cpp).
const background_model& default_background();

struct statistics {
  std::vector<float> n;  // components: soft frame counts
  std::vector<float> f;  // components x dims: sum of posterior * (frame - mean)
  double frames() const;
};

// REQUIRES: frames is CV_32F with ubm.dims columns.
statistics accumulate(const cv::Mat& frames, const background_model& ubm);

// The symmetric linear GMM-UBM score (higher: more likely the same
// speaker). relevance is the MAP relevance factor.
// REQUIRES: both statistics of ubm's shape, each with frames() > 0.
double linear_score(const statistics& a, const statistics& b, const background_model& ubm,
                    double relevance);

// Template payload: n then f, float32 little-endian.
std::size_t payload_bytes(const background_model& ubm);
void write_payload(const statistics& s, std::span<std::uint8_t> out);
// bad_template unless every value is finite, counts are non-negative and
// at least one frame is counted.
result<statistics> read_payload(std::span<const std::uint8_t> payload, const background_model& ubm);

}  // namespace paysync::biometrics::voice
