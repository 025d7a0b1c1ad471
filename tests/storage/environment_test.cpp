#include "storage/environment.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/system/system_error.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/environment_impl.hpp"
#include "storage/ledger_store.hpp"
#include "storage/store_error.hpp"
#include "tests/storage/storage_fixture.hpp"

namespace paysync::storage {
namespace {

using testing::temp_directory;

class Environment : public ::testing::Test {
 protected:
  environment_options options(const std::string& sub) const {
    environment_options o;
    o.directory = dir_.path() + "/" + sub;
    o.map_size_bytes = std::size_t{16} << 20;
    return o;
  }
  temp_directory dir_;
};

TEST_F(Environment, CreatesMissingDirectoriesWithMode0700) {
  auto env = environment::open(options("a/b/env"));
  ASSERT_TRUE(env.has_value()) << to_string(env.error());
  EXPECT_EQ((*env)->directory(), dir_.path() + "/a/b/env");
  for (const char* sub : {"/a", "/a/b", "/a/b/env"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_.path() + sub).c_str(), &st), 0) << sub;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << sub;
  }
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/a/b/env/data.mdb"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/a/b/env/lock.mdb"));
}

TEST_F(Environment, ReopensAnExistingEnvironment) {
  {
    auto env = environment::open(options("env"));
    ASSERT_TRUE(env.has_value());
    ledger_store ledger(**env);
    ASSERT_TRUE(ledger.create_account({"user:a", "KES", account_kind::user, 0, false}));
  }
  auto env = environment::open(options("env"));
  ASSERT_TRUE(env.has_value()) << to_string(env.error());
  ledger_store ledger(**env);
  auto found = ledger.find_account("user:a");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->currency, "KES");
}

TEST_F(Environment, RefusesASecondOpenOfTheSameDirectoryInOneProcess) {
  auto first = environment::open(options("env"));
  ASSERT_TRUE(first.has_value());
  // The same directory spelled differently is still the same environment.
  auto options_again = options("env");
  options_again.directory = dir_.path() + "/./env";
  auto second = environment::open(options_again);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), store_error::already_exists);
  first->reset();
  auto third = environment::open(options("env"));
  EXPECT_TRUE(third.has_value());
}

TEST_F(Environment, RejectsInvalidOptions) {
  environment_options empty;
  EXPECT_EQ(environment::open(empty).error(), store_error::invalid_argument);
  auto tiny = options("env");
  tiny.map_size_bytes = 4096;
  EXPECT_EQ(environment::open(tiny).error(), store_error::invalid_argument);
  auto no_readers = options("env");
  no_readers.max_readers = 0;
  EXPECT_EQ(environment::open(no_readers).error(), store_error::invalid_argument);
}

TEST_F(Environment, FailsWithIoErrorWhenTheDirectoryCannotBeCreated) {
  // A regular file where a directory should be.
  std::ofstream(dir_.path() + "/file") << "not a directory";
  ASSERT_TRUE(std::filesystem::is_regular_file(dir_.path() + "/file"));
  auto opts = options("file/env");
  auto env = environment::open(opts);
  ASSERT_FALSE(env.has_value());
  EXPECT_EQ(env.error(), store_error::io_error);
}

unsigned env_flags(environment& env) {
  unsigned flags = 0;
  EXPECT_EQ(mdb_env_get_flags(env.impl().env(), &flags), 0);
  return flags;
}

TEST_F(Environment, IsDurableAndThreadFreeByDefault) {
  auto env = environment::open(options("env"));
  ASSERT_TRUE(env.has_value());
  unsigned flags = env_flags(**env);
  EXPECT_NE(flags & MDB_NOTLS, 0u);
  EXPECT_EQ(flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC | MDB_WRITEMAP), 0u);
  EXPECT_EQ(flags & MDB_RDONLY, 0u);
  MDB_envinfo info;
  ASSERT_EQ(mdb_env_info((*env)->impl().env(), &info), 0);
  EXPECT_EQ(info.me_mapsize, std::size_t{16} << 20);
  EXPECT_EQ(info.me_maxreaders, 1024u);
}

