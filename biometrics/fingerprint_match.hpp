#pragma once

// Private to biometrics/ (and its tests). Similarity of two minutiae sets
// taken from different impressions (unknown rotation, translation, partial
// overlap, some elastic distortion):
//   1. local structures: each minutia described by its nearest neighbours
//      (distance, bearing and direction relative to its own direction),
//      which do not change under rotation and translation;
//   2. every pair of minutiae (one per set) scored by how well their local
//      structures agree; the best pairs are candidate anchors;
//   3. each anchor aligns the sets (rotation + translation); minutiae that
//      then fall within distance and angle tolerances are paired greedily;
//      the anchor that pairs the most wins, and its pairs fix a least-squares
//      alignment for a final pairing;
//   4. the common area of the two prints (their orientation grids, aligned)
//      and how well the ridge flows agree there;
//   5. the score, in [0, 1]: paired count squared over the product of the
//      counts that lie in the common area, weighted by the flow agreement.

#include "biometrics/fingerprint_template.hpp"

namespace paysync::biometrics::fingerprint {

struct match_params {
  int neighbours = 6;                                // per local structure
  double neighbour_radius_px = 110;                  // farther minutiae are not neighbours
  double local_distance_px = 12, local_angle = 0.5;  // local structure tolerances (radians)
  int anchors = 20;                                  // best local pairs tried as alignments
  double pair_distance_px = 15, pair_angle = 0.45;   // pairing tolerances after alignment
  int min_overlap = 12;  // counts below this are raised to it (tiny overlaps score low)
};

struct match_details {
  int paired = 0;
  int a_overlap = 0, b_overlap = 0;  // minutiae of each inside the other's print
  int overlap_cells = 0;             // grid cells of a inside b's print
  double flow_agreement = 0;         // mean cos(2 x orientation difference) there, [-1, 1]
  double rotation = 0;               // radians, b onto a
  double score = 0;
};

// Symmetric in a and b up to tie-breaking. At most 255 minutiae each.
match_details match(const features& a, const features& b, const match_params& params = {});

}  // namespace paysync::biometrics::fingerprint
