#!/usr/bin/env bash
# Start the seed node of a local example cluster: node 1, node port 8081, MySQL 3307.
# Then: ./examples/join-cluster.sh 2 localhost:8081 (and 3 …); stop with ./examples/stop-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_node 1 8081 3307 ""
