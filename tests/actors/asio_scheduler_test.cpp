// The asio scheduler with a real io_context and real threads: actors run on
// the io threads, stay on the thread that woke them, get their delayed
// messages from the clock, yield when over their throughput, and the actor
// system shuts down while the io threads keep running.

#include "actors/asio_scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace paysync::actors {
namespace {

using namespace std::chrono_literals;

// An io_context run by `threads` threads for the test's length; the actor
// system is built on it and destroyed first, as switch_node does.
class AsioScheduler : public ::testing::Test {
 protected:
  void start(unsigned threads, std::size_t max_throughput = 0) {
    work_.emplace(io_.get_executor());
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
    for (const auto& t : threads_) thread_ids_.insert(t.get_id());
    asio_scheduler::install(config_, io_);
    if (max_throughput > 0) config_.set("scheduler.max-throughput", max_throughput);
    system_.emplace(config_);
  }

  void TearDown() override {
    if (system_) {
      // As switch_node does, in case an io thread spawned.
      release_caf_thread_state(io_, threads_.size());
      system_.reset();
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  caf::actor_system& system() { return *system_; }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::set<std::thread::id> thread_ids_;
  caf::actor_system_config config_;
  std::optional<caf::actor_system> system_;
};

// Function actors here always take a spawn argument: CAF 0.17 dereferences a
// null argument tuple when one is spawned without (an assertion failure
// under _GLIBCXX_ASSERTIONS, which the sanitizer build enables).
caf::behavior where_am_i(caf::event_based_actor*, int /*id*/) {
  return {[](caf::get_atom) { return std::hash<std::thread::id>{}(std::this_thread::get_id()); }};
}

std::size_t hash_of(std::thread::id id) { return std::hash<std::thread::id>{}(id); }

TEST_F(AsioScheduler, ActorsRunOnTheIoThreadsAndAnswerRequests) {
  start(2);
  auto actor = system().spawn(where_am_i, 1);
  caf::scoped_actor self{system()};
  std::set<std::size_t> seen;
  for (int i = 0; i < 20; ++i) {
    self->request(actor, caf::infinite, caf::get_atom::value)
        .receive([&](std::size_t thread) { seen.insert(thread); },
                 [&](caf::error& e) { FAIL() << system().render(e); });
  }
  std::set<std::size_t> io_threads;
  for (auto id : thread_ids_) io_threads.insert(hash_of(id));
  ASSERT_FALSE(seen.empty());
  for (auto thread : seen) EXPECT_TRUE(io_threads.count(thread)) << "ran off the io threads";
  EXPECT_FALSE(seen.count(hash_of(std::this_thread::get_id())));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_F(AsioScheduler, AMessageSentFromAnIoHandlerRunsOnThatHandlersThread) {
  // What a frame does: the listener's handler sends to the session actor.
  // The actor should run on the same thread right after, not wake the other
  // one (with post() instead of defer() it would, nearly every time).
  start(2);
  constexpr int trials = 200;
  auto same = std::make_shared<std::atomic<int>>(0);
  auto answered = std::make_shared<std::promise<void>>();
  auto all_answered = answered->get_future();
  auto actor = system().spawn(
      [](caf::event_based_actor*, std::shared_ptr<std::atomic<int>> same,
         std::shared_ptr<std::promise<void>> answered) -> caf::behavior {
        auto count = std::make_shared<int>(0);
        return {[=](std::size_t sender_thread) {
          if (sender_thread == hash_of(std::this_thread::get_id())) ++*same;
          if (++*count == trials) answered->set_value();
        }};
      },
      same, answered);
  for (int i = 0; i < trials; ++i) {
    boost::asio::post(io_, [actor] {
      caf::anon_send(actor, hash_of(std::this_thread::get_id()));
      // Keep this thread busy a moment after the send, as a handler that
      // goes on to read the next frame would.
      const auto until = std::chrono::steady_clock::now() + 20us;
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    std::this_thread::sleep_for(200us);
  }
  ASSERT_EQ(all_answered.wait_for(10s), std::future_status::ready);
  EXPECT_GE(same->load(), trials * 3 / 4) << "of " << trials;
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_F(AsioScheduler, DelayedMessagesComeFromTheClock) {
  start(1);
  auto fired = std::make_shared<std::promise<std::chrono::steady_clock::duration>>();
  auto result = fired->get_future();
  const auto sent = std::chrono::steady_clock::now();
  system().spawn(
      [sent](caf::event_based_actor* self,
             std::shared_ptr<std::promise<std::chrono::steady_clock::duration>> fired)
          -> caf::behavior {
        self->delayed_send(self, 30ms, caf::ok_atom::value);
        return {[=](caf::ok_atom) {
          fired->set_value(std::chrono::steady_clock::now() - sent);
          self->quit();
        }};
      },
      fired);
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  EXPECT_GE(result.get(), 30ms);
}

TEST_F(AsioScheduler, AnActorOverItsThroughputYieldsAndStillReadsItsWholeMailbox) {
  // One message per run: every other message takes the resume_later path.
  start(1, 1);
  constexpr int messages = 1000;
  auto done = std::make_shared<std::promise<int>>();
  auto counted = done->get_future();
  auto counter = system().spawn(
      [](caf::event_based_actor* self, std::shared_ptr<std::promise<int>> done) -> caf::behavior {
        auto count = std::make_shared<int>(0);
        return {[=](int) {
          if (++*count == messages) {
            done->set_value(*count);
            self->quit();
          }
        }};
      },
      done);
  for (int i = 0; i < messages; ++i) caf::anon_send(counter, i);
  ASSERT_EQ(counted.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(counted.get(), messages);
}

TEST_F(AsioScheduler, TheSystemShutsDownWithMessagesStillQueued) {
  // Destroying the system while actors have mail finishes or drops it and
  // returns; TearDown hangs (and the test times out) if a job is lost.
  start(2);
  std::vector<caf::actor> actors;
  for (int i = 0; i < 50; ++i) actors.push_back(system().spawn(where_am_i, i));
  for (int round = 0; round < 100; ++round) {
    for (const auto& a : actors) caf::anon_send(a, caf::get_atom::value);
  }
  for (const auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  actors.clear();
  auto& scheduler = static_cast<asio_scheduler&>(system().scheduler());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (scheduler.jobs_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(scheduler.jobs_in_flight(), 0u);
}

}  // namespace
}  // namespace paysync::actors
