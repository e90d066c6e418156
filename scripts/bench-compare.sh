#!/usr/bin/env bash
# Benchmarks marmot against MariaDB Galera on this machine, in one run:
#   - a 3-node marmot cluster at QUORUM, a single marmot node, and a 3-node Galera cluster
#     (Debian's mariadb-server and galera-4, started here as plain processes on loopback);
#   - on each: the seed's workload (benches/src/bin/workload.rs: load, then mixed) and
#     sysbench oltp_insert and oltp_read_write with 16 threads;
#   - writes target/bench/results.md and results.json with the ratios.
# Everything it starts it stops. Settings (environment):
#   BENCH_ROWS (200000) BENCH_DURATION (120) BENCH_THREADS (16) BENCH_BATCH (10)
#   SYSBENCH_TIME (30) SYSBENCH_TABLE_SIZE (10000) BENCH_KILL_DURATION (30) BENCH_OUT (target/bench)
# After the measured runs, marmot and Galera each run the mixed phase once more with one
# node killed by SIGKILL after 10 s: the longest pause between commits is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ROWS="${BENCH_ROWS:-200000}"
DURATION="${BENCH_DURATION:-120}"
THREADS="${BENCH_THREADS:-16}"
BATCH="${BENCH_BATCH:-10}"
SB_TIME="${SYSBENCH_TIME:-30}"
SB_SIZE="${SYSBENCH_TABLE_SIZE:-10000}"
KILL_DURATION="${BENCH_KILL_DURATION:-30}"
OUT="${BENCH_OUT:-$ROOT/target/bench}"
WORK="$(mktemp -d /tmp/marmot-bench.XXXXXX)"
mkdir -p "$OUT"

PIDS=()
# shellcheck source=bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
trap stop_all EXIT
install_packages mariadb-server mariadb-client galera-4 rsync sysbench python3

echo "building release binaries"
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
cargo build --release --quiet -p marmot-benches --bin workload
export MARMOT_BIN="$ROOT/target/release/marmot" MARMOT_EXAMPLE_DIR="$WORK/marmot"
WORKLOAD="$ROOT/target/release/workload"

# shellcheck source=../examples/lib.sh
source "$ROOT/examples/lib.sh"

run_sysbench() { # name ports(comma) -> $WORK/name-sysbench.txt
  local name="$1" first="${2%%,*}"
  local port="${first##*:}"
  mariadb -h127.0.0.1 -P"$port" -uroot -e "CREATE DATABASE IF NOT EXISTS sbtest"
  sleep 2
  local common=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=root
    --mysql-db=sbtest --tables=1 --table-size="$SB_SIZE")
  sysbench oltp_read_write "${common[@]}" prepare > "$WORK/$name-sb-prepare.txt" 2>&1
  sleep 3
  for test in oltp_insert oltp_read_write; do
    sysbench "$test" "${common[@]}" --threads=16 --time="$SB_TIME" --mysql-ignore-errors=1213,1205,1062 run \
      > "$WORK/$name-$test.txt" 2>&1 || true
    grep -E "transactions:" "$WORK/$name-$test.txt" | sed "s/^/  $name $test /"
  done
}

run_all() { # name endpoints consistency
  local name="$1" endpoints="$2" consistency="${3:-}"
  echo "== $name: workload ($ROWS rows, ${DURATION}s mixed, $THREADS threads, batch $BATCH)"
  local extra=()
  [ -n "$consistency" ] && extra=(--consistency "$consistency")
  "$WORKLOAD" --endpoints "$endpoints" --rows "$ROWS" --duration "$DURATION" --threads "$THREADS" \
    --batch "$BATCH" "${extra[@]}" --json "$WORK/$name-workload.json" | tee "$WORK/$name-workload.txt"
  echo "== $name: sysbench"
  run_sysbench "$name" "$endpoints"
}

kill_run() { # name endpoints pid [consistency]: mixed phase with the third node SIGKILLed after 10 s
  local name="$1" endpoints="$2" pid="$3" consistency="${4:-}"
  local extra=()
  [ -n "$consistency" ] && extra=(--consistency "$consistency")
  echo "== $name: mixed phase for ${KILL_DURATION}s, SIGKILL of one node after 10 s"
  (sleep 10; kill -9 "$pid") &
  local killer=$!
  "$WORKLOAD" --endpoints "$endpoints" --rows "$ROWS" --duration "$KILL_DURATION" --threads "$THREADS" \
    --batch "$BATCH" --phases mixed --no-verify "${extra[@]}" --json "$WORK/$name-kill.json" | tee "$WORK/$name-kill.txt"
  wait "$killer"
}

# --- marmot, 3 nodes at QUORUM ---
start_marmot3 1 18081 13307
run_all marmot3 127.0.0.1:13307,127.0.0.1:13308,127.0.0.1:13309 QUORUM
kill_run marmot3 127.0.0.1:13307,127.0.0.1:13308,127.0.0.1:13309 "$(cat "$MARMOT_EXAMPLE_DIR/node-3/marmot.pid")" QUORUM
for n in 1 2 3; do kill "$(cat "$MARMOT_EXAMPLE_DIR/node-$n/marmot.pid")" 2>/dev/null || true; done
sleep 2

# --- marmot, one node ---
start_node 9 18090 13310 "" >/dev/null
wait_sql 13310
run_all marmot1 127.0.0.1:13310
kill "$(cat "$MARMOT_EXAMPLE_DIR/node-9/marmot.pid")" 2>/dev/null || true
sleep 2

