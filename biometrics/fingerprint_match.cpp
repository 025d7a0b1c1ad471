#include "biometrics/fingerprint_match.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/core.hpp>
#include <vector>

namespace paysync::biometrics::fingerprint {
namespace {

constexpr double pi = std::numbers::pi;
constexpr int max_neighbours = 8;

double wrap_2pi(double a) {
  a = std::fmod(a, 2 * pi);
  return a < 0 ? a + 2 * pi : a;
}
// Between two angles in [0, 2 pi), in [0, pi]; no division.
float angle_diff(float a, float b) {
  float d = std::fabs(a - b);
  return d > static_cast<float>(pi) ? static_cast<float>(2 * pi) - d : d;
}

struct neighbour {
  float distance, bearing, direction;  // bearing and direction relative to the centre's
};
struct local_structure {
  std::array<neighbour, max_neighbours> n{};
  int count = 0;
};

std::vector<local_structure> local_structures(std::span<const minutia> m, const match_params& p) {
  int k_max = std::clamp(p.neighbours, 1, max_neighbours);
  std::vector<local_structure> out(m.size());
  std::vector<std::pair<float, int>> near;
  for (std::size_t i = 0; i < m.size(); ++i) {
    near.clear();
    for (std::size_t j = 0; j < m.size(); ++j) {
      if (j == i) continue;
      float d = std::hypot(m[j].x - m[i].x, m[j].y - m[i].y);
      if (d <= p.neighbour_radius_px) near.emplace_back(d, static_cast<int>(j));
    }
    int k = std::min<int>(k_max, static_cast<int>(near.size()));
    std::partial_sort(near.begin(), near.begin() + k, near.end());
    local_structure& ls = out[i];
    ls.count = k;
    for (int q = 0; q < k; ++q) {
      const minutia& o = m[near[q].second];
      double bearing = std::atan2(o.y - m[i].y, o.x - m[i].x) - m[i].angle;
      ls.n[q] = {near[q].first, static_cast<float>(wrap_2pi(bearing)),
                 static_cast<float>(wrap_2pi(o.angle - m[i].angle))};
    }
  }
  return out;
}

// Agreement of two local structures in [0, 1]: neighbours paired greedily,
// each pair weighted by how closely it agrees.
float local_similarity(const local_structure& a, const local_structure& b, const match_params& p) {
  if (a.count == 0 || b.count == 0) return 0;
  // Candidate neighbour pairs, left uninitialised: this runs for every pair
  // of minutiae, and clearing the array cost more than filling it.
  struct candidate {
    float similarity;
    std::uint8_t i, j;
  };
  candidate pairs[max_neighbours * max_neighbours];
  int n = 0;
  const auto distance_tolerance = static_cast<float>(p.local_distance_px);
  const auto angle_tolerance = static_cast<float>(p.local_angle);
  for (int i = 0; i < a.count; ++i) {
    for (int j = 0; j < b.count; ++j) {
      float dd = std::fabs(a.n[i].distance - b.n[j].distance);
      if (dd >= distance_tolerance) continue;
      float db = angle_diff(a.n[i].bearing, b.n[j].bearing);
      if (db >= angle_tolerance) continue;
      float dr = angle_diff(a.n[i].direction, b.n[j].direction);
      if (dr >= angle_tolerance) continue;
      float s =
          (1 - dd / distance_tolerance) * (1 - db / angle_tolerance) * (1 - dr / angle_tolerance);
      pairs[n++] = {s, static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(j)};
    }
  }
  std::sort(pairs, pairs + n,
            [](const candidate& x, const candidate& y) { return x.similarity > y.similarity; });
  unsigned used_a = 0, used_b = 0;
  float sum = 0;
  for (int q = 0; q < n; ++q) {
    unsigned i = pairs[q].i, j = pairs[q].j;
    if ((used_a >> i) & 1u || (used_b >> j) & 1u) continue;
    used_a |= 1u << i;
    used_b |= 1u << j;
    sum += pairs[q].similarity;
  }
  return sum / static_cast<float>(std::max(a.count, b.count));
}

// b -> a: rotate by angle about the origin, then translate.
struct rigid {
  double angle = 0, tx = 0, ty = 0;
  double c = 1, s = 0;  // cos and sin of angle

