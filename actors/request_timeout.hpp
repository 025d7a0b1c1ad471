#pragma once

// How long a session waits for another actor's answer (docs/architecture.md,
// "Timers").

#include <caf/duration.hpp>
#include <chrono>

namespace paysync::actors {

// A request to an actor on this node gets no timer: the actor answers, or
// CAF answers for it (request_receiver_down) when it is gone. In CAF 0.17 a
// request timer is never cancelled: setting it wakes the clock thread, and
// when it expires, long after the answer, the clock wakes again and the
// requester is scheduled only to drop the stale timeout. At 1,000 payments/s
// that was ~4,400 clock wake-ups per second (bench/README.md). A peer node
// can hang, so a request that crosses nodes keeps its timeout.
template <class Self, class Handle>
caf::duration request_timeout_for(const Self* self, const Handle& dest,
                                  std::chrono::milliseconds across_nodes) {
  if (dest && dest->node() == self->node()) return caf::infinite;
  return caf::duration{across_nodes};
}

}  // namespace paysync::actors
