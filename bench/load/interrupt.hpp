#pragma once

// Ctrl-C or SIGTERM during a run: the switch this run started is stopped and
// its data folder (over 100 MB once seeded) removed, instead of being left
// behind in /tmp by every interrupted run.

#include <sys/types.h>

#include <string>

namespace paysync::bench {

// Blocks SIGINT and SIGTERM and starts the thread that waits for them. Call
// it before any other thread exists, so that every thread inherits the mask
// and only that one takes the signals.
void watch_interrupts();

// What an interrupt cleans up from now on: SIGTERM to `switch_pid` (SIGKILL
// if it has not exited after 10 s), then `data_dir` removed; the benchmark
// then exits with status 130. Either may be empty (0, "").
void on_interrupt_clean_up(pid_t switch_pid, std::string data_dir);

}  // namespace paysync::bench
