#!/usr/bin/env bash
# Stop the nodes the example scripts started (and only those: each node's pid file is
# checked against the process's command line). --clean also deletes their directories.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
shopt -s nullglob
for pidfile in "$BASE"/node-*/marmot.pid; do
  dir="$(dirname "$pidfile")"
  pid="$(cat "$pidfile")"
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/config.toml"; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
    fi
    echo "stopped $(basename "$dir") (pid $pid)"
  fi
  rm -f "$pidfile"
done
if [ "${1:-}" = "--clean" ]; then
  rm -rf "$BASE"
  echo "removed $BASE"
fi
