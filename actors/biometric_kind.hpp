#pragma once

#include <optional>

#include "biometrics/matcher.hpp"
#include "storage/factor_store.hpp"

namespace paysync::actors {

// The matcher behind a biometric factor; nullopt for knowledge factors.
inline std::optional<biometrics::modality> modality_of(storage::factor_kind k) {
  switch (k) {
    case storage::factor_kind::face:
      return biometrics::modality::face;
    case storage::factor_kind::iris:
      return biometrics::modality::iris;
    case storage::factor_kind::fingerprint:
      return biometrics::modality::fingerprint;
    case storage::factor_kind::voice:
      return biometrics::modality::voice;
    default:
      return std::nullopt;
  }
}

}  // namespace paysync::actors
