#pragma once

// Reads the few top-level fields the load generator acts on out of one JSON
// frame from the switch, in one pass and without allocating: a full JSON
// parse per frame would cost the generator more CPU than it leaves the
// switch on a 2-core machine. Nested objects and arrays are skipped (so the
// "txn" inside "settlement":{...} is never mistaken for the top-level one).
// String values are returned raw (escapes are not decoded): the values read
// here (types, refs, ids, error codes) never contain escapes.

#include <cstdint>
#include <string_view>

namespace paysync::bench {

struct frame_fields {
  bool ok = false;  // the frame was a JSON object and was scanned to its end
  std::string_view type, ref, txn, code, for_, by;
  std::int64_t amount = -1;  // -1 when absent or not an integer
};

frame_fields scan_frame(std::string_view json) noexcept;

}  // namespace paysync::bench
