#include "actors/allocator.hpp"

#ifdef PAYSYNC_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace paysync::actors {

std::string memory_allocator() {
#ifdef PAYSYNC_WITH_JEMALLOC
  const char* version = nullptr;
  std::size_t length = sizeof(version);
  if (mallctl("version", &version, &length, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc (it did not give its version)";
#else
  return "system malloc";
#endif
}

}  // namespace paysync::actors
