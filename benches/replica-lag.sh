#!/usr/bin/env bash
# Read-only replica lag under the seed's mixed workload (3 members + 1 replica on
# loopback): see benches/src/bin/replica_lag.rs. Settings: ROWS (20000), DURATION (30 s).
# Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v curl >/dev/null || { echo "curl missing: apt-get install curl"; exit 1; }
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
cargo build --release --quiet -p marmot-benches --bin workload --bin replica_lag
exec target/release/replica_lag
