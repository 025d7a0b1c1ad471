#pragma once

#include <memory>

#include "biometrics/matcher.hpp"
#include "biometrics/voice_features.hpp"
#include "biometrics/voice_model.hpp"
#include "biometrics/wav_decode.hpp"

// Text-independent speaker verification: WAV (wav_decode.hpp) -> MFCC frames
// with deltas and cepstral mean normalisation, voiced frames only
// (voice_features.hpp) -> Baum-Welch statistics against the built-in
// universal background model (voice_model.hpp) -> symmetric linear GMM-UBM
// score, mapped to [0, 1] by a logistic curve.
//
// Any recording is a sample: one spoken digit, or several spoken in a row.
// Longer is better; the bench enrols from ten digits (about 4 s of speech)
// and verifies with three (about 1.3 s). Single digits (about 0.4 s) are
// accepted but separate speakers poorly (see bench/biometrics/protocol_voice.cpp).
//
// Template v1 payload: voice::payload_bytes() of Baum-Welch statistics
// (32 counts and 32 x 38 centred first-order sums, float32 LE): 4,992 bytes.
namespace paysync::biometrics {

struct voice_options {
  wav_limits wav = {};
  voice::feature_params features = {};
  double relevance = 8.0;  // MAP relevance factor
  // score = 1 / (1 + exp(-(linear_score - score_centre) / score_scale))
  double score_centre = 0.4, score_scale = 0.25;
  double threshold = 0.0;  // 0: the calibrated default
};

std::unique_ptr<matcher> make_voice_matcher(const voice_options& options);

}  // namespace paysync::biometrics
