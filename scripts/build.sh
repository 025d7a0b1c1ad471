#!/usr/bin/env bash
# Configures and builds paysync into build/ (or $PAYSYNC_BUILD_DIR). Quiet on
# success; on failure prints the end of the build log. Extra arguments are
# build targets (default: everything).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAYSYNC_BUILD_DIR:-$root/build}"
jobs="${PAYSYNC_JOBS:-$(nproc)}"
log="$build/build.log"
mkdir -p "$build"

targets=()
for t in "$@"; do targets+=(--target "$t"); done

if ! cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
  echo "paysync: cmake configure failed; see $log" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
start=$(date +%s)
if ! cmake --build "$build" -j "$jobs" "${targets[@]}" >>"$log" 2>&1; then
  echo "paysync: build failed; the end of $log:" >&2
  grep -E "error|Error" "$log" | head -n 20 >&2 || true
  tail -n 20 "$log" >&2
  exit 1
fi
elapsed=$(( $(date +%s) - start ))
[[ $elapsed -gt 5 ]] && echo "paysync: built in ${elapsed}s ($build)"
exit 0
