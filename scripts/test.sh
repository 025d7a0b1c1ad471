#!/usr/bin/env bash
# Quick start, step 2 of 2: installs what is missing, builds everything and
# runs the whole test suite with ctest (unit tests, actor tests on CAF's
# deterministic scheduler, and integration tests that start the real binary on
# ephemeral ports). Extra arguments go to ctest, e.g. `-R FlowA` or `-L integration`.
# With CI=true or PAYSYNC_SANITIZERS=1 it then runs scripts/test-sanitize.sh:
# the suite again under ASan+UBSan, and the fuzz targets.
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
# In CI (or with PAYSYNC_SANITIZERS=1) the suite runs a second time, built with
# ASan+UBSan, together with the fuzz targets: scripts/test-sanitize.sh.
if [[ "${CI:-}" != "true" && "${PAYSYNC_SANITIZERS:-0}" != "1" ]]; then
  exec ctest --output-on-failure --timeout 300 -j "${PAYSYNC_JOBS:-$(nproc)}" "$@"
fi
status=0
ctest --output-on-failure --timeout 300 -j "${PAYSYNC_JOBS:-$(nproc)}" "$@" || status=$?
sanitized=0
"$root/scripts/test-sanitize.sh" "$@" || sanitized=$?
if [[ $status -ne 0 ]]; then
  echo "paysync: the test suite in $build FAILED (see its summary further up)" >&2
  exit "$status"
fi
exit "$sanitized"
