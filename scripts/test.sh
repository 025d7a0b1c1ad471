#!/usr/bin/env bash
# Quick start, step 2 of 2: installs what is missing, builds everything and
# runs the whole test suite with ctest (unit tests, actor tests on CAF's
# deterministic scheduler, and integration tests that start the real binary on
# ephemeral ports). Extra arguments go to ctest, e.g. `-R FlowA` or `-L integration`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAYSYNC_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
echo "paysync: building the switch and its tests..."
"$root/scripts/build.sh"
# The browser test's npm packages (playwright-core, ws), exactly as locked.
browser="$root/tests/browser"
if [[ ! -f "$browser/node_modules/.package-lock.json" ||
      "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]]; then
  log=$(mktemp -t paysync-npm.XXXXXX)
  if ! (cd "$browser" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1; then
    echo "paysync: npm ci in tests/browser failed; its output:" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
cd "$build"
exec ctest --output-on-failure --timeout 300 -j "${PAYSYNC_JOBS:-$(nproc)}" "$@"
