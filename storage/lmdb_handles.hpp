#pragma once

// Private to storage/. Small RAII owners for LMDB handles and the helpers
// every store uses to move bytes in and out of MDB_val.
//
// Lifetimes: a `cursor` must be destroyed before the `transaction` it was
// opened in ends (LMDB frees write-transaction cursors on commit/abort, so
// closing one afterwards is a use after free). Declare cursors in an inner
// scope that closes before `commit()`.

#include <lmdb.h>

#include <cstdint>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store_error.hpp"

namespace paysync::storage::detail {

// Maps an LMDB return code (non-zero) to a store_error: MDB_MAP_FULL ->
// map_full, MDB_NOTFOUND -> not_found, anything else -> io_error (logged with
// `operation` and LMDB's message only; never keys or values).
store_error lmdb_failure(int rc, const char* operation) noexcept;

inline MDB_val as_val(std::string_view bytes) noexcept {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}
inline MDB_val as_val(const void* data, std::size_t size) noexcept {
  return MDB_val{size, const_cast<void*>(data)};
}
inline std::string_view as_view(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Big-endian fixed-width integers: keys sort numerically under LMDB's
// default memcmp ordering.
inline void put_be64(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline std::uint64_t get_be64(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Finished read-only transaction handles, reset and kept for the next
// reader. mdb_txn_begin allocates about 1.1 KB per transaction (above
// glibc's per-thread cache, so every one takes the allocator's slow path)
// and a payment opens more than a dozen read transactions; mdb_txn_renew
// reuses a handle instead. Under MDB_NOTLS a reset handle keeps its reader
// slot, so the pool holds at most `capacity` slots of the environment's
// max_readers. Must be emptied before the environment closes.
class read_txn_pool {
 public:
  explicit read_txn_pool(std::size_t capacity) : capacity_(capacity) { idle_.reserve(capacity); }
  ~read_txn_pool() { clear(); }
  read_txn_pool(const read_txn_pool&) = delete;
  read_txn_pool& operator=(const read_txn_pool&) = delete;

  // A reset handle to renew, or nullptr when none is idle.
  MDB_txn* take() noexcept {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return nullptr;
    MDB_txn* txn = idle_.back();
    idle_.pop_back();
    return txn;
  }
  // Ends a read transaction: kept (reset) when there is room, else aborted.
  void give_back(MDB_txn* txn) noexcept {
    mdb_txn_reset(txn);
    {
      std::lock_guard lock(mutex_);
      if (idle_.size() < capacity_) {
        idle_.push_back(txn);
        return;
      }
    }
    mdb_txn_abort(txn);
  }
  void clear() noexcept {
    std::lock_guard lock(mutex_);
    for (MDB_txn* txn : idle_) mdb_txn_abort(txn);
    idle_.clear();
  }
  std::size_t idle() const noexcept {
    std::lock_guard lock(mutex_);
    return idle_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<MDB_txn*> idle_;
  std::size_t capacity_;
};

// One read-only or read-write transaction. Aborts on destruction unless
// committed; a read transaction from a pool goes back to it instead.
// Movable, not copyable.
class transaction {
 public:
  transaction() noexcept = default;
  explicit transaction(MDB_txn* txn, read_txn_pool* pool = nullptr) noexcept
      : txn_(txn), pool_(pool) {}
  ~transaction() { abort(); }
  transaction(transaction&& other) noexcept
      : txn_(std::exchange(other.txn_, nullptr)), pool_(std::exchange(other.pool_, nullptr)) {}
  transaction& operator=(transaction&& other) noexcept {
    if (this != &other) {
      abort();
      txn_ = std::exchange(other.txn_, nullptr);
      pool_ = std::exchange(other.pool_, nullptr);
    }
    return *this;
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  MDB_txn* get() const noexcept { return txn_; }

  // Commits durably (unless the environment was opened non-durable): when it
  // returns, the commit survives a power cut. The transaction is finished
  // afterwards whatever the outcome.
  result<void> commit() noexcept {
    if (pool_ != nullptr) {  // a read transaction: nothing to commit
      abort();
      return {};
    }
    MDB_env* env = mdb_txn_env(txn_);
    int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
    if (rc != 0) return lmdb_failure(rc, "mdb_txn_commit");
    // Under MDB_NOMETASYNC the commit flushed its data pages but only wrote
    // its meta page; flushing the file once more makes that durable too.
    unsigned flags = 0;
    mdb_env_get_flags(env, &flags);
    if ((flags & MDB_NOMETASYNC) != 0 && (flags & MDB_NOSYNC) == 0) {
      if ((rc = mdb_env_sync(env, 1)) != 0) return lmdb_failure(rc, "mdb_env_sync");
    }
    return {};
  }

  // Commits with one flush instead of two, in an environment opened with
  // MDB_NOMETASYNC: the data pages are flushed, the meta page that points at
  // them is only written. This commit becomes durable with the next flush of
  // the file: the data flush of the next commit that writes anything, or an
  // explicit mdb_env_sync. Returns whether this commit flushed the file,
  // which makes every earlier commit durable (an empty transaction writes
  // and flushes nothing).
  result<bool> commit_before_meta_sync() noexcept {
    MDB_env* env = mdb_txn_env(txn_);
    const auto id = mdb_txn_id(txn_);
    int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
    if (rc != 0) return lmdb_failure(rc, "mdb_txn_commit");
    MDB_envinfo info{};
    if ((rc = mdb_env_info(env, &info)) != 0) return lmdb_failure(rc, "mdb_env_info");
    return info.me_last_txnid == id;
  }
  void abort() noexcept {
    if (txn_ == nullptr) return;
    if (pool_ != nullptr) {
      pool_->give_back(std::exchange(txn_, nullptr));
    } else {
      mdb_txn_abort(std::exchange(txn_, nullptr));
    }
  }

 private:
  MDB_txn* txn_ = nullptr;
  read_txn_pool* pool_ = nullptr;  // set for read transactions only
};

class cursor {
 public:
  static result<cursor> open(MDB_txn* txn, MDB_dbi dbi) noexcept {
    MDB_cursor* c = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc != 0) return lmdb_failure(rc, "mdb_cursor_open");
    return cursor(c);
  }
  ~cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  cursor(cursor&& other) noexcept : cursor_(std::exchange(other.cursor_, nullptr)) {}
  cursor& operator=(cursor&&) = delete;
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  MDB_cursor* get() const noexcept { return cursor_; }

 private:
  explicit cursor(MDB_cursor* c) noexcept : cursor_(c) {}
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace paysync::storage::detail