  static rigid rotation(double angle) { return {angle, 0, 0, std::cos(angle), std::sin(angle)}; }
  // The rotation by angle that takes (bx, by) onto (ax, ay).
  static rigid through(double angle, double bx, double by, double ax, double ay) {
    rigid t = rotation(angle);
    cv::Point2d rb = t.apply(bx, by);
    t.tx = ax - rb.x;
    t.ty = ay - rb.y;
    return t;
  }
  cv::Point2d apply(double x, double y) const { return {c * x - s * y + tx, s * x + c * y + ty}; }
  cv::Point2d apply_inverse(double x, double y) const {  // a -> b
    double u = x - tx, v = y - ty;
    return {c * u + s * v, -s * u + c * v};
  }
};

// Greedy one-to-one pairing of a with b mapped by t, nearest pairs first.
std::vector<std::pair<int, int>> pair_up(std::span<const minutia> a, std::span<const minutia> b,
                                         const rigid& t, const match_params& p) {
  std::vector<std::pair<float, int>> candidates;
  for (std::size_t j = 0; j < b.size(); ++j) {
    cv::Point2d q = t.apply(b[j].x, b[j].y);
    const auto dir = static_cast<float>(wrap_2pi(b[j].angle + t.angle));
    for (std::size_t i = 0; i < a.size(); ++i) {
      double dx = a[i].x - q.x, dy = a[i].y - q.y;
      if (std::fabs(dx) >= p.pair_distance_px || std::fabs(dy) >= p.pair_distance_px) continue;
      double d = std::hypot(dx, dy);
      if (d >= p.pair_distance_px || angle_diff(a[i].angle, dir) >= p.pair_angle) continue;
      candidates.emplace_back(static_cast<float>(d), static_cast<int>(i * 256 + j));
    }
  }
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::pair<int, int>> pairs;
  std::array<bool, 256> used_a{}, used_b{};
  for (const auto& c : candidates) {
    int i = c.second / 256, j = c.second % 256;
    if (used_a[i] || used_b[j]) continue;
    used_a[i] = used_b[j] = true;
    pairs.emplace_back(i, j);
  }
  return pairs;
}

// Least-squares rotation and translation taking the b ends of `pairs` onto
// their a ends.
rigid fit(std::span<const minutia> a, std::span<const minutia> b,
          const std::vector<std::pair<int, int>>& pairs) {
  double ax = 0, ay = 0, bx = 0, by = 0;
  for (auto [i, j] : pairs) ax += a[i].x, ay += a[i].y, bx += b[j].x, by += b[j].y;
  double n = static_cast<double>(pairs.size());
  ax /= n, ay /= n, bx /= n, by /= n;
  double sxx = 0, sxy = 0;
  for (auto [i, j] : pairs) {
    double ux = b[j].x - bx, uy = b[j].y - by, vx = a[i].x - ax, vy = a[i].y - ay;
    sxx += ux * vx + uy * vy;
    sxy += ux * vy - uy * vx;
  }
  return rigid::through(std::atan2(sxy, sxx), bx, by, ax, ay);
}

// Common area and flow agreement: a's grid cells mapped into b's grid.
void compare_grids(const orientation_grid& a, const orientation_grid& b, const rigid& t,
                   match_details& d) {
  double sum = 0;
  int n = 0;
  for (int cy = 0; cy < a.rows; ++cy) {
    for (int cx = 0; cx < a.cols; ++cx) {
      std::uint8_t ca = a.cells[static_cast<std::size_t>(cy) * a.cols + cx];
      if (ca == 0) continue;
      cv::Point2d q = t.apply_inverse((cx + 0.5) * a.block_px, (cy + 0.5) * a.block_px);
      std::uint8_t cb = b.at(q.x, q.y);
      if (cb == 0) continue;
      double diff = (ca - cb) * pi / 180.0 - t.angle;
      sum += std::cos(2 * diff);
      ++n;
    }
  }
  d.overlap_cells = n;
  d.flow_agreement = n > 0 ? sum / n : 0;
}

}  // namespace

match_details match(const features& fa, const features& fb, const match_params& p) {
  match_details d;
  std::span<const minutia> a = fa.minutiae, b = fb.minutiae;
  if (a.empty() || b.empty() || a.size() > 255 || b.size() > 255) return d;
  std::vector<local_structure> la = local_structures(a, p), lb = local_structures(b, p);

  // Candidate anchors: the best agreeing local structures.
  std::vector<std::pair<float, int>> local;
  local.reserve(a.size() * b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      float s = local_similarity(la[i], lb[j], p);
      if (s > 0) local.emplace_back(s, static_cast<int>(i * 256 + j));
    }
  }
  int anchors = std::min<int>(p.anchors, static_cast<int>(local.size()));
  std::partial_sort(local.begin(), local.begin() + anchors, local.end(), std::greater<>());

  std::vector<std::pair<int, int>> best;
  rigid best_t;
  for (int q = 0; q < anchors; ++q) {
    int i = local[q].second / 256, j = local[q].second % 256;
    rigid t = rigid::through(a[i].angle - b[j].angle, b[j].x, b[j].y, a[i].x, a[i].y);
    auto pairs = pair_up(a, b, t, p);
    if (pairs.size() > best.size()) best = std::move(pairs), best_t = t;
  }
  if (best.size() >= 3) {
    rigid refined = fit(a, b, best);
    auto pairs = pair_up(a, b, refined, p);
    if (pairs.size() >= best.size()) best = std::move(pairs), best_t = refined;
  }
  if (best.empty()) return d;

  d.paired = static_cast<int>(best.size());
  d.rotation = best_t.angle;
  for (const auto& m : a) {
    cv::Point2d q = best_t.apply_inverse(m.x, m.y);
    if (fb.grid.at(q.x, q.y) != 0) ++d.a_overlap;
  }
  for (const auto& m : b) {
    cv::Point2d q = best_t.apply(m.x, m.y);
    if (fa.grid.at(q.x, q.y) != 0) ++d.b_overlap;
  }
  compare_grids(fa.grid, fb.grid, best_t, d);
  double na = std::max(d.a_overlap, p.min_overlap);
  double nb = std::max(d.b_overlap, p.min_overlap);
  double m = d.paired;
  d.score = std::min(1.0, m * m / (na * nb)) * std::max(0.0, d.flow_agreement);
  return d;
}

}  // namespace paysync::biometrics::fingerprint
