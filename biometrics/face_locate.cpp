#include "biometrics/face_locate.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <vector>

namespace paysync::biometrics {
namespace {

struct cascades {
  cv::CascadeClassifier face, eye;
  bool loaded = false;
};

// One set per thread and cascade folder; loading takes tens of milliseconds,
// detection mutates the classifier's buffers.
cascades& thread_cascades(const std::string& dir) {
  thread_local std::map<std::string, std::unique_ptr<cascades>> by_dir;
  auto& slot = by_dir[dir];
  if (!slot) {
    slot = std::make_unique<cascades>();
    slot->loaded = slot->face.load(dir + "/haarcascade_frontalface_alt2.xml") &&
                   slot->eye.load(dir + "/haarcascade_eye.xml");
  }
  return *slot;
}

// Eye centres relative to the face box (x from its left, y from its top, in
// box widths/heights): where haarcascade_frontalface_alt2 puts them on an
// upright frontal face. Used for an eye the cascade misses (closed eyes,
// glasses, reflections) and to pick among several detections.
constexpr float mean_eye_y = 0.38f;
constexpr float mean_eye_left_x = 0.30f;
constexpr float mean_eye_right_x = 0.70f;

// The eye cascade runs on the face box scaled to this width; eyes are then
// 18-35% of it, about the cascade's 20x20 window and up.
constexpr int eye_search_width_px = 120;

struct eye_candidate {
  cv::Point2f centre;  // face-box coordinates, 0..1
  bool found = false;
};

// The detection closest to where an eye is expected, within one half of the
// upper face.
eye_candidate find_eye(cv::CascadeClassifier& eye, const cv::Mat& face_roi, bool left_half,
                       float expected_x) {
  const int w = face_roi.cols, h = face_roi.rows;
  const int overlap = w / 10;
  const cv::Rect band(left_half ? 0 : w / 2 - overlap, h / 6, w / 2 + overlap, h / 2);
  std::vector<cv::Rect> hits;
  const int min_px = w * 18 / 100, max_px = w * 35 / 100;
  eye.detectMultiScale(face_roi(band), hits, 1.1, 2, 0, {min_px, min_px}, {max_px, max_px});
  eye_candidate best;
  float best_distance = 1e9f;
  for (const auto& r : hits) {
    const cv::Point2f c((band.x + r.x + r.width * 0.5f) / w, (band.y + r.y + r.height * 0.5f) / h);
    const float d = std::hypot(c.x - expected_x, c.y - mean_eye_y);
    if (d < best_distance) {
      best_distance = d;
      best = {c, true};
    }
  }
  return best;
}

}  // namespace

bool face_cascades_available(const face_locate_options& options) {
  return thread_cascades(options.cascade_dir).loaded;
}

std::optional<face_geometry> locate_face(const cv::Mat& grey, const face_locate_options& options) {
  auto& c = thread_cascades(options.cascade_dir);
  if (!c.loaded || grey.empty()) return std::nullopt;
  // Work on a bounded copy: shrink large images, pad tight crops.
  const double shrink =
      std::min(1.0, double(options.work_side_px) / std::max(grey.cols, grey.rows));
  cv::Mat work;
  if (shrink < 1.0) {
    cv::resize(grey, work, {}, shrink, shrink, cv::INTER_AREA);
  } else {
    work = grey;
  }
  const int shorter = std::min(work.cols, work.rows);
  const int border = static_cast<int>(std::lround(options.border_fraction * shorter));
  cv::Mat padded;
  cv::copyMakeBorder(work, padded, border, border, border, border, cv::BORDER_REPLICATE);
  std::vector<cv::Rect> faces;
  const int min_face = std::max(24, static_cast<int>(options.min_face_fraction * shorter));
  c.face.detectMultiScale(padded, faces, 1.1, 3, 0, {min_face, min_face});
  if (faces.empty()) return std::nullopt;
  const cv::Rect box =
      *std::max_element(faces.begin(), faces.end(),
                        [](const cv::Rect& a, const cv::Rect& b) { return a.area() < b.area(); });

  eye_candidate left, right;
  if (options.use_eye_cascade) {
    cv::Mat roi;
    const double roi_scale = double(eye_search_width_px) / box.width;
    cv::resize(padded(box), roi, {}, roi_scale, roi_scale, cv::INTER_LINEAR);
    left = find_eye(c.eye, roi, true, mean_eye_left_x);
    right = find_eye(c.eye, roi, false, mean_eye_right_x);
  }
  // A pair must be plausibly two eyes: apart by 25-65% of the box, level
  // within 25 degrees. Otherwise keep the one nearer its expected place.
  if (left.found && right.found) {
    const float dx = right.centre.x - left.centre.x, dy = right.centre.y - left.centre.y;
    if (dx < 0.25f || dx > 0.65f || std::abs(dy) > std::tan(0.44f) * dx) {
      const float dl = std::hypot(left.centre.x - mean_eye_left_x, left.centre.y - mean_eye_y);
      const float dr = std::hypot(right.centre.x - mean_eye_right_x, right.centre.y - mean_eye_y);
      (dl <= dr ? right : left).found = false;
    }
  }
  face_geometry g;
  g.eyes_detected = int(left.found) + int(right.found);
  // A missing eye mirrors the other across the box's centre line; with none,
  // both sit at their mean places.
  if (!left.found) {
    left.centre = right.found ? cv::Point2f(1.0f - right.centre.x, right.centre.y)
                              : cv::Point2f(mean_eye_left_x, mean_eye_y);
  }
  if (!right.found) {
    right.centre = cv::Point2f(1.0f - left.centre.x, left.centre.y);
  }
  // Back to the caller's image coordinates.
  auto to_image = [&](cv::Point2f p) {
    const cv::Point2f padded_px(box.x + p.x * box.width, box.y + p.y * box.height);
    return cv::Point2f(float((padded_px.x - border) / shrink),
                       float((padded_px.y - border) / shrink));
  };
  g.eye_left = to_image(left.centre);
  g.eye_right = to_image(right.centre);
  const cv::Point2f corner = to_image({0, 0});
  g.face = cv::Rect2f(corner.x, corner.y, float(box.width / shrink), float(box.height / shrink));
  return g;
}

cv::Mat align_face(const cv::Mat& grey, const face_geometry& g, const face_crop& crop) {
  const cv::Point2f d = g.eye_right - g.eye_left;
  const double distance = std::max(1.0, std::hypot(double(d.x), double(d.y)));
  const double target = crop.eye_distance_fraction * crop.size.width;
  const double scale = target / distance;
  const double angle = std::atan2(double(d.y), double(d.x));
  // Similarity transform: rotate by -angle and scale about the eyes' midpoint,
  // then move the midpoint to its canonical place.
  const double a = scale * std::cos(angle), b = scale * std::sin(angle);
  const cv::Point2f mid = (g.eye_left + g.eye_right) * 0.5f;
  const double tx = crop.size.width * 0.5 - (a * mid.x + b * mid.y);
  const double ty = crop.eye_y_fraction * crop.size.height - (-b * mid.x + a * mid.y);
  const cv::Matx23d m(a, b, tx, -b, a, ty);
  cv::Mat out;
  cv::warpAffine(grey, out, m, crop.size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace paysync::biometrics
