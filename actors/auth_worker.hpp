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
// Spawn it detached. A `background` worker moves its own thread to
// SCHED_IDLE, so a saturated biometric pool only takes CPU time that the
// switch's I/O path does not want (nice 10 still let it delay wake-ups of the
// I/O threads by a whole time slice: PIN p99 1.6x slower under load).
enum class worker_priority { normal, background };

auth_pool_actor::behavior_type auth_worker(
    auth_pool_actor::stateful_pointer<auth_worker_state> self,
    std::shared_ptr<const storage::keyring> keys, worker_priority priority);

}  // namespace paysync::actors
