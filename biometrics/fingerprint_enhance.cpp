#include "biometrics/fingerprint_enhance.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc.hpp>
#include <vector>

namespace paysync::biometrics::fingerprint {
namespace {

constexpr double pi = std::numbers::pi;

double percentile(const cv::Mat& values, double q) {
  std::vector<float> v(values.begin<float>(), values.end<float>());
  if (v.empty()) return 0;
  auto nth = v.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), nth, v.end());
  return *nth;
}

// The largest connected region of `mask`, closed, opened and without holes.
cv::Mat clean_mask(const cv::Mat& raw) {
  cv::Mat mask;
  cv::Mat disc = cv::getStructuringElement(cv::MORPH_ELLIPSE, {5, 5});
  cv::morphologyEx(raw, mask, cv::MORPH_CLOSE, disc);
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, disc);
  cv::Mat labels, stats, centroids;
  int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  int best = 0, best_area = 0;
  for (int i = 1; i < n; ++i) {
    int area = stats.at<int>(i, cv::CC_STAT_AREA);
    if (area > best_area) best = i, best_area = area;
  }
  if (best == 0) return cv::Mat::zeros(raw.size(), CV_8U);
  cv::Mat largest = labels == best;
  // Fill holes: background reachable from the border stays background.
  cv::Mat outside;
  cv::copyMakeBorder(largest, outside, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
  cv::floodFill(outside, cv::Point(0, 0), 128);
  cv::Mat filled = outside(cv::Rect(1, 1, raw.cols, raw.rows)) != 128;
  return filled;
}

float sample(const cv::Mat& img, double x, double y) {
  int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  if (x0 < 0 || y0 < 0 || x0 + 1 >= img.cols || y0 + 1 >= img.rows) return 0.0f;
  float fx = static_cast<float>(x - x0), fy = static_cast<float>(y - y0);
  const float* r0 = img.ptr<float>(y0);
  const float* r1 = img.ptr<float>(y0 + 1);
  return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x0 + 1]) +
         fy * ((1 - fx) * r1[x0] + fx * r1[x0 + 1]);
}

// Median ridge period over blocks of the print with clearly parallel ridges.
// In each block, a profile across the ridges (averaged along them) gives
// the period as the lag of its strongest autocorrelation peak: robust to
// pores and breaks, which add peaks to the profile itself.
double estimate_period(const cv::Mat& ridges_up, const cv::Mat& mask, const cv::Mat& orientation,
                       const cv::Mat& coherence, const enhance_params& p) {
  constexpr int step = 16, half_length = 24, half_width = 8;
  constexpr int length = 2 * half_length;
  const int min_lag = static_cast<int>(std::floor(p.min_period_px));
  const int max_lag = std::min(static_cast<int>(std::ceil(p.max_period_px)), length / 2);
  std::vector<double> periods;
  std::array<float, length> profile{};
  std::vector<double> acf(max_lag + 2);
  for (int cy = half_length; cy + half_length < mask.rows; cy += step) {
    for (int cx = half_length; cx + half_length < mask.cols; cx += step) {
      if (mask.at<std::uint8_t>(cy, cx) == 0 || coherence.at<float>(cy, cx) < 0.5f) continue;
      double theta = orientation.at<float>(cy, cx);
      double dx = std::cos(theta), dy = std::sin(theta);  // along the ridge
      double nx = -dy, ny = dx;                           // across the ridges
      float mean = 0;
      for (int k = 0; k < length; ++k) {
        double t = k - half_length;
        float sum = 0;
        for (int w = -half_width; w <= half_width; w += 2) {
          sum += sample(ridges_up, cx + t * nx + w * dx, cy + t * ny + w * dy);
        }
        profile[k] = sum;
        mean += sum;
      }
      mean /= length;
      for (float& v : profile) v -= mean;
      for (int lag = 0; lag <= max_lag + 1; ++lag) {
        double sum = 0;
        for (int k = 0; k + lag < length; ++k) sum += profile[k] * profile[k + lag];
        acf[lag] = sum / (length - lag);
      }
      if (acf[0] <= 0) continue;
      int best = -1;
      for (int lag = std::max(min_lag, 1); lag <= max_lag; ++lag) {
        if (acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1] &&
            (best < 0 || acf[lag] > acf[best])) {
          best = lag;
        }
      }
      // A weak peak means no clear periodicity here.
      if (best < 0 || acf[best] < 0.2 * acf[0]) continue;
      // Parabolic refinement of the peak.
      double denom = acf[best - 1] - 2 * acf[best] + acf[best + 1];
      double shift = denom < 0 ? 0.5 * (acf[best - 1] - acf[best + 1]) / denom : 0.0;
      periods.push_back(best + std::clamp(shift, -0.5, 0.5));
    }
  }
  if (periods.size() < 4) return 0;
  auto mid = periods.begin() + static_cast<std::ptrdiff_t>(periods.size() / 2);
  std::nth_element(periods.begin(), mid, periods.end());
  return *mid;
}

