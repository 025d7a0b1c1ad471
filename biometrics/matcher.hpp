#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

// Biometric matchers: bytes of a sample in (an image or a WAV recording), a
// compact versioned template out, and a similarity score for two templates.
// Pure OpenCV: no networking, no actors, no storage. An actor in actors/
// runs them off the I/O threads.
namespace paysync::biometrics {

enum class modality : std::uint8_t { face = 1, iris = 2, fingerprint = 3, voice = 4 };
std::string_view to_string(modality m) noexcept;

// Why a sample was refused. Stable names (to_string) reach the payer's handset.
enum class refusal : std::uint8_t {
  too_large = 1,       // more bytes or pixels than the modality accepts
  unsupported_format,  // not JPEG, PNG, PGM or TIFF (images) / not PCM WAV (voice)
  undecodable,         // the right magic number but a broken or truncated file
  too_small,           // image smaller than the modality needs
  low_quality,         // blank, saturated, blurred or noise-like
  no_face,             // no face (or not one) with both eyes found
  iris_not_segmented,  // no pupil and iris boundary found
  too_few_minutiae,
  too_short,     // audio shorter than the modality needs
  silent,        // audio without enough voiced frames
  bad_template,  // a template of another modality/version, or corrupt
};
std::string_view to_string(refusal r) noexcept;

template <class T>
using result = boost::system::result<T, refusal>;

// A serialised template: byte 0 = modality, bytes 1-2 = version (little
// endian), then the matcher's own payload. Opaque to everyone else.
using template_bytes = std::vector<std::uint8_t>;

class matcher {
 public:
  virtual ~matcher() = default;
  virtual modality kind() const noexcept = 0;
  virtual std::uint16_t template_version() const noexcept = 0;

  // Decode, check quality, extract. REQUIRES nothing of `sample`: any bytes
  // at all are safe (they come from the network).
  virtual result<template_bytes> extract(std::span<const std::uint8_t> sample) const = 0;

  // Similarity in [0, 1]; higher means more likely the same person. Fails
  // with bad_template when either template is not this matcher's kind and
  // version or does not decode.
  virtual result<double> compare(std::span<const std::uint8_t> a,
                                 std::span<const std::uint8_t> b) const = 0;

  // Scores >= threshold are accepted. Calibrated by bench/biometrics to a
  // false match rate of 0.1% on the tuning subjects.
  virtual double default_threshold() const noexcept = 0;
};

// The matcher for each modality; thread-safe (const methods, no shared state).
std::unique_ptr<matcher> make_matcher(modality m);

// Makes every OpenCV call run on its caller's thread (process-wide). A server
// gets its parallelism from its pool of biometric workers; OpenCV's own pool
// would spread one worker's load over every core, and its threads would
// inherit the worker's lowered priority unpredictably.
void run_on_calling_threads();

}  // namespace paysync::biometrics
