#include "biometrics/voice_features.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace paysync::biometrics::voice {
namespace {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// mel_filters x (fft_size / 2 + 1) triangular filters, unit height.
cv::Mat mel_filterbank(const feature_params& p, int fft_size, double rate_hz) {
  int bins = fft_size / 2 + 1;
  cv::Mat bank(p.mel_filters, bins, CV_32F, cv::Scalar(0));
  double low = hz_to_mel(p.low_hz);
  double high = hz_to_mel(std::min(p.high_hz, rate_hz / 2.0));
  std::vector<double> edges_hz(p.mel_filters + 2);
  for (int i = 0; i < p.mel_filters + 2; ++i) {
    edges_hz[i] = mel_to_hz(low + (high - low) * i / (p.mel_filters + 1));
  }
  double bin_hz = rate_hz / fft_size;
  for (int m = 0; m < p.mel_filters; ++m) {
    double left = edges_hz[m], centre = edges_hz[m + 1], right = edges_hz[m + 2];
    auto* row = bank.ptr<float>(m);
    for (int k = 0; k < bins; ++k) {
      double f = k * bin_hz;
      if (f > left && f < centre) row[k] = static_cast<float>((f - left) / (centre - left));
      if (f >= centre && f < right) row[k] = static_cast<float>((right - f) / (right - centre));
    }
  }
  return bank;
}

// DCT-II rows for c1..c_cepstra over mel_filters log energies.
cv::Mat dct_matrix(int cepstra, int filters) {
  cv::Mat dct(filters, cepstra, CV_32F);
  for (int m = 0; m < filters; ++m) {
    for (int c = 0; c < cepstra; ++c) {
      dct.at<float>(m, c) = static_cast<float>(
          std::sqrt(2.0 / filters) * std::cos(std::numbers::pi * (c + 1) * (m + 0.5) / filters));
    }
  }
  return dct;
}

// Regression deltas over +-half_width frames, edges repeated.
cv::Mat deltas(const cv::Mat& x, int half_width) {
  cv::Mat d(x.size(), CV_32F, cv::Scalar(0));
  double norm = 0;
  for (int k = 1; k <= half_width; ++k) norm += 2.0 * k * k;
  int last = x.rows - 1;
  for (int t = 0; t < x.rows; ++t) {
    auto* out = d.ptr<float>(t);
    for (int k = 1; k <= half_width; ++k) {
      const auto* next = x.ptr<float>(std::min(t + k, last));
      const auto* prev = x.ptr<float>(std::max(t - k, 0));
      for (int c = 0; c < x.cols; ++c) out[c] += static_cast<float>(k * (next[c] - prev[c]));
    }
    for (int c = 0; c < x.cols; ++c) out[c] = static_cast<float>(out[c] / norm);
  }
  return d;
}

}  // namespace

