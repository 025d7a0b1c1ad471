// Voice protocol on FSDD (4 development speakers x 10 digits x 50
// repetitions), text-independent: enrol from one recording of the ten
// digits, verify with one recording of three other digits (any digits, of
// another repetition). FSDD files hold one digit each, so recordings are
// spliced: the PCM of the files, back to back, as one WAV given to
// extract().
//
// Split: with only four speakers, a split by speaker would leave two people
// to tune on and two to report on, and a single impostor pairing in each.
// The split is by repetition index instead: indices 0-24 tune (and train the
// built-in background model, voice_ubm_train.cpp), 25-49 are reported.
// Both parts hold all four speakers, so the held-out figures are for
// speakers the matcher has heard before (other recordings of them): they
// overstate accuracy on new people. The independent evaluation on the two
// speakers kept apart (theo, yweweler) is the figure that counts.
//
// In each part (indices i0..i0+24): each speaker enrols 4 times (indices
// i0..i0+3: digits 0-9 of one index spliced); probes are indices i0+4..
// i0+24, three per index (digits 0-2, 3-5, 6-8 spliced; 9 unused), from every
// speaker; every probe meets every enrolment (genuine when the speakers
// match). The held-out part adds a row with single-digit probes (one file,
// about 0.4 s), to show what a short sample is worth.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/biometrics/enrol_probe.hpp"
#include "bench/biometrics/protocols.hpp"
#include "biometrics/factories.hpp"
#include "biometrics/wav_decode.hpp"

namespace paysync::bench {
namespace {

constexpr int part_size = 25;    // repetition indices per part
constexpr int enrolments = 4;    // enrolment indices per speaker and part
constexpr int probe_digits = 3;  // digits spliced into one probe
constexpr int probes_per_index = 3;

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The PCM of several FSDD files back to back, as a 16-bit mono WAV.
std::vector<std::uint8_t> splice(const std::vector<std::filesystem::path>& files) {
  std::vector<std::int16_t> pcm;
  std::uint32_t rate = 0;
  for (const auto& path : files) {
    auto audio = biometrics::decode_wav(read_file(path));
    if (!audio) throw std::runtime_error("undecodable " + path.string());
    if (rate != 0 && audio->sample_rate_hz != rate) throw std::runtime_error("mixed rates");
    rate = audio->sample_rate_hz;
    for (float s : audio->samples) {
      const float scaled = std::clamp(s * 32768.0f, -32768.0f, 32767.0f);
      pcm.push_back(static_cast<std::int16_t>(std::lround(scaled)));
    }
  }
  const auto data_bytes = static_cast<std::uint32_t>(pcm.size() * 2);
  std::vector<std::uint8_t> wav(44 + std::size_t{data_bytes});
  std::size_t at = 0;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) wav[at++] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto put16 = [&](std::uint16_t v) {
    wav[at++] = static_cast<std::uint8_t>(v & 0xFF);
    wav[at++] = static_cast<std::uint8_t>(v >> 8);
  };
  auto tag = [&](const char* t) {
    for (int i = 0; i < 4; ++i) wav[at++] = static_cast<std::uint8_t>(t[i]);
  };
  tag("RIFF");
  put32(36 + data_bytes);
  tag("WAVE");
  tag("fmt ");
  put32(16);
  put16(1);  // PCM
  put16(1);  // mono
  put32(rate);
  put32(rate * 2);
  put16(2);
  put16(16);
  tag("data");
  put32(data_bytes);
  for (std::int16_t s : pcm) put16(static_cast<std::uint16_t>(s));
  return wav;
}

struct recording {
  std::size_t speaker;
  std::optional<biometrics::template_bytes> t;
};

}  // namespace

std::vector<scored_trials> run_voice_protocol(const protocol_options& options) {
  const auto dir = std::filesystem::path(options.data_root) / "biometrics" / "voice" / "fsdd";
  if (!std::filesystem::is_directory(dir)) throw std::runtime_error("no " + dir.string());
  const auto matcher = biometrics::make_voice_matcher();
  const auto speakers = subject_folders(dir);
  auto file = [&](std::size_t s, int digit, int index) {
    return dir / speakers[s] /
           (std::to_string(digit) + "_" + speakers[s] + "_" + std::to_string(index) + ".wav");
  };

  std::vector<scored_trials> runs;
  for (const bool held_out : {false, true}) {
    if (held_out && !options.report_on_held_out) break;
    const int first = held_out ? part_size : 0;
    for (const int digits_per_probe : {probe_digits, 1}) {
      if (digits_per_probe == 1 && !held_out) continue;
      scored_trials trials;
      auto extract = [&](const std::vector<std::uint8_t>& bytes) {
        const double start = thread_cpu_ns();
        auto r = matcher->extract(bytes);
        trials.extract_ms.push_back((thread_cpu_ns() - start) / 1e6);
        return r ? std::optional(std::move(*r)) : std::nullopt;
      };
      (void)matcher->extract(read_file(file(0, 0, first)));  // warm-up, untimed

      std::vector<recording> enrolled, probes;
      for (std::size_t s = 0; s < speakers.size(); ++s) {
        for (int index = first; index < first + enrolments; ++index) {
          std::vector<std::filesystem::path> files;
          for (int digit = 0; digit <= 9; ++digit) files.push_back(file(s, digit, index));
          enrolled.push_back({s, extract(splice(files))});
          ++trials.enrol_attempts;
          if (!enrolled.back().t) ++trials.failures_to_enrol;
        }
        for (int index = first + enrolments; index < first + part_size; ++index) {
          if (digits_per_probe == 1) {
            for (int digit = 0; digit <= 9; ++digit) {
              probes.push_back({s, extract(read_file(file(s, digit, index)))});
            }
            continue;
          }
          for (int p = 0; p < probes_per_index; ++p) {
            std::vector<std::filesystem::path> files;
            for (int k = 0; k < digits_per_probe; ++k) {
              files.push_back(file(s, p * digits_per_probe + k, index));
            }
            probes.push_back({s, extract(splice(files))});
          }
        }
      }
      for (const auto& probe : probes) {
        for (const auto& reference : enrolled) {
          double score = 0;
          if (probe.t && reference.t) {
            const double start = thread_cpu_ns();
            const auto r = matcher->compare(*probe.t, *reference.t);
            trials.compare_us.push_back((thread_cpu_ns() - start) / 1e3);
            if (!r) throw std::runtime_error("compare refused its own templates");
            score = *r;
          }
          (probe.speaker == reference.speaker ? trials.genuine : trials.impostor).push_back(score);
        }
      }
      trials.modality = "voice";
      trials.dataset = digits_per_probe == 1 ? "FSDD 1-digit probes" : "FSDD";
      trials.subset = held_out ? "held-out" : "tuning";
      const std::string range = std::to_string(first) + "-" + std::to_string(first + part_size - 1);
      trials.protocol =
          std::to_string(speakers.size()) +
          " speakers, split by repetition index (this part: " + range +
          "; all speakers in both parts, so not new people); enrol = digits 0-9 of one " +
          "index spliced (4 per speaker); probe = " +
          (digits_per_probe == 1 ? std::string("one digit file")
                                 : std::string("digits 0-2, 3-5 or 6-8 of another index spliced")) +
          "; every probe against every enrolment; the background model was trained on indices "
          "0-24; failed extractions score 0";
      runs.push_back(std::move(trials));
    }
  }
  return runs;
}

}  // namespace paysync::bench

PAYSYNC_REGISTER_PROTOCOL(voice, run_voice_protocol)
