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

int refuse_or_call(const char* name, sync_function& real, int fd) {
  if (disk_has_failed()) {
    errno = EIO;
    return -1;
  }
  if (real == nullptr) real = reinterpret_cast<sync_function>(::dlsym(RTLD_NEXT, name));
  return real(fd);
}

}  // namespace

extern "C" {

int fdatasync(int fd) {
  static sync_function real = nullptr;
  return refuse_or_call("fdatasync", real, fd);
}

int fsync(int fd) {
  static sync_function real = nullptr;
  return refuse_or_call("fsync", real, fd);
}

}  // extern "C"
