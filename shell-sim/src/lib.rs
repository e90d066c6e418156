//! # marmot-shell-sim
//!
//! A deterministic host for the marmot core on turmoil. Each simulated host runs the
//! same [`Driver`] and [`Store`] code as production; only the transport (turmoil UDP,
//! which loses, delays and reorders) and the clock (simulated time plus a per-node
//! skew) differ. The store lives in in-memory SQLite owned by the cluster, outside the
//! host, so it survives a simulated crash exactly as files survive a process crash.
//! Storage runs inline on the simulation thread.
//!
//! Client writes enter through a per-host inbox: the host captures the statements on
//! its own store (the real capture code) and submits the rows to its node.

pub mod cluster;
mod host;

pub use cluster::{ClientOutcome, ClientResult, ClientTxn, ClusterSpec, Phases, SimCluster};
