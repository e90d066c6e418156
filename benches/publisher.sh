#!/usr/bin/env bash
# CDC publisher throughput and commit -> consumer delay against a real nats-server
# (JetStream), on a 3-node loopback cluster: see benches/src/bin/publisher.rs.
# Settings: WRITERS (8), DURATION (10 s), BACKLOG (20000). Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nats-server >/dev/null || { echo "nats-server missing: apt-get install nats-server"; exit 1; }
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
MARMOT_BIN="$PWD/target/release/marmot" cargo run --release --quiet -p marmot-benches --bin publisher
