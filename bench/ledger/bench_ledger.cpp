// bench_ledger — durable postings/s through ledger_store::post_batch at
// group-commit batch sizes 1, 10, 100 and 1000, beside a raw LMDB loop that
// makes the SAME writes (bench/README.md):
//
//   per batch:   one write transaction; read ledger.meta "last_sequence";
//                cursors on ledger.journal and (twice) ledger.accounts;
//                at the end put ledger.meta "last_sequence"; commit (fsync)
//   per posting: put ledger.by_settlement id -> sequence (MDB_NOOVERWRITE);
//                position both account cursors (MDB_SET_KEY), check the
//                balance, overwrite both values in place (MDB_CURRENT);
//                append the encoded posting to ledger.journal (MDB_APPEND);
//                put two ledger.by_account keys [len][account][sequence]
//
// Both sides start from identical fresh LMDB files (seeded by the store) in a
// temp folder, get the same pre-built postings, and run in alternation
// (store, raw, store, raw, ... per batch size) so that a busy neighbour
// slows both alike. Before measuring, a check posts the same postings both
// ways and compares every database byte for byte.
//
// Extra flags (before Google Benchmark's own): --rounds=N (pairs per batch
// size, default 7), --out=DIR (writes ledger.json and ledger.md).

#include <benchmark/benchmark.h>
#include <lmdb.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/environment.hpp"
#include "storage/ledger_store.hpp"

namespace {

namespace fs = std::filesystem;
using paysync::storage::account;
using paysync::storage::account_kind;
using paysync::storage::entry_kind;
using paysync::storage::environment;
using paysync::storage::environment_options;
using paysync::storage::ledger_store;
using paysync::storage::posting_request;

constexpr std::size_t user_count = 10000;
constexpr std::size_t merchant_count = 100;
constexpr std::int64_t funding_minor = 100'000'000'000;
constexpr std::int64_t seed_time_ms = 1'764'000'000'000;
constexpr std::size_t map_size_bytes = std::size_t{4} << 30;  // as the switch (--map-size-mb 4096)
constexpr const char* float_account = "system:float:KES";

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench_ledger: %s\n", why.c_str());
  std::exit(1);
}

std::string five_digits(std::size_t n) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%05zu", n);
  return buffer;
}

std::string user_account(std::size_t n) { return "user:u-load-" + five_digits(n); }
std::string merchant_account(std::size_t n) { return "merchant:m-load-" + five_digits(n); }

