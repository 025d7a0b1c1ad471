#pragma once

#include <string>

namespace paysync::actors {

// The malloc this process runs on, as the start-up banner prints it: asked of
// jemalloc itself ("jemalloc 5.3.0-…") when the binary is linked with it
// (PAYSYNC_JEMALLOC, the default outside sanitizer builds), "system malloc"
// otherwise.
std::string memory_allocator();

}  // namespace paysync::actors
