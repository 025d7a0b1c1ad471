#pragma once

#include <cstddef>
#include <string>
#include <vector>

// The evaluation protocols of ../shared/data/biometrics/README.md, one per
// modality (and per dataset). Each runs its matcher over the data and returns
// raw scores; evaluation.hpp turns them into EER, FNMR at FMR, DET curves.
namespace paysync::bench {

struct protocol_options {
  std::string data_root;  // $PAYSYNC_DATA or ../shared/data; the folder holding biometrics/
  // Which subjects tune and which are reported: every subject whose index
  // (0-based, in sorted order) is even tunes, every odd one is reported.
  bool report_on_held_out = true;
};

struct scored_trials {
  std::string modality;          // "face", "iris", "fingerprint", "voice"
  std::string dataset;           // "ORL", "CASIA-IrisV1", "FVC2000 DB1_B", "FSDD"
  std::string subset;            // "tuning" or "held-out"
  std::vector<double> genuine;   // scores of same-subject comparisons
  std::vector<double> impostor;  // scores of different-subject comparisons
  std::size_t enrol_attempts = 0, failures_to_enrol = 0;
  std::vector<double> extract_ms;  // per sample, one core
  std::vector<double> compare_us;  // per comparison, one core
  std::string protocol;            // a sentence: what was enrolled, what was compared
};

std::vector<scored_trials> run_face_protocol(const protocol_options& options);
std::vector<scored_trials> run_iris_protocol(const protocol_options& options);
std::vector<scored_trials> run_fingerprint_protocol(const protocol_options& options);
std::vector<scored_trials> run_voice_protocol(const protocol_options& options);

}  // namespace paysync::bench

#include <functional>
#include <map>

namespace paysync::bench {

// Each protocol file registers its runner at static initialisation, so the
// benchmark's main needs no list of modalities:
//   PAYSYNC_REGISTER_PROTOCOL(face, run_face_protocol)
using protocol_runner = std::function<std::vector<scored_trials>(const protocol_options&)>;
inline std::map<std::string, protocol_runner>& protocol_registry() {
  static std::map<std::string, protocol_runner> registry;
  return registry;
}

}  // namespace paysync::bench

#define PAYSYNC_REGISTER_PROTOCOL(name, runner)                                     \
  namespace {                                                                       \
  const bool registered_##name = [] {                                               \
    ::paysync::bench::protocol_registry().emplace(#name, ::paysync::bench::runner); \
    return true;                                                                    \
  }();                                                                              \
  }
