// A disk that starts refusing flushes, for tests: preloaded into the switch
// (LD_PRELOAD), it makes fsync and fdatasync fail with EIO once the file
// named by $PAYSYNC_FAIL_FSYNC_WHEN exists, and passes them through before.
// The writes themselves still land in the page cache, as on a real disk
// whose flush failed.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

bool disk_has_failed() {
  const char* trigger = std::getenv("PAYSYNC_FAIL_FSYNC_WHEN");
  return trigger != nullptr && ::access(trigger, F_OK) == 0;
}

using sync_function = int (*)(int);

sync_function next_definition(const char* name) {
  return reinterpret_cast<sync_function>(::dlsym(RTLD_NEXT, name));
}

int refuse_or_call(sync_function real, int fd) {
  if (disk_has_failed()) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

}  // namespace

extern "C" {

// Function-local statics: looked up once, thread-safely (the switch flushes
// from its ledger thread, LMDB from whichever thread commits).
int fdatasync(int fd) {
  static const sync_function real = next_definition("fdatasync");
  return refuse_or_call(real, fd);
}

int fsync(int fd) {
  static const sync_function real = next_definition("fsync");
  return refuse_or_call(real, fd);
}

}  // extern "C"
