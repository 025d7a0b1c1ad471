#include "biometrics/image_decode.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace paysync::biometrics {
namespace {

using bytes_view = std::span<const std::uint8_t>;

std::uint32_t read_be16(bytes_view b, std::size_t at) {
  return (std::uint32_t{b[at]} << 8) | b[at + 1];
}
std::uint32_t read_be32(bytes_view b, std::size_t at) {
  return (read_be16(b, at) << 16) | read_be16(b, at + 2);
}
std::uint32_t read_le16(bytes_view b, std::size_t at) {
  return (std::uint32_t{b[at + 1]} << 8) | b[at];
}
std::uint32_t read_le32(bytes_view b, std::size_t at) {
  return (read_le16(b, at + 2) << 16) | read_le16(b, at);
}

// A header's dimensions plus where the body must end for the file to be whole.
struct header_info {
  image_size size;
  bool complete = true;  // false: the body is visibly truncated
};

result<image_size> checked_size(std::uint64_t width, std::uint64_t height) {
  constexpr std::uint64_t max_dimension = 1u << 30;
  if (width == 0 || height == 0 || width > max_dimension || height > max_dimension) {
    return refusal::undecodable;
  }
  return image_size{static_cast<int>(width), static_cast<int>(height)};
}

// PNG: signature, then the IHDR chunk (length 13) with big-endian width and
// height. Whole when an IEND chunk closes the file.
result<header_info> parse_png(bytes_view b) {
  if (b.size() < 33 || read_be32(b, 8) != 13 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' ||
      b[15] != 'R') {
    return refusal::undecodable;
  }
  auto size = checked_size(read_be32(b, 16), read_be32(b, 20));
  if (!size) return size.error();
  static constexpr std::uint8_t iend[] = {'I', 'E', 'N', 'D'};
  // IEND is the last chunk: its type is followed only by its 4-byte CRC.
  const auto tail = b.subspan(b.size() >= 64 ? b.size() - 64 : 0);
  const bool complete =
      std::search(tail.begin(), tail.end(), std::begin(iend), std::end(iend)) != tail.end();
  return header_info{*size, complete};
}

// JPEG: walk the marker segments to the first SOFn for the dimensions, then
// to SOS; the file is whole when an EOI (FF D9) follows the scan. Inside
// entropy-coded data 0xFF is always stuffed (FF 00) or a restart marker, so
// FF D9 after SOS can only be the EOI.
result<header_info> parse_jpeg(bytes_view b) {
  std::size_t at = 2;  // after SOI
  std::optional<image_size> size;
  // A JPEG has a few dozen segments; bound the walk all the same.
  for (int segments = 0; segments < 4096; ++segments) {
    if (at >= b.size() || b[at] != 0xFF) return refusal::undecodable;
    while (at < b.size() && b[at] == 0xFF) ++at;  // fill bytes
    if (at >= b.size()) return refusal::undecodable;
    const std::uint8_t marker = b[at++];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xD8 || marker == 0x00) return refusal::undecodable;
    if (at + 2 > b.size()) return refusal::undecodable;
    const std::size_t length = read_be16(b, at);
    if (length < 2 || at + length > b.size()) return refusal::undecodable;
    const bool is_sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof && !size) {
      if (length < 8) return refusal::undecodable;
      // precision (1), height (2), width (2)
      auto parsed = checked_size(read_be16(b, at + 5), read_be16(b, at + 3));
      if (!parsed) return parsed.error();
      size = *parsed;
    }
    if (marker == 0xDA) {  // start of scan
      if (!size) return refusal::undecodable;
      const auto scan = b.subspan(at + length);
      bool complete = false;
      for (std::size_t i = scan.size(); i >= 2; --i) {
        if (scan[i - 2] == 0xFF && scan[i - 1] == 0xD9) {
          complete = true;
          break;
        }
      }
      return header_info{*size, complete};
    }
    at += length;
  }
  return refusal::undecodable;
}