result<cv::Mat> extract_features(const pcm_audio& audio, const feature_params& p) {
  double rate = audio.sample_rate_hz;
  if (rate <= 0) return refusal::undecodable;
  double duration_s = static_cast<double>(audio.samples.size()) / rate;
  if (duration_s > p.max_duration_s) return refusal::too_large;
  if (duration_s < p.min_duration_s) return refusal::too_short;

  int frame_len = static_cast<int>(std::lround(p.frame_ms * rate / 1000.0));
  int hop = static_cast<int>(std::lround(p.hop_ms * rate / 1000.0));
  int n = static_cast<int>(audio.samples.size());
  if (n < frame_len) return refusal::too_short;
  int frames = 1 + (n - frame_len) / hop;
  int fft_size = 1;
  while (fft_size < frame_len) fft_size *= 2;

  // DC removal and pre-emphasis.
  double mean = 0;
  for (float s : audio.samples) mean += s;
  mean /= n;
  std::vector<float> x(n);
  float prev = 0;
  for (int i = 0; i < n; ++i) {
    float s = static_cast<float>(audio.samples[i] - mean);
    x[i] = s - static_cast<float>(p.pre_emphasis) * prev;
    prev = s;
  }

  // Windowed frames, one per row, zero-padded to fft_size; frame energy of
  // the raw (not pre-emphasised) signal for the detector.
  cv::Mat windowed(frames, fft_size, CV_32F, cv::Scalar(0));
  std::vector<double> energy_db(frames);
  std::vector<float> window(frame_len);
  for (int i = 0; i < frame_len; ++i) {
    window[i] =
        static_cast<float>(0.54 - 0.46 * std::cos(2.0 * std::numbers::pi * i / (frame_len - 1)));
  }
  for (int t = 0; t < frames; ++t) {
    auto* row = windowed.ptr<float>(t);
    double e = 0;
    for (int i = 0; i < frame_len; ++i) {
      double s = audio.samples[t * hop + i] - mean;
      e += s * s;
      row[i] = x[t * hop + i] * window[i];
    }
    energy_db[t] = 10.0 * std::log10(e / frame_len + 1e-12);
  }

  double loudest = *std::max_element(energy_db.begin(), energy_db.end());
  double gate = std::max(loudest - p.vad_range_db, p.vad_floor_dbfs);
  std::vector<int> voiced;
  for (int t = 0; t < frames; ++t) {
    if (energy_db[t] >= gate) voiced.push_back(t);
  }
  if (static_cast<int>(voiced.size()) < p.min_voiced_frames) return refusal::silent;

  // Power spectrum (CCS packed rows: re0, re1, im1, ..., re_{N/2}).
  cv::Mat spectrum;
  cv::dft(windowed, spectrum, cv::DFT_ROWS);
  int bins = fft_size / 2 + 1;
  cv::Mat power(frames, bins, CV_32F);
  for (int t = 0; t < frames; ++t) {
    const auto* s = spectrum.ptr<float>(t);
    auto* pw = power.ptr<float>(t);
    pw[0] = s[0] * s[0];
    for (int k = 1; k < bins - 1; ++k) pw[k] = s[2 * k - 1] * s[2 * k - 1] + s[2 * k] * s[2 * k];
    pw[bins - 1] = s[fft_size - 1] * s[fft_size - 1];
  }

  cv::Mat mel = power * mel_filterbank(p, fft_size, rate).t();
  cv::max(mel, 1e-10, mel);
  cv::log(mel, mel);
  cv::Mat cepstra = mel * dct_matrix(p.cepstra, p.mel_filters);
  cv::Mat delta = deltas(cepstra, p.delta_half_width);

  cv::Mat out(static_cast<int>(voiced.size()), 2 * p.cepstra, CV_32F);
  for (std::size_t i = 0; i < voiced.size(); ++i) {
    cepstra.row(voiced[i]).copyTo(out.row(static_cast<int>(i)).colRange(0, p.cepstra));
    delta.row(voiced[i]).copyTo(out.row(static_cast<int>(i)).colRange(p.cepstra, 2 * p.cepstra));
  }
  if (!p.mean_normalise) return out;
  // Cepstral mean normalisation over a sliding window of voiced frames
  // (running sums: one pass whatever the window).
  cv::Mat cep = out.colRange(0, p.cepstra).clone();
  cv::Mat prefix(cep.rows + 1, p.cepstra, CV_64F, cv::Scalar(0));
  for (int r = 0; r < cep.rows; ++r) {
    for (int c = 0; c < p.cepstra; ++c) {
      prefix.at<double>(r + 1, c) = prefix.at<double>(r, c) + cep.at<float>(r, c);
    }
  }
  for (int r = 0; r < cep.rows; ++r) {
    int lo = std::max(0, r - p.mean_half_window);
    int hi = std::min(cep.rows, r + p.mean_half_window + 1);
    auto* row = out.ptr<float>(r);
    for (int c = 0; c < p.cepstra; ++c) {
      double mean = (prefix.at<double>(hi, c) - prefix.at<double>(lo, c)) / (hi - lo);
      row[c] = static_cast<float>(cep.at<float>(r, c) - mean);
    }
  }
  return out;
}

}  // namespace paysync::biometrics::voice
