#include "biometrics/fingerprint_minutiae.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

namespace paysync::biometrics::fingerprint {
namespace {

constexpr double pi = std::numbers::pi;

// The 8-neighbour ring, clockwise from north; even indices are 4-neighbours.
constexpr std::array<int, 8> ring_dx = {0, 1, 1, 1, 0, -1, -1, -1};
constexpr std::array<int, 8> ring_dy = {-1, -1, 0, 1, 1, 1, 0, -1};

// The skeleton as 0/1 bytes with a zero frame one pixel wide, so that every
// ring read stays inside.
class skeleton_grid {
 public:
  explicit skeleton_grid(const cv::Mat& skeleton) {
    cv::Mat binary = skeleton != 0;
    cv::copyMakeBorder(binary / 255, grid_, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
  }
  // Coordinates of the original image.
  bool at(int x, int y) const { return grid_.at<std::uint8_t>(y + 1, x + 1) != 0; }
  void clear(int x, int y) { grid_.at<std::uint8_t>(y + 1, x + 1) = 0; }
  int cols() const { return grid_.cols - 2; }
  int rows() const { return grid_.rows - 2; }
  std::uint8_t ring_bits(int x, int y) const {
    std::uint8_t bits = 0;
    for (int i = 0; i < 8; ++i) {
      if (at(x + ring_dx[i], y + ring_dy[i])) bits |= static_cast<std::uint8_t>(1u << i);
    }
    return bits;
  }

 private:
  cv::Mat grid_;
};

// Runs of set ring positions (the crossing number is their count). Each run
// is a bit mask of its positions.
struct ring_runs {
  int count = 0;
  std::array<std::uint8_t, 4> runs{};
};
ring_runs runs_of(std::uint8_t bits) {
  ring_runs out;
  if (bits == 0xFF || bits == 0) return out;
  // Start just after an unset position so no run wraps around.
  int start = 0;
  while ((bits >> start) & 1) ++start;
  std::uint8_t current = 0;
  for (int k = 1; k <= 8; ++k) {
    int i = (start + k) % 8;
    if ((bits >> i) & 1) {
      current |= static_cast<std::uint8_t>(1u << i);
    } else if (current != 0) {
      if (out.count < 4) out.runs[out.count] = current;
      ++out.count;
      current = 0;
    }
  }
  return out;
}

// The position to step to within a run: a 4-neighbour when there is one.
int step_in(std::uint8_t run) {
  for (int i = 0; i < 8; i += 2) {
    if ((run >> i) & 1) return i;
  }
  for (int i = 1; i < 8; i += 2) {
    if ((run >> i) & 1) return i;
  }
  return -1;
}

// Removes staircase corners: a pixel whose only two neighbours are
// perpendicular 4-neighbours (which touch each other diagonally anyway).
// Without them the crossing number miscounts.
void remove_corners(skeleton_grid& g) {
  for (int y = 0; y < g.rows(); ++y) {
    for (int x = 0; x < g.cols(); ++x) {
      if (!g.at(x, y)) continue;
      std::uint8_t bits = g.ring_bits(x, y);
      // N+E, E+S, S+W, W+N.
      if (bits == 0b00000101 || bits == 0b00010100 || bits == 0b01010000 || bits == 0b01000001) {
        g.clear(x, y);
      }
    }
  }
}

struct candidate {
  cv::Point p;
  minutia_kind kind;
  bool removed = false;
};

struct trace_result {
  enum class end { length, ended, junction, candidate } how = end::length;
  int steps = 0;
  int hit = -1;    // candidate index when how == candidate
  cv::Point last;  // where the trace stopped
};

class tracer {
 public:
  tracer(const skeleton_grid& g, const cv::Mat& labels) : g_(g), labels_(labels) {}

  // Follows the ridge leaving `from` through ring position `first`.
  trace_result follow(cv::Point from, int first, int max_steps, int self) const {
    trace_result r;
    cv::Point prev = from;
    cv::Point cur(from.x + ring_dx[first], from.y + ring_dy[first]);
    for (r.steps = 1; r.steps <= max_steps; ++r.steps) {
      r.last = cur;
      int label = labels_.at<int>(cur);
      if (label >= 0 && label != self) {
        r.how = trace_result::end::candidate;
        r.hit = label;
        return r;
      }
      ring_runs rr = runs_of(g_.ring_bits(cur.x, cur.y));
      if (rr.count <= 1) {
        r.how = trace_result::end::ended;
        return r;
      }
      if (rr.count >= 3) {
        r.how = trace_result::end::junction;
        return r;
      }
      // Leave through the run that does not hold the previous pixel.
      int back = -1;
      for (int i = 0; i < 8; ++i) {
        if (cur.x + ring_dx[i] == prev.x && cur.y + ring_dy[i] == prev.y) back = i;
      }
      std::uint8_t forward = (back >= 0 && ((rr.runs[0] >> back) & 1)) ? rr.runs[1] : rr.runs[0];
      int next = step_in(forward);
      prev = cur;
      cur = cv::Point(cur.x + ring_dx[next], cur.y + ring_dy[next]);
    }
    r.steps = max_steps;
    r.how = trace_result::end::length;
    return r;
  }

