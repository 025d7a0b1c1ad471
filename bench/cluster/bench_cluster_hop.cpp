// bench_cluster_hop: the cost of a cross-node hop (docs/cluster.md).
//
// Two CAF actor systems, each in its own process (the parent and a forked
// child), connected over loopback by CAF's middleman, as two paysync nodes
// are. The parent asks a pong actor in the child, then one of its own, with
// the same ~200-byte string payload (a typical session message):
//   - sequential round trips: latency (p50/p99) and CPU per round trip of
//     both processes together;
//   - pipelined: `--window` requests in flight, round trips per second.
// Rounds alternate remote and local (A B A B) and print medians.
//
//   bench_cluster_hop [--rounds 5] [--n 20000] [--window 64]

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::behavior pong() {
  return {[](ping_atom, const std::string& s) { return s; }};
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double process_cpu(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[2048];
  auto n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  // Fields after the command: state is 3; utime 14, stime 15.
  std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct figures {
  double p50_us = 0, p99_us = 0, cpu_us = 0, pipelined_per_s = 0;
};

figures measure(caf::actor_system& sys, const caf::actor& target, int n, int window, pid_t other) {
  const std::string payload(200, 'x');
  caf::scoped_actor self{sys};
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(n));
  const double cpu0 = cpu_seconds(RUSAGE_SELF) + (other > 0 ? process_cpu(other) : 0);
  for (int i = 0; i < n; ++i) {
    const auto t0 = clock_type::now();
    self->request(target, std::chrono::seconds(10), ping_atom::value, payload)
        .receive([](const std::string&) {}, [](caf::error&) { std::abort(); });
    lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  const double cpu1 = cpu_seconds(RUSAGE_SELF) + (other > 0 ? process_cpu(other) : 0);
  std::sort(lat.begin(), lat.end());
  figures f;
  f.p50_us = lat[lat.size() / 2];
  f.p99_us = lat[lat.size() * 99 / 100];
  f.cpu_us = (cpu1 - cpu0) * 1e6 / n;
  // Pipelined: keep `window` requests in flight.
  int sent = 0, done = 0;
  const auto t0 = clock_type::now();
  for (; sent < window && sent < n; ++sent) self->send(target, ping_atom::value, payload);
  while (done < n) {
    self->receive([&](const std::string&) {
      ++done;
      if (sent < n) {
        self->send(target, ping_atom::value, payload);
        ++sent;
      }
    });
  }
  f.pipelined_per_s = n / std::chrono::duration<double>(clock_type::now() - t0).count();
  return f;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, n = 20000, window = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--window")) window = std::atoi(argv[i + 1]);
  }
  int ready[2];
  if (::pipe(ready) != 0) return 1;
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    // The other node: publishes a pong actor and serves until killed, by the
    // parent or, if the parent dies first, by the kernel.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::close(ready[0]);
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", std::size_t{1});
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto port = sys.middleman().publish(sys.spawn(pong), 0, "127.0.0.1");
    if (!port) ::_exit(1);
    const std::uint16_t p = *port;
    if (::write(ready[1], &p, sizeof(p)) != sizeof(p)) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  std::uint16_t port = 0;
  if (::read(ready[0], &port, sizeof(port)) != sizeof(port)) return 1;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{1});
  cfg.load<caf::io::middleman>();
  int status = 0;
  {
    caf::actor_system sys{cfg};
    auto remote = sys.middleman().remote_actor("127.0.0.1", port);
    if (!remote) {
      std::fprintf(stderr, "remote_actor: %s\n", sys.render(remote.error()).c_str());
      ::kill(child, SIGKILL);
      return 1;
    }
    auto local = sys.spawn(pong);
    measure(sys, *remote, n / 10, window, child);  // warm-up
    measure(sys, local, n / 10, window, -1);
    std::vector<double> r50, r99, rcpu, rpipe, l50, l99, lcpu, lpipe;
    for (int r = 0; r < rounds; ++r) {
      auto a = measure(sys, *remote, n, window, child);
      auto b = measure(sys, local, n, window, -1);
      std::printf(
          "round %d  remote: p50 %.1f us p99 %.1f us cpu %.1f us/rt %.0f rt/s pipelined"
          "  |  local: p50 %.1f us p99 %.1f us cpu %.1f us/rt %.0f rt/s pipelined\n",
          r + 1, a.p50_us, a.p99_us, a.cpu_us, a.pipelined_per_s, b.p50_us, b.p99_us, b.cpu_us,
          b.pipelined_per_s);
      r50.push_back(a.p50_us), r99.push_back(a.p99_us), rcpu.push_back(a.cpu_us);
      rpipe.push_back(a.pipelined_per_s);
      l50.push_back(b.p50_us), l99.push_back(b.p99_us), lcpu.push_back(b.cpu_us);
      lpipe.push_back(b.pipelined_per_s);
    }
    std::printf("\nmedians of %d rounds, %d round trips each, 200-byte string, window %d\n", rounds,
                n, window);
    std::printf(
        "| path | p50 round trip | p99 | CPU per round trip (both processes) | "
        "pipelined round trips/s |\n| --- | ---: | ---: | ---: | ---: |\n");
    std::printf("| remote (CAF middleman, loopback) | %.1f us | %.1f us | %.1f us | %.0f |\n",
                median(r50), median(r99), median(rcpu), median(rpipe));
    std::printf("| local actor | %.1f us | %.1f us | %.1f us | %.0f |\n", median(l50), median(l99),
                median(lcpu), median(lpipe));
    std::printf("remote/local: latency %.1fx, CPU %.1fx, pipelined throughput %.2fx\n",
                median(r50) / median(l50), median(rcpu) / median(lcpu),
                median(rpipe) / median(lpipe));
    anon_send_exit(local, caf::exit_reason::user_shutdown);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  return 0;
}