// A fresh folder under $TMPDIR (or /tmp), removed with the object.
class temp_dir {
 public:
  temp_dir() {
    const char* root = std::getenv("TMPDIR");
    std::string pattern = std::string(root ? root : "/tmp") + "/paysync-ledger-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) die("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The accounts and fundings both sides start from, written by the store.
void seed(const std::string& dir) {
  auto env = environment::open(environment_options{dir, map_size_bytes, 1024, true});
  if (!env) die("cannot open the environment in " + dir);
  ledger_store store(**env);
  std::vector<account> accounts;
  accounts.push_back({float_account, "KES", account_kind::system, 0, false});
  for (std::size_t m = 0; m < merchant_count; ++m) {
    accounts.push_back({merchant_account(m), "KES", account_kind::merchant, 0, false});
  }
  for (std::size_t u = 0; u < user_count; ++u) {
    accounts.push_back({user_account(u), "KES", account_kind::user, 0, false});
  }
  for (std::size_t begin = 0; begin < accounts.size(); begin += 5000) {
    std::vector<account> chunk(
        accounts.begin() + static_cast<std::ptrdiff_t>(begin),
        accounts.begin() + static_cast<std::ptrdiff_t>(std::min(accounts.size(), begin + 5000)));
    if (!store.create_accounts(chunk)) die("create_accounts failed");
  }
  std::vector<posting_request> fundings;
  for (std::size_t u = 0; u < user_count; ++u) {
    posting_request p;
    p.settlement_id = "seed:funding:u-load-" + five_digits(u);
    p.debit_account = float_account;
    p.credit_account = user_account(u);
    p.amount_minor = funding_minor;
    p.currency = "KES";
    p.kind = entry_kind::funding;
    p.time_unix_ms = seed_time_ms;
    p.memo = "seed funding";
    fundings.push_back(std::move(p));
    if (fundings.size() == 1000 || u + 1 == user_count) {
      auto r = store.post_batch(fundings);
      if (!r) die("seeding post_batch failed");
      fundings.clear();
    }
  }
}

// Payments as the switch posts them: a random 128-bit transaction id, a
// payer, a merchant, the merchant's order reference as the memo.
std::vector<std::vector<posting_request>> make_batches(std::size_t batch, std::size_t batches,
                                                       std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  std::vector<std::vector<posting_request>> out(batches);
  std::uint64_t n = 0;
  for (auto& b : out) {
    b.reserve(batch);
    for (std::size_t i = 0; i < batch; ++i, ++n) {
      posting_request p;
      p.settlement_id = "tx0001";
      for (int c = 0; c < 26; ++c) p.settlement_id += alphabet[rng() % 32];
      p.debit_account = user_account(rng() % user_count);
      p.credit_account = merchant_account(rng() % merchant_count);
      p.amount_minor = 100 + static_cast<std::int64_t>(rng() % 100000);
      p.currency = "KES";
      p.kind = entry_kind::payment;
      p.time_unix_ms = seed_time_ms + static_cast<std::int64_t>(n);
      p.memo = "load-" + std::to_string(n);
      b.push_back(std::move(p));
    }
  }
  return out;
}

// ---- the raw LMDB loop -----------------------------------------------------

void put_be64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void svarint(std::string& out, std::int64_t v) {
  varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

void str(std::string& out, const std::string& s) {
  varint(out, s.size());
  out += s;
}

MDB_val val(const void* data, std::size_t size) { return MDB_val{size, const_cast<void*>(data)}; }
MDB_val val(const std::string& s) { return val(s.data(), s.size()); }

void check(int rc, const char* what) {
  if (rc != 0) die(std::string(what) + ": " + mdb_strerror(rc));
}

// The same LMDB environment settings as storage::environment (durable, MDB_NOTLS).
class raw_ledger {
 public:
  explicit raw_ledger(const std::string& dir) {
    check(mdb_env_create(&env_), "mdb_env_create");
    check(mdb_env_set_maxdbs(env_, 16), "mdb_env_set_maxdbs");
    check(mdb_env_set_mapsize(env_, map_size_bytes), "mdb_env_set_mapsize");
    check(mdb_env_set_maxreaders(env_, 1024), "mdb_env_set_maxreaders");
    check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600), "mdb_env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, "ledger.accounts", 0, &accounts_), "dbi accounts");
    check(mdb_dbi_open(txn, "ledger.journal", 0, &journal_), "dbi journal");
    check(mdb_dbi_open(txn, "ledger.by_settlement", 0, &by_settlement_), "dbi by_settlement");
    check(mdb_dbi_open(txn, "ledger.by_account", 0, &by_account_), "dbi by_account");
    check(mdb_dbi_open(txn, "ledger.meta", 0, &meta_), "dbi meta");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    buffer_.reserve(512);
  }
  ~raw_ledger() { mdb_env_close(env_); }
  raw_ledger(const raw_ledger&) = delete;
  raw_ledger& operator=(const raw_ledger&) = delete;

  // One write transaction and one durable commit for the batch; returns how
  // many postings were applied.
  std::size_t post(const std::vector<posting_request>& batch) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    static const std::string last_key = "last_sequence";
    MDB_val key = val(last_key), data;
    std::uint64_t last = 0;
    int rc = mdb_get(txn, meta_, &key, &data);
    if (rc == 0) last = get_be64(static_cast<const char*>(data.mv_data));
    const std::uint64_t first = last;
    MDB_cursor *journal = nullptr, *debit = nullptr, *credit = nullptr;
    check(mdb_cursor_open(txn, journal_, &journal), "cursor journal");
    check(mdb_cursor_open(txn, accounts_, &debit), "cursor debit");
    check(mdb_cursor_open(txn, accounts_, &credit), "cursor credit");
    std::size_t applied = 0;
    for (const auto& r : batch) {
      const std::uint64_t sequence = last + 1;
      char seq[8];
      put_be64(seq, sequence);
      MDB_val id = val(r.settlement_id), seq_val = val(seq, 8);
      rc = mdb_put(txn, by_settlement_, &id, &seq_val, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST) continue;  // never happens: ids are random 130-bit
      check(rc, "put by_settlement");
      MDB_val dk = val(r.debit_account), dv, ck = val(r.credit_account), cv;
      check(mdb_cursor_get(debit, &dk, &dv, MDB_SET_KEY), "seek debit");
      check(mdb_cursor_get(credit, &ck, &cv, MDB_SET_KEY), "seek credit");
      char from[14], to[14];
      if (dv.mv_size != 14 || cv.mv_size != 14) die("account value is not 14 bytes");
      std::memcpy(from, dv.mv_data, 14);
      std::memcpy(to, cv.mv_data, 14);
      std::int64_t from_balance = 0, to_balance = 0;
      std::memcpy(&from_balance, from + 6, 8);  // little-endian on x86-64, as encoded
      std::memcpy(&to_balance, to + 6, 8);
      if (from[2] != 0 || to[2] != 0 || std::memcmp(from + 3, r.currency.data(), 3) != 0 ||
          std::memcmp(to + 3, r.currency.data(), 3) != 0 || from_balance < r.amount_minor) {
        mdb_del(txn, by_settlement_, &id, nullptr);
        continue;
      }
      from_balance -= r.amount_minor;
      to_balance += r.amount_minor;
      std::memcpy(from + 6, &from_balance, 8);
      std::memcpy(to + 6, &to_balance, 8);
      MDB_val from_val = val(from, 14), to_val = val(to, 14);
      check(mdb_cursor_put(debit, &dk, &from_val, MDB_CURRENT), "put debit");
      check(mdb_cursor_put(credit, &ck, &to_val, MDB_CURRENT), "put credit");
      buffer_.clear();
      buffer_.push_back(1);  // format version
      buffer_.push_back(static_cast<char>(r.kind));
      svarint(buffer_, r.amount_minor);
      svarint(buffer_, r.time_unix_ms);
      str(buffer_, r.settlement_id);
      str(buffer_, r.debit_account);
      str(buffer_, r.credit_account);
      str(buffer_, r.currency);
      str(buffer_, r.original_id);
      str(buffer_, r.memo);
      MDB_val jk = val(seq, 8), jv = val(buffer_);
      check(mdb_cursor_put(journal, &jk, &jv, MDB_APPEND), "append journal");
      for (const std::string* account_id : {&r.debit_account, &r.credit_account}) {
        char index[1 + 128 + 8];
        index[0] = static_cast<char>(account_id->size());
        std::memcpy(index + 1, account_id->data(), account_id->size());
        put_be64(index + 1 + account_id->size(), sequence);
        MDB_val ik = val(index, 1 + account_id->size() + 8), iv = val(index, 0);
        check(mdb_put(txn, by_account_, &ik, &iv, 0), "put by_account");
      }
      last = sequence;
      ++applied;
    }
    if (last != first) {
      char bytes[8];
      put_be64(bytes, last);
      MDB_val mv = val(bytes, 8);
      key = val(last_key);
      check(mdb_put(txn, meta_, &key, &mv, 0), "put meta");
    }
    mdb_cursor_close(journal);
    mdb_cursor_close(debit);
    mdb_cursor_close(credit);
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    return applied;
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi accounts_ = 0, journal_ = 0, by_settlement_ = 0, by_account_ = 0, meta_ = 0;
  std::string buffer_;
};

// ---- the check: both sides write identical databases -------------------------

std::map<std::string, std::vector<std::pair<std::string, std::string>>> dump(
    const std::string& dir) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
  MDB_env* env = nullptr;
  check(mdb_env_create(&env), "mdb_env_create");
  check(mdb_env_set_maxdbs(env, 16), "mdb_env_set_maxdbs");
  check(mdb_env_set_mapsize(env, map_size_bytes), "mdb_env_set_mapsize");
  check(mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600), "mdb_env_open");
  MDB_txn* txn = nullptr;
  check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin");
  for (const char* name : {"ledger.accounts", "ledger.journal", "ledger.by_settlement",
                           "ledger.by_account", "ledger.refunds", "ledger.meta"}) {
    MDB_dbi dbi = 0;
    check(mdb_dbi_open(txn, name, 0, &dbi), name);
    MDB_cursor* c = nullptr;
    check(mdb_cursor_open(txn, dbi, &c), "cursor");
    MDB_val k, v;
    auto& rows = out[name];
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      rows.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                        std::string(static_cast<const char*>(v.mv_data), v.mv_size));
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return out;
}

