#pragma once

// Private to storage/. Invariant checks that stay on in every build type
// (RelWithDebInfo defines NDEBUG, which would silence `assert`): a broken
// money invariant must stop the process before it commits, never be skipped.

#include <cstdio>
#include <cstdlib>

namespace paysync::storage::detail {

[[noreturn]] inline void assertion_failed(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "paysync storage: assertion failed: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

}  // namespace paysync::storage::detail

#define PAYSYNC_ASSERT(condition) \
  (static_cast<bool>(condition)   \
       ? static_cast<void>(0)     \
       : ::paysync::storage::detail::assertion_failed(#condition, __FILE__, __LINE__))
