#!/usr/bin/env bash
# Commit latency across slow links, marmot against MariaDB Galera, in one run:
#   - 3 marmot nodes (QUORUM) and then 3 Galera nodes, each node behind a delaying proxy
#     (tests' delay-proxy: DELAY_MS each way, so every node-to-node round trip costs
#     2 x DELAY_MS); marmot nodes advertise their proxies ([cluster] advertise_address),
#     Galera's gcomm addresses (wsrep_cluster_address, wsrep_node_address) point at them;
#   - one client on node 1's own MySQL port (not delayed): P50/P99 of single-row autocommit
#     INSERTs and of 10-operation transactions (benches/slow-links/latency.py).
# Prints a table. Settings: DELAY_MS (10), SINGLE (300), TXNS (100).
# Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DELAY="${DELAY_MS:-10}"
SINGLE="${SINGLE:-300}"
TXNS="${TXNS:-100}"
WORK="$(mktemp -d /tmp/marmot-slow.XXXXXX)"

PIDS=()
# shellcheck source=../scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
trap stop_all EXIT
install_packages mariadb-server mariadb-client galera-4 rsync python3-venv
VENV="$ROOT/target/e2e-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check PyMySQL

echo "building release binaries"
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
cargo build --release --quiet -p marmot-e2e --bin delay-proxy
export MARMOT_BIN="$ROOT/target/release/marmot" MARMOT_EXAMPLE_DIR="$WORK/marmot"
PROXY="$ROOT/target/release/delay-proxy"

# shellcheck source=../examples/lib.sh
source "$ROOT/examples/lib.sh"

proxy() { # listen target
  "$PROXY" --listen "$1" --target "$2" --delay-ms "$DELAY" > "$WORK/proxy-$1.log" 2>&1 &
  PIDS+=($!)
}
measure() { # name port
  local out
  out="$("$VENV/bin/python" "$ROOT/benches/slow-links/latency.py" "$2" "$SINGLE" "$TXNS")"
  echo "$1 $out" >> "$WORK/results"
  echo "  $1: $out"
}

echo "== marmot: 3 nodes, QUORUM, node ports behind ${DELAY} ms proxies"
for i in 1 2 3; do proxy $((19180 + i)) $((18180 + i)); done
start_node 1 18181 13401 "" "127.0.0.1:19181" > /dev/null
for i in 2 3; do start_node "$i" $((18180 + i)) $((13400 + i)) "\"127.0.0.1:19181\"" "127.0.0.1:$((19180 + i))" > /dev/null; done
for i in 1 2 3; do wait_sql $((13400 + i)); done
sleep 3
measure marmot 13401
for i in 1 2 3; do kill "$(cat "$WORK/marmot/node-$i/marmot.pid")"; done

echo "== Galera: 3 nodes, gcomm behind ${DELAY} ms proxies"
for n in 1 2 3; do proxy $((15570 + n)) $((14570 + n)); done
GALERA_PEER_BASE=15570 start_galera3 "$WORK/galera"
measure galera 13321

echo
echo "Commit latency, one client on node 1, round trip between nodes $((2 * DELAY)) ms:"
echo "| system | single-row P50 / P99 ms | 10-op transaction P50 / P99 ms |"
echo "|---|---|---|"
"$VENV/bin/python" - "$WORK/results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    name, js = line.split(" ", 1)
    r = json.loads(js)
    print(f"| {name} | {r['single_p50']} / {r['single_p99']} | {r['txn_p50']} / {r['txn_p99']} |")
PY
