//! # marmot-benches
//!
//! Benchmarks that print numbers, each against a baseline measured in the same process.
//! `cargo run --release -p marmot-benches --bin ladder` — the write path's cost ladder, in process.
//! `cargo run --release -p marmot-benches --bin workload -- --help` — the seed's workload
//! against any MySQL endpoints (see [`workload`]).
//! `benches/publisher.sh` — CDC publisher throughput and commit → consumer delay against a
//! real nats-server.

pub mod procs;
pub mod workload;
