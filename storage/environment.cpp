#include "storage/environment.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "storage/assert.hpp"
#include "storage/environment_impl.hpp"

namespace paysync::storage {

namespace {

constexpr unsigned max_databases = 16;
// Idle read handles kept for reuse (each holds a reader slot): about one per
// thread that reads (io threads, ledger, biometric workers).
constexpr std::size_t idle_read_handles_kept = 16;
constexpr std::size_t min_map_size_bytes = std::size_t{1} << 20;
constexpr unsigned max_max_readers = 126 * 1024;  // far above any thread count we run

// LMDB forbids opening one environment twice in one process (closing either
// copy releases the other's POSIX locks). Every open directory is recorded here.
std::mutex open_directories_mutex;
std::set<std::string> open_directories;

bool register_directory(const std::string& canonical) {
  std::lock_guard lock(open_directories_mutex);
  return open_directories.insert(canonical).second;
}
void unregister_directory(const std::string& canonical) {
  std::lock_guard lock(open_directories_mutex);
  open_directories.erase(canonical);
}

// mkdir -p with mode 0700 for every directory it creates.
bool make_directories(const std::string& path) {
  std::string prefix;
  prefix.reserve(path.size());
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    prefix.assign(path, 0, slash);
    i = slash + 1;
    if (prefix.empty()) continue;  // leading '/'
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Owns an MDB_env until handed to environment_impl.
struct env_guard {
  MDB_env* env = nullptr;
  ~env_guard() {
    if (env != nullptr) mdb_env_close(env);
  }
};

}  // namespace

namespace detail {

store_error lmdb_failure(int rc, const char* operation) noexcept {
  PAYSYNC_ASSERT(rc != 0);
  if (rc == MDB_MAP_FULL) return store_error::map_full;
  if (rc == MDB_NOTFOUND) return store_error::not_found;
  try {
    spdlog::error("storage: {} failed: {}", operation, mdb_strerror(rc));
  } catch (...) {
  }
  return store_error::io_error;
}

}  // namespace detail

environment_impl::environment_impl(MDB_env* env, std::string directory,
                                   std::string canonical_directory,
                                   const database_handles& dbs) noexcept
    : env_(env),
      directory_(std::move(directory)),
      canonical_directory_(std::move(canonical_directory)),
      dbs_(dbs),
      read_handles_(idle_read_handles_kept) {}

environment_impl::~environment_impl() {
  read_handles_.clear();  // every handle must be gone before the environment closes
  mdb_env_close(env_);
  unregister_directory(canonical_directory_);
}

result<detail::transaction> environment_impl::begin_read() const noexcept {
  if (MDB_txn* reused = read_handles_.take()) {
    if (mdb_txn_renew(reused) == 0) return detail::transaction(reused, &read_handles_);
    mdb_txn_abort(reused);  // e.g. MDB_READERS_FULL: a fresh handle reports it below
  }
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return detail::lmdb_failure(rc, "mdb_txn_begin(read)");
  return detail::transaction(txn, &read_handles_);
}

result<detail::transaction> environment_impl::begin_write() const noexcept {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return detail::lmdb_failure(rc, "mdb_txn_begin(write)");
  return detail::transaction(txn);
}

result<std::unique_ptr<environment>> environment::open(const environment_options& options) {
  if (options.directory.empty() || options.map_size_bytes < min_map_size_bytes ||
      options.max_readers == 0 || options.max_readers > max_max_readers) {
    return store_error::invalid_argument;
  }
  if (!make_directories(options.directory)) {
    spdlog::error("storage: cannot create directory {}", options.directory);
    return store_error::io_error;
  }
  std::error_code ec;
  std::string canonical = std::filesystem::canonical(options.directory, ec).string();
  if (ec) return store_error::io_error;
  if (!register_directory(canonical)) return store_error::already_exists;
  struct registration_guard {
    const std::string* directory;
    ~registration_guard() {
      if (directory != nullptr) unregister_directory(*directory);
    }
  } registration{&canonical};

  env_guard guard;
  int rc = mdb_env_create(&guard.env);
  if (rc != 0) return detail::lmdb_failure(rc, "mdb_env_create");
  if ((rc = mdb_env_set_maxdbs(guard.env, max_databases)) != 0)
    return detail::lmdb_failure(rc, "mdb_env_set_maxdbs");
  if ((rc = mdb_env_set_mapsize(guard.env, options.map_size_bytes)) != 0)
    return detail::lmdb_failure(rc, "mdb_env_set_mapsize");
  if ((rc = mdb_env_set_maxreaders(guard.env, options.max_readers)) != 0)
    return detail::lmdb_failure(rc, "mdb_env_set_maxreaders");
  // MDB_NOTLS: read transactions are not tied to a thread (actors migrate).
  // Durable: no MDB_NOSYNC, so every commit is fsynced (with
  // MDB_NOMETASYNC, detail::transaction::commit flushes the meta page itself).
  unsigned flags = MDB_NOTLS;
  if (!options.durable) flags |= MDB_NOSYNC;
  if (options.single_flush_commits) flags |= MDB_NOMETASYNC;
  if ((rc = mdb_env_open(guard.env, canonical.c_str(), flags, 0600)) != 0)
    return detail::lmdb_failure(rc, "mdb_env_open");
  int dead_readers = 0;
  if ((rc = mdb_reader_check(guard.env, &dead_readers)) != 0)
    return detail::lmdb_failure(rc, "mdb_reader_check");

  database_handles dbs;
  {
    MDB_txn* raw = nullptr;
    if ((rc = mdb_txn_begin(guard.env, nullptr, 0, &raw)) != 0)
      return detail::lmdb_failure(rc, "mdb_txn_begin(open)");
    detail::transaction txn(raw);
    const std::pair<const char*, MDB_dbi*> names[] = {
        {"ledger.accounts", &dbs.ledger_accounts},
        {"ledger.journal", &dbs.ledger_journal},
        {"ledger.by_settlement", &dbs.ledger_by_settlement},
        {"ledger.by_account", &dbs.ledger_by_account},
        {"ledger.refunds", &dbs.ledger_refunds},
        {"ledger.meta", &dbs.ledger_meta},
        {"directory.merchants", &dbs.directory_merchants},
        {"directory.tills", &dbs.directory_tills},
        {"directory.terminals", &dbs.directory_terminals},
        {"directory.users", &dbs.directory_users},
        {"directory.msisdns", &dbs.directory_msisdns},
        {"auth.factors", &dbs.auth_factors},
        {"auth.attempts", &dbs.auth_attempts},
    };
    static_assert(std::size(names) <= max_databases);
    for (const auto& [name, dbi] : names) {
      if ((rc = mdb_dbi_open(txn.get(), name, MDB_CREATE, dbi)) != 0)
        return detail::lmdb_failure(rc, "mdb_dbi_open");
    }
    auto committed = txn.commit();
    if (!committed) return committed.error();
  }

  registration.directory = nullptr;  // environment_impl unregisters from now on
  auto impl = std::make_unique<environment_impl>(std::exchange(guard.env, nullptr),
                                                 options.directory, std::move(canonical), dbs);
  return std::unique_ptr<environment>(new environment(std::move(impl)));
}

environment::environment(std::unique_ptr<environment_impl> impl) : impl_(std::move(impl)) {}

environment::~environment() = default;

const std::string& environment::directory() const noexcept { return impl_->directory(); }

}  // namespace paysync::storage