struct gabor_bank {
  int radius = 0;
  int bins = 0;
  int stride = 0;           // 2 radius + 1 taps per row, zero-padded to a multiple of 4
  std::vector<float> taps;  // bins x (2 radius + 1) rows x stride, row-major
  double gain = 1;          // response amplitude to a unit sinusoid it is tuned to
  const float* kernel(int bin) const {
    return taps.data() + static_cast<std::size_t>(bin) * (2 * radius + 1) * stride;
  }
};

gabor_bank make_gabor_bank(double period, const enhance_params& p) {
  gabor_bank bank;
  bank.bins = p.orientation_bins;
  double su = p.gabor_across * period, sv = p.gabor_along * period;
  bank.radius = static_cast<int>(std::ceil(2.2 * std::max(su, sv)));
  int side = 2 * bank.radius + 1;
  bank.stride = (side + 3) / 4 * 4;
  bank.taps.assign(static_cast<std::size_t>(bank.bins) * side * bank.stride, 0.0f);
  for (int b = 0; b < bank.bins; ++b) {
    double theta = pi * b / bank.bins;
    double c = std::cos(theta), s = std::sin(theta);
    float* k = bank.taps.data() + static_cast<std::size_t>(b) * side * bank.stride;
    double sum = 0, weight = 0;
    for (int y = -bank.radius; y <= bank.radius; ++y) {
      for (int x = -bank.radius; x <= bank.radius; ++x) {
        double v = x * c + y * s;   // along the ridge
        double u = -x * s + y * c;  // across the ridges
        double envelope = std::exp(-0.5 * (u * u / (su * su) + v * v / (sv * sv)));
        double value = envelope * std::cos(2 * pi * u / period);
        k[(y + bank.radius) * bank.stride + x + bank.radius] = static_cast<float>(value);
        sum += value;
        weight += envelope;
      }
    }
    // Remove the DC response (weighted by the envelope) so flat shading
    // gives no ridge.
    double dc = sum / weight;
    double gain = 0;
    for (int y = -bank.radius; y <= bank.radius; ++y) {
      for (int x = -bank.radius; x <= bank.radius; ++x) {
        double v = x * c + y * s, u = -x * s + y * c;
        double envelope = std::exp(-0.5 * (u * u / (su * su) + v * v / (sv * sv)));
        float& tap = k[(y + bank.radius) * bank.stride + x + bank.radius];
        tap -= static_cast<float>(dc * envelope);
        gain += tap * std::cos(2 * pi * u / period);
      }
    }
    if (b == 0) bank.gain = gain;
  }
  return bank;
}

// Dot product of two float runs; n is a multiple of 4 (the bank pads its
// rows with zero taps).
float dot4(const float* a, const float* b, int n) {
  cv::v_float32x4 acc = cv::v_setzero_f32();
  for (int i = 0; i < n; i += 4) acc = cv::v_muladd(cv::v_load(a + i), cv::v_load(b + i), acc);
  return cv::v_reduce_sum(acc);
}

