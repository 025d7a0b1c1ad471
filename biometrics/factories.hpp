#pragma once

#include <memory>

#include "biometrics/matcher.hpp"

// One factory per modality, each defined next to its matcher; make_matcher()
// dispatches to them. Tests and benchmarks may call them directly.
namespace paysync::biometrics {

std::unique_ptr<matcher> make_face_matcher();
std::unique_ptr<matcher> make_iris_matcher();
std::unique_ptr<matcher> make_fingerprint_matcher();
std::unique_ptr<matcher> make_voice_matcher();

}  // namespace paysync::biometrics
