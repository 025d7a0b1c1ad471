#!/usr/bin/env bash
# The sanitizer and fuzz stage of the test suite (scripts/test.sh runs it in CI,
# or when PAYSYNC_SANITIZERS=1). Builds everything with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, plus the libFuzzer targets, into build-asan/
# (or $PAYSYNC_ASAN_BUILD_DIR), then runs there with ctest: the unit, actor,
# integration and browser tests, and each fuzz target for PAYSYNC_FUZZ_SECONDS
# (label fuzz). Any sanitizer report from any process, the switches that the
# integration tests start included, fails the stage. Extra arguments go to
# ctest. See tests/fuzz/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAYSYNC_ASAN_BUILD_DIR:-$root/build-asan}"
jobs="${PAYSYNC_JOBS:-$(nproc)}"
log="$build/build.log"
mkdir -p "$build"

echo "paysync: building with ASan+UBSan and the fuzz targets into $build..."
# -O1 and line tables only: ASan's advice, and half the compile time of -O2 -g.
if ! cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
     -DPAYSYNC_SANITIZE=address,undefined -DPAYSYNC_FUZZ=ON -DPAYSYNC_BUILD_BENCH=OFF \
     -DPAYSYNC_FUZZ_SECONDS="${PAYSYNC_FUZZ_SECONDS:-20}" >"$log" 2>&1; then
  echo "paysync: cmake configure of $build failed; see $log" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
start=$(date +%s)
if ! cmake --build "$build" -j "$jobs" >>"$log" 2>&1; then
  echo "paysync: sanitizer build failed; the end of $log:" >&2
  grep -E "error|Error" "$log" | head -n 20 >&2 || true
  tail -n 20 "$log" >&2
  exit 1
fi
echo "paysync: sanitizer build in $(( $(date +%s) - start ))s"

# Every report goes to a file as well as failing its process, so that reports
# from child processes (the switch under test) are seen even when the test
# that started them does not look at their exit status.
reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
# Leaks inside CAF 0.17's middleman at shutdown (see the file).
export LSAN_OPTIONS="suppressions=$root/tests/lsan-suppressions.txt:print_suppressions=0"

# Left out: a test that exhausts the process's file descriptors on purpose.
# UBSan's vptr check probes memory through a pipe, which then cannot be made,
# and reports "invalid vptr" for a live object (a false positive).
excluded='^WsListener\.AcceptBacksOffWhenOutOfDescriptorsAndRecovers$'

cd "$build"
status=0
ctest --output-on-failure --timeout 300 -j "$jobs" -E "$excluded" "$@" || status=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "paysync: sanitizer reports (from $reports):" >&2
  for f in "$reports"/*; do
    echo "--- $f" >&2
    head -n 60 "$f" >&2
  done
  exit 1
fi
exit "$status"