// Binary PGM: "P5" whitespace width whitespace height whitespace maxval, one
// whitespace byte, then width*height samples of 1 byte (maxval < 256) or 2.
// Comments (# to end of line) may sit between the numbers.
result<header_info> parse_pgm(bytes_view b) {
  std::size_t at = 2;
  auto skip_space = [&] {
    while (at < b.size()) {
      if (b[at] == '#') {
        while (at < b.size() && b[at] != '\n' && b[at] != '\r') ++at;
      } else if (b[at] == ' ' || b[at] == '\t' || b[at] == '\n' || b[at] == '\r' || b[at] == '\v' ||
                 b[at] == '\f') {
        ++at;
      } else {
        return;
      }
    }
  };
  auto number = [&]() -> std::optional<std::uint64_t> {
    skip_space();
    std::uint64_t value = 0;
    int digits = 0;
    while (at < b.size() && b[at] >= '0' && b[at] <= '9' && digits < 10) {
      value = value * 10 + (b[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0 || (at < b.size() && b[at] >= '0' && b[at] <= '9')) return std::nullopt;
    return value;
  };
  const auto width = number();
  const auto height = number();
  const auto maxval = number();
  if (!width || !height || !maxval || *maxval == 0 || *maxval > 65535 || at >= b.size()) {
    return refusal::undecodable;
  }
  ++at;  // the single whitespace byte before the raster
  auto size = checked_size(*width, *height);
  if (!size) return size.error();
  const std::uint64_t sample_bytes = *maxval < 256 ? 1 : 2;
  const bool complete = b.size() - at >= *width * *height * sample_bytes;
  return header_info{*size, complete};
}

// TIFF (classic, not BigTIFF): byte order, 42, offset of the first IFD; the
// IFD's ImageWidth (256) and ImageLength (257) entries, SHORT or LONG. Also
// refuses more than 4 samples per pixel or more than 16 bits per sample,
// which would let a small header ask the decoder for a large buffer. Whole
// when every strip (or tile) lies inside the file.
result<header_info> parse_tiff(bytes_view b) {
  const bool little = b[0] == 'I';
  auto u16 = [&](std::size_t at) { return little ? read_le16(b, at) : read_be16(b, at); };
  auto u32 = [&](std::size_t at) { return little ? read_le32(b, at) : read_be32(b, at); };
  if (b.size() < 8) return refusal::undecodable;
  const std::size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > b.size()) return refusal::undecodable;
  const std::size_t entries = u16(ifd);
  if (ifd + 2 + entries * 12 > b.size()) return refusal::undecodable;
  // The values of a SHORT or LONG entry: inline when they fit in 4 bytes,
  // else at an offset. Nothing for another type or values outside the file.
  constexpr std::size_t max_values = 1u << 20;
  auto values = [&](std::size_t entry) -> std::optional<std::vector<std::uint64_t>> {
    const std::uint32_t type = u16(entry + 2), count = u32(entry + 4);
    if ((type != 3 && type != 4) || count == 0 || count > max_values) return std::nullopt;
    const std::size_t width = type == 3 ? 2 : 4;
    std::size_t at = entry + 8;
    if (count * width > 4) {
      at = u32(entry + 8);
      if (at > b.size() || count * width > b.size() - at) return std::nullopt;
    }
    std::vector<std::uint64_t> out(count);
    for (std::size_t i = 0; i < count; ++i) out[i] = width == 2 ? u16(at + 2 * i) : u32(at + 4 * i);
    return out;
  };
  std::uint64_t width = 0, height = 0, samples = 1, bits = 1;
  std::vector<std::uint64_t> offsets, byte_counts;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t entry = ifd + 2 + i * 12;
    const std::uint32_t tag = u16(entry);
    if (tag != 256 && tag != 257 && tag != 258 && tag != 277 && tag != 273 && tag != 279 &&
        tag != 324 && tag != 325) {
      continue;
    }
    auto v = values(entry);
    if (!v) return refusal::undecodable;
    if (tag == 256) width = v->front();
    if (tag == 257) height = v->front();
    if (tag == 258) bits = *std::max_element(v->begin(), v->end());
    if (tag == 277) samples = v->front();
    if (tag == 273 || tag == 324) offsets = std::move(*v);
    if (tag == 279 || tag == 325) byte_counts = std::move(*v);
  }
  if (samples == 0 || samples > 4 || bits == 0 || bits > 16) return refusal::undecodable;
  auto size = checked_size(width, height);
  if (!size) return size.error();
  bool complete = !offsets.empty() && offsets.size() == byte_counts.size();
  for (std::size_t i = 0; complete && i < offsets.size(); ++i) {
    complete = offsets[i] <= b.size() && byte_counts[i] <= b.size() - offsets[i];
  }
  return header_info{*size, complete};
}

