#!/usr/bin/env bash
# CPU per statement of one marmot node, sent as text (COM_QUERY, the values printed into
# each statement) and as prepared statements (COM_STMT_EXECUTE, the values bound), in the
# same run against the same node: a sysbench workload (oltp_point_select by default), the
# node's CPU time (utime + stime from /proc) divided by the queries sysbench counted.
# Usage: benches/prepared.sh            (MARMOT_BIN=path to measure another build;
#        WORKLOAD=oltp_update_non_index SECONDS_EACH=20 THREADS=4 ROWS=10000)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MARMOT_BIN:-target/release/marmot}
SECONDS_EACH=${SECONDS_EACH:-20}
THREADS=${THREADS:-4}
ROWS=${ROWS:-10000}
WORKLOAD=${WORKLOAD:-oltp_point_select}
command -v sysbench >/dev/null || { echo "sysbench not found: apt-get install sysbench"; exit 1; }
command -v mariadb >/dev/null || { echo "mariadb client not found: apt-get install mariadb-client"; exit 1; }
[ -x "$BIN" ] || { echo "$BIN not found: cargo build --release -p marmot-shell-tokio --bin marmot"; exit 1; }
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/config.toml" <<CONF
node_id = 1
data_dir = "$WORK/data"
[mysql]
bind_address = "127.0.0.1"
port = $PORT
[cluster]
grpc_bind_address = "127.0.0.1"
grpc_port = $((PORT + 1))
CONF
"$BIN" -c "$WORK/config.toml" > "$WORK/node.log" 2>&1 &
PID=$!
for _ in $(seq 100); do mariadb -h127.0.0.1 -P"$PORT" -uroot -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
mariadb -h127.0.0.1 -P"$PORT" -uroot -e "CREATE DATABASE sbtest"
common=(--mysql-host=127.0.0.1 --mysql-port="$PORT" --mysql-user=root --mysql-password= --mysql-db=sbtest
  --tables=1 --table-size="$ROWS")
sysbench "$WORKLOAD" "${common[@]}" prepare > "$WORK/prepare.txt" 2>&1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
echo "one node, sysbench $WORKLOAD, $ROWS rows, $THREADS threads, ${SECONDS_EACH}s each ($BIN)"
printf '%-28s %10s %10s %16s\n' "protocol" "queries" "qps" "node CPU us/query"
for mode in disable auto; do
  before=$(cpu_ticks)
  sysbench "$WORKLOAD" "${common[@]}" --threads="$THREADS" --time="$SECONDS_EACH" --db-ps-mode="$mode" run \
    > "$WORK/run-$mode.txt" 2>&1
  after=$(cpu_ticks)
  queries=$(awk '/total:/ && !done {print $2; done=1}' "$WORK/run-$mode.txt")
  qps=$(awk -F'[()]' '/queries:/ {split($2, a, " "); print a[1]; exit}' "$WORK/run-$mode.txt")
  label=$([ "$mode" = disable ] && echo "text (values in the text)" || echo "prepared (values bound)")
  us=$(awk -v t=$((after - before)) -v hz="$HZ" -v q="$queries" 'BEGIN {printf "%.1f", t / hz * 1e6 / q}')
  printf '%-28s %10s %10s %16s\n' "$label" "$queries" "$qps" "$us"
done
