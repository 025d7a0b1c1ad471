#include "bench/load/interrupt.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

namespace paysync::bench {
namespace {

std::mutex cleanup_mutex;
pid_t cleanup_pid = 0;
std::string cleanup_dir;

bool gone(pid_t pid) {
  // Reaped here, or already by the main thread (ECHILD), or never ours.
  const pid_t r = ::waitpid(pid, nullptr, WNOHANG);
  return r == pid || (r < 0 && ::kill(pid, 0) != 0);
}

[[noreturn]] void clean_up_and_exit(int signal_number) {
  std::lock_guard lock(cleanup_mutex);
  std::fprintf(stderr, "\nbench_load: %s; stopping the switch and removing its data\n",
               signal_number == SIGINT ? "interrupted" : "terminated");
  if (cleanup_pid > 0) {
    ::kill(cleanup_pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!gone(cleanup_pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!gone(cleanup_pid)) {
      ::kill(cleanup_pid, SIGKILL);
      ::waitpid(cleanup_pid, nullptr, 0);
    }
  }
  if (!cleanup_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(cleanup_dir, ec);
  }
  // No destructors: the other threads are still using what they would free.
  // Helper generator processes get SIGTERM from the kernel as we go.
  std::_Exit(130);
}

}  // namespace

void watch_interrupts() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int signal_number = 0;
    while (::sigwait(&set, &signal_number) != 0) {
    }
    clean_up_and_exit(signal_number);
  }).detach();
}

void on_interrupt_clean_up(pid_t switch_pid, std::string data_dir) {
  std::lock_guard lock(cleanup_mutex);
  cleanup_pid = switch_pid;
  cleanup_dir = std::move(data_dir);
}

}  // namespace paysync::bench
