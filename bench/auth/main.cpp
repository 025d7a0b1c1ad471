// bench_auth (bench/README.md): what authentication costs the switch.
//  1. The Argon2id cost of one PIN verification at paysync's parameters
//     (storage/secrets.hpp) beside libsodium's INTERACTIVE ones (issue 4,
//     item 1).
//  2. PIN payments (flow A, a knowledge factor) end to end through a real
//     `paysync serve --demo`, with and without the biometric pool kept
//     saturated by concurrent face payments, in interleaved windows
//     (issue 4, item 8: the PIN path may slow down by at most 20%).

#include <sys/stat.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "bench/auth/argon_cost.hpp"
#include "bench/auth/driver.hpp"
#include "bench/auth/proc.hpp"
#include "bench/auth/stats.hpp"
#include "bench/auth/ws_link.hpp"

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace paysync::bench::auth;

struct options {
  std::string paysync = PAYSYNC_DEFAULT_BINARY;
  std::string data_root, faces, out;
  std::string face_subject = "s1";
  bool keep_data = false, skip_argon = false, skip_payments = false;
  std::size_t argon_rounds = 7, argon_paysync = 50, argon_interactive = 2;
  std::size_t rounds = 5;
  double window_s = 10, settle_s = 2, warmup_s = 4;
  double pin_rate = 20;
  // 17 face payers = the pool's 1 worker + 16 queue places + 1 waiting: the
  // pool stays full while hardly any sample comes back `busy` (24 payers added
  // ~70 busy answers/s of I/O that is not biometric work).
  std::size_t pin_handsets = 8, bio_handsets = 17;
  unsigned bio_retry_ms = 100;
  std::vector<std::string> switch_args;
};

// Everything printed also goes to <out>/auth.txt.
std::ostringstream transcript;
template <class... T>
void say(const T&... parts) {
  std::ostringstream line;
  (line << ... << parts);
  std::cout << line.str() << std::flush;
  transcript << line.str();
}

std::string ms(double v) { return fixed(v, v < 10 ? 3 : (v < 100 ? 2 : 1)); }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---------------------------------------------------------------- Argon2id

bool run_argon(const options& o) {
  say("== 1. Argon2id: one PIN verification through storage::verify_secret\n",
      "   (Argon2id over HMAC-SHA512-256(pepper, PIN); ", o.argon_rounds, " rounds of ",
      o.argon_paysync, " at paysync's parameters then ", o.argon_interactive,
      " at INTERACTIVE, one thread)\n");
  const auto r = measure_argon(o.argon_rounds, o.argon_paysync, o.argon_interactive);
  if (!r.ok) {
    say("   FAILED: ", r.error, "\n");
    return false;
  }
  say("   parameters                      passes  memory     runs  CPU p50    CPU p90    wall "
      "p50   wall p90\n");
  for (const auto* row : {&r.paysync, &r.interactive}) {
    char line[256];
    std::snprintf(line, sizeof line, "   %-31s %6llu  %6zu KiB %5zu  %7s ms %7s ms %7s ms %7s ms\n",
                  row->name.c_str(), row->opslimit, row->memlimit / 1024, row->runs,
                  ms(row->cpu_p50_ms).c_str(), ms(row->cpu_p90_ms).c_str(),
                  ms(row->wall_p50_ms).c_str(), ms(row->wall_p90_ms).c_str());
    say(line);
  }
  const double ratio = r.interactive.cpu_p50_ms / r.paysync.cpu_p50_ms;
  say("   ratio INTERACTIVE / paysync (median CPU): ", fixed(ratio, 1), "x\n",
      "   => one core verifies ~", fixed(1000.0 / r.paysync.cpu_p50_ms, 0),
      " PINs/s at paysync's parameters, ~", fixed(1000.0 / r.interactive.cpu_p50_ms, 1),
      " at INTERACTIVE\n\n");
  return true;
}

// ---------------------------------------------------------------- the switch

std::vector<std::string> serve_args(const options& o, const std::string& data, bool demo) {
  std::vector<std::string> a{
      o.paysync, "serve", "--data-dir", data, "--billing-port", "0", "--paying-port", "0",
      "--operator-port", "0", "--workers", "2", "--shards", "2", "--io-threads", "0",
      // PIN payments at Duka la Dawa need a knowledge factor at any
      // amount; every payment at Mama Mboga a biometric one.
      "--auth-merchant-rule", "m-dawa:1:999999999999", "--auth-merchant-rule", "m-mboga:1:0",
      // Thousands of payments by three payers: the velocity check reads
      // the payer's history in its window, so keep the window short.
      "--velocity-window-s", "1", "--velocity-max-count", "1000000", "--velocity-max-minor",
      "100000000000000",
      // Three payers paying thousands of times a minute: the abuse limits
      // (join and message rates) would refuse the load being measured.
      "--join-rate-per-msisdn", "0", "--join-rate-per-address", "0", "--paying-message-rate", "0",
      "--billing-message-rate", "0", "--log-level", "warn"};
  if (demo) a.push_back("--demo");
  a.insert(a.end(), o.switch_args.begin(), o.switch_args.end());
  return a;
}