# --- MariaDB Galera, 3 nodes ---
start_galera3 "$WORK/galera"
run_all galera3 127.0.0.1:13321,127.0.0.1:13322,127.0.0.1:13323
kill_run galera3 127.0.0.1:13321,127.0.0.1:13322,127.0.0.1:13323 "$(cat "$WORK/galera/g3/pid")"

# --- results ---
python3 - "$WORK" "$OUT" "$ROWS" "$DURATION" "$THREADS" "$BATCH" "$SB_TIME" <<'PY'
import json, os, re, subprocess, sys, datetime
work, out, rows, duration, threads, batch, sb_time = sys.argv[1:]
def workload(name):
    with open(f"{work}/{name}-workload.json") as f:
        d = json.load(f)
    return {p["phase"]: p for p in d["phases"]}, d["verify"]["result"]
def kill_pause(name):
    try:
        with open(f"{work}/{name}-kill.json") as f:
            d = json.load(f)
        return d["phases"][0]["longest_pause_ms"]
    except (FileNotFoundError, KeyError, IndexError):
        return None
def sysbench(name, test):
    try:
        txt = open(f"{work}/{name}-{test}.txt").read()
    except FileNotFoundError:
        return None
    m = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", txt)
    return float(m.group(1)) if m else None
systems = {"marmot3": "marmot, 3 nodes, QUORUM", "marmot1": "marmot, 1 node", "galera3": "MariaDB Galera, 3 nodes"}
res = {}
for s in systems:
    phases, verify = workload(s)
    res[s] = {
        "load_tx_per_sec": phases["load"]["tx_per_sec"], "load_ops_per_sec": phases["load"]["ops_per_sec"],
        "mixed_tx_per_sec": phases["mixed"]["tx_per_sec"], "mixed_ops_per_sec": phases["mixed"]["ops_per_sec"],
        "mixed_p50_ms": phases["mixed"]["latency_ms"]["p50"], "mixed_p99_ms": phases["mixed"]["latency_ms"]["p99"],
        "mixed_errors": phases["mixed"]["errors"] + phases["load"]["errors"],
        "mixed_retries": phases["mixed"]["retries"], "verify": verify,
        "sysbench_oltp_insert_tps": sysbench(s, "oltp_insert"),
        "sysbench_oltp_read_write_tps": sysbench(s, "oltp_read_write"),
        "sigkill_longest_pause_ms": kill_pause(s),
    }
def ratio(a, b):
    return round(a / b, 3) if a and b else None
keys = ["load_tx_per_sec", "mixed_tx_per_sec", "sysbench_oltp_insert_tps", "sysbench_oltp_read_write_tps"]
ratios = {
    "marmot3_over_galera3": {k: ratio(res["marmot3"][k], res["galera3"][k]) for k in keys},
    "marmot3_over_marmot1": {k: ratio(res["marmot3"][k], res["marmot1"][k]) for k in keys},
}
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
doc = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "git_revision": rev, "cores": os.cpu_count(),
    "durability": {"marmot": "SQLite WAL, synchronous=NORMAL", "galera": "innodb_flush_log_at_trx_commit=2"},
    "settings": {"rows": int(rows), "mixed_seconds": float(duration), "threads": int(threads), "batch": int(batch),
                 "sysbench_seconds": int(sb_time), "latency": "per transaction"},
    "results": res, "ratios": ratios,
}
with open(f"{out}/results.json", "w") as f:
    json.dump(doc, f, indent=2)
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
lines = [
    f"Run {doc['date']} at revision {rev} on {doc['cores']} cores, everything on one machine. "
    f"Durability: marmot {doc['durability']['marmot']}; Galera {doc['durability']['galera']}. "
    f"Workload: {int(rows):,} rows, {duration} s mixed phase, {threads} threads, {batch} operations per transaction; "
    "latency is per transaction.",
    "",
    "| system | load tx/s | mixed tx/s | mixed P50 / P99 ms | errors | verify | sysbench oltp_insert tps | sysbench oltp_read_write tps | longest write pause when a node is SIGKILLed, ms |",
    "|---|---|---|---|---|---|---|---|---|",
]
for s, label in systems.items():
    r = res[s]
    lines.append(f"| {label} | {fmt(r['load_tx_per_sec'])} | {fmt(r['mixed_tx_per_sec'])} | "
                 f"{fmt(r['mixed_p50_ms'], 1)} / {fmt(r['mixed_p99_ms'], 1)} | {r['mixed_errors']} | {r['verify']} | "
                 f"{fmt(r['sysbench_oltp_insert_tps'])} | {fmt(r['sysbench_oltp_read_write_tps'])} | "
                 f"{fmt(r['sigkill_longest_pause_ms'])} |")
for name, label in [("marmot3_over_galera3", "marmot 3 nodes / Galera"), ("marmot3_over_marmot1", "marmot 3 nodes / 1 node")]:
    r = ratios[name]
    lines.append(f"| ratio {label} | {fmt(r['load_tx_per_sec'], 2)} | {fmt(r['mixed_tx_per_sec'], 2)} | | | | "
                 f"{fmt(r['sysbench_oltp_insert_tps'], 2)} | {fmt(r['sysbench_oltp_read_write_tps'], 2)} | |")
with open(f"{out}/results.md", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "results: $OUT/results.md and $OUT/results.json"
