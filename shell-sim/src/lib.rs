//! # marmot-shell-sim
//!
//! A deterministic host for the marmot core on turmoil. Each simulated host runs the
//! same [`Driver`] and [`Store`] code as production, and talks to its peers over the
//! production transport: the gRPC service and peer links of `marmot_proto::link`, over
//! turmoil's TCP (which delays, reorders across connections, holds what a partition cuts
//! and drops what random loss or a one-way cut takes, breaking the connection until the
//! HTTP/2 keepalive replaces it). Only the sockets and the clock (simulated time plus a
//! per-node skew) differ. The store lives in in-memory SQLite owned by the cluster,
//! outside the host, so it survives a simulated crash exactly as files survive a
//! process crash.
//! Storage runs inline on the simulation thread.
//!
//! Client writes enter through a per-host inbox: the host captures the statements on
//! its own store (the real capture code) and submits the rows to its node.

pub mod cluster;
mod host;
mod net;
mod sockets;

pub use cluster::{ClientOutcome, ClientResult, ClientTxn, ClusterSpec, Phases, SimCluster};
pub use net::link_config;