TEST_F(Environment, OpensNonDurableForBenchmarks) {
  auto opts = options("env");
  opts.durable = false;
  auto env = environment::open(opts);
  ASSERT_TRUE(env.has_value());
  EXPECT_NE(env_flags(**env) & MDB_NOSYNC, 0u);
  ledger_store ledger(**env);
  EXPECT_TRUE(ledger.create_account({"user:a", "KES", account_kind::user, 0, false}));
}

TEST_F(Environment, SingleFlushCommitsDeferOnlyTheMetaFlush) {
  auto opts = options("env");
  opts.single_flush_commits = true;
  auto env = environment::open(opts);
  ASSERT_TRUE(env.has_value());
  EXPECT_NE(env_flags(**env) & MDB_NOMETASYNC, 0u);
  EXPECT_EQ(env_flags(**env) & MDB_NOSYNC, 0u) << "the data pages are still flushed";
  auto& impl = (*env)->impl();
  // A transaction that writes flushes the file, and with it every earlier
  // commit's meta page.
  {
    auto txn = impl.begin_write();
    ASSERT_TRUE(txn);
    MDB_val key{4, const_cast<char*>("test")}, value{1, const_cast<char*>("x")};
    ASSERT_EQ(mdb_put(txn->get(), impl.dbs().ledger_meta, &key, &value, 0), 0);
    auto flushed = txn->commit_before_meta_sync();
    ASSERT_TRUE(flushed);
    EXPECT_TRUE(*flushed);
  }
  // One that writes nothing is skipped by LMDB: no write, no flush.
  {
    auto txn = impl.begin_write();
    ASSERT_TRUE(txn);
    auto flushed = txn->commit_before_meta_sync();
    ASSERT_TRUE(flushed);
    EXPECT_FALSE(*flushed);
  }
  // Every other store's commit stays durable on return (it flushes the meta
  // page itself); this one must simply succeed.
  ledger_store ledger(**env);
  EXPECT_TRUE(ledger.create_account({"user:a", "KES", account_kind::user, 0, false}));
  EXPECT_TRUE(ledger.sync());
}

// Reads the "probe" key of ledger.meta in a read transaction ("" if absent).
std::string read_probe(const environment_impl& impl) {
  auto txn = impl.begin_read();
  if (!txn) return "<begin_read failed>";
  MDB_val key{5, const_cast<char*>("probe")}, value{};
  if (mdb_get(txn->get(), impl.dbs().ledger_meta, &key, &value) != 0) return "";
  return std::string(static_cast<const char*>(value.mv_data), value.mv_size);
}

void write_probe(const environment_impl& impl, const std::string& v) {
  auto txn = impl.begin_write();
  ASSERT_TRUE(txn);
  MDB_val key{5, const_cast<char*>("probe")}, value{v.size(), const_cast<char*>(v.data())};
  ASSERT_EQ(mdb_put(txn->get(), impl.dbs().ledger_meta, &key, &value, 0), 0);
  ASSERT_TRUE(txn->commit());
}

