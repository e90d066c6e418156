#!/usr/bin/env bash
# Join node N to the cluster whose seed is at SEED_ADDR: node port 808N, MySQL 330(6+N).
#   ./examples/join-cluster.sh 2 localhost:8081
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ $# -ne 2 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 2 ] || [ "$1" -gt 9 ]; then
  echo "usage: $0 N SEED_ADDR   (N from 2 to 9, e.g. $0 2 localhost:8081)" >&2
  exit 2
fi
start_node "$1" "$((8080 + $1))" "$((3306 + $1))" "\"$2\""
