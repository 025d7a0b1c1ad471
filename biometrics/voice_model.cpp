#include "biometrics/voice_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace paysync::biometrics::voice {

double statistics::frames() const {
  double total = 0;
  for (float v : n) total += v;
  return total;
}

statistics accumulate(const cv::Mat& frames, const background_model& ubm) {
  CV_Assert(frames.type() == CV_32F && frames.cols == ubm.dims);
  const int c_count = ubm.components, d_count = ubm.dims;
  // Per component: log weight - 0.5 * sum log(2 pi var), and 1 / var.
  std::vector<double> constant(c_count);
  std::vector<float> inverse(ubm.variances.size());
  for (int c = 0; c < c_count; ++c) {
    double log_det = 0;
    for (int d = 0; d < d_count; ++d) {
      float v = ubm.variances[c * d_count + d];
      log_det += std::log(2 * std::numbers::pi * v);
      inverse[c * d_count + d] = 1.0f / v;
    }
    constant[c] = std::log(ubm.weights[c]) - 0.5 * log_det;
  }
  statistics s;
  s.n.assign(c_count, 0.0f);
  s.f.assign(static_cast<std::size_t>(c_count) * d_count, 0.0f);
  std::vector<double> log_p(c_count);
  for (int t = 0; t < frames.rows; ++t) {
    const float* x = frames.ptr<float>(t);
    double best = -1e300;
    for (int c = 0; c < c_count; ++c) {
      const float* mu = ubm.means.data() + c * d_count;
      const float* inv = inverse.data() + c * d_count;
      double q = 0;
      for (int d = 0; d < d_count; ++d) {
        double diff = x[d] - mu[d];
        q += diff * diff * inv[d];
      }
      log_p[c] = constant[c] - 0.5 * q;
      best = std::max(best, log_p[c]);
    }
    double total = 0;
    for (int c = 0; c < c_count; ++c) total += (log_p[c] = std::exp(log_p[c] - best));
    for (int c = 0; c < c_count; ++c) {
      double post = log_p[c] / total;
      if (post < 1e-5) continue;
      s.n[c] += static_cast<float>(post);
      const float* mu = ubm.means.data() + c * d_count;
      float* f = s.f.data() + c * d_count;
      for (int d = 0; d < d_count; ++d) f[d] += static_cast<float>(post * (x[d] - mu[d]));
    }
  }
  return s;
}

double linear_score(const statistics& a, const statistics& b, const background_model& ubm,
                    double relevance) {
  const int c_count = ubm.components, d_count = ubm.dims;
  // One direction: a as the model (its MAP mean offsets), b as the test.
  auto direction = [&](const statistics& model, const statistics& test) {
    double sum = 0;
    for (int c = 0; c < c_count; ++c) {
      double scale = 1.0 / (model.n[c] + relevance);
      const float* fm = model.f.data() + c * d_count;
      const float* ft = test.f.data() + c * d_count;
      const float* var = ubm.variances.data() + c * d_count;
      double dot = 0;
      for (int d = 0; d < d_count; ++d) dot += static_cast<double>(fm[d]) * ft[d] / var[d];
      sum += scale * dot;
    }
    return sum / test.frames();
  };
  return 0.5 * (direction(a, b) + direction(b, a));
}

std::size_t payload_bytes(const background_model& ubm) {
  return static_cast<std::size_t>(ubm.components) * (1 + ubm.dims) * sizeof(float);
}

namespace {
constexpr float max_frames = 1e6f;
constexpr float max_offset = 1e3f;

void put_float(float v, std::uint8_t* out) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}
float get_float(const std::uint8_t* in) {
  std::uint32_t bits = 0;
  for (int i = 0; i < 4; ++i) bits |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
}  // namespace

void write_payload(const statistics& s, std::span<std::uint8_t> out) {
  CV_Assert(out.size() == (s.n.size() + s.f.size()) * sizeof(float));
  std::uint8_t* p = out.data();
  for (float v : s.n) put_float(v, p), p += 4;
  for (float v : s.f) put_float(v, p), p += 4;
}

result<statistics> read_payload(std::span<const std::uint8_t> payload,
                                const background_model& ubm) {
  if (payload.size() != payload_bytes(ubm)) return refusal::bad_template;
  statistics s;
  s.n.resize(ubm.components);
  s.f.resize(static_cast<std::size_t>(ubm.components) * ubm.dims);
  const std::uint8_t* p = payload.data();
  for (float& v : s.n) {
    v = get_float(p), p += 4;
    if (!std::isfinite(v) || v < 0 || v > max_frames) return refusal::bad_template;
  }
  for (int c = 0; c < ubm.components; ++c) {
    for (int d = 0; d < ubm.dims; ++d, p += 4) {
      float v = s.f[c * ubm.dims + d] = get_float(p);
      // A frame lies within a few hundred units of any mean (cepstra of
      // log energies); more than that per counted frame is corrupt.
      if (!std::isfinite(v) || std::fabs(v) > max_offset * (s.n[c] + 1)) {
        return refusal::bad_template;
      }
    }
  }
  double total = s.frames();
  if (!(total > 0) || total > max_frames) return refusal::bad_template;
  return s;
}

}  // namespace paysync::biometrics::voice