// The filter response on every step-th pixel of every step-th row (the
// response is band-limited around the ridge frequency, so a fine enough grid
// samples it well), interpolated back to full resolution.
cv::Mat gabor_filter(const cv::Mat& ridges_up, const cv::Mat& mask, const cv::Mat& orientation,
                     const gabor_bank& bank, int step) {
  int r = bank.radius, side = 2 * r + 1;
  // Extra columns on the right so that padded kernel rows stay in bounds.
  cv::Mat padded;
  cv::copyMakeBorder(ridges_up, padded, r, r + step, r, r + step + bank.stride - side,
                     cv::BORDER_REFLECT101);
  cv::Mat near_print;
  cv::dilate(mask, near_print, cv::Mat(), {-1, -1}, 2);
  cv::Mat coarse((ridges_up.rows + step - 1) / step, (ridges_up.cols + step - 1) / step, CV_32F,
                 cv::Scalar(0));
  for (int hy = 0; hy < coarse.rows; ++hy) {
    int y = step * hy;
    const auto* m = near_print.ptr<std::uint8_t>(y);
    const auto* o = orientation.ptr<float>(y);
    auto* dst = coarse.ptr<float>(hy);
    for (int hx = 0; hx < coarse.cols; ++hx) {
      int x = step * hx;
      if (m[x] == 0) continue;
      int bin = static_cast<int>(std::lround(o[x] / pi * bank.bins)) % bank.bins;
      const float* k = bank.kernel(bin);
      float sum = 0;
      for (int ky = 0; ky < side; ++ky) {
        sum += dot4(padded.ptr<float>(y + ky) + x, k + ky * bank.stride, bank.stride);
      }
      dst[hx] = sum;
    }
  }
  if (step == 1) return coarse;
  cv::Mat out;
  cv::Matx23d upscale(step, 0, 0, 0, step, 0);  // full (x, y) reads coarse (x / step, y / step)
  cv::warpAffine(coarse, out, upscale, ridges_up.size(), cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace

result<ridge_map> enhance(const cv::Mat& grey, const enhance_params& p) {
  CV_Assert(grey.type() == CV_8UC1);
  cv::Mat img;
  grey.convertTo(img, CV_32F);
  // Smooth fields (local mean and contrast, gradient moments, the print's
  // extent) are computed on blocks of block_px x block_px pixels and
  // interpolated back: the same result at a fraction of the cost.
  constexpr int block_px = 4;
  cv::Size coarse_size((img.cols + block_px - 1) / block_px, (img.rows + block_px - 1) / block_px);
  auto coarse_blur = [&](const cv::Mat& full, double sigma_px) {
    cv::Mat coarse;
    cv::resize(full, coarse, coarse_size, 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(coarse, coarse, {0, 0}, sigma_px / block_px);
    return coarse;
  };
  auto upsample = [&](const cv::Mat& coarse) {
    cv::Mat full;
    cv::resize(coarse, full, img.size(), 0, 0, cv::INTER_LINEAR);
    return full;
  };

  // Local contrast normalisation; ridges (dark) become positive.
  cv::Mat mean = upsample(coarse_blur(img, 12.0));
  cv::Mat mean_sq = upsample(coarse_blur(img.mul(img), 12.0));
  cv::Mat sd;
  cv::sqrt(cv::max(mean_sq - mean.mul(mean), 4.0), sd);
  cv::Mat ridges_up = (mean - img) / sd;

  // Gradient moments (smoothed structure tensor) of an image, on blocks.
  struct moments {
    cv::Mat gxx, gyy, gxy;
  };
  auto gradient_moments = [&](const cv::Mat& source) {
    cv::Mat blurred, gx, gy;
    cv::GaussianBlur(source, blurred, {0, 0}, p.gradient_sigma_px);
    cv::Sobel(blurred, gx, CV_32F, 1, 0, 3);
    cv::Sobel(blurred, gy, CV_32F, 0, 1, 3);
    return moments{coarse_blur(gx.mul(gx), p.orientation_sigma_px),
                   coarse_blur(gy.mul(gy), p.orientation_sigma_px),
                   coarse_blur(gx.mul(gy), p.orientation_sigma_px)};
  };

  // Orientation and coherence from the normalised image, clipped so that
  // blots and creases do not outweigh faint ridges.
  cv::Mat clipped = cv::min(cv::max(ridges_up, -p.clip_sd), p.clip_sd);
  moments flow = gradient_moments(clipped);
  cv::Mat c2 = flow.gxx - flow.gyy, s2 = 2 * flow.gxy;
  cv::Mat flow_anisotropy;
  cv::magnitude(c2, s2, flow_anisotropy);
  ridge_map map;
  map.coherence = upsample(flow_anisotropy / (flow.gxx + flow.gyy + 1e-6));
  cv::Mat doubled;
  cv::phase(upsample(c2), upsample(s2), doubled);  // gradient direction, doubled, in [0, 2 pi)
  map.orientation = doubled * 0.5 + pi / 2;
  cv::Mat wrap = map.orientation >= pi;
  cv::subtract(map.orientation, pi, map.orientation, wrap);

  // Segmentation: oriented gradient energy of the raw image well above the
  // background's.
  moments raw = gradient_moments(img);
  cv::Mat energy;
  cv::magnitude(raw.gxx - raw.gyy, 2 * raw.gxy, energy);
  cv::GaussianBlur(energy, energy, {0, 0}, p.segment_sigma_px / block_px);
  cv::sqrt(energy, energy);
  double threshold = p.segment_fraction * percentile(energy, 0.95);
  cv::Mat coarse_mask = clean_mask(energy > threshold);
  cv::resize(coarse_mask, map.mask, img.size(), 0, 0, cv::INTER_NEAREST);
  if (cv::countNonZero(map.mask) < p.min_print_px) return refusal::low_quality;

  map.period_px = estimate_period(ridges_up, map.mask, map.orientation, map.coherence, p);
  if (map.period_px <= 0) return refusal::low_quality;

  gabor_bank bank = make_gabor_bank(map.period_px, p);
  cv::Mat response =
      gabor_filter(ridges_up, map.mask, map.orientation, bank, std::max(1, p.gabor_step_px));
  map.ridges = (response > 0) & map.mask;
  // Ridge clarity: the share of the local signal the oriented filter
  // explains (its response energy over the input's, scaled by the filter's
  // gain on a clean sinusoid). Clean ridges approach 1, noise and smudges
  // stay low.
  cv::Mat clipped_sq = clipped.mul(clipped), response_sq = response.mul(response);
  cv::Mat ratio = coarse_blur(response_sq, p.clarity_sigma_px) /
                  (coarse_blur(clipped_sq, p.clarity_sigma_px) + 1e-3);
  cv::sqrt(ratio, ratio);
  map.clarity = upsample(ratio / bank.gain);
  // Thin only the print's bounding box.
  cv::Rect box = cv::boundingRect(map.mask);
  map.skeleton = cv::Mat::zeros(img.size(), CV_8U);
  cv::Mat skeleton_box;
  cv::ximgproc::thinning(map.ridges(box), skeleton_box, cv::ximgproc::THINNING_ZHANGSUEN);
  skeleton_box.copyTo(map.skeleton(box));
  return map;
}

}  // namespace paysync::biometrics::fingerprint
