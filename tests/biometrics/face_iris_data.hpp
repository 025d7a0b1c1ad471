#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// Where the face and iris tests find ../shared/data/biometrics: $PAYSYNC_DATA,
// else the folder next to the source tree (PAYSYNC_TEST_DATA, set by CMake).
namespace paysync::biometrics::testing {

inline std::filesystem::path data_root() {
  if (const char* env = std::getenv("PAYSYNC_DATA"); env != nullptr && *env != '\0') {
    return env;
  }
  return PAYSYNC_TEST_DATA;
}

inline std::filesystem::path biometrics_dir() { return data_root() / "biometrics"; }

// The whole file, or nothing when it cannot be read.
inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace paysync::biometrics::testing

// Skips the test (with the reason) when the data folder is absent.
#define PAYSYNC_REQUIRE_DATA(subfolder)                                                  \
  do {                                                                                   \
    const auto folder_ = ::paysync::biometrics::testing::biometrics_dir() / (subfolder); \
    if (!std::filesystem::is_directory(folder_)) {                                       \
      GTEST_SKIP() << "data folder " << folder_                                          \
                   << " is absent; set PAYSYNC_DATA to the folder holding biometrics/";  \
    }                                                                                    \
  } while (false)
