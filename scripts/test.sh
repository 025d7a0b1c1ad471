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
cd "$build"
exec ctest --output-on-failure --timeout 300 -j "${PAYSYNC_JOBS:-$(nproc)}" "$@"
