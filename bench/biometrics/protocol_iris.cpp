// Iris protocol on CASIA-IrisV1: eyes 001..081; even positions (001, 003, ...)
// tune, odd ones (002, 004, ...) are reported. Each eye enrols its 3 session-1
// images and probes with its 4 session-2 images (cross-session), and every
// probe is compared with every enrolled image: 12 genuine comparisons per eye.
#include <stdexcept>

#include "bench/biometrics/enrol_probe.hpp"
#include "bench/biometrics/protocols.hpp"
#include "biometrics/factories.hpp"

namespace paysync::bench {

std::vector<scored_trials> run_iris_protocol(const protocol_options& options) {
  const auto dir =
      std::filesystem::path(options.data_root) / "biometrics" / "iris" / "casia-irisv1";
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("no " + dir.string());
  const auto matcher = biometrics::make_iris_matcher();
  std::vector<subject_samples> all;
  for (const auto& eye : subject_folders(dir)) {
    subject_samples s{eye, {}, {}};
    for (int k = 1; k <= 3; ++k)
      s.enrol.push_back(dir / eye / (eye + "_1_" + std::to_string(k) + ".jpg"));
    for (int k = 1; k <= 4; ++k)
      s.probe.push_back(dir / eye / (eye + "_2_" + std::to_string(k) + ".jpg"));
    all.push_back(std::move(s));
  }
  std::vector<scored_trials> runs;
  for (const bool held_out : {false, true}) {
    if (held_out && !options.report_on_held_out) break;
    const auto subset = every_other(all, held_out);
    auto trials = run_enrol_probe(*matcher, subset, trial_unit::per_sample);
    trials.modality = "iris";
    trials.dataset = "CASIA-IrisV1";
    trials.subset = held_out ? "held-out" : "tuning";
    trials.protocol = std::to_string(subset.size()) + " eyes (" + (held_out ? "odd" : "even") +
                      " positions); enrol the 3 session-1 images, probe with the 4 session-2 "
                      "images; every probe vs every enrolled image; failed extractions score 0";
    runs.push_back(std::move(trials));
  }
  return runs;
}

}  // namespace paysync::bench

PAYSYNC_REGISTER_PROTOCOL(iris, run_iris_protocol)