 private:
  const skeleton_grid& g_;
  const cv::Mat& labels_;
};

double wrap_2pi(double a) {
  a = std::fmod(a, 2 * pi);
  return a < 0 ? a + 2 * pi : a;
}
double angle_diff(double a, double b) {  // in [0, pi]
  double d = std::fabs(wrap_2pi(a - b));
  return d > pi ? 2 * pi - d : d;
}

}  // namespace

std::vector<minutia> extract_minutiae(const ridge_map& map, const minutiae_params& p) {
  skeleton_grid g(map.skeleton);
  remove_corners(g);
  const double period = map.period_px;
  const int spur_steps = static_cast<int>(std::lround(p.spur_periods * period));
  const int direction_steps = static_cast<int>(std::lround(p.direction_periods * period));

  // Candidates by crossing number.
  std::vector<candidate> cands;
  cv::Mat labels(g.rows(), g.cols(), CV_32S, cv::Scalar(-1));
  for (int y = 0; y < g.rows(); ++y) {
    for (int x = 0; x < g.cols(); ++x) {
      if (!g.at(x, y)) continue;
      int cn = runs_of(g.ring_bits(x, y)).count;
      if (cn != 1 && cn != 3) continue;
      if (static_cast<int>(cands.size()) >= p.max_candidates) return {};
      labels.at<int>(y, x) = static_cast<int>(cands.size());
      cands.push_back({{x, y}, cn == 1 ? minutia_kind::ending : minutia_kind::bifurcation});
    }
  }

  // Adjacent candidates are knots of the skeleton, not minutiae.
  for (std::size_t i = 0; i < cands.size(); ++i) {
    for (int k = 0; k < 8; ++k) {
      cv::Point q = cands[i].p + cv::Point(ring_dx[k], ring_dy[k]);
      if (q.x < 0 || q.y < 0 || q.x >= g.cols() || q.y >= g.rows()) continue;
      int j = labels.at<int>(q);
      if (j >= 0) cands[i].removed = cands[j].removed = true;
    }
  }

  // Spurs, short ridges and bridges: a short run between two candidates.
  tracer t(g, labels);
  for (std::size_t i = 0; i < cands.size(); ++i) {
    ring_runs rr = runs_of(g.ring_bits(cands[i].p.x, cands[i].p.y));
    for (int b = 0; b < std::min(rr.count, 4); ++b) {
      trace_result r = t.follow(cands[i].p, step_in(rr.runs[b]), spur_steps, static_cast<int>(i));
      if (r.how == trace_result::end::candidate) {
        cands[i].removed = true;
        cands[r.hit].removed = true;
      }
    }
  }

  cv::Mat inside;
  cv::Mat framed;
  cv::copyMakeBorder(map.mask, framed, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
  cv::distanceTransform(framed, inside, cv::DIST_L2, 3);
  const double border_px = p.border_periods * period;

  std::vector<minutia> out;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    candidate& c = cands[i];
    if (c.removed) continue;
    if (inside.at<float>(c.p.y + 1, c.p.x + 1) < border_px) continue;
    float coherence = map.coherence.at<float>(c.p);
    if (coherence < p.min_coherence) continue;
    float clarity = map.clarity.at<float>(c.p);
    if (clarity < p.min_clarity) continue;

    // Direction from the traced ridge, then the smoother orientation field
    // for the precise angle.
    ring_runs rr = runs_of(g.ring_bits(c.p.x, c.p.y));
    std::array<double, 3> branch{};
    int branches = 0;
    for (int b = 0; b < std::min(rr.count, 3); ++b) {
      trace_result r = t.follow(c.p, step_in(rr.runs[b]), direction_steps, static_cast<int>(i));
      if (r.steps < 3) continue;
      branch[branches++] = std::atan2(r.last.y - c.p.y, r.last.x - c.p.x);
    }
    double traced;
    if (c.kind == minutia_kind::ending) {
      if (branches < 1) continue;
      traced = branch[0];
    } else {
      if (branches < 3) continue;
      // The two forks are the closest pair of branches; point between them.
      int a = 0, b = 1;
      double best = angle_diff(branch[0], branch[1]);
      if (angle_diff(branch[1], branch[2]) < best)
        a = 1, b = 2, best = angle_diff(branch[1], branch[2]);
      if (angle_diff(branch[0], branch[2]) < best) a = 0, b = 2;
      traced = std::atan2(std::sin(branch[a]) + std::sin(branch[b]),
                          std::cos(branch[a]) + std::cos(branch[b]));
    }
    double field = map.orientation.at<float>(c.p);
    double angle = angle_diff(field, traced) <= pi / 2 ? field : field + pi;
    out.push_back({static_cast<float>(c.p.x), static_cast<float>(c.p.y),
                   static_cast<float>(wrap_2pi(angle)), c.kind, std::min(1.0f, clarity)});
  }

  // Broken ridges: two endings facing each other across a short gap.
  const double gap_px = p.gap_periods * period;
  std::vector<bool> drop(out.size(), false);
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (std::size_t j = i + 1; j < out.size(); ++j) {
      double dx = out[j].x - out[i].x, dy = out[j].y - out[i].y;
      double d = std::hypot(dx, dy);
      if (d < 0.5 * period) {
        // Clusters: too close to be two real minutiae.
        drop[i] = drop[j] = true;
        continue;
      }
      if (d > gap_px || out[i].kind != minutia_kind::ending ||
          out[j].kind != minutia_kind::ending) {
        continue;
      }
      // Facing: opposite directions, each pointing away from the other.
      double towards_j = std::atan2(dy, dx);
      if (angle_diff(out[i].angle, out[j].angle) > 0.75 * pi &&
          angle_diff(out[i].angle + pi, towards_j) < pi / 3) {
        drop[i] = drop[j] = true;
      }
    }
  }
  std::vector<minutia> kept;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!drop[i]) kept.push_back(out[i]);
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const minutia& a, const minutia& b) { return a.quality > b.quality; });
  if (static_cast<int>(kept.size()) > p.max_minutiae) kept.resize(p.max_minutiae);
  return kept;
}

}  // namespace paysync::biometrics::fingerprint
