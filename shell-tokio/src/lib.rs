//! # marmot-shell-tokio
//!
//! The production host of the marmot core: configuration, the MySQL front end, the gRPC
//! transport, the admin HTTP API, `/metrics` and the dashboard, around the engine thread
//! that runs the core over the store and driver of `marmot-store` (shared with the
//! simulator).
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod cluster_status;
pub mod config;
pub mod dashboard;
pub mod drain;
pub mod engine;
pub mod ids;
pub mod member_events;
pub mod metrics;
pub mod mysql;
pub mod node_checksums;
pub mod peers;
pub mod publisher;
pub mod replica_mode;
pub mod sink_stats;
pub mod transport;
pub mod verify;
