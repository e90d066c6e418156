//! # marmot-benches
//!
//! Benchmarks that print numbers, each against a baseline measured in the same process.
//! `cargo run --release -p marmot-benches --bin engine` — the replication engine.
