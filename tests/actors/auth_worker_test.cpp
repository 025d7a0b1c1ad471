// The biometric pool's workers must give way to the I/O path: a background
// worker moves its own thread (and only it) to SCHED_IDLE. Real threads here,
// not the test coordinator: the scheduling policy belongs to a kernel thread.

#include "actors/auth_worker.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "storage/factor_store.hpp"
#include "storage/keyring.hpp"
#include "support/temp_directory.hpp"

namespace paysync::actors {
namespace {

constexpr int sched_idle_policy = 5;  // SCHED_IDLE in /proc/<pid>/task/<tid>/stat

// How many of this process's threads run under SCHED_IDLE (field 41 of stat).
int idle_threads() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (auto* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + entry->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name may hold spaces: count fields after its closing ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i) {
      if (i == 41 && std::stoi(field) == sched_idle_policy) ++count;
    }
  }
  ::closedir(dir);
  return count;
}

class AuthWorker : public ::testing::Test {
 protected:
  AuthWorker() {
    config_.add_message_types<caf::id_block::paysync>();
    system_ = std::make_unique<caf::actor_system>(config_);
    keys_ = std::make_shared<const storage::keyring>(
        *storage::load_or_create_keyring(dir_.sub("keys")));
  }

  // Sends one knowledge job with nothing registered: answered at once.
  void check_once(const auth_pool_actor& worker) {
    auth_job job;
    job.user_id = "u1";
    job.kind = static_cast<std::uint8_t>(storage::factor_kind::pin);
    job.answer = "1234";
    caf::scoped_actor self{*system_};
    bool answered = false;
    self->request(worker, std::chrono::seconds(10), verify_atom::value, std::move(job))
        .receive([&](const auth_verdict& v) { answered = !v.matched; },
                 [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    EXPECT_TRUE(answered);
  }

  testing_support::scratch_directory dir_;
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::shared_ptr<const storage::keyring> keys_;
};

TEST_F(AuthWorker, ABackgroundWorkerMovesOnlyItsOwnThreadToSchedIdle) {
  ASSERT_EQ(idle_threads(), 0);
  auto normal = system_->spawn<caf::detached>(auth_worker, keys_, worker_priority::normal);
  check_once(normal);
  EXPECT_EQ(idle_threads(), 0) << "a normal worker must keep the default policy";

  auto background = system_->spawn<caf::detached>(auth_worker, keys_, worker_priority::background);
  check_once(background);
  check_once(background);
  EXPECT_EQ(idle_threads(), 1) << "exactly the background worker's thread";

  caf::anon_send_exit(normal, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(background, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace paysync::actors
