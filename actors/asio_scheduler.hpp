#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>

namespace paysync::actors {

// A CAF scheduler that runs the scheduled actors on the Asio threads serving
// the sockets, instead of on CAF's own worker pool.
//
// Why: with CAF's workers every frame crossed threads twice (the I/O thread
// enqueues to a session actor on a worker, the worker posts the reply back to
// the connection's strand), ~34 context switches per settlement (bench/README.md).
// Here an actor woken from an Asio thread is queued on that same thread
// (`asio::defer`: its private queue) and runs right after the handler that
// woke it, so a frame is read, handled and answered on one thread. Detached
// actors (ledger, authentication workers, SMS) keep their own threads; their
// messages to scheduled actors are posted to the io_context like any
// foreign thread's.
//
// The io_context must be running (`io_context::run` on one or more threads)
// from before the first spawn until the actor system is destroyed: `stop`
// waits for the jobs already queued.
class asio_scheduler final : public caf::scheduler::abstract_coordinator {
 public:
  asio_scheduler(caf::actor_system& system, boost::asio::io_context& io);
  ~asio_scheduler() override;
  asio_scheduler(const asio_scheduler&) = delete;
  asio_scheduler& operator=(const asio_scheduler&) = delete;

  // Makes the actor system built from `config` use an asio_scheduler on `io`.
  // `io` must outlive that system.
  static void install(caf::actor_system_config& config, boost::asio::io_context& io);

  void enqueue(caf::resumable* job) override;
  caf::actor_clock& clock() noexcept override { return clock_; }

  // Jobs queued or running; zero once every actor is idle or gone.
  std::size_t jobs_in_flight() const noexcept { return in_flight_.load(); }

 protected:
  void start() override;
  void stop() override;

 private:
  class execution_unit;
  void run(caf::resumable* job);

  boost::asio::io_context& io_;
  std::unique_ptr<execution_unit> unit_;
  std::atomic<std::size_t> in_flight_{0};
  caf::detail::thread_safe_actor_clock clock_;
  std::thread timer_;  // the clock's dispatch loop (delayed sends, timeouts)
};

// CAF's spawn keeps a reference to the actor system's logger in the spawning
// thread, and the system's destructor waits until every such reference is
// gone. Threads that run `io` and outlive the system (its last jobs run on
// them) drop theirs with this, called from another thread: one handler per
// thread, each waiting for the others, so no thread takes two.
void release_caf_thread_state(boost::asio::io_context& io, std::size_t io_threads);

}  // namespace paysync::actors
