#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "storage/store_error.hpp"

namespace paysync::storage {

struct environment_options {
  std::string directory;                              // created (mode 0700) if missing
  std::size_t map_size_bytes = std::size_t{4} << 30;  // virtual reservation, grows lazily on disk
  unsigned max_readers = 1024;
  // When false, commits skip fsync (MDB_NOSYNC). Only for benchmarks that
  // measure the non-durable ceiling; the switch always runs durable.
  bool durable = true;
  // MDB_NOMETASYNC: a commit flushes the file once, not twice. Every store's
  // commit still returns only once durable (it flushes again itself), except
  // ledger_store::post_batch_before_sync, whose caller makes its batches
  // durable with the next batch's flush or ledger_store::sync (the ledger
  // actor's pipeline; docs/architecture.md).
  bool single_flush_commits = false;
};

class environment_impl;

// One LMDB environment (a directory holding data.mdb and lock.mdb) with the
// named databases of every store. Thread-safe: read calls may come from any
// thread at once (the environment is opened with MDB_NOTLS, so CAF actors may
// migrate between threads); write calls are serialised by LMDB itself.
class environment {
 public:
  // Opens (creating if needed) the environment and every named database.
  // Fails with invalid_argument (empty directory, map_size_bytes < 1 MiB,
  // max_readers 0 or absurd), already_exists (the directory is already open
  // in this process: LMDB forbids a second open, it would break the first
  // one's locks) or io_error.
  static result<std::unique_ptr<environment>> open(const environment_options& options);
  ~environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  const std::string& directory() const noexcept;
  environment_impl& impl() noexcept { return *impl_; }

 private:
  explicit environment(std::unique_ptr<environment_impl> impl);
  std::unique_ptr<environment_impl> impl_;
};

}  // namespace paysync::storage
