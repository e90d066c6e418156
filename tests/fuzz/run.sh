#!/usr/bin/env bash
# Fuzz every target with cargo fuzz (libFuzzer) for SECONDS each (default 300), from the
# seeds (written fresh) plus the corpus kept from earlier runs, on the stable toolchain
# without a sanitizer, with debug assertions (so integer overflow is a crash, as in
# the debug builds the smoke test runs). Needs `cargo install cargo-fuzz`.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-300}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mysql_connection stmt_execute_params sql_translation load_data config_toml peer_message snapshot_install)
cargo run -q -p marmot-fuzz-targets --example write_seeds -- tests/fuzz/seeds
for t in "${targets[@]}"; do
  mkdir -p "tests/fuzz/corpus/$t"
  echo "== $t ($secs s)"
  cargo fuzz run --fuzz-dir tests/fuzz -s none -a "$t" "tests/fuzz/corpus/$t" "tests/fuzz/seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 2>&1 | tee "tests/fuzz/$t.log" | grep -E "^#[0-9]+ +(DONE|INITED)|stat::|SUMMARY|panicked|ERROR" || true
done
