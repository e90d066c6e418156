//! # marmot-shell-tokio
//!
//! The production host of the marmot core, and the pieces both hosts share: the SQLite
//! [`store`] and the [`driver`] that executes a node's effects.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod drain;
pub mod driver;
pub mod engine;
pub mod ids;
pub mod member_events;
pub mod metrics;
pub mod mysql;
pub mod node_checksums;
pub mod peers;
pub mod store;
pub mod transport;
pub mod verify;
