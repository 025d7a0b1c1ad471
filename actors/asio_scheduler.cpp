#include "actors/asio_scheduler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <latch>

namespace paysync::actors {

// What an actor sees as its context while it runs: a message it sends to an
// idle scheduled actor comes back here, and is queued on the sending thread.
class asio_scheduler::execution_unit final : public caf::execution_unit {
 public:
  explicit execution_unit(asio_scheduler& owner)
      : caf::execution_unit(&owner.system()), owner_(owner) {}
  void exec_later(caf::resumable* job) override { owner_.enqueue(job); }

 private:
  asio_scheduler& owner_;
};

namespace {

// CAF gives each worker thread its own execution unit; so do we, one per
// Asio thread and scheduler (a thread serves one switch node's io_context).
struct thread_unit {
  const asio_scheduler* owner = nullptr;
  std::unique_ptr<caf::execution_unit> unit;
};
thread_local thread_unit current_unit;

}  // namespace

asio_scheduler::asio_scheduler(caf::actor_system& system, boost::asio::io_context& io)
    : abstract_coordinator(system), io_(io) {}

asio_scheduler::~asio_scheduler() = default;

void asio_scheduler::install(caf::actor_system_config& config, boost::asio::io_context& io) {
  // The actor system keeps a scheduler module loaded by the user instead of
  // making its own.
  config.module_factories.push_back([&io](caf::actor_system& system) -> caf::actor_system::module* {
    return new asio_scheduler(system, io);
  });
}

void asio_scheduler::enqueue(caf::resumable* job) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // defer, not post: from an Asio thread the job goes to that thread's own
  // queue and runs after the current handler, without waking another thread.
  boost::asio::defer(io_, [this, job] { run(job); });
}

void asio_scheduler::run(caf::resumable* job) {
  if (current_unit.owner != this) {
    current_unit.owner = this;
    current_unit.unit = std::make_unique<execution_unit>(*this);
  }
  switch (job->resume(current_unit.unit.get(), max_throughput())) {
    case caf::resumable::resume_later:
      // It used its share of messages; queue it behind the others (the
      // reference and the in-flight count stay with it).
      boost::asio::defer(io_, [this, job] { run(job); });
      return;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      caf::intrusive_ptr_release(job);
      break;
    case caf::resumable::shutdown_execution_unit:
      // Only CAF's own coordinators hand out jobs that answer this; they
      // own their reference.
      break;
  }
  in_flight_.fetch_sub(1, std::memory_order_release);
}

void asio_scheduler::start() {
  timer_ = std::thread{[this] {
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  }};
  abstract_coordinator::start();
}

void asio_scheduler::stop() {
  stop_actors();
  // Every actor has quit by now (the actor system waits for them); what is
  // left are jobs queued on the io_context, which its threads finish.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (in_flight_.load(std::memory_order_acquire) > 0) {
    if (io_.stopped() || std::chrono::steady_clock::now() >= deadline) {
      spdlog::error("asio scheduler: {} actor jobs still queued at shutdown; the io_context {}",
                    in_flight_.load(),
                    io_.stopped() ? "was stopped first" : "did not run them in 5 s");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  clock_.cancel_dispatch_loop();
  timer_.join();
}

void release_caf_thread_state(boost::asio::io_context& io, std::size_t io_threads) {
  if (io_threads == 0) return;
  auto all_arrived = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(io_threads));
  for (std::size_t i = 0; i < io_threads; ++i) {
    boost::asio::post(io, [all_arrived] {
      caf::logger::set_current_actor_system(nullptr);
      all_arrived->arrive_and_wait();
    });
  }
  all_arrived->wait();
}

}  // namespace paysync::actors
