#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "actors/interfaces.hpp"

namespace paysync::actors {

struct work_pool_config {
  std::vector<auth_pool_actor> workers;        // detached auth_worker actors
  std::size_t max_queued = 32;                 // jobs waiting for a worker; beyond: busy
  std::atomic<std::int64_t>* depth = nullptr;  // queued + running, for /metrics; may be null
};

struct work_pool_state {
  work_pool_config config;
  std::vector<auth_pool_actor> idle;
  std::deque<std::pair<auth_job, caf::typed_response_promise<auth_verdict>>> queue;
  static inline const char* name = "work_pool";
};

// A bounded queue in front of a few workers. CAF mailboxes are unbounded, so
// the bound lives here: when every worker is busy and `max_queued` jobs wait,
// a new job is answered at once with busy = true (the handset is told to
// retry) — the switch never stalls behind a slow biometric check.
auth_pool_actor::behavior_type work_pool(auth_pool_actor::stateful_pointer<work_pool_state> self,
                                         work_pool_config config);

}  // namespace paysync::actors
