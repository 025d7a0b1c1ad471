#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bench/biometrics/protocols.hpp"
#include "biometrics/matcher.hpp"

// The shape the face and iris protocols share: per subject, some samples are
// enrolled and the others are probes; every probe is compared with every
// enrolled sample of every subject of the subset (genuine when the subjects
// are the same). Like FVC, a sample that fails to extract still takes part:
// each of its comparisons scores 0 (a genuine one counts as a non-match).
namespace paysync::bench {

struct subject_samples {
  std::string subject;
  std::vector<std::filesystem::path> enrol, probe;
};

// Subject folder names under dir, in natural order ("s2" before "s10");
// the index in this order decides tuning (even) and held-out (odd).
std::vector<std::string> subject_folders(const std::filesystem::path& dir);

// Subjects at even (tuning) or odd (held-out) positions.
std::vector<subject_samples> every_other(const std::vector<subject_samples>& all, bool held_out);

// How a probe meets a subject's enrolled samples.
enum class trial_unit {
  per_sample,  // one trial per (probe, enrolled sample) pair
  per_subject  // one trial per (probe, subject): the best score over its samples
};

// Runs the matcher over the subset, timing each extract and compare in CPU
// time of the calling thread. The first extraction is repeated once outside
// the timings (it loads per-thread state such as cascades).
scored_trials run_enrol_probe(const biometrics::matcher& m,
                              const std::vector<subject_samples>& subjects, trial_unit unit);

}  // namespace paysync::bench
