// The switch runs on the malloc its build chose: jemalloc by default
// (PAYSYNC_JEMALLOC), the system's in sanitizer builds. Checked in the running
// process itself, not in the build files: the library must be mapped, and the
// banner gives what the allocator says of itself.

#include <fstream>
#include <sstream>

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class Allocator : public switch_test {};

std::string memory_map_of(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::ostringstream all;
  all << maps.rdbuf();
  return all.str();
}

TEST_F(Allocator, TheSwitchRunsOnTheAllocatorItsBuildChose) {
  start();
  const auto maps = memory_map_of(process().pid());
  ASSERT_FALSE(maps.empty());
  const bool jemalloc_mapped = maps.find("libjemalloc.so") != std::string::npos;
  const auto out = process().output();
#ifdef PAYSYNC_EXPECT_JEMALLOC
  EXPECT_TRUE(jemalloc_mapped);
  EXPECT_NE(out.find("memory allocator                  jemalloc 5."), std::string::npos) << out;
#else
  EXPECT_FALSE(jemalloc_mapped);
  EXPECT_NE(out.find("memory allocator                  system malloc"), std::string::npos) << out;
#endif
  // Still a working switch: a payment goes through on it.
  auto b = billing();
  auto h = handset();
  const auto txn = synchronize(b, h);
  EXPECT_FALSE(txn.empty());
}

}  // namespace
}  // namespace paysync::testing_support
