// bench_biometrics [--data DIR] [--modality NAME ...] [--out DIR]
//
// Runs every registered evaluation protocol (or the named ones) on the data
// under DIR/biometrics, prints one table per modality, writes
// OUT/biometrics.json and OUT/det_<modality>.svg. OpenCV runs on one thread so
// that the timings are one core's.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <opencv2/core/utility.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/biometrics/evaluation.hpp"
#include "bench/biometrics/protocols.hpp"

namespace fs = std::filesystem;

namespace {

struct arguments {
  std::string data, out = ".";
  std::vector<std::string> modalities;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: bench_biometrics [--data DIR] [--modality NAME ...] [--out DIR]\n"
               "  --data DIR       folder holding biometrics/ (default: $PAYSYNC_DATA, else\n"
               "                   ../shared/data from here or from the source tree)\n"
               "  --modality NAME  run only these protocols (repeatable; several names may\n"
               "                   follow one flag)\n"
               "  --out DIR        where biometrics.json and det_<modality>.svg go (default .)\n"
               "registered protocols:");
  for (const auto& [name, runner] : paysync::bench::protocol_registry()) {
    std::fprintf(to, " %s", name.c_str());
  }
  std::fprintf(to, "\n");
}

// Nothing when the command line is wrong (after printing why).
std::optional<arguments> parse(int argc, char** argv) {
  arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (flag != "--data" && flag != "--out" && flag != "--modality") {
      std::fprintf(stderr, "unknown argument: %s\n", flag.c_str());
      return std::nullopt;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return std::nullopt;
    }
    if (flag == "--data") {
      args.data = argv[++i];
    } else if (flag == "--out") {
      args.out = argv[++i];
    } else {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        args.modalities.emplace_back(argv[++i]);
      }
    }
  }
  return args;
}

// --data, else $PAYSYNC_DATA, else the first of ../shared/data (from the
// current directory) and <source>/../shared/data that holds biometrics/.
std::optional<fs::path> find_data_root(const std::string& flag) {
  if (!flag.empty()) return fs::path(flag);
  if (const char* env = std::getenv("PAYSYNC_DATA"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  for (const fs::path& candidate :
       {fs::path("../shared/data"), fs::path(PAYSYNC_SOURCE_DIR) / ".." / "shared" / "data"}) {
    std::error_code ec;
    if (fs::is_directory(candidate / "biometrics", ec)) return candidate;
  }
  return std::nullopt;
}

bool write_file(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace paysync::bench;
  const auto args = parse(argc, argv);
  if (!args) {
    usage(stderr);
    return 2;
  }
  const auto& registry = protocol_registry();
  std::vector<std::string> chosen = args->modalities;
  if (chosen.empty()) {
    for (const auto& [name, runner] : registry) chosen.push_back(name);
  }
  for (const auto& name : chosen) {
    if (!registry.contains(name)) {
      std::fprintf(stderr, "no protocol registered for modality '%s'\n", name.c_str());
      usage(stderr);
      return 2;
    }
  }
  const auto root = find_data_root(args->data);
  std::error_code ec;
  if (!root || !fs::is_directory(*root / "biometrics", ec)) {
    std::fprintf(stderr, "no biometrics/ data folder found (%s); use --data or $PAYSYNC_DATA\n",
                 root ? root->c_str() : "tried ../shared/data and the source tree's");
    return 1;
  }
  fs::create_directories(args->out, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", args->out.c_str(), ec.message().c_str());
    return 1;
  }

  // Timings are per core: OpenCV's own thread pool is switched off.
  cv::setNumThreads(0);
  protocol_options options;
  options.data_root = root->string();
  std::printf("data: %s\n", fs::absolute(*root).lexically_normal().c_str());

  std::vector<evaluation> all;
  int status = 0;
  for (const auto& name : std::set<std::string>(chosen.begin(), chosen.end())) {
    std::vector<scored_trials> runs;
    try {
      runs = registry.at(name)(options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "protocol %s failed: %s\n", name.c_str(), e.what());
      status = 1;
      continue;
    }
    std::vector<evaluation> rows;
    for (const auto& run : runs) rows.push_back(evaluate(run));
    std::printf("\n== %s ==\n", name.c_str());
    for (const auto& row : rows) {
      std::printf("%s %s: %s\n", row.dataset.c_str(), row.subset.c_str(), row.protocol.c_str());
    }
    std::printf("%s", format_table(rows).c_str());
    std::fflush(stdout);
    const fs::path svg = fs::path(args->out) / ("det_" + name + ".svg");
    if (!write_file(svg, det_svg("DET: " + name, rows))) status = 1;
    all.insert(all.end(), rows.begin(), rows.end());
  }
  const fs::path json = fs::path(args->out) / "biometrics.json";
  if (!write_file(json, summary_json(all))) status = 1;
  std::printf("\nwrote %s and det_<modality>.svg in %s\n", json.c_str(), args->out.c_str());
  return status;
}
