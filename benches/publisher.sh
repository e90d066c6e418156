#!/usr/bin/env bash
# CDC publisher throughput and commit -> consumer delay against a real broker, on a 3-node
# loopback cluster: see benches/src/bin/publisher.rs. SINK=nats (nats-server with JetStream,
# the default) or SINK=kafka (tansu: `cargo install --locked tansu@0.6.0 --features dynostore`).
# Settings: WRITERS (8), DURATION (10 s), BACKLOG (20000). Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${SINK:-nats}" in
  nats) command -v nats-server >/dev/null || { echo "nats-server missing: apt-get install nats-server"; exit 1; } ;;
  kafka) command -v tansu >/dev/null || { echo "tansu missing: cargo install --locked tansu@0.6.0 --features dynostore"; exit 1; } ;;
esac
cargo build --release --quiet -p marmot-shell-tokio --bin marmot
MARMOT_BIN="$PWD/target/release/marmot" cargo run --release --quiet -p marmot-benches --bin publisher