struct running_switch {
  std::unique_ptr<child_process> child;
  std::string host;
  std::uint16_t billing = 0, paying = 0, op = 0;
};

std::optional<running_switch> start_switch(const std::vector<std::string>& argv,
                                           const std::string& log, std::string& error) {
  running_switch s;
  s.child = child_process::spawn(argv, log, error);
  if (!s.child) return std::nullopt;
  const auto line = s.child->wait_for_line("PAYSYNC_READY", std::chrono::seconds(60));
  if (!line) {
    error = "the switch did not get ready; see " + log;
    return std::nullopt;
  }
  std::string h;
  const auto b = line_field(*line, "billing"), p = line_field(*line, "paying"),
             op = line_field(*line, "operator");
  if (!b || !p || !split_host_port(*b, s.host, s.billing) || !split_host_port(*p, h, s.paying)) {
    error = "cannot read the ready line: " + *line;
    return std::nullopt;
  }
  if (op) split_host_port(*op, h, s.op);
  return s;
}

std::optional<double> biometric_depth(const running_switch& s) {
  if (s.op == 0) return std::nullopt;
  const auto body = http_get(s.host, s.op, "/metrics", std::chrono::milliseconds(1000));
  if (!body) return std::nullopt;
  const std::string key = "\npaysync_biometric_queue_depth ";
  const auto at = body->find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(body->c_str() + at + key.size(), nullptr);
}

// ---------------------------------------------------------------- windows

struct window_result {
  bool bio = false;
  std::size_t round = 0;
  phase_record rec;
  std::vector<thread_delta> threads;
  std::vector<double> depth;  // /metrics samples, once a second
};