result<header_info> parse_header(bytes_view bytes) {
  const auto format = sniff_format(bytes);
  if (!format) return refusal::unsupported_format;
  switch (*format) {
    case image_format::jpeg:
      return parse_jpeg(bytes);
    case image_format::png:
      return parse_png(bytes);
    case image_format::pgm:
      return parse_pgm(bytes);
    case image_format::tiff:
      return parse_tiff(bytes);
  }
  return refusal::unsupported_format;
}

}  // namespace

std::optional<image_format> sniff_format(std::span<const std::uint8_t> b) noexcept {
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return image_format::jpeg;
  static constexpr std::uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 8 && std::equal(std::begin(png), std::end(png), b.begin())) {
    return image_format::png;
  }
  // Whitespace after "P5", as OpenCV's own check: cv::imdecode hands bytes that
  // none of its decoders claims ("P5#...") to GDAL (found by
  // tests/fuzz/fuzz_image_decode).
  if (b.size() >= 3 && b[0] == 'P' && b[1] == '5' &&
      (b[2] == ' ' || b[2] == '\t' || b[2] == '\n' || b[2] == '\r')) {
    return image_format::pgm;
  }
  if (b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                        (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42))) {
    return image_format::tiff;
  }
  return std::nullopt;
}

result<image_size> read_image_size(std::span<const std::uint8_t> bytes) noexcept {
  auto header = parse_header(bytes);
  if (!header) return header.error();
  return header->size;
}

quality_report measure_quality(const cv::Mat& grey) {
  CV_Assert(grey.type() == CV_8UC1 && !grey.empty());
  quality_report report;
  cv::Scalar mean, stddev;
  cv::meanStdDev(grey, mean, stddev);
  report.mean = mean[0];
  report.stddev = stddev[0];
  const double pixels = static_cast<double>(grey.total());
  const int dark = cv::countNonZero(grey <= 2);
  const int bright = cv::countNonZero(grey >= 253);
  report.saturated_fraction = (dark + bright) / pixels;
  if (report.stddev <= 0 || grey.cols < 2 || grey.rows < 2) return report;
  // Lag-1 autocorrelation, horizontal and vertical, about the global mean.
  cv::Mat centred;
  grey.convertTo(centred, CV_32F, 1.0, -report.mean);
  const double variance = report.stddev * report.stddev;
  const cv::Rect left(0, 0, grey.cols - 1, grey.rows), right(1, 0, grey.cols - 1, grey.rows);
  const cv::Rect top(0, 0, grey.cols, grey.rows - 1), bottom(0, 1, grey.cols, grey.rows - 1);
  const double horizontal = centred(left).dot(centred(right)) / (left.area() * variance);
  const double vertical = centred(top).dot(centred(bottom)) / (top.area() * variance);
  report.neighbour_correlation = 0.5 * (horizontal + vertical);
  return report;
}

std::optional<refusal> check_quality(const cv::Mat& grey, const quality_limits& limits) {
  const auto report = measure_quality(grey);
  if (report.stddev < limits.min_stddev) return refusal::low_quality;
  if (report.saturated_fraction > limits.max_saturated_fraction) return refusal::low_quality;
  if (report.neighbour_correlation < limits.min_neighbour_correlation) {
    return refusal::low_quality;
  }
  return std::nullopt;
}

result<cv::Mat> decode_grey(std::span<const std::uint8_t> bytes, const decode_limits& limits) {
  if (bytes.size() > limits.max_bytes) return refusal::too_large;
  auto header = parse_header(bytes);
  if (!header) return header.error();
  const auto [width, height] = header->size;
  if (width > limits.max_side_px || height > limits.max_side_px ||
      static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) > limits.max_pixels) {
    return refusal::too_large;
  }
  if (width < limits.min_width_px || height < limits.min_height_px) return refusal::too_small;
  if (!header->complete) return refusal::undecodable;
  cv::Mat grey;
  try {
    // imdecode wants a Mat over the bytes; it does not write to them.
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1,
                      const_cast<std::uint8_t*>(bytes.data()));
    grey = cv::imdecode(raw, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception&) {
    return refusal::undecodable;
  }
  if (grey.empty() || grey.type() != CV_8UC1) return refusal::undecodable;
  // EXIF orientation may swap the sides; the caps still hold.
  if (grey.cols < limits.min_width_px || grey.rows < limits.min_height_px) {
    return refusal::too_small;
  }
  if (grey.total() > limits.max_pixels) return refusal::too_large;
  if (auto refused = check_quality(grey, limits.quality)) return *refused;
  return grey;
}

}  // namespace paysync::biometrics
