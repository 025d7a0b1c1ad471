#!/usr/bin/env bash
# Spreads bench_load over a cluster of paysync nodes on this machine
# (docs/cluster.md, "Capacity"). Starts NODES nodes that know each other
# (--node-id, --cluster-port, --peer), then one bench_load per node in attach
# mode, all at once, and sums what they report.
#
#   bench/cluster/cluster_load.sh idle NODES TOTAL_TERMINALS [OUT]
#       TOTAL idle terminals (half billing, half handsets), TOTAL/NODES per
#       node; prints each node's switch RSS per terminal and the total.
#   bench/cluster/cluster_load.sh payments NODES TERMINALS_PER_NODE [OUT]
#       closed-loop flow A on every node at once (terminal and handset on the
#       same node); prints payments/s per node and in total.
#
# One process may hold at most ~19,900 open files here: keep TOTAL/NODES
# under ~19,000. Every process this script starts is stopped at the end.
set -euo pipefail
mode=${1:?idle|payments} nodes=${2:?nodes} count=${3:?count} out=${4:-/tmp/cluster-load}
build=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
paysync=$build/paysync bench=$build/bench/load/bench_load
base_port=${BASE_PORT:-17300}
rm -rf "$out" && mkdir -p "$out"
per_node=$(( count / nodes ))
if [[ $mode == idle ]]; then merchants=$(( per_node / 2 + 2 )) users=$(( per_node + 2 ));
else merchants=$(( per_node + 2 )) users=$(( per_node * 3 + 16 )); fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for (( i = 0; i < nodes; i++ )); do
  peers=()
  for (( j = 0; j < nodes; j++ )); do
    (( j == i )) || peers+=(--peer "$j@127.0.0.1:$(( base_port + j ))")
  done
  "$paysync" serve --data-dir "$out/node$i" --billing-port 0 --paying-port 0 --operator-port 0 \
    --workers "${WORKERS:-1}" --shards 2 --io-threads 1 --node-id "$i" \
    --cluster-port $(( base_port + i )) "${peers[@]}" \
    --seed-load-merchants "$merchants" --seed-load-users "$users" \
    --velocity-max-count 1000000 --velocity-max-minor 100000000000000 \
    --trusted-gateway 127.0.0.0/8 --require-terminal-keys false \
    --max-connections-per-address 0 --billing-message-rate 0 --paying-message-rate 0 \
    --join-rate-per-msisdn 0 --join-rate-per-address 0 --idle-timeout-s 10 --log-level warn \
    > "$out/node$i.out" 2> "$out/node$i.log" &
  pids+=($!)
done
for (( i = 0; i < nodes; i++ )); do
  until grep -q PAYSYNC_READY "$out/node$i.out"; do sleep 0.2; done
done
sleep 2  # the peers find each other
for (( i = 0; i < nodes; i++ )); do
  up=$(curl -s "http://$(grep -o 'operator=[^ ]*' "$out/node$i.out" | cut -d= -f2)/metrics" |
       grep -c 'paysync_cluster_peer_up{.*} 1' || true)
  echo "node $i: $up/$(( nodes - 1 )) peers up"
done
bpids=()
for (( i = 0; i < nodes; i++ )); do
  line=$(grep PAYSYNC_READY "$out/node$i.out")
  billing=$(grep -o 'billing=[^ ]*' <<<"$line" | cut -d= -f2)
  paying=$(grep -o 'paying=[^ ]*' <<<"$line" | cut -d= -f2)
  operator=$(grep -o 'operator=[^ ]*' <<<"$line" | cut -d= -f2)
  common=(--billing "$billing" --paying "$paying" --switch-pid "${pids[$i]}"
          --metrics "http://$operator/metrics" --out "$out/bench$i")
  if [[ $mode == idle ]]; then
    "$bench" --mode idle --idle "$per_node" --processes 1 --hold-s "${HOLD_S:-25}" "${common[@]}" \
      > "$out/bench$i.txt" 2>&1 &
  else
    "$bench" --mode closed --terminals "$per_node" --users "$users" --no-echo \
      --duration-s "${DURATION_S:-15}" --warmup-s 3 --rounds 1 "${common[@]}" \
      > "$out/bench$i.txt" 2>&1 &
  fi
  bpids+=($!)
done
for p in "${bpids[@]}"; do wait "$p" || true; done
python3 - "$out" "$nodes" "$mode" <<'PY'
import json, sys, glob
out, nodes, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tot_open = tot_rss = tot_pay = 0
for i in range(nodes):
    try:
        r = json.load(open(f"{out}/bench{i}/load.json"))
    except Exception as e:
        print(f"node {i}: no report ({e})"); continue
    if mode == "idle":
        idle = r.get("idle", {})
        still = (idle.get("billing_open_after_hold") or 0) + (idle.get("handsets_open_after_hold") or 0)
        per = idle.get("rss_kb_per_terminal", 0) or 0
        print(f"node {i}: open after hold {still}, switch RSS/terminal {per} KB "
              f"(anon {idle.get('rss_anon_kb_per_terminal')}, after hold {idle.get('rss_kb_per_terminal_after_hold')}), "
              f"switch RSS after open {idle.get('switch_after_open', {}).get('rss_kb')} KB")
        tot_open += still; tot_rss += per * still
    else:
        closed = [x["closed"] for x in r.get("rounds", []) if "closed" in x]
        rate = sum(c.get("settled_per_s", 0) for c in closed) / max(len(closed), 1)
        sw = closed[0].get("switch", {}) if closed else {}
        p50 = closed[0].get("latency", {}).get("start->settled", {}).get("p50_us") if closed else None
        print(f"node {i}: {rate:.0f} payments/s, start->settled p50 {p50} us")
        tot_pay += rate
if mode == "idle":
    print(f"TOTAL idle terminals open: {tot_open}; switch RSS per terminal (weighted): {tot_rss / max(tot_open,1):.2f} KB")
else:
    print(f"TOTAL payments/s over {nodes} node(s): {tot_pay:.0f}")
PY
