//! # marmot-core
//!
//! The whole replication protocol of marmot as a pure, sans-I/O state machine.
//!
//! A [`Node`] is driven by [`Input`]s, each carrying the node's current wall clock
//! reading (`now`, milliseconds since the Unix epoch), and answers with [`Effect`]s
//! that a host executes: send a message, set a timer, persist a batch, read a log range,
//! reply to a client, or report an observation. The core never reads a clock, never
//! touches a socket or a file, and draws randomness only from its own seeded
//! `ChaCha8Rng`. Iteration order never depends on hashing: every map is a `BTreeMap`.
//!
//! Durability is explicit: the core answers a peer (a PREPARE ack, a COMMIT ack) or a
//! client only after the [`Input::StorageDone`] for what the answer promises came back.
//!
//! Module map, one concern each:
//! - [`hlc`]: hybrid logical clock and transaction ids;
//! - [`membership`]: SWIM-style gossip membership, quorum;
//! - [`lww`]: last-write-wins versions;
//! - [`types`]: values, rows, captured row changes, transactions;
//! - [`message`]: node-to-node messages;
//! - [`io`]: inputs, effects, timers, storage requests;
//! - [`coordinator`] / [`participant`]: the two sides of 2PC with write intents;
//! - [`catchup`]: per-peer, per-database log positions and delta sync decisions;
//! - [`snapshot`]: repair by snapshot (past the delta thresholds, or across a gap);
//! - [`voting`]: the commit rule any node can apply to a transaction in doubt;
//! - [`gc`]: log garbage collection held back by the peers' watermarks;
//! - [`replica`]: read-only replicas: which member one follows, failover;
//! - [`node`]: the state machine tying them together.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod catchup;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod gc;
pub mod hlc;
pub mod io;
pub mod lww;
pub mod membership;
pub mod message;
pub mod node;
mod outbox;
pub mod participant;
pub mod replica;
pub mod snapshot;
pub mod types;
pub mod voting;

pub use config::{ConflictRule, Consistency, CoreConfig, ReplicaConfig};
pub use error::WriteError;
pub use hlc::{Hlc, HlcClock, TxnId};
pub use io::{Effect, Input, Observation, OpId, RecoveredState, ReqId, StoreRead, StoreWrite, Timer};
pub use lww::Version;
pub use membership::{MemberState, Membership};
pub use message::{Envelope, Message};
pub use node::Node;
pub use types::{ColumnValue, Op, Row, RowChange, RowKey, Txn, Value};

/// A node's identity in the cluster.
pub type NodeId = u64;

/// Milliseconds since the Unix epoch, as read from the host's (possibly skewed) clock.
pub type Millis = u64;
