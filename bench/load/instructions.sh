#!/usr/bin/env bash
# User-space instructions the switch executes per settlement, counted by
# valgrind (cachegrind, no cache simulation). Unlike settlements/s or CPU
# time, the count does not move with the neighbours on a shared machine, so
# two binaries can be compared in one pair of runs (bench/README.md,
# "Instructions per settlement"). Kernel time (sockets, fsync) is not counted.
#
# The switch runs under valgrind twice, driven by bench_load's open loop at a
# low rate for a short and a long window; the difference of the two totals
# divided by the difference of the settlements removes start-up (seeding, key
# generation) and shutdown.
#
# usage: bench/load/instructions.sh [paysync binary] [bench_load binary]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
paysync="${1:-$here/../../build/paysync}"
bench="${2:-$(dirname "$paysync")/bench/load/bench_load}"
rate="${RATE:-60}"
short_s="${SHORT_S:-4}"
long_s="${LONG_S:-16}"

if ! command -v valgrind >/dev/null; then
  echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2
  exit 2
fi
for f in "$paysync" "$bench"; do
  [[ -x "$f" ]] || { echo "instructions.sh: $f is not an executable" >&2; exit 2; }
done
paysync="$(realpath "$paysync")"

work="$(mktemp -d /tmp/paysync-instructions.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# One measured run: prints "<instructions> <settlements in the window>".
measure() {
  local seconds=$1 out="$work/run-$1"
  cat >"$work/switch.sh" <<EOF
#!/bin/sh
case "\$*" in *--help*) exec "$paysync" "\$@" ;; esac
exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out.cg" "$paysync" "\$@"
EOF
  chmod +x "$work/switch.sh"
  "$bench" --mode open --rate "$rate" --rounds 1 --duration-s "$seconds" --warmup-s 1 --no-echo \
    --users 1000 --terminals 8 --paysync "$work/switch.sh" --out "$out" >"$out.log" 2>&1 || {
    echo "instructions.sh: bench_load failed, see below" >&2
    tail -20 "$out.log" >&2
    exit 1
  }
  local instructions settled
  instructions="$(awk '/^summary:/ {print $2}' "$out.cg")"
  settled="$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
print(int(d['rounds'][0]['open']['metrics_delta']['paysync_settlements_total']))" "$out/load.json")"
  echo "$instructions $settled"
}

read -r short_ir short_n < <(measure "$short_s")
read -r long_ir long_n < <(measure "$long_s")
if ((long_n <= short_n)); then
  echo "instructions.sh: the long window settled no more than the short one ($long_n <= $short_n)" >&2
  exit 1
fi
per=$(((long_ir - short_ir) / (long_n - short_n)))
echo "switch: $paysync"
echo "open loop at $rate/s: ${short_s} s window $short_n settled, $short_ir instructions; ${long_s} s window $long_n settled, $long_ir instructions"
echo "user-space instructions per settlement: $per"
