#include "bench/common/tied_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace paysync::bench {

// fork and exec rather than posix_spawn: only code running in the child
// between the two can set the parent-death signal.
pid_t spawn_tied_to_parent(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd,
                           int stderr_fd, std::string& error) {
  if (argv.empty()) {
    error = "nothing to start";
    return -1;
  }
  int exec_failure[2];  // the child's errno if it cannot exec; end of file once it did
  if (::pipe2(exec_failure, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  // Built before fork: between fork and exec the child may only make
  // async-signal-safe calls (the benchmark's other threads keep running).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    int failure = 0;
    sigset_t none;  // the benchmark may block signals it waits for; the child must not
    sigemptyset(&none);
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0 ||
        ::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
      failure = errno;
    } else if (::getppid() != parent) {
      ::_exit(127);  // the benchmark died before prctl took effect
    } else if (::dup2(stdin_fd, STDIN_FILENO) < 0 || ::dup2(stdout_fd, STDOUT_FILENO) < 0 ||
               ::dup2(stderr_fd, STDERR_FILENO) < 0) {
      failure = errno;
    } else {
      ::execv(args[0], args.data());
      failure = errno;
    }
    [[maybe_unused]] const auto written = ::write(exec_failure[1], &failure, sizeof failure);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(exec_failure[1]);
  int child_errno = 0;
  if (pid > 0) {
    ssize_t n = 0;
    do {
      n = ::read(exec_failure[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof child_errno)) child_errno = 0;
  }
  ::close(exec_failure[0]);
  if (pid < 0 || child_errno != 0) {
    error = "cannot start " + argv[0] + ": " + std::strerror(pid < 0 ? fork_errno : child_errno);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

}  // namespace paysync::bench
