// libFuzzer target: biometrics::read_image_size and decode_grey, the image a
// handset sends to answer a face, iris or fingerprint challenge.

#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>

#include "biometrics/image_decode.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace b = paysync::biometrics;
using paysync::fuzz::require;

// Debian's OpenCV hands bytes that none of its own decoders claims to GDAL
// (hundreds of formats, through a temporary file). decode_grey must never get
// there: these definitions take the place of GDAL's for OpenCV and end the run.
extern "C" void* GDALOpenEx(const char*, unsigned, const char* const*, const char* const*,
                            const char* const*) {
  require(false, "decode_grey never reaches GDAL");
  return nullptr;
}
extern "C" void* GDALOpen(const char*, int) {
  require(false, "decode_grey never reaches GDAL");
  return nullptr;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = paysync::fuzz::bytes_of(data, size);
  const auto format = b::sniff_format(bytes);
  const auto header = b::read_image_size(bytes);
  require(header.has_value() <= format.has_value(), "a size only for a known format");

  // The switch's caps, scaled down so that a crafted header cannot make one
  // run decode megapixels (the checks are the same code).
  b::decode_limits limits;
  limits.max_pixels = 1'000'000;
  limits.max_side_px = 2048;
  limits.min_width_px = 8;
  limits.min_height_px = 8;
  const auto grey = b::decode_grey(bytes, limits);
  if (grey) {
    require(header.has_value(), "a decoded image had a readable header");
    require(grey->type() == CV_8UC1, "decode_grey gives 8-bit grey");
    require(grey->cols >= limits.min_width_px && grey->rows >= limits.min_height_px,
            "a decoded image is at least the minimum size");
    require(static_cast<std::size_t>(grey->cols) * static_cast<std::size_t>(grey->rows) <=
                limits.max_pixels,
            "a decoded image is within the pixel cap");
  }
  return 0;
}
