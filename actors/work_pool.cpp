#include "actors/work_pool.hpp"

#include <caf/all.hpp>

namespace paysync::actors {
namespace {

using self_ptr = auth_pool_actor::stateful_pointer<work_pool_state>;

void dispatch(self_ptr self, auth_pool_actor worker, auth_job job,
              caf::typed_response_promise<auth_verdict> promise);

void worker_free(self_ptr self, const auth_pool_actor& worker) {
  auto& st = self->state;
  if (st.queue.empty()) {
    st.idle.push_back(worker);
    return;
  }
  auto next = std::move(st.queue.front());
  st.queue.pop_front();
  dispatch(self, worker, std::move(next.first), std::move(next.second));
}

void dispatch(self_ptr self, auth_pool_actor worker, auth_job job,
              caf::typed_response_promise<auth_verdict> promise) {
  self->request(worker, caf::infinite, verify_atom::value, std::move(job))
      .then(
          [=](auth_verdict& verdict) mutable {
            promise.deliver(std::move(verdict));
            if (auto* d = self->state.config.depth) --*d;
            worker_free(self, worker);
          },
          [=](caf::error&) mutable {
            auth_verdict failed;
            failed.refusal = "internal";
            promise.deliver(failed);
            if (auto* d = self->state.config.depth) --*d;
            worker_free(self, worker);
          });
}

}  // namespace

auth_pool_actor::behavior_type work_pool(self_ptr self, work_pool_config config) {
  self->state.config = std::move(config);
  self->state.idle = self->state.config.workers;
  // The workers live and die with their pool.
  for (const auto& worker : self->state.config.workers) self->link_to(worker);
  return {
      [=](verify_atom, auth_job& job) -> caf::result<auth_verdict> {
        auto& st = self->state;
        if (st.idle.empty() && st.queue.size() >= st.config.max_queued) {
          auth_verdict busy;
          busy.busy = true;
          return busy;
        }
        if (auto* d = st.config.depth) ++*d;
        auto promise = self->make_response_promise<auth_verdict>();
        if (!st.idle.empty()) {
          auto worker = st.idle.back();
          st.idle.pop_back();
          dispatch(self, worker, std::move(job), promise);
        } else {
          st.queue.emplace_back(std::move(job), promise);
        }
        return promise;
      },
  };
}

}  // namespace paysync::actors
