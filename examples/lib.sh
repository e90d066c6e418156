# Shared by the example scripts: where nodes live and how one is started.
# Nodes live in $MARMOT_EXAMPLE_DIR (default /tmp/marmot-cluster)/node-N, each with its
# config.toml, data directory, marmot.log and marmot.pid.

set -euo pipefail
EXAMPLES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$EXAMPLES")"
BASE="${MARMOT_EXAMPLE_DIR:-/tmp/marmot-cluster}"

# The marmot binary: $MARMOT_BIN, else a release build of this checkout.
marmot_bin() {
  if [ -n "${MARMOT_BIN:-}" ]; then
    echo "$MARMOT_BIN"
    return
  fi
  (cd "$ROOT" && cargo build --release --quiet --bin marmot) >&2
  echo "$ROOT/target/release/marmot"
}

# start_node N GRPC_PORT MYSQL_PORT SEEDS [ADVERTISE] — SEEDS is a TOML list body, e.g.
# "\"localhost:8081\"";  ADVERTISE, if given, is the host:port peers reach the node at.
start_node() {
  local n="$1" grpc="$2" mysql="$3" seeds="$4" advertise_line=""
  [ -n "${5:-}" ] && advertise_line="advertise_address = \"$5\""
  local dir="$BASE/node-$n"
  if [ -f "$dir/marmot.pid" ] && kill -0 "$(cat "$dir/marmot.pid")" 2>/dev/null; then
    echo "node $n is already running (pid $(cat "$dir/marmot.pid"))" >&2
    exit 1
  fi
  local bin
  bin="$(marmot_bin)"
  mkdir -p "$dir"
  cat > "$dir/config.toml" <<TOML
node_id = $n
data_dir = "$dir/data"

[cluster]
grpc_bind_address = "127.0.0.1"
grpc_port = $grpc
seed_nodes = [$seeds]
$advertise_line

[mysql]
bind_address = "127.0.0.1"
port = $mysql
TOML
  # MARMOT_CLUSTER_SECRET, if set, is passed on to the node.
  nohup "$bin" --config "$dir/config.toml" > "$dir/marmot.log" 2>&1 < /dev/null &
  echo $! > "$dir/marmot.pid"
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$mysql") 2>/dev/null; then
      echo "node $n: MySQL on 127.0.0.1:$mysql, node port 127.0.0.1:$grpc, pid $(cat "$dir/marmot.pid"), log $dir/marmot.log"
      return
    fi
    if ! kill -0 "$(cat "$dir/marmot.pid")" 2>/dev/null; then
      echo "node $n exited; its log:" >&2
      cat "$dir/marmot.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "node $n did not open MySQL port $mysql within 60 s; see $dir/marmot.log" >&2
  exit 1
}
