#!/usr/bin/env bash
# Quick start, step 1 of 2: installs what is missing, builds, and starts the
# switch on its embedded default — LMDB files in ./paysync-data, demo merchants
# and users seeded on first start — runs one demo payment through it, prints
# the transcript, and keeps serving until Ctrl-C. Extra arguments go to
# `paysync serve` (see `build/paysync serve --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAYSYNC_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
[[ -x "$build/paysync" ]] || echo "paysync: building the switch (the first build takes a few minutes)..."
"$root/scripts/build.sh" paysync
exec "$build/paysync" serve --data-dir "$root/paysync-data" --demo "$@"
