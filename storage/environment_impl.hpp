#pragma once

// Private to storage/ (and white-box tests). The open LMDB environment and
// the handles of every named database, opened once in environment::open.

#include <lmdb.h>

#include <string>

#include "storage/environment.hpp"
#include "storage/lmdb_handles.hpp"

namespace paysync::storage {

// DBI handles are opened once, at environment open, inside one write
// transaction; afterwards they are plain integers shared by every thread.
struct database_handles {
  MDB_dbi ledger_accounts = 0;       // account id -> account value (record_codec)
  MDB_dbi ledger_journal = 0;        // big-endian sequence -> posting (record_codec)
  MDB_dbi ledger_by_settlement = 0;  // settlement id -> big-endian sequence
  MDB_dbi ledger_by_account = 0;     // [u8 id length][account id][big-endian sequence] -> ""
  MDB_dbi ledger_refunds = 0;        // original settlement id -> big-endian refunded total
  MDB_dbi ledger_meta = 0;           // "last_sequence" -> big-endian u64
  MDB_dbi directory_merchants = 0;   // merchant id -> merchant (record_codec)
  MDB_dbi directory_tills = 0;       // till -> merchant id
  MDB_dbi directory_terminals = 0;   // terminal id -> terminal (record_codec)
  MDB_dbi directory_users = 0;       // user id -> user (record_codec)
  MDB_dbi directory_msisdns = 0;     // msisdn -> user id
  MDB_dbi auth_factors = 0;          // user id '\0' factor id -> factor (factor_store.cpp)
  MDB_dbi auth_attempts = 0;         // user id '\0' factor id -> attempt state
};

class environment_impl {
 public:
  // `directory` as the caller named it; `canonical_directory` is the key of the
  // process-wide registry that refuses a second open of the same environment.
  environment_impl(MDB_env* env, std::string directory, std::string canonical_directory,
                   const database_handles& dbs) noexcept;
  ~environment_impl();
  environment_impl(const environment_impl&) = delete;
  environment_impl& operator=(const environment_impl&) = delete;

  MDB_env* env() const noexcept { return env_; }
  const database_handles& dbs() const noexcept { return dbs_; }
  const std::string& directory() const noexcept { return directory_; }

  // A read-only snapshot. With MDB_NOTLS it may be used from any one thread
  // at a time and may move between threads.
  // Its handle comes from, and returns to, a small pool (read_txn_pool).
  result<detail::transaction> begin_read() const noexcept;
  std::size_t idle_read_handles() const noexcept { return read_handles_.idle(); }
  // The single writer: blocks while another write transaction is open.
  result<detail::transaction> begin_write() const noexcept;

 private:
  MDB_env* env_;
  std::string directory_;
  std::string canonical_directory_;
  database_handles dbs_;
  mutable detail::read_txn_pool read_handles_;
};

}  // namespace paysync::storage
