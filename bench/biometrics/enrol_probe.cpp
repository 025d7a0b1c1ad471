#include "bench/biometrics/enrol_probe.hpp"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>

namespace paysync::bench {
namespace {

// CPU time of the calling thread: the cost on one core, not inflated when
// the (shared) machine preempts the benchmark.
double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// "s10" -> ("s", 10); names without a trailing number sort by name alone.
bool natural_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    std::size_t i = s.size();
    while (i > 0 && std::isdigit(static_cast<unsigned char>(s[i - 1]))) --i;
    const long n = i < s.size() ? std::stol(s.substr(i)) : -1;
    return std::make_pair(s.substr(0, i), n);
  };
  const auto sa = split(a), sb = split(b);
  return sa != sb ? sa < sb : a < b;
}

struct extracted {
  std::optional<biometrics::template_bytes> bytes;
};

}  // namespace

std::vector<std::string> subject_folders(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end(), natural_less);
  return names;
}

std::vector<subject_samples> every_other(const std::vector<subject_samples>& all, bool held_out) {
  std::vector<subject_samples> out;
  for (std::size_t i = held_out ? 1 : 0; i < all.size(); i += 2) out.push_back(all[i]);
  return out;
}

scored_trials run_enrol_probe(const biometrics::matcher& m,
                              const std::vector<subject_samples>& subjects, trial_unit unit) {
  scored_trials trials;
  if (subjects.empty()) return trials;
  auto extract = [&](const std::filesystem::path& path) {
    const auto bytes = read_file(path);
    const double start = thread_cpu_ns();
    auto t = m.extract(bytes);
    trials.extract_ms.push_back((thread_cpu_ns() - start) / 1e6);
    return t ? extracted{std::move(*t)} : extracted{};
  };
  // Warm-up, untimed.
  {
    const auto& first = subjects.front();
    const auto& path = first.enrol.empty() ? first.probe.front() : first.enrol.front();
    (void)m.extract(read_file(path));
  }
  std::vector<std::vector<extracted>> enrolled(subjects.size()), probes(subjects.size());
  for (std::size_t s = 0; s < subjects.size(); ++s) {
    for (const auto& path : subjects[s].enrol) {
      enrolled[s].push_back(extract(path));
      ++trials.enrol_attempts;
      if (!enrolled[s].back().bytes) ++trials.failures_to_enrol;
    }
    for (const auto& path : subjects[s].probe) probes[s].push_back(extract(path));
  }
  for (std::size_t ps = 0; ps < subjects.size(); ++ps) {
    for (const auto& probe : probes[ps]) {
      for (std::size_t es = 0; es < subjects.size(); ++es) {
        double best = 0;
        for (const auto& reference : enrolled[es]) {
          double score = 0;
          if (probe.bytes && reference.bytes) {
            const double start = thread_cpu_ns();
            const auto r = m.compare(*probe.bytes, *reference.bytes);
            trials.compare_us.push_back((thread_cpu_ns() - start) / 1e3);
            if (!r) throw std::runtime_error("compare refused its own templates");
            score = *r;
          }
          best = std::max(best, score);
          if (unit == trial_unit::per_sample) {
            (ps == es ? trials.genuine : trials.impostor).push_back(score);
          }
        }
        if (unit == trial_unit::per_subject) {
          (ps == es ? trials.genuine : trials.impostor).push_back(best);
        }
      }
    }
  }
  return trials;
}

}  // namespace paysync::bench
