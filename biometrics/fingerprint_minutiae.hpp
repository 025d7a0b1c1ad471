#pragma once

// Private to biometrics/ (and its tests). Minutiae from a ridge skeleton:
// ridge endings (crossing number 1) and bifurcations (crossing number 3),
// each with a direction, after removing the usual false minutiae:
//   - near the border of the print (the ridges end because the print does);
//   - spurs: an ending whose ridge reaches a bifurcation within a short run;
//   - short ridges: two endings joined by a short run;
//   - bridges: two bifurcations joined by a short run (ladders, holes);
//   - broken ridges: two endings facing each other across a short gap;
//   - clusters: two minutiae closer than half a ridge period;
//   - in regions of poorly parallel (low coherence) or unclear (low
//     clarity, see ridge_map) ridges.
// Directions (radians, image axes, y down): an ending points from its tip
// along its ridge; a bifurcation points between its two forks. Both
// conventions agree under the ending/bifurcation duality (an ending seen as
// a valley bifurcation keeps its direction), which keeps matching tolerant
// to a change of type between impressions.

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "biometrics/fingerprint_enhance.hpp"

namespace paysync::biometrics::fingerprint {

enum class minutia_kind : std::uint8_t { ending = 1, bifurcation = 2 };

struct minutia {
  float x = 0, y = 0;  // pixels
  float angle = 0;     // radians in [0, 2 pi)
  minutia_kind kind = minutia_kind::ending;
  float quality = 0;  // ridge clarity at the minutia, [0, 1]
};

struct minutiae_params {
  double border_periods = 1.2;     // minimum distance to the print's edge
  double spur_periods = 1.5;       // spur / short ridge / bridge run length
  double gap_periods = 1.2;        // broken ridge gap
  double direction_periods = 1.2;  // ridge run traced for a direction
  double min_coherence = 0.3;
  double min_clarity = 0.35;  // ridge clarity (ridge_map::clarity) at the minutia
  int max_candidates = 2000;  // more raw candidates than this: a noise image
  int max_minutiae = 60;      // best quality kept (bounds compare time)
};

// REQUIRES: map comes from enhance() (skeleton, mask, orientation and
// coherence of one size). Returns at most params.max_minutiae minutiae, best
// quality first; an empty vector when the skeleton is noise.
std::vector<minutia> extract_minutiae(const ridge_map& map, const minutiae_params& params = {});

}  // namespace paysync::biometrics::fingerprint
