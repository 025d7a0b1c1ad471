#pragma once

// The processes bench_auth starts (the switch, `paysync enrol`) and what
// /proc says about a process's threads: CPU time and run-queue wait from
// /proc/<pid>/task/<tid>/schedstat (nanoseconds, exact), nice from .../stat,
// context switches from .../status.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paysync::bench::auth {

struct thread_reading {
  pid_t tid = 0;
  std::string comm;
  int nice = 0;
  std::uint64_t run_ns = 0;                      // on a CPU
  std::uint64_t wait_ns = 0;                     // runnable, waiting for a CPU
  std::uint64_t slices = 0;                      // times it was scheduled
  std::uint64_t voluntary = 0, involuntary = 0;  // context switches
  std::string wchan;                             // where it sleeps ("ep_poll": an Asio thread)
};

struct process_reading {
  bool ok = false;
  std::vector<thread_reading> threads;
  std::uint64_t run_ns() const noexcept;
};

process_reading read_process(pid_t pid);

// What each thread did between two readings; threads born in between count
// from zero. Sorted by CPU, busiest first.
struct thread_delta {
  pid_t tid = 0;
  std::string comm;
  int nice = 0;
  double cpu_ms = 0, wait_ms = 0;
  std::uint64_t slices = 0, voluntary = 0, involuntary = 0;
  std::string wchan;
};
std::vector<thread_delta> thread_deltas(const process_reading& before,
                                        const process_reading& after);

// A child with its stdout on a pipe (read line by line) and stderr to a file.
// It gets SIGTERM if the benchmark dies (spawn_tied_to_parent), so spawn from
// the main thread.
class child_process {
 public:
  static std::unique_ptr<child_process> spawn(const std::vector<std::string>& argv,
                                              const std::string& stderr_path, std::string& error);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // The next stdout line starting with `prefix`; nothing on timeout or EOF.
  std::optional<std::string> wait_for_line(std::string_view prefix,
                                           std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the wait status (or -1).
  int stop(std::chrono::milliseconds grace);

 private:
  child_process() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  bool reaped_ = false;
  int status_ = -1;
};

// Runs argv to completion; its stdout and stderr together in `output`.
// The exit code, or -1 when it could not run or was killed.
int run_to_completion(const std::vector<std::string>& argv, std::string& output);

// "key=value" out of a line such as "PAYSYNC_READY billing=127.0.0.1:7700".
std::optional<std::string> line_field(std::string_view line, std::string_view key);
// "host:port" into its parts.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace paysync::bench::auth