TEST_F(Environment, ReusedReadHandlesSeeEveryLaterCommit) {
  auto opts = options("env");
  opts.max_readers = 4;
  auto env = environment::open(opts);
  ASSERT_TRUE(env.has_value());
  auto& impl = (*env)->impl();
  EXPECT_EQ(impl.idle_read_handles(), 0u);
  EXPECT_EQ(read_probe(impl), "");
  EXPECT_EQ(impl.idle_read_handles(), 1u) << "a finished read keeps its handle";
  write_probe(impl, "one");
  EXPECT_EQ(read_probe(impl), "one") << "a renewed handle reads the newest commit";
  EXPECT_EQ(impl.idle_read_handles(), 1u) << "and goes back to the pool";

  // A reader open across a commit keeps its snapshot; one begun after sees the commit.
  auto old_snapshot = impl.begin_read();
  ASSERT_TRUE(old_snapshot);
  write_probe(impl, "two");
  MDB_val key{5, const_cast<char*>("probe")}, value{};
  ASSERT_EQ(mdb_get(old_snapshot->get(), impl.dbs().ledger_meta, &key, &value), 0);
  EXPECT_EQ(std::string(static_cast<const char*>(value.mv_data), value.mv_size), "one");
  EXPECT_EQ(read_probe(impl), "two");
  old_snapshot->abort();
  EXPECT_EQ(impl.idle_read_handles(), 2u);

  // Idle handles hold reader slots, yet never more than were open at once:
  // max_readers (4) concurrent readers, then many sequential ones, still fit.
  {
    std::vector<detail::transaction> open;
    for (int i = 0; i < 4; ++i) {
      auto txn = impl.begin_read();
      ASSERT_TRUE(txn) << i;
      open.push_back(std::move(*txn));
    }
    EXPECT_EQ(impl.idle_read_handles(), 0u);
    EXPECT_FALSE(impl.begin_read()) << "a fifth reader exceeds max_readers";
  }
  EXPECT_EQ(impl.idle_read_handles(), 4u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(read_probe(impl), "two") << i;
  EXPECT_EQ(impl.idle_read_handles(), 4u);

  // Handles move between threads (MDB_NOTLS): one freed here is renewed there.
  std::thread([&] { EXPECT_EQ(read_probe(impl), "two"); }).join();
  // Closing the environment with idle handles releases them first (the
  // sanitizer build would report a leak or a use after free otherwise).
  env->reset();
  auto reopened = environment::open(opts);
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ(read_probe((*reopened)->impl()), "two");
}

TEST_F(Environment, OpensEveryNamedDatabaseUpFront) {
  auto env = environment::open(options("env"));
  ASSERT_TRUE(env.has_value());
  auto& impl = (*env)->impl();
  const auto& dbs = impl.dbs();
  const MDB_dbi all[] = {dbs.ledger_accounts,     dbs.ledger_journal,   dbs.ledger_by_settlement,
                         dbs.ledger_by_account,   dbs.ledger_refunds,   dbs.ledger_meta,
                         dbs.directory_merchants, dbs.directory_tills,  dbs.directory_terminals,
                         dbs.directory_users,     dbs.directory_msisdns};
  std::set<MDB_dbi> distinct(std::begin(all), std::end(all));
  EXPECT_EQ(distinct.size(), std::size(all));
  EXPECT_EQ(distinct.count(0), 0u);  // 0 is LMDB's unnamed main database
  // Every handle is usable from a read-only transaction on another thread.
  std::thread([&] {
    auto txn = impl.begin_read();
    ASSERT_TRUE(txn.has_value());
    for (MDB_dbi dbi : all) {
      MDB_stat stat;
      EXPECT_EQ(mdb_stat(txn->get(), dbi, &stat), 0) << dbi;
    }
  }).join();
}

TEST(StoreError, EveryValueHasADistinctName) {
  std::set<std::string_view> names;
  for (int v = static_cast<int>(store_error::not_found);
       v <= static_cast<int>(store_error::io_error); ++v) {
    auto name = to_string(static_cast<store_error>(v));
    EXPECT_NE(name, "unknown_store_error") << v;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(to_string(store_error::insufficient_funds), "insufficient_funds");
}

TEST(StoreError, ValueOnAnErrorThrowsSystemErrorWithTheCode) {
  result<int> failed = store_error::map_full;
  try {
    (void)failed.value();
    FAIL() << "value() did not throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code().value(), static_cast<int>(store_error::map_full));
    EXPECT_EQ(&e.code().category(), &store_category());
    EXPECT_EQ(e.code().message(), "map_full");
  }
  result<void> failed_void = store_error::corrupt;
  EXPECT_THROW(failed_void.value(), boost::system::system_error);
}

}  // namespace
}  // namespace paysync::storage
