#pragma once

// Private to biometrics/ (and its tests). Frame-level features of a speech
// recording: pre-emphasis, 25 ms Hamming frames every 10 ms, an energy-based
// voice activity detector, mel-frequency cepstral coefficients (power
// spectrum by cv::dft, triangular mel filters over a fixed band so that every
// sample rate yields comparable features) with delta coefficients, and
// cepstral mean normalisation over the voiced frames.

#include <opencv2/core.hpp>

#include "biometrics/matcher.hpp"
#include "biometrics/wav_decode.hpp"

namespace paysync::biometrics::voice {

struct feature_params {
  double frame_ms = 25.0;
  double hop_ms = 10.0;
  double pre_emphasis = 0.97;
  int mel_filters = 26;
  double low_hz = 100.0;
  double high_hz = 3800.0;  // below the Nyquist frequency of 8 kHz audio
  int cepstra = 19;         // c1..c19 (c0, the frame energy, is left out)
  int delta_half_width = 2;
  // Cepstral mean normalisation over the voiced frames within this many
  // frames either side (a whole short recording, a few digits of a long
  // one: the background model was trained on single digits).
  bool mean_normalise = true;
  int mean_half_window = 30;
  // Voice activity: a frame is voiced when its energy is within
  // vad_range_db of the loudest frame and above vad_floor_dbfs.
  double vad_range_db = 35.0;
  double vad_floor_dbfs = -55.0;
  double min_duration_s = 0.12;  // shorter recordings are too_short
  int min_voiced_frames = 8;     // fewer voiced frames: silent
  double max_duration_s = 20.0;  // longer recordings are too_large
};

// One row per voiced frame: `cepstra` mean-normalised MFCCs, then as many
// deltas. CV_32F. Refusals: too_short, silent, too_large.
result<cv::Mat> extract_features(const pcm_audio& audio, const feature_params& params = {});

}  // namespace paysync::biometrics::voice
