#include <opencv2/core/utility.hpp>

#include "biometrics/factories.hpp"

namespace paysync::biometrics {

std::unique_ptr<matcher> make_matcher(modality m) {
  switch (m) {
    case modality::face:
      return make_face_matcher();
    case modality::iris:
      return make_iris_matcher();
    case modality::fingerprint:
      return make_fingerprint_matcher();
    case modality::voice:
      return make_voice_matcher();
  }
  return nullptr;
}

void run_on_calling_threads() { cv::setNumThreads(0); }

}  // namespace paysync::biometrics