void verify_same_writes() {
  temp_dir a, b;
  seed(a.path());
  seed(b.path());
  const auto batches = make_batches(100, 20, 7);
  {
    auto env = environment::open(environment_options{a.path(), map_size_bytes, 1024, true});
    if (!env) die("verify: cannot open the store");
    ledger_store store(**env);
    for (const auto& batch : batches) {
      auto r = store.post_batch(batch);
      if (!r) die("verify: post_batch failed");
      for (const auto& o : *r) {
        if (o.error) die("verify: the store refused a posting");
      }
    }
  }
  {
    raw_ledger raw(b.path());
    for (const auto& batch : batches) {
      if (raw.post(batch) != batch.size()) die("verify: the raw loop refused a posting");
    }
  }
  const auto da = dump(a.path());
  const auto db = dump(b.path());
  std::size_t rows = 0;
  for (const auto& [name, content] : da) {
    if (db.at(name) != content)
      die(std::string("verify: ") + name + " differs between store and raw");
    rows += content.size();
  }
  std::printf(
      "check: the store and the raw loop wrote identical databases (%zu records in 6 "
      "databases after 2,000 postings)\n",
      rows);
}

// ---- the benchmarks ----------------------------------------------------------

std::size_t batches_for(std::size_t batch) {
  // About a second per run at the rates seen here (~1.1k/s at batch 1 to
  // ~160k/s at 1000), with at least 30 commits.
  switch (batch) {
    case 1:
      return 600;
    case 10:
      return 300;
    case 100:
      return 150;
    default:
      return 60;
  }
}

