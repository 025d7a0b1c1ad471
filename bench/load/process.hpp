#pragma once

// Processes the benchmark starts (the switch, extra generator processes) and
// what /proc says about them.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paysync::bench {

// One reading of /proc/<pid>/status and /proc/<pid>/stat.
struct proc_sample {
  bool ok = false;
  std::uint64_t rss_kb = 0;       // VmRSS
  std::uint64_t rss_anon_kb = 0;  // RssAnon: heap and stacks, what connections cost
  std::uint64_t rss_file_kb = 0;  // RssFile: mapped files (the binary, LMDB pages read)
  std::uint64_t hwm_kb = 0;       // VmHWM: peak RSS
  std::uint64_t threads = 0;
  std::uint64_t open_fds = 0;  // entries of /proc/<pid>/fd
  double cpu_user_s = 0, cpu_system_s = 0;
  double cpu_s() const noexcept { return cpu_user_s + cpu_system_s; }
};
proc_sample sample_process(pid_t pid);

// The whole machine's CPU time so far (the first line of /proc/stat), in
// clock ticks: what the neighbours took shows up as steal, an idle CPU as idle.
struct host_cpu_sample {
  bool ok = false;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
};
host_cpu_sample sample_host_cpu();

// Shares (0..1) of the CPU time between two samples of one machine.
struct host_cpu_shares {
  double busy = 0;     // user + nice + system + irq + softirq
  double softirq = 0;  // within busy: mostly loopback TCP delivered on the sender's CPU
  double idle = 0;
  double iowait = 0;
  double steal = 0;  // taken by the hypervisor for other guests
};
std::optional<host_cpu_shares> host_cpu_between(const host_cpu_sample& before,
                                                const host_cpu_sample& after);

// The soft RLIMIT_NOFILE of a process (its /proc/<pid>/limits), 0 if unknown.
std::uint64_t open_file_limit(pid_t pid);

// A child with its stdout on a pipe (read line by line), stderr to a file,
// and optionally its stdin on a pipe. It gets SIGTERM if the benchmark dies
// (spawn_tied_to_parent), so spawn from the main thread.
class child_process {
 public:
  static std::unique_ptr<child_process> spawn(const std::vector<std::string>& argv,
                                              const std::string& stderr_path, bool pipe_stdin,
                                              std::string& error);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // The next stdout line starting with `prefix` (earlier lines are skipped);
  // nothing on timeout or end of file.
  std::optional<std::string> wait_for_line(std::string_view prefix,
                                           std::chrono::milliseconds timeout);
  bool write_line(const std::string& line);
  void close_stdin();
  bool running();
  // SIGTERM, then SIGKILL after `grace`; returns the wait status (or -1).
  int stop(std::chrono::milliseconds grace);

 private:
  child_process() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string pending_;
  bool reaped_ = false;
  int status_ = -1;
};

// "key=value" fields of a line such as
// "PAYSYNC_READY billing=127.0.0.1:7700 paying=127.0.0.1:7800".
std::optional<std::string> line_field(std::string_view line, std::string_view key);
// "host:port" (IPv6 as "[::1]:7700") into its parts.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace paysync::bench
