#include "actors/auth_worker.hpp"

#include <sched.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <span>

#include "actors/biometric_kind.hpp"
#include "biometrics/matcher.hpp"
#include "storage/factor_store.hpp"
#include "storage/secrets.hpp"

namespace paysync::actors {
namespace {

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

auth_verdict check_knowledge(const storage::keyring& keys, auth_job& job) {
  auth_verdict v;
  if (job.secrets.empty()) return v;
  const auto kind = static_cast<storage::factor_kind>(job.kind);
  std::string answer =
      kind == storage::factor_kind::question ? storage::normalise_answer(job.answer) : job.answer;
  v.matched = storage::verify_secret(keys, job.secrets.front(), answer);
  wipe(answer);
  return v;
}

auth_verdict check_biometric(const storage::keyring& keys, auth_job& job, biometrics::modality m) {
  auth_verdict v;
  const auto matcher = biometrics::make_matcher(m);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(job.answer.data());
  auto probe = matcher->extract(std::span<const std::uint8_t>(bytes, job.answer.size()));
  if (!probe) {
    v.refusal = std::string(biometrics::to_string(probe.error()));
    return v;
  }
  for (const auto& sealed : job.secrets) {
    auto enrolled = storage::open_template(keys, job.user_id, job.factor_id, sealed);
    if (!enrolled) continue;  // tampered or swapped: it cannot match anyone
    const auto* t = reinterpret_cast<const std::uint8_t*>(enrolled->data());
    auto score = matcher->compare(*probe, std::span<const std::uint8_t>(t, enrolled->size()));
    wipe(*enrolled);
    if (score && *score > v.score) v.score = *score;
  }
  sodium_memzero(probe->data(), probe->size());
  v.matched = v.score >= (job.threshold >= 0 ? job.threshold : matcher->default_threshold());
  return v;
}

// Runs on the detached actor's own thread, so it lowers only that thread.
// Lowering needs no privilege; when a kernel refuses SCHED_IDLE, nice 19 is
// the closest thing.
void lower_this_thread() {
  sched_param param{};
  param.sched_priority = 0;
  if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
  }
}

}  // namespace

auth_pool_actor::behavior_type auth_worker(
    auth_pool_actor::stateful_pointer<auth_worker_state> self,
    std::shared_ptr<const storage::keyring> keys, worker_priority priority) {
  self->state.keys = std::move(keys);
  return {
      [=](verify_atom, auth_job& job) {
        if (priority == worker_priority::background && !self->state.lowered_priority) {
          lower_this_thread();
          self->state.lowered_priority = true;
        }
        const auto kind = static_cast<storage::factor_kind>(job.kind);
        auto verdict = storage::is_biometric(kind)
                           ? check_biometric(*self->state.keys, job, *modality_of(kind))
                           : check_knowledge(*self->state.keys, job);
        wipe(job.answer);
        return verdict;
      },
  };
}

}  // namespace paysync::actors
