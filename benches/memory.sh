#!/usr/bin/env bash
# Peak memory (VmHWM, the process's peak resident set) of one marmot node, and of MariaDB
# as the baseline in the same script, for three big operations on ROWS rows (default
# 1,000,000) of about 100 bytes:
#   load           LOAD DATA LOCAL INFILE of the rows
#   insert_select  INSERT INTO t2 SELECT * FROM t (t loaded beforehand)
#   select_all     SELECT * FROM t, read by the mariadb CLI (t loaded beforehand)
# Each operation runs on a freshly started server (data kept) whose peak is reset
# (/proc/PID/clear_refs) just before it: `peak_rss_mb` is the peak during the operation,
# `rss_before_mb` what the server held when it began, `growth_mb` the difference.
# Prints one line per operation and server: rows, seconds, peak RSS in MB, and the error
# if the operation failed. Target for marmot (issue 16): at most 150 MB each.
#   benches/memory.sh [ROWS]
set -euo pipefail
ROWS=${1:-1000000}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK=$(mktemp -d /tmp/marmot-memory.XXXXXX)
PIDS=()
# shellcheck source=../scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
trap stop_all EXIT
export MARMOT_EXAMPLE_DIR="$WORK/marmot"
# shellcheck source=../examples/lib.sh
source "$ROOT/examples/lib.sh"

CSV="$WORK/rows.csv"
python3 - "$ROWS" "$CSV" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(1, n + 1):
        f.write(f"{i},{'p%07d' % i * 12}\n")
PY

peak_mb() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }
rss_mb() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }

SQL_PORT=23711
MYSQL=(mariadb --local-infile=1 -h127.0.0.1 -P"$SQL_PORT" -uroot)

marmot_up() {
  start_node 1 28711 "$SQL_PORT" "" >/dev/null
  wait_sql "$SQL_PORT"
  SERVER_PID=$(cat "$MARMOT_EXAMPLE_DIR/node-1/marmot.pid")
}
marmot_down() {
  kill "$SERVER_PID"
  while kill -0 "$SERVER_PID" 2>/dev/null; do sleep 0.1; done
}

mariadb_up() {
  if [ ! -d "$WORK/mariadb/data" ]; then
    mkdir -p "$WORK/mariadb"
    mariadb-install-db --no-defaults --auth-root-authentication-method=normal --skip-test-db \
      --datadir="$WORK/mariadb/data" --user="$(id -un)" >/dev/null 2>&1
  fi
  mariadbd --no-defaults --user="$(id -un)" --datadir="$WORK/mariadb/data" --socket="$WORK/mariadb/s.sock" \
    --pid-file="$WORK/mariadb/p.pid" --log-error="$WORK/mariadb/err.log" --port="$SQL_PORT" \
    --bind-address=127.0.0.1 --innodb-buffer-pool-size=64M --skip-log-bin --local-infile=1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_sql "$SQL_PORT"
}
mariadb_down() {
  kill "$SERVER_PID"
  while kill -0 "$SERVER_PID" 2>/dev/null; do sleep 0.1; done
}

run() { # server label sql...: run on a fresh server, print seconds and peak RSS
  local server=$1 label=$2
  shift 2
  "${server}_up"
  local t0 t1 err before peak
  sleep 2 # let the start settle (a restart may re-drive a big commit first)
  before=$(rss_mb "$SERVER_PID")
  echo 5 > "/proc/$SERVER_PID/clear_refs"
  t0=$(date +%s.%N)
  if err=$("${MYSQL[@]}" "$@" 2>&1 >/dev/null); then err=""; fi
  t1=$(date +%s.%N)
  peak=$(peak_mb "$SERVER_PID")
  printf '%-8s %-14s rows=%s seconds=%.1f rss_before_mb=%s peak_rss_mb=%s growth_mb=%s %s\n' "$server" "$label" \
    "$ROWS" "$(echo "$t1 - $t0" | bc)" "$before" "$peak" "$((peak - before))" "${err:+error: $(echo "$err" | head -c 200)}"
  "${server}_down"
}

for server in mariadb marmot; do
  "${server}_up"
  "${MYSQL[@]}" -e "CREATE DATABASE m; CREATE TABLE m.t (id INT PRIMARY KEY, pad VARCHAR(100)); CREATE TABLE m.t2 (id INT PRIMARY KEY, pad VARCHAR(100))"
  "${server}_down"
  run "$server" load m -e "LOAD DATA LOCAL INFILE '$CSV' INTO TABLE t FIELDS TERMINATED BY ','"
  run "$server" insert_select m -e "INSERT INTO t2 SELECT * FROM t"
  run "$server" select_all m -e "SELECT * FROM t"
done
