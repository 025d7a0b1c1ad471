#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/directory_store.hpp"
#include "storage/environment.hpp"
#include "storage/ledger_store.hpp"

namespace paysync::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class temp_directory {
 public:
  temp_directory() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/paysync-storage-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) std::abort();
    path_ = buffer.data();
  }
  ~temp_directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Opens one environment (with both stores) in a temporary directory; close()
// and reopen() simulate a restart of the switch.
class storage_test : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { close(); }

  environment_options options() const {
    environment_options o;
    o.directory = dir_.path() + "/env";
    o.map_size_bytes = map_size_bytes_;
    o.durable = durable_;
    o.single_flush_commits = single_flush_;
    return o;
  }
  void open() {
    auto opened = environment::open(options());
    ASSERT_TRUE(opened.has_value()) << to_string(opened.error());
    env_ = std::move(*opened);
    ledger_.emplace(*env_);
    directory_.emplace(*env_);
  }
  void close() {
    ledger_.reset();
    directory_.reset();
    env_.reset();
  }
  void reopen() {
    close();
    open();
  }

  ledger_store& ledger() { return *ledger_; }
  directory_store& directory() { return *directory_; }
  environment& env() { return *env_; }

  temp_directory dir_;
  std::size_t map_size_bytes_ = std::size_t{64} << 20;
  bool durable_ = true;
  bool single_flush_ = false;  // environment_options::single_flush_commits
  std::unique_ptr<environment> env_;
  std::optional<ledger_store> ledger_;
  std::optional<directory_store> directory_;
};

}  // namespace paysync::storage::testing
