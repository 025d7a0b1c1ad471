// Face protocol on ORL (AT&T): subjects s1..s30 in natural order; even
// positions (s1, s3, ...) tune, odd ones (s2, s4, ...) are reported. Each
// subject enrols images 1-5 and probes with images 6-10 (ORL's numbering has
// no protocol meaning, so the split is fixed rather than chosen). A trial is
// a probe against a person's enrolment: the best score over the 5 enrolled
// images, as a deployment holding several images per person would decide.
#include <stdexcept>

#include "bench/biometrics/enrol_probe.hpp"
#include "bench/biometrics/protocols.hpp"
#include "biometrics/factories.hpp"

namespace paysync::bench {

std::vector<scored_trials> run_face_protocol(const protocol_options& options) {
  const auto dir = std::filesystem::path(options.data_root) / "biometrics" / "face" / "orl-att";
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("no " + dir.string());
  const auto matcher = biometrics::make_face_matcher();
  if (!matcher) throw std::runtime_error("face cascades not found (install opencv-data)");
  std::vector<subject_samples> all;
  for (const auto& subject : subject_folders(dir)) {
    subject_samples s{subject, {}, {}};
    for (int k = 1; k <= 10; ++k) {
      (k <= 5 ? s.enrol : s.probe).push_back(dir / subject / (std::to_string(k) + ".pgm"));
    }
    all.push_back(std::move(s));
  }
  std::vector<scored_trials> runs;
  for (const bool held_out : {false, true}) {
    if (held_out && !options.report_on_held_out) break;
    const auto subset = every_other(all, held_out);
    auto trials = run_enrol_probe(*matcher, subset, trial_unit::per_subject);
    trials.modality = "face";
    trials.dataset = "ORL";
    trials.subset = held_out ? "held-out" : "tuning";
    trials.protocol = std::to_string(subset.size()) + " subjects (" + (held_out ? "odd" : "even") +
                      " positions); enrol images 1-5, probe 6-10; one trial per probe and "
                      "person = best score over the 5 enrolled images; failed extractions score 0";
    runs.push_back(std::move(trials));
  }
  return runs;
}

}  // namespace paysync::bench

PAYSYNC_REGISTER_PROTOCOL(face, run_face_protocol)
