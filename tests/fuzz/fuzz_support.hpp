#pragma once

// Shared by the libFuzzer targets in this folder (see README.md).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace paysync::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::uint8_t> bytes_of(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

// An invariant the code under test promises; a violation is a finding.
inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// Holds `bytes` in an in-memory file private to this process (for decoders
// that take a path) and returns its path; the next call replaces the contents.
// (A file on disk, truncated and rewritten each run, costs milliseconds.)
inline const std::string& scratch_file(std::string_view bytes) {
  static const int fd = ::memfd_create("paysync-fuzz", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  require(fd >= 0 && ::ftruncate(fd, 0) == 0, "the scratch file can be truncated");
  require(::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()),
          "the scratch file can be written");
  return path;
}

}  // namespace paysync::fuzz
