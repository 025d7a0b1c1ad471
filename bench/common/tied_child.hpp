#pragma once

// Starting a child process (the switch, a helper generator) that cannot
// outlive the benchmark that started it.

#include <sys/types.h>

#include <string>
#include <vector>

namespace paysync::bench {

// Starts argv[0] (a path) with `argv`, its stdin, stdout and stderr on the
// given descriptors, and asks the kernel (PR_SET_PDEATHSIG) to send it SIGTERM
// when the calling thread ends: a benchmark stopped by any signal, SIGKILL
// included, leaves no switch running. The kernel ties this to the thread, so
// call it from one that lives as long as the child should (the main thread).
// The descriptors should be close-on-exec here; the child gets them as 0, 1
// and 2. Returns the child's pid, or -1 with `error` saying why, exec failures
// included.
pid_t spawn_tied_to_parent(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd,
                           int stderr_fd, std::string& error);

}  // namespace paysync::bench
