#!/usr/bin/env bash
# Runs marmot's whole test suite, installing what it needs first.
# Usage: ./scripts/test-all.sh          (SIM_SEEDS=N for more simulation seeds)
#        ./scripts/test-all.sh --long   also the long tests: a cluster mixing this revision
#                                       with the previous release (tag v0.1.0, built here),
#                                       the simulation at 10x CI's seeds (about 15 min
#                                       on 2 cores), and 10 min of the nemesis test
#                                       (NEMESIS_SECONDS, NEMESIS_SEED to change them), and
#                                       the publisher against a real Kafka-protocol broker
#                                       (tansu from crates.io, built here once: about 25 min
#                                       on 2 cores, kept in ~/.cargo/bin), and the fuzz
#                                       smoke at 60 s per target (CI: 10 s)
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the end-to-end tests need: real MySQL clients, a real MariaDB server to
# compare with (started by the tests on loopback, never as a service), openssl + curl for TLS,
# WordPress 6.1 with PHP for the WordPress cluster test (served by `php -S` on loopback), and
# Java with the MariaDB JDBC driver for the metadata test, and Chromium with chromedriver
# for the dashboard test (headless, no outside network needed), and MariaDB's own test suite
# (`mariadb-test`: its func_*.test files and their expected results, run on both servers),
# and iproute2 + iptables + faketime for the partition and nemesis tests (nodes in network
# namespaces of their own, clocks skewed per process), and nats-server (a real JetStream broker
# for the CDC publisher test).
APT_PACKAGES=(mariadb-client mariadb-server mariadb-test sysbench openssl curl php-cli php-mysql wordpress wordpress-theme-twentytwentythree
  default-jdk-headless libmariadb-java chromium chromium-driver iproute2 iptables faketime nats-server)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python clients, in a virtualenv of their own (Debian's python is externally managed).
VENV=target/e2e-venv
if [ ! -x "$VENV/bin/python" ]; then
  command -v python3 >/dev/null || { echo "python3 not found: apt-get install python3 python3-venv"; exit 1; }
  python3 -m venv "$VENV" || { echo "creating $VENV failed: apt-get install python3-venv"; exit 1; }
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check PyMySQL mysql-connector-python

command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (https://rustup.rs)"; exit 1; }
cargo test --workspace --all-targets
if [ "${1:-}" = "--long" ]; then
  # v0.1.0 is commit 99fac538 (tests/tests/mixed_versions.rs builds it from the commit, so a
  # clone without tags works too).
  git cat-file -e "99fac538b21880e3607367048e4bafe7b5b29c67^{commit}" 2>/dev/null || { echo "commit 99fac538 (v0.1.0) missing: use a full clone (git fetch --unshallow)"; exit 1; }
  cargo test -p marmot-e2e --test mixed_versions -- --ignored
  SIM_SEEDS=160 cargo test --release -p sim-scenarios
  NEMESIS_SECONDS="${NEMESIS_SECONDS:-600}" cargo test -p marmot-e2e --test nemesis faults_on -- --nocapture
  FUZZ_SMOKE_SECONDS=60 cargo test -p marmot-fuzz-targets
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  command -v tansu >/dev/null || cargo install --locked tansu@0.6.0 --features dynostore
  cargo test -p marmot-e2e --test publisher_kafka -- --ignored
fi
