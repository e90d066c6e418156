# Shared by the benchmark scripts (sourced): waiting for a MySQL port, starting MariaDB
# alone or as a 3-node Galera cluster on loopback, and CPU time of processes. Servers are
# started as plain processes; their pids are appended to the caller's PIDS array.

install_packages() { # package...: apt-get install the ones missing
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  fi
}

stop_all() { # stop every process in PIDS and every process started under $WORK, then remove $WORK
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "$WORK/" 2>/dev/null || true
  for _ in $(seq 1 100); do # MariaDB takes a few seconds to shut down
    pgrep -f "$WORK/" >/dev/null || break
    sleep 0.2
  done
  pkill -9 -f "$WORK/" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

wait_sql() { # port: until a query answers (60 s)
  for _ in $(seq 1 300); do
    mariadb -h127.0.0.1 -P"$1" -uroot -N -e "SELECT 1" >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "nothing answers on port $1" >&2
  exit 1
}

start_marmot3() { # first node_port sql_port: marmot nodes first..first+2 on consecutive ports,
  # joined through the first (start_node from examples/lib.sh); returns once all answer SQL
  local n=$1 np=$2 sp=$3 i
  start_node "$n" "$np" "$sp" "" >/dev/null
  for i in 1 2; do start_node $((n + i)) $((np + i)) $((sp + i)) "\"127.0.0.1:$np\"" >/dev/null; done
  for i in 0 1 2; do wait_sql $((sp + i)); done
  sleep 3
}

cpu_ticks() { # pid...: user + system CPU time of the processes, in clock ticks
  local t=0 p s
  for p in "$@"; do
    read -ra s < "/proc/$p/stat"
    t=$((t + s[13] + s[14]))
  done
  echo "$t"
}

mariadb_node() { # dir port [extra args]: one mariadbd (durability as Galera's below)
  local d="$1" port="$2"; shift 2
  mkdir -p "$d"
  if [ ! -d "$d/data" ]; then
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal > "$d/install.log" 2>&1
  fi
  mariadbd --no-defaults --user="$(id -un)" --datadir="$d/data" --socket="$d/sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$d/pid" --log-error="$d/err.log" --binlog_format=ROW \
    --default_storage_engine=InnoDB --innodb_autoinc_lock_mode=2 --innodb_flush_log_at_trx_commit=2 \
    --innodb_buffer_pool_size=256M --max_connections=500 "$@" > "$d/out.log" 2>&1 &
  PIDS+=($!)
}

galera_node() { # dir n: node n (1-3) of a Galera cluster on MySQL ports 13321-13323, gcomm
  # listening on 14571-14573; peers reach node n at $GALERA_PEER_BASE + n (default the same
  # ports; a proxy's when set)
  local d="$1/g$2" n="$2" peer="${GALERA_PEER_BASE:-14570}"; shift 2
  mariadb_node "$d" $((13320 + n)) \
    --wsrep_on=ON --wsrep_provider=/usr/lib/galera/libgalera_smm.so --wsrep_cluster_name=marmot-bench \
    --wsrep_cluster_address=gcomm://127.0.0.1:$((peer + 1)),127.0.0.1:$((peer + 2)),127.0.0.1:$((peer + 3)) \
    --wsrep_node_address=127.0.0.1:$((peer + n)) --wsrep_node_name=g"$n" \
    --wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:1457$n;ist.recv_addr=127.0.0.1:1458$n" \
    --wsrep_sst_method=rsync --wsrep_sst_receive_address=127.0.0.1:1459"$n" "$@"
}

start_galera3() { # dir: a 3-node Galera cluster on 13321-13323, waiting until all 3 joined
  local gal="$1" n size
  for n in 1 2 3; do
    mkdir -p "$gal/g$n"
    mariadb-install-db --no-defaults --datadir="$gal/g$n/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal > "$gal/g$n/install.log" 2>&1
  done
  # The rsync state transfer runs its daemon as nobody: it must be able to write the data dirs.
  chmod -R a+rwX "$gal"
  galera_node "$gal" 1 --wsrep-new-cluster
  wait_sql 13321
  galera_node "$gal" 2
  wait_sql 13322
  galera_node "$gal" 3
  wait_sql 13323
  for _ in $(seq 1 150); do
    size=$(mariadb -h127.0.0.1 -P13321 -uroot -N -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    [ "$size" = 3 ] && break
    sleep 0.2
  done
}