void add(std::map<std::string, std::uint64_t>& into,
         const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

void print_condition(const std::vector<window_result>& windows, bool bio) {
  latency_log start_receipt, confirm_receipt, answer_ack, open_opened, lag, verdict;
  phase_record sum;
  double seconds = 0;
  std::vector<double> depth;
  std::map<pid_t, thread_delta> threads;
  for (const auto& w : windows) {
    if (w.bio != bio) continue;
    const auto& r = w.rec;
    start_receipt.append(r.pin_start_receipt);
    confirm_receipt.append(r.pin_confirm_receipt);
    answer_ack.append(r.pin_answer_ack);
    open_opened.append(r.open_opened);
    lag.append(r.schedule_lag);
    verdict.append(r.bio_sample_verdict);
    sum.pin_started += r.pin_started;
    sum.pin_completed += r.pin_completed;
    sum.pin_handset_waits += r.pin_handset_waits;
    sum.bio_samples_sent += r.bio_samples_sent;
    sum.bio_busy += r.bio_busy;
    sum.bio_accepted += r.bio_accepted;
    sum.bio_mismatch += r.bio_mismatch;
    sum.bio_refused += r.bio_refused;
    sum.bio_payments += r.bio_payments;
    add(sum.pin_factors, r.pin_factors);
    add(sum.errors, r.errors);
    seconds += r.window_s;
    depth.insert(depth.end(), w.depth.begin(), w.depth.end());
    for (const auto& t : w.threads) {
      auto& into = threads[t.tid];
      into.tid = t.tid;
      into.comm = t.comm;
      into.nice = t.nice;
      into.cpu_ms += t.cpu_ms;
      into.wait_ms += t.wait_ms;
    }
  }
  say("   ", bio ? "B, biometric pool saturated" : "A, no biometric load", " (", fixed(seconds, 0),
      " s pooled)\n");
  say("     span (pooled)                   count     p50      p90      p99     p99.9      max"
      "   [ms]\n");
  const auto row = [](const char* name, const latency_log& l) {
    const auto s = l.summary();
    char line[256];
    std::snprintf(line, sizeof line, "     %-30s %6zu %8s %8s %8s %8s %8s\n", name, s.count,
                  ms(s.p50_ms).c_str(), ms(s.p90_ms).c_str(), ms(s.p99_ms).c_str(),
                  ms(s.p999_ms).c_str(), ms(s.max_ms).c_str());
    say(line);
  };
  row("PIN start->receipt", start_receipt);
  row("PIN confirm_amount->receipt", confirm_receipt);
  row("PIN auth_answer->ack", answer_ack);
  row("PIN open->opened", open_opened);
  row("generator schedule lag", lag);
  if (bio) row("face sample->verdict", verdict);
  std::string factors;
  for (const auto& [f, n] : sum.pin_factors) factors += " " + f + "=" + std::to_string(n);
  say("     PIN payments started ", sum.pin_started, ", completed ", sum.pin_completed,
      ", waited for a handset ", sum.pin_handset_waits, "; challenges:", factors, "\n");
  const auto per_s = [&](std::uint64_t n) { return fixed(seconds > 0 ? n / seconds : 0, 1); };
  say("     face: samples sent ", per_s(sum.bio_samples_sent), "/s, busy ", per_s(sum.bio_busy),
      "/s, accepted ", per_s(sum.bio_accepted), "/s, mismatched ", per_s(sum.bio_mismatch),
      "/s, refused ", per_s(sum.bio_refused), "/s, payments ", per_s(sum.bio_payments), "/s\n");
  if (!depth.empty()) {
    say("     biometric queue depth (/metrics, once a second): median ", fixed(median(depth), 1),
        ", min ", fixed(*std::min_element(depth.begin(), depth.end()), 0), "\n");
  }
  std::vector<thread_delta> busiest;
  for (const auto& [tid, t] : threads) busiest.push_back(t);
  std::sort(busiest.begin(), busiest.end(),
            [](const auto& a, const auto& b) { return a.cpu_ms > b.cpu_ms; });
  say("     switch threads (CPU % of the window, waiting for a CPU %, nice):");
  for (std::size_t i = 0; i < busiest.size() && i < 5; ++i) {
    const auto& t = busiest[i];
    say(" ", t.comm, "/", t.tid, " ", fixed(t.cpu_ms / seconds / 10, 0), "% w",
        fixed(t.wait_ms / seconds / 10, 0), "% n", t.nice, ";");
  }
  say("\n");
  if (!sum.errors.empty()) {
    say("     errors:");
    for (const auto& [k, v] : sum.errors) say(" ", k, "=", v);
    say("\n");
  }
}

bool run_payments(const options& o) {
  say("== 2. PIN payments through paysync serve, without (A) and with (B) the biometric pool "
      "saturated\n");
  const std::string root = o.data_root.empty() ? fs::temp_directory_path().string() : o.data_root;
  std::string tmpl = root + "/bench_auth.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    say("   cannot make a data folder under ", root, "\n");
    return false;
  }
  const std::string base = tmpl, data = base + "/data";
  const std::string faces = o.faces + "/" + o.face_subject;
  struct cleanup {
    std::string dir;
    bool keep;
    ~cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    }
  } clean{base, o.keep_data};
  const auto face = read_file(faces + "/1.pgm");
  if (!face) {
    say("   cannot read ", faces, "/1.pgm (--faces, $PAYSYNC_DATA)\n");
    return false;
  }

  // First start: the demo data, its factors, the key file and terminal keys.
  std::string error;
  {
    auto s = start_switch(serve_args(o, data, false), base + "/switch-seed.log", error);
    if (!s) {
      say("   ", error, "\n");
      return false;
    }
    s->child->stop(std::chrono::seconds(10));
  }
  // Brian (u-1002) enrols his face: five images of one ORL subject.
  std::vector<std::string> enrol{o.paysync, "enrol",  "--data-dir", data,
                                 "--user",  "u-1002", "add",        "face"};
  for (int i = 1; i <= 5; ++i) enrol.push_back(faces + "/" + std::to_string(i) + ".pgm");
  std::string enrol_out;
  if (run_to_completion(enrol, enrol_out) != 0) {
    say("   paysync enrol failed: ", enrol_out, "\n");
    return false;
  }

  const auto log = (o.out.empty() ? base : o.out) + "/switch.log";
  auto s = start_switch(serve_args(o, data, true), log, error);
  if (!s) {
    say("   ", error, "\n");
    return false;
  }
  const pid_t pid = s->child->pid();
  say("   switch pid ", pid, ", billing ", s->billing, ", paying ", s->paying, ", operator ", s->op,
      "; data ", data, "\n");

  driver_config dc;
  dc.host = s->host;
  dc.billing_port = s->billing;
  dc.paying_port = s->paying;
  dc.pin_key_file = data + "/terminal-keys/" + dc.pin_terminal + ".key";
  dc.bio_key_file = data + "/terminal-keys/" + dc.bio_terminal + ".key";
  dc.pin_msisdn = "254700000001";  // Amina: a PIN and one question (docs/demo-data.md)
  dc.answers = {{"pin", "1234"}, {"What was the name of your first school?", "Kilimani Primary"}};
  dc.bio_msisdn = "254700000002";  // Brian, with the face enrolled above
  dc.pin_handsets = o.pin_handsets;
  dc.pin_rate = o.pin_rate;
  dc.bio_handsets = o.bio_handsets;
  dc.bio_retry = std::chrono::milliseconds(o.bio_retry_ms);
  dc.face = std::make_shared<const std::string>(*face);
  say("   PIN: ", dc.pin_terminal, " (m-dawa, knowledge factor at every amount), payer Amina over ",
      dc.pin_handsets, " handsets, open loop at ", fixed(o.pin_rate, 0),
      "/s; face: ", dc.bio_terminal, " (m-mboga, biometric at every amount), payer Brian over ",
      dc.bio_handsets, " handsets, closed loop, ", face->size(), "-byte PGM, retry after busy in ",
      o.bio_retry_ms, " ms\n");
  say("   ", o.rounds, " rounds of A and B (ABBA order), ", fixed(o.window_s, 0),
      " s windows after ", fixed(o.settle_s, 0), " s to settle; warm-up ", fixed(o.warmup_s, 0),
      " s each\n");

  driver d(dc);
  if (!d.start(std::chrono::seconds(20), error)) {
    say("   the clients failed: ", error, "\n");
    return false;
  }
  const auto sleep_s = [](double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
  };
  // Warm-up: both conditions once, not measured.
  sleep_s(o.warmup_s);
  d.set_biometric_load(true);
  sleep_s(o.warmup_s);

  std::vector<window_result> windows;
  for (std::size_t r = 0; r < o.rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const bool bio = (r % 2 == 0) == (k == 1);  // A B, B A, A B ...
      d.set_biometric_load(bio);
      sleep_s(o.settle_s);
      window_result w;
      w.bio = bio;
      w.round = r;
      auto rec = std::make_shared<phase_record>();
      const auto before = read_process(pid);
      d.begin_window(rec);
      const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.window_s);
      while (std::chrono::steady_clock::now() + std::chrono::seconds(1) <= end) {
        sleep_s(1);
        if (auto depth = biometric_depth(*s)) w.depth.push_back(*depth);
      }
      std::this_thread::sleep_until(end);
      d.end_window();
      w.threads = thread_deltas(before, read_process(pid));
      // Payments meant to start in the window finish after it: wait for them.
      // (at most the payment timeout, after which they count as timeouts).
      for (int i = 0; i < 160 && d.pin_in_flight(rec) > 0; ++i) sleep_s(0.1);
      w.rec = d.snapshot(rec);
      const auto sr = w.rec.pin_start_receipt.summary();
      say("   round ", r + 1, " ", bio ? "B" : "A", ": PIN start->receipt p50 ", ms(sr.p50_ms),
          " ms, p99 ", ms(sr.p99_ms), " ms (", sr.count, "); face payments ", w.rec.bio_payments,
          ", busy ", w.rec.bio_busy, "\n");
      windows.push_back(std::move(w));
    }
  }
  d.set_biometric_load(false);
  sleep_s(0.5);
  s->child->stop(std::chrono::seconds(10));  // the server first, then the clients
  d.stop();

  say("\n");
  print_condition(windows, false);
  print_condition(windows, true);

  // Per-round ratios B/A and the medians over rounds.
  std::vector<double> a50, a99, b50, b99, r50, r99, c50, c99;
  for (std::size_t r = 0; r < o.rounds; ++r) {
    const window_result *a = nullptr, *b = nullptr;
    for (const auto& w : windows) {
      if (w.round == r) (w.bio ? b : a) = &w;
    }
    if (a == nullptr || b == nullptr) continue;
    const auto sa = a->rec.pin_start_receipt.summary(), sb = b->rec.pin_start_receipt.summary();
    const auto ca = a->rec.pin_confirm_receipt.summary(), cb = b->rec.pin_confirm_receipt.summary();
    if (sa.count == 0 || sb.count == 0) continue;
    a50.push_back(sa.p50_ms);
    a99.push_back(sa.p99_ms);
    b50.push_back(sb.p50_ms);
    b99.push_back(sb.p99_ms);
    r50.push_back(sb.p50_ms / sa.p50_ms);
    r99.push_back(sb.p99_ms / sa.p99_ms);
    c50.push_back(cb.p50_ms / ca.p50_ms);
    c99.push_back(cb.p99_ms / ca.p99_ms);
  }
  say("\n   PIN payment start->receipt, medians over ", r50.size(), " rounds:\n",
      "     A (no biometric load):   p50 ", ms(median(a50)), " ms, p99 ", ms(median(a99)), " ms\n",
      "     B (pool saturated):      p50 ", ms(median(b50)), " ms, p99 ", ms(median(b99)), " ms\n",
      "     slowdown B/A (median of the per-round ratios): p50 ", fixed(median(r50), 2), "x, p99 ",
      fixed(median(r99), 2), "x; confirm_amount->receipt p50 ", fixed(median(c50), 2), "x, p99 ",
      fixed(median(c99), 2), "x\n");
  std::string each;
  for (std::size_t i = 0; i < r50.size(); ++i) {
    each += " " + fixed(r50[i], 2) + "/" + fixed(r99[i], 2);
  }
  say("     per-round B/A (p50/p99):", each, "\n");
  const bool met = !r50.empty() && median(r50) <= 1.2 && median(r99) <= 1.2;
  say("     target (issue 4, item 8): PIN path slows down by at most 20% => ",
      met ? "MET" : "NOT MET", " (p50 ", fixed((median(r50) - 1) * 100, 0), "%, p99 ",
      fixed((median(r99) - 1) * 100, 0), "%)\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const char* d = std::getenv("PAYSYNC_DATA")) {
    o.faces = std::string(d) + "/biometrics/face/orl-att";
  } else {
    o.faces = "/work/shared/data/biometrics/face/orl-att";
  }
  po::options_description desc("bench_auth — the cost of authentication (bench/README.md)");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("paysync", po::value(&o.paysync)->default_value(o.paysync), "the switch binary")
      ("data-root", po::value(&o.data_root), "parent of the switch's fresh data folder (default $TMPDIR)")
      ("keep-data", po::bool_switch(&o.keep_data), "keep the data folder")
      ("faces", po::value(&o.faces)->default_value(o.faces), "ORL face folder (s1..s30)")
      ("face-subject", po::value(&o.face_subject)->default_value(o.face_subject), "subject folder: images 1-5 enrolled, 1 sent")
      ("out", po::value(&o.out), "folder for auth.txt (the printed report) and switch.log")
      ("skip-argon", po::bool_switch(&o.skip_argon), "no Argon2id part")
      ("skip-payments", po::bool_switch(&o.skip_payments), "no payment part")
      ("argon-rounds", po::value(&o.argon_rounds)->default_value(o.argon_rounds), "A/B rounds of Argon2id")
      ("argon-paysync", po::value(&o.argon_paysync)->default_value(o.argon_paysync), "verifications per round at paysync's parameters")
      ("argon-interactive", po::value(&o.argon_interactive)->default_value(o.argon_interactive), "verifications per round at INTERACTIVE")
      ("rounds", po::value(&o.rounds)->default_value(o.rounds), "rounds of (A, B) payment windows")
      ("window-s", po::value(&o.window_s)->default_value(o.window_s), "length of a measured window")
      ("settle-s", po::value(&o.settle_s)->default_value(o.settle_s), "unmeasured time after switching the biometric load")
      ("warmup-s", po::value(&o.warmup_s)->default_value(o.warmup_s), "unmeasured warm-up per condition")
      ("pin-rate", po::value(&o.pin_rate)->default_value(o.pin_rate), "PIN payments per second (open loop)")
      ("pin-handsets", po::value(&o.pin_handsets)->default_value(o.pin_handsets), "handset connections of the PIN payer")
      ("bio-handsets", po::value(&o.bio_handsets)->default_value(o.bio_handsets), "handset connections of the face payer")
      ("bio-retry-ms", po::value(&o.bio_retry_ms)->default_value(o.bio_retry_ms), "wait after busy before resending a sample")
      ("switch-arg", po::value(&o.switch_args)->composing(), "extra flag for paysync serve, e.g. --switch-arg=--biometric-workers=2");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "bench_auth: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (!o.out.empty()) fs::create_directories(o.out);
  bool ok = true;
  if (!o.skip_argon) ok = run_argon(o) && ok;
  if (!o.skip_payments) ok = run_payments(o) && ok;
  if (!o.out.empty()) {
    std::ofstream(o.out + "/auth.txt") << transcript.str();
  }
  return ok ? 0 : 1;
}
