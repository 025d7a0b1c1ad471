#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bench/biometrics/protocols.hpp"

// Turns the raw scores of a protocol run into the figures ISO/IEC 19795-1
// asks for: comparison counts, EER, FNMR at fixed FMR, failure to enrol,
// timing; renders them as a table, a JSON summary and DET curves (SVG).
// Convention: a comparison is accepted when score >= threshold.
namespace paysync::bench {

// One operating point of the matcher.
struct det_point {
  double threshold = 0;
  double fmr = 0;   // impostor scores >= threshold / impostor comparisons
  double fnmr = 0;  // genuine scores < threshold / genuine comparisons
};

// FNMR at the lowest threshold whose FMR does not exceed target_fmr.
struct fnmr_at_fmr {
  double target_fmr = 0;
  double fnmr = 0;
  double threshold = 0;
  double achieved_fmr = 0;
  // Rule of three: with fewer than 3 / target_fmr impostor comparisons, an
  // observed FMR of target_fmr rests on fewer than 3 false matches and zero
  // false matches does not show FMR <= target_fmr at 95% confidence.
  bool enough_impostors = false;
};

struct evaluation {
  std::string modality, dataset, subset, protocol;
  std::size_t genuine_count = 0, impostor_count = 0;
  std::optional<double> eer;  // interpolated; nothing without both kinds of trials
  double eer_threshold = 0;
  std::optional<fnmr_at_fmr> at_fmr_1pct, at_fmr_01pct;
  std::size_t enrol_attempts = 0, failures_to_enrol = 0;
  std::optional<double> median_extract_ms, median_compare_us;
  std::size_t extract_samples = 0, compare_samples = 0;
  std::vector<det_point> det;  // thresholds ascending: FMR falls, FNMR rises
};

// REQUIRES nothing: empty score lists give empty figures.
evaluation evaluate(const scored_trials& trials);

// Median of the values; nothing for an empty list.
std::optional<double> median(std::vector<double> values);

// The exact FNMR at the lowest threshold with FMR <= target_fmr.
// REQUIRES: 0 < target_fmr < 1.
std::optional<fnmr_at_fmr> fnmr_at(const std::vector<double>& genuine,
                                   const std::vector<double>& impostor, double target_fmr);

// EER by linear interpolation between the two operating points where
// FMR - FNMR changes sign; the threshold is interpolated the same way.
struct eer_point {
  double eer = 0, threshold = 0;
};
std::optional<eer_point> equal_error_rate(const std::vector<double>& genuine,
                                          const std::vector<double>& impostor);

// Every distinct operating point, thresholds ascending.
std::vector<det_point> det_curve(const std::vector<double>& genuine,
                                 const std::vector<double>& impostor);

// A fixed-width text table, one row per evaluation, with footnotes.
std::string format_table(const std::vector<evaluation>& rows);

// The JSON summary of all evaluations (no DET points: those are in the SVGs).
std::string summary_json(const std::vector<evaluation>& rows);

// A DET plot (FMR vs FNMR, both log10) of the given evaluations, one curve
// each, normally every dataset and subset of one modality. Self-contained SVG.
std::string det_svg(const std::string& title, const std::vector<evaluation>& curves);

}  // namespace paysync::bench
