// bench_commit_latency — how long one durable commit takes on this disk, as a
// distribution: the floor under the switch's confirm_amount->receipt latency
// (issue 6 asks p99 <= 5 ms with every settlement fsynced before `settled`).
//
// Three loops, interleaved in rounds so that a busy neighbour hits all alike,
// each paced at --rate commits/s (default 600: about what the switch commits
// at half its closed-loop throughput, bench/README.md):
//   fdatasync  one 4 KiB pwrite + fdatasync on a plain file (the disk alone)
//   lmdb       one raw LMDB write transaction putting one 64-byte value
//   store      ledger_store::post_batch of one payment posting (what the
//              switch's ledger actor does for a lone settlement)
// Prints p50/p90/p99/p99.9/max per loop, pooled over the rounds.
//
// Flags: --rate=N (commits/s per loop, 0 = back to back), --seconds=S per
// loop per round (default 5), --rounds=R (default 3).

#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "storage/environment.hpp"
#include "storage/ledger_store.hpp"

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace paysync::storage;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench_commit_latency: %s\n", why.c_str());
  std::exit(1);
}

struct options {
  double rate = 600;
  double seconds = 5;
  int rounds = 3;
};

// Runs `commit` at the paced rate for the window; returns each call's latency
// in microseconds (measured from the call, the pace only spaces the calls).
std::vector<double> run_loop(const options& o, const std::function<void()>& commit) {
  std::vector<double> us;
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  const auto gap =
      o.rate > 0 ? std::chrono::duration<double>(1.0 / o.rate) : std::chrono::duration<double>(0);
  auto next = start;
  while (clock_type::now() < end) {
    if (o.rate > 0) {
      std::this_thread::sleep_until(next);
      next += std::chrono::duration_cast<clock_type::duration>(gap);
    }
    const auto t0 = clock_type::now();
    commit();
    us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  return us;
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  return v[i];
}

class scratch {
 public:
  scratch() {
    const char* root = std::getenv("TMPDIR");
    std::string pattern = std::string(root ? root : "/tmp") + "/paysync-commit-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) die("mkdtemp failed");
    path_ = pattern;
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--rate=", 0) == 0) {
      o.rate = std::stod(a.substr(7));
    } else if (a.rfind("--seconds=", 0) == 0) {
      o.seconds = std::stod(a.substr(10));
    } else if (a.rfind("--rounds=", 0) == 0) {
      o.rounds = std::max(1, std::stoi(a.substr(9)));
    } else {
      die("unknown flag " + a + " (--rate=N --seconds=S --rounds=R)");
    }
  }
  scratch dir;

  const auto file_path = dir.path() + "/fsync.bin";
  const int fd = ::open(file_path.c_str(), O_CREAT | O_RDWR, 0600);
  if (fd < 0) die("cannot open " + file_path);
  std::vector<char> page(4096, 'x');
  off_t offset = 0;
  auto fdatasync_commit = [&] {
    if (::pwrite(fd, page.data(), page.size(), offset) != static_cast<ssize_t>(page.size()))
      die("pwrite failed");
    offset = (offset + 4096) % (64 << 20);
    if (::fdatasync(fd) != 0) die("fdatasync failed");
  };

  MDB_env* raw = nullptr;
  MDB_dbi dbi = 0;
  fs::create_directories(dir.path() + "/raw");
  if (mdb_env_create(&raw) != 0 || mdb_env_set_mapsize(raw, std::size_t{1} << 30) != 0 ||
      mdb_env_open(raw, (dir.path() + "/raw").c_str(), 0, 0600) != 0)
    die("cannot open the raw LMDB environment");
  std::uint64_t raw_key = 0;
  std::string raw_value(64, 'v');
  auto lmdb_commit = [&] {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(raw, nullptr, 0, &txn) != 0) die("mdb_txn_begin failed");
    if (raw_key == 0 && mdb_dbi_open(txn, nullptr, 0, &dbi) != 0) die("mdb_dbi_open failed");
    ++raw_key;
    MDB_val k{sizeof raw_key, &raw_key};
    MDB_val v{raw_value.size(), raw_value.data()};
    if (mdb_put(txn, dbi, &k, &v, 0) != 0 || mdb_txn_commit(txn) != 0) die("raw commit failed");
  };

  auto env = environment::open(environment_options{dir.path() + "/store"});
  if (!env) die("cannot open the store's environment");
  ledger_store store(**env);
  if (!store.create_accounts({{"system:float:KES", "KES", account_kind::system, 0, false},
                              {"user:u1", "KES", account_kind::user, 0, false},
                              {"merchant:m1", "KES", account_kind::merchant, 0, false}}))
    die("create_accounts failed");
  posting_request funding;
  funding.settlement_id = "seed:funding";
  funding.debit_account = "system:float:KES";
  funding.credit_account = "user:u1";
  funding.amount_minor = 1'000'000'000'000;
  funding.currency = "KES";
  funding.kind = entry_kind::funding;
  if (!store.post_batch({funding})) die("funding failed");
  std::uint64_t posted = 0;
  auto store_commit = [&] {
    posting_request p;
    p.settlement_id = "tx-latency-" + std::to_string(++posted);
    p.debit_account = "user:u1";
    p.credit_account = "merchant:m1";
    p.amount_minor = 100;
    p.currency = "KES";
    p.kind = entry_kind::payment;
    p.memo = "bench";
    auto r = store.post_batch({p});
    if (!r || r->size() != 1) die("post_batch failed");
  };

  struct loop {
    const char* name;
    std::function<void()> commit;
    std::vector<double> us;
  };
  std::vector<loop> loops{{"fdatasync 4 KiB", fdatasync_commit, {}},
                          {"raw LMDB commit", lmdb_commit, {}},
                          {"ledger_store post_batch(1)", store_commit, {}}};
  for (int round = 0; round < o.rounds; ++round) {
    for (auto& l : loops) {
      auto us = run_loop(o, l.commit);
      l.us.insert(l.us.end(), us.begin(), us.end());
    }
  }
  std::printf(
      "durable commit latency, %d rounds x %.0f s per loop, paced at %s\n", o.rounds, o.seconds,
      o.rate > 0 ? (std::to_string(static_cast<int>(o.rate)) + "/s").c_str() : "back to back");
  std::printf("%-28s %8s %8s %8s %8s %8s %8s  [ms]\n", "loop", "count", "p50", "p90", "p99",
              "p99.9", "max");
  for (auto& l : loops) {
    auto& v = l.us;
    std::printf("%-28s %8zu %8.3f %8.3f %8.3f %8.3f %8.3f\n", l.name, v.size(),
                percentile(v, 0.50) / 1000, percentile(v, 0.90) / 1000, percentile(v, 0.99) / 1000,
                percentile(v, 0.999) / 1000, percentile(v, 1.0) / 1000);
  }
  mdb_env_close(raw);
  ::close(fd);
  return 0;
}
