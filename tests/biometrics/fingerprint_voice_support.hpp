#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

// Data location and crafted inputs for the fingerprint and voice tests.
namespace paysync::biometrics::fp_voice_testing {

// $PAYSYNC_DATA, else ../shared/data next to the source tree
// (PAYSYNC_TEST_DATA, set by CMake so that ctest finds it from build/).
inline std::filesystem::path biometrics_dir() {
  if (const char* env = std::getenv("PAYSYNC_DATA"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env) / "biometrics";
  }
  return std::filesystem::path(PAYSYNC_TEST_DATA) / "biometrics";
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  out[0] = 0x42;  // 'B': neither RIFF nor an image magic number
  return out;
}

}  // namespace paysync::biometrics::fp_voice_testing

// Skips the test when the data folder is absent.
#define PAYSYNC_FP_VOICE_REQUIRE_DATA(subfolder)                                                  \
  do {                                                                                            \
    const auto folder_ = ::paysync::biometrics::fp_voice_testing::biometrics_dir() / (subfolder); \
    if (!std::filesystem::is_directory(folder_)) {                                                \
      GTEST_SKIP() << "data folder " << folder_                                                   \
                   << " is absent; set PAYSYNC_DATA to the folder holding biometrics/";           \
    }                                                                                             \
  } while (false)
