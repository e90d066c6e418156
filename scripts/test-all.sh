#!/usr/bin/env bash
# Runs marmot's whole test suite, installing what it needs first.
# Usage: ./scripts/test-all.sh        (SIM_SEEDS=N for more simulation seeds)
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the end-to-end tests need: real MySQL clients.
APT_PACKAGES=(mariadb-client python3-pymysql sysbench)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (https://rustup.rs)"; exit 1; }
cargo test --workspace --all-targets
