#include "biometrics/matcher.hpp"

namespace paysync::biometrics {

std::string_view to_string(modality m) noexcept {
  switch (m) {
    case modality::face:
      return "face";
    case modality::iris:
      return "iris";
    case modality::fingerprint:
      return "fingerprint";
    case modality::voice:
      return "voice";
  }
  return "unknown";
}

std::string_view to_string(refusal r) noexcept {
  switch (r) {
    case refusal::too_large:
      return "too_large";
    case refusal::unsupported_format:
      return "unsupported_format";
    case refusal::undecodable:
      return "undecodable";
    case refusal::too_small:
      return "too_small";
    case refusal::low_quality:
      return "low_quality";
    case refusal::no_face:
      return "no_face";
    case refusal::iris_not_segmented:
      return "iris_not_segmented";
    case refusal::too_few_minutiae:
      return "too_few_minutiae";
    case refusal::too_short:
      return "too_short";
    case refusal::silent:
      return "silent";
    case refusal::bad_template:
      return "bad_template";
  }
  return "unknown";
}

}  // namespace paysync::biometrics
