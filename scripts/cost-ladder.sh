#!/usr/bin/env bash
# The write path's cost ladder, one command: the same 10-operation transaction mix through
# each layer, with throughput, CPU per transaction and each rung's ratio to the one below.
#   in process (benches/src/bin/ladder.rs): raw rusqlite -> store path -> engine 1 node ->
#     engine 3 nodes;
#   over MySQL (benches/src/bin/workload.rs, 16 threads, 10 operations per transaction, the
#     seed's mix): one marmot process -> 3 marmot processes at QUORUM; then a single
#     MariaDB and a 3-node Galera cluster when mariadb-server and galera-4 are installed.
# Over MySQL the CPU is the servers' (from /proc), per committed transaction of the mixed
# phase. Writes target/bench/ladder.md. Everything it starts it stops.
# Settings: LADDER_TXNS (2000) LADDER_ROWS (20000) LADDER_DURATION (20) LADDER_THREADS (16)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TXNS="${LADDER_TXNS:-2000}"
ROWS="${LADDER_ROWS:-20000}"
DURATION="${LADDER_DURATION:-20}"
THREADS="${LADDER_THREADS:-16}"
OUT="$ROOT/target/bench"
WORK="$(mktemp -d /tmp/marmot-ladder.XXXXXX)"
mkdir -p "$OUT"
command -v mariadb >/dev/null || { echo "mariadb not found: apt-get install mariadb-client" >&2; exit 1; }

echo "building release binaries"
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
cargo build --release --quiet -p marmot-benches --bin workload --bin ladder
export MARMOT_BIN="$ROOT/target/release/marmot" MARMOT_EXAMPLE_DIR="$WORK/marmot"

PIDS=()
# shellcheck source=bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
trap stop_all EXIT
# shellcheck source=../examples/lib.sh
source "$ROOT/examples/lib.sh"
"$ROOT/target/release/ladder" "$TXNS" | tee "$WORK/inproc.md"

TICK_US=$((1000000 / $(getconf CLK_TCK)))
RUNGS=()
rung() { # name endpoints consistency pid...: load (unmeasured), then the measured mixed phase
  local name="$1" endpoints="$2" extra=()
  [ -n "$3" ] && extra=(--consistency "$3")
  shift 3
  "$ROOT/target/release/workload" --endpoints "$endpoints" --rows "$ROWS" --threads "$THREADS" --batch 10 \
    "${extra[@]}" --phases load --no-verify > "$WORK/$name-load.txt"
  local c0 c1
  c0=$(cpu_ticks "$@")
  "$ROOT/target/release/workload" --endpoints "$endpoints" --rows "$ROWS" --duration "$DURATION" \
    --threads "$THREADS" --batch 10 "${extra[@]}" --phases mixed --no-verify \
    --json "$WORK/$name.json" > "$WORK/$name.txt"
  c1=$(cpu_ticks "$@")
  RUNGS+=("$(python3 - "$WORK/$name.json" "$name" $(((c1 - c0) * TICK_US)) <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["phases"][0]
print(f'{sys.argv[2]}|{d["tx_per_sec"]:.0f}|{int(sys.argv[3]) / max(d["transactions"], 1):.0f}|{d["latency_ms"]["p99"]:.1f}|{d["errors"]}')
PY
)")
  echo "  ${RUNGS[-1]}"
}
pid_of() { cat "$MARMOT_EXAMPLE_DIR/node-$1/marmot.pid"; }

echo "== over MySQL: one marmot process"
start_node 1 18181 13407 "" >/dev/null
wait_sql 13407
rung "marmot, 1 process" 127.0.0.1:13407 QUORUM "$(pid_of 1)"
kill "$(pid_of 1)"; sleep 1

echo "== over MySQL: 3 marmot processes, QUORUM"
start_marmot3 2 18182 13408
rung "marmot, 3 processes (QUORUM)" 127.0.0.1:13408,127.0.0.1:13409,127.0.0.1:13410 QUORUM \
  "$(pid_of 2)" "$(pid_of 3)" "$(pid_of 4)"
for n in 2 3 4; do kill "$(pid_of $n)"; done
sleep 1

if command -v mariadbd >/dev/null; then
  echo "== over MySQL: single MariaDB"
  mariadb_node "$WORK/mariadb" 13420
  wait_sql 13420
  rung "MariaDB, 1 server" 127.0.0.1:13420 "" "$(cat "$WORK/mariadb/pid")"
  kill "$(cat "$WORK/mariadb/pid")"
else
  echo "(mariadbd not installed: apt-get install mariadb-server for the MariaDB rungs)"
fi
if command -v mariadbd >/dev/null && [ -f /usr/lib/galera/libgalera_smm.so ]; then
  echo "== over MySQL: MariaDB Galera, 3 nodes"
  start_galera3 "$WORK/galera"
  rung "MariaDB Galera, 3 nodes" 127.0.0.1:13321,127.0.0.1:13322,127.0.0.1:13323 "" \
    "$(cat "$WORK/galera/g1/pid")" "$(cat "$WORK/galera/g2/pid")" "$(cat "$WORK/galera/g3/pid")"
else
  echo "(galera-4 not installed: apt-get install galera-4 rsync for the Galera rung)"
fi

{
  cat "$WORK/inproc.md"
  echo
  echo "over MySQL: $THREADS threads, 10 operations per transaction (the seed's mix), $ROWS rows, ${DURATION}s mixed phase; CPU is the servers'"
  echo "| rung | tx/s | server CPU µs/tx | CPU × the rung below | P99 ms | errors |"
  echo "|---|---|---|---|---|---|"
  prev=""
  for r in "${RUNGS[@]}"; do
    IFS='|' read -r name tps cpu p99 errors <<< "$r"
    ratio="–"
    [ -n "$prev" ] && ratio=$(python3 -c "print(f'{$cpu / max($prev, 1):.2f}')")
    echo "| $name | $tps | $cpu | $ratio | $p99 | $errors |"
    prev="$cpu"
  done
  echo
  echo "revision $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
} | tee "$OUT/ladder.md"