struct sample {
  double store = 0, raw = 0;                // durable postings per second
  double store_cpu_us = 0, raw_cpu_us = 0;  // thread CPU per posting
};

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
std::map<std::size_t, std::vector<sample>> results;  // batch size -> one sample per round

void bench(benchmark::State& state, bool raw, std::size_t round) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  temp_dir dir;
  seed(dir.path());
  const auto batches = make_batches(batch, batches_for(batch), 1000 + round * 31 + batch);
  std::optional<raw_ledger> raw_side;
  std::unique_ptr<environment> env;
  std::optional<ledger_store> store;
  if (raw) {
    raw_side.emplace(dir.path());
  } else {
    auto opened = environment::open(environment_options{dir.path(), map_size_bytes, 1024, true});
    if (!opened) die("cannot open the store");
    env = std::move(*opened);
    store.emplace(*env);
  }
  std::size_t next = 0, posted = 0;
  const double cpu_started = thread_cpu_s();
  const auto started = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto& b = batches[next++ % batches.size()];
    if (raw) {
      posted += raw_side->post(b);
    } else {
      auto r = store->post_batch(b);
      if (!r) die("post_batch failed");
      posted += r->size();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu_us = (thread_cpu_s() - cpu_started) * 1e6 / static_cast<double>(posted);
  const double rate = static_cast<double>(posted) / seconds;
  state.counters["postings_per_s"] = rate;
  state.counters["cpu_us_per_posting"] = cpu_us;
  state.counters["batch"] = static_cast<double>(batch);
  auto& samples = results[batch];
  if (samples.size() <= round) samples.resize(round + 1);
  (raw ? samples[round].raw : samples[round].store) = rate;
  (raw ? samples[round].raw_cpu_us : samples[round].store_cpu_us) = cpu_us;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t rounds = 7;
  std::string out_dir;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--rounds=", 0) == 0) {
      rounds = std::max<std::size_t>(1, std::stoul(a.substr(9)));
    } else if (a.rfind("--out=", 0) == 0) {
      out_dir = a.substr(6);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;

  verify_same_writes();

  // A B A B per batch size: store and raw alternate, each on fresh files.
  for (std::size_t batch : {1, 10, 100, 1000}) {
    for (std::size_t round = 0; round < rounds; ++round) {
      for (bool raw : {false, true}) {
        const std::string name = std::string(raw ? "raw_lmdb" : "ledger_store") +
                                 "/batch:" + std::to_string(batch) +
                                 "/round:" + std::to_string(round + 1);
        benchmark::RegisterBenchmark(name.c_str(), bench, raw, round)
            ->Arg(static_cast<std::int64_t>(batch))
            ->Iterations(static_cast<benchmark::IterationCount>(batches_for(batch)))
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  std::string md =
      "| batch | ledger_store postings/s | raw LMDB postings/s | store/raw (median of pairs) | "
      "pairs (store/raw) | CPU µs per posting, store / raw | raw/store CPU | target |\n"
      "| ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |\n";
  std::string json =
      "{\"benchmark\":\"paysync bench_ledger\",\"rounds\":" + std::to_string(rounds) +
      ",\"batches\":[";
  bool first = true;
  for (const auto& [batch, samples] : results) {
    std::vector<double> store, raw, ratios, store_cpu, raw_cpu, cpu_ratios;
    std::string pairs;
    for (const auto& s : samples) {
      if (s.store <= 0 || s.raw <= 0) continue;
      store.push_back(s.store);
      raw.push_back(s.raw);
      ratios.push_back(s.store / s.raw);
      store_cpu.push_back(s.store_cpu_us);
      raw_cpu.push_back(s.raw_cpu_us);
      if (s.store_cpu_us > 0) cpu_ratios.push_back(s.raw_cpu_us / s.store_cpu_us);
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%s%.2f", pairs.empty() ? "" : ", ", s.store / s.raw);
      pairs += buffer;
    }
    if (ratios.empty()) continue;
    const double ratio = median(ratios);
    char row[512];
    std::snprintf(row, sizeof row, "| %zu | %.0f | %.0f | %.3f | %s | %.1f / %.1f | %.3f | %s |\n",
                  batch, median(store), median(raw), ratio, pairs.c_str(), median(store_cpu),
                  median(raw_cpu), median(cpu_ratios), ratio >= 0.8 ? ">= 0.80 met" : "below 0.80");
    md += row;
    char item[512];
    std::snprintf(item, sizeof item,
                  "%s{\"batch\":%zu,\"store_postings_per_s\":%.1f,\"raw_postings_per_s\":%.1f,"
                  "\"ratio\":%.4f,\"pairs\":%zu,\"store_cpu_us_per_posting\":%.2f,"
                  "\"raw_cpu_us_per_posting\":%.2f,\"cpu_ratio_raw_over_store\":%.4f}",
                  first ? "" : ",", batch, median(store), median(raw), ratio, ratios.size(),
                  median(store_cpu), median(raw_cpu), median(cpu_ratios));
    json += item;
    first = false;
  }
  json += "]}\n";
  std::printf(
      "\nledger_store against the raw LMDB loop (durable commits, medians of %zu "
      "alternating pairs):\n\n%s",
      rounds, md.c_str());
  if (!out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    std::ofstream(out_dir + "/ledger.json") << json;
    std::ofstream(out_dir + "/ledger.md") << "# bench_ledger\n\n" << md;
  }
  return 0;
}
