// Fingerprint protocol on FVC2000 DB1_B..DB4_B, each DB on its own (DB1_B
// and DB2_B finger N are the same physical finger, so cross-DB pairs would
// be mislabelled impostors). Within a DB, the FVC protocol: genuine = every
// pair of impressions of a finger (28 per finger), impostor = the first
// impression of a finger against the first impression of every other finger
// (each unordered pair once). A sample that fails to extract still takes
// part: its comparisons score 0.
//
// Split: the development part holds fingers 101-107 of each DB. In natural
// order, even positions (101, 103, 105, 107) tune and odd ones (102, 104,
// 106) are reported. With so few fingers the FVC impostor set is tiny (6
// trials per DB for tuning, 3 for held-out), which makes EER and FNMR at FMR
// almost meaningless on its own; so each subset also gets one pooled row
// over DB1_B-DB3_B whose impostors are every impression against every
// impression of the other fingers of the same DB (1,152 tuning / 576
// held-out trials). The default threshold is calibrated on that pooled
// tuning row. DB4_B (synthetic) is reported apart and left out of the pool.
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/biometrics/enrol_probe.hpp"
#include "bench/biometrics/protocols.hpp"
#include "biometrics/factories.hpp"

namespace paysync::bench {
namespace {

constexpr int impressions = 8;
constexpr std::array<const char*, 4> databases = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
constexpr std::size_t pooled_databases = 3;  // DB1_B-DB3_B: real fingers

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

using maybe_template = std::optional<biometrics::template_bytes>;

// Scores a pair (0 when either failed to extract), timing real comparisons.
double score(const biometrics::matcher& m, const maybe_template& a, const maybe_template& b,
             scored_trials& timing) {
  if (!a || !b) return 0.0;
  const double start = thread_cpu_ns();
  const auto r = m.compare(*a, *b);
  timing.compare_us.push_back((thread_cpu_ns() - start) / 1e3);
  if (!r) throw std::runtime_error("compare refused its own templates");
  return *r;
}

}  // namespace

std::vector<scored_trials> run_fingerprint_protocol(const protocol_options& options) {
  const auto root =
      std::filesystem::path(options.data_root) / "biometrics" / "fingerprint" / "fvc2000-b";
  if (!std::filesystem::is_directory(root)) throw std::runtime_error("no " + root.string());
  const auto matcher = biometrics::make_fingerprint_matcher();

  std::vector<scored_trials> runs;
  for (const bool held_out : {false, true}) {
    if (held_out && !options.report_on_held_out) break;
    const std::string subset = held_out ? "held-out" : "tuning";
    scored_trials pooled;
    pooled.modality = "fingerprint";
    pooled.dataset = "FVC2000 DB1_B-DB3_B pooled";
    pooled.subset = subset;
    std::vector<std::string> finger_names;

    for (std::size_t db = 0; db < databases.size(); ++db) {
      const auto dir = root / databases[db];
      std::vector<std::string> fingers;
      const auto all = subject_folders(dir);
      for (std::size_t i = held_out ? 1 : 0; i < all.size(); i += 2) fingers.push_back(all[i]);
      finger_names = fingers;

      scored_trials trials;
      trials.modality = "fingerprint";
      trials.dataset = std::string("FVC2000 ") + databases[db];
      trials.subset = subset;
      // Warm-up, untimed.
      (void)matcher->extract(read_file(dir / fingers.front() / (fingers.front() + "_1.tif")));
      std::vector<std::array<maybe_template, impressions>> t(fingers.size());
      for (std::size_t f = 0; f < fingers.size(); ++f) {
        for (int i = 0; i < impressions; ++i) {
          const auto bytes =
              read_file(dir / fingers[f] / (fingers[f] + "_" + std::to_string(i + 1) + ".tif"));
          const double start = thread_cpu_ns();
          auto r = matcher->extract(bytes);
          trials.extract_ms.push_back((thread_cpu_ns() - start) / 1e6);
          ++trials.enrol_attempts;
          if (r) {
            t[f][i] = std::move(*r);
          } else {
            ++trials.failures_to_enrol;
          }
        }
      }
      for (std::size_t f = 0; f < fingers.size(); ++f) {
        for (int i = 0; i < impressions; ++i) {
          for (int j = i + 1; j < impressions; ++j) {
            trials.genuine.push_back(score(*matcher, t[f][i], t[f][j], trials));
          }
        }
        for (std::size_t g = f + 1; g < fingers.size(); ++g) {
          trials.impostor.push_back(score(*matcher, t[f][0], t[g][0], trials));
        }
      }
      std::string names;
      for (const auto& f : fingers) names += (names.empty() ? "" : ", ") + f;
      std::optional<scored_trials> extended;
      if (db < pooled_databases) {
        extended = scored_trials{};
        extended->modality = "fingerprint";
        extended->dataset = trials.dataset + " all-pairs impostors";
        extended->subset = subset;
        extended->genuine = trials.genuine;
        extended->enrol_attempts = trials.enrol_attempts;
        extended->failures_to_enrol = trials.failures_to_enrol;
        for (std::size_t f = 0; f < fingers.size(); ++f) {
          for (std::size_t g = f + 1; g < fingers.size(); ++g) {
            for (int i = 0; i < impressions; ++i) {
              for (int j = 0; j < impressions; ++j) {
                extended->impostor.push_back(score(*matcher, t[f][i], t[g][j], *extended));
              }
            }
          }
        }
        extended->protocol = "as the FVC row of " + std::string(databases[db]) + " (fingers " +
                             names +
                             "), but impostor = every impression vs every impression of the "
                             "other fingers of the same DB";
        pooled.genuine.insert(pooled.genuine.end(), trials.genuine.begin(), trials.genuine.end());
        pooled.impostor.insert(pooled.impostor.end(), extended->impostor.begin(),
                               extended->impostor.end());
        pooled.compare_us.insert(pooled.compare_us.end(), extended->compare_us.begin(),
                                 extended->compare_us.end());
        pooled.enrol_attempts += trials.enrol_attempts;
        pooled.failures_to_enrol += trials.failures_to_enrol;
      }
      trials.protocol = "FVC within " + std::string(databases[db]) + ", fingers " + names + " (" +
                        (held_out ? "odd" : "even") +
                        " positions of 101-107): genuine = every pair of the 8 impressions "
                        "of a finger, impostor = first impression vs first impression of the "
                        "other fingers (only 7 development fingers per DB, so EER and FNMR@FMR "
                        "rest on a handful of impostor trials: read the all-pairs and pooled "
                        "rows); failed extractions score 0" +
                        (db == 3 ? "; synthetic (SFinGe), not in the pool" : "");
      runs.push_back(std::move(trials));
      if (extended) runs.push_back(std::move(*extended));
    }
    std::string names;
    for (const auto& f : finger_names) names += (names.empty() ? "" : ", ") + f;
    pooled.protocol = "the all-pairs rows of DB1_B, DB2_B and DB3_B together (fingers " + names +
                      ", each DB on its own); the default threshold is calibrated on the "
                      "tuning row";
    runs.push_back(std::move(pooled));
  }
  return runs;
}

}  // namespace paysync::bench

PAYSYNC_REGISTER_PROTOCOL(fingerprint, run_fingerprint_protocol)
