#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "storage/keyring.hpp"

namespace paysync::actors {

struct auth_worker_state {
  std::shared_ptr<const storage::keyring> keys;
  bool lowered_priority = false;
  static inline const char* name = "auth_worker";
};

// Checks one auth_job at a time: Argon2id for knowledge factors; for
// biometrics, opens the sealed templates, extracts the sample's template
// with the modality's matcher and compares (best score over the templates).
// Spawn it detached. With `nice` > 0 its thread runs at a lower priority, so
// a busy biometric pool yields the CPU to the switch's I/O path.
auth_pool_actor::behavior_type auth_worker(
    auth_pool_actor::stateful_pointer<auth_worker_state> self,
    std::shared_ptr<const storage::keyring> keys, int nice);

}  // namespace paysync::actors
