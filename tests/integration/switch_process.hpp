#pragma once

// Starts the real `paysync` binary (path in $PAYSYNC_BINARY, set by ctest) on
// ephemeral ports and a scratch data directory, and stops it: gently
// (SIGTERM) or not (SIGKILL).

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace paysync::testing_support {

class switch_process {
 public:
  // Starts `paysync serve --data-dir <data_dir> --billing-port 0 --paying-port 0
  // <extra...>` and waits for its PAYSYNC_READY line. `extra_env` holds
  // NAME=value entries added to (or replacing) the inherited environment.
  switch_process(std::string data_dir, std::vector<std::string> extra_args = {},
                 std::vector<std::string> extra_env = {});
  ~switch_process();
  switch_process(const switch_process&) = delete;
  switch_process& operator=(const switch_process&) = delete;

  std::uint16_t billing_port() const { return billing_port_; }
  std::uint16_t paying_port() const { return paying_port_; }
  std::uint16_t operator_port() const { return operator_port_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // SIGKILL: no chance to flush or close anything.
  void kill_hard();
  // SIGSTOP / SIGCONT: a hung node, its sockets open but silent.
  void suspend();
  void resume();
  // SIGTERM and wait; returns the exit status (or -1).
  int stop();
  // Everything the process printed so far (stdout and stderr).
  std::string output() const;

  static std::string binary();

  // The body of GET `path` on 127.0.0.1:`port` ("" when it fails), for the
  // operator port's plain HTTP.
  static std::string http_get(std::uint16_t port, const std::string& path);

 private:
  void read_output(int fd);
  int reap(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  std::uint16_t billing_port_ = 0, paying_port_ = 0, operator_port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::string output_;
  bool eof_ = false;
  std::thread reader_;
};

}  // namespace paysync::testing_support
