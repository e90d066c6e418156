//! What goes into the core ([`Input`]) and what comes out ([`Effect`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Consistency;
use crate::error::WriteError;
use crate::hlc::{Hlc, TxnId};
use crate::membership::{MemberDigest, MemberState};
use crate::message::{Envelope, LogEntry};
use crate::types::{NodeId, RowChange, Txn};
use crate::Millis;

/// Identifies a storage operation so its completion can be matched.
pub type OpId = u64;
/// Identifies a client request so its reply can be matched.
pub type ReqId = u64;

/// Timers the core sets. Two timers due at the same instant must fire in the order
/// they were set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// Gossip round.
    Gossip,
    /// Failure detection, heartbeats, stale-intent resolution, catch-up retries.
    Tick,
    /// PREPARE acks deadline of a transaction.
    PrepareTimeout(TxnId),
    /// Paced snapshot fetches may ask for their next chunk.
    SnapshotPace,
}

/// Operator commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCmd {
    /// Exclude a node from the cluster and refuse its traffic.
    Remove(NodeId),
    /// Let a removed node back in.
    Allow(NodeId),
    /// Drain: the local node leaves the cluster, marking itself REMOVED so that peers stop
    /// counting it toward quorum and sending it work (another node's `Allow` brings it back).
    Leave,
}

/// An input to [`crate::Node::handle`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// First input after construction: start timers, finish recovery.
    Start,
    /// A timer fired.
    Timer(Timer),
    /// A message from a peer.
    Peer(Envelope),
    /// A client's captured write.
    Write {
        /// Request id echoed in the reply.
        req: ReqId,
        /// Captured row changes.
        rows: Vec<RowChange>,
        /// Consistency level; `None` = the configured default.
        consistency: Option<Consistency>,
    },
    /// An operator command.
    Admin {
        /// Request id echoed in the reply.
        req: ReqId,
        /// The command.
        cmd: AdminCmd,
    },
    /// A [`Effect::Persist`] completed.
    StorageDone {
        /// Which operation.
        op: OpId,
        /// Its outcome.
        result: Result<StoreOutcome, String>,
    },
    /// A [`Effect::Read`] completed.
    StorageRead {
        /// Which operation.
        op: OpId,
        /// What was read.
        result: Result<ReadOutcome, String>,
    },
    /// A local reader of the log (one of [`crate::CoreConfig::log_readers`]) has read this
    /// node's log of `database` up to `upto` (`u64::MAX`: it never reads that database).
    LogRead {
        /// The reader.
        reader: String,
        /// The database.
        database: String,
        /// Its position.
        upto: u64,
    },
}

/// A durable write the host must perform atomically (per database file) and then
/// report with [`Input::StorageDone`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StoreWrite {
    /// Record the transaction as PREPARED with an intent per row.
    Prepare {
        /// The transaction.
        txn: Txn,
    },
    /// Mark the transaction COMMITTED, then apply its rows with LWW in each database
    /// together with a log entry and the applied marker (skipping databases where the
    /// marker exists), then release its intents. Idempotent.
    Commit {
        /// The transaction.
        txn: Txn,
    },
    /// Mark ABORTED and release intents.
    Abort {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// Promise never to stage a transaction not held here (record it REFUSED, unless a
    /// record of it exists). A refusal is a vote, not an outcome: the transaction may
    /// still commit elsewhere ([`crate::voting`]).
    Refuse {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// Promise recovery this node's vote on a transaction: a PREPARED record becomes
    /// PROMISED, a REFUSED one (or none: refused now) FENCED. Either accepts no ABORT
    /// request of the coordinator any more ([`crate::voting`]).
    Promise {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// Apply catch-up entries from `peer`'s log of `database` (each exactly once, with
    /// LWW, appended to the local log), and record `peer`'s position as the last seq.
    ApplyLog {
        /// Whose log.
        peer: NodeId,
        /// Which database.
        database: String,
        /// Entries in order.
        entries: Vec<LogEntry>,
    },
    /// Verify a snapshot of `database` from `donor` and install it atomically; report
    /// the positions it carries in [`StoreOutcome::positions`].
    InstallSnapshot {
        /// Database.
        database: String,
        /// This node.
        me: NodeId,
        /// Who took it.
        donor: NodeId,
        /// The image.
        bytes: Vec<u8>,
        /// Its SHA-256.
        sha256: Vec<u8>,
    },
    /// Delete entries of this node's log of `database`: those at or below `upto` whose
    /// transaction id is older than `keep_from`, and every entry older than
    /// `force_before`. The newest entry is never deleted (sequence numbers go on from it).
    /// Report the number deleted in [`StoreOutcome::trimmed`].
    TrimLog {
        /// Database.
        database: String,
        /// Every peer has applied the log up to here (the watermark).
        upto: u64,
        /// Entries from this HLC on are kept (minimum retention).
        keep_from: Hlc,
        /// Entries before this HLC go regardless (maximum retention), if set.
        force_before: Option<Hlc>,
    },
    /// Peers have applied this node's log of `database` up to `floor`, past its head: the
    /// log lost entries (the disk was lost or rolled back). Renumber the entries it holds
    /// above `floor` and never use a sequence number at or below it again, so peers pull
    /// what comes next instead of taking it for what they already have. A no-op when the
    /// head is already at or past `floor`. Reports the new head.
    RaiseLogFloor {
        /// Database.
        database: String,
        /// The highest position a peer reported applied.
        floor: u64,
    },
    /// Persist membership and the local incarnation.
    Membership {
        /// Local incarnation.
        incarnation: u64,
        /// Every member.
        members: Vec<MemberDigest>,
    },
}

/// What a completed write reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StoreOutcome {
    /// New log heads of the databases the write touched.
    pub heads: BTreeMap<String, u64>,
    /// A prepare was not recorded because the transaction was captured against an older
    /// schema than this node's (a schema change committed in between): vote conflict.
    pub schema_conflict: bool,
    /// A prepare was not recorded because, under first-committer-wins, a row changed
    /// here since the transaction read it (or holds a version the transaction could not
    /// overwrite): vote conflict.
    pub row_conflict: bool,
    /// After a snapshot install: the position now consumed in each peer's log.
    pub positions: BTreeMap<NodeId, u64>,
    /// After a log trim: how many entries were deleted.
    pub trimmed: u64,
    /// Schema versions of the databases the write touched.
    pub schemas: BTreeMap<String, u64>,
}

/// A read the host performs and reports with [`Input::StorageRead`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreRead {
    /// Log entries of `database` after position `after`, at most `limit`.
    LogRange {
        /// Database.
        database: String,
        /// Exclusive start.
        after: u64,
        /// Most entries.
        limit: u32,
    },
    /// Bytes of snapshot `snapshot` of `database` (0: take a new one) from `offset`.
    SnapshotBytes {
        /// Database.
        database: String,
        /// Which snapshot.
        snapshot: u64,
        /// First byte.
        offset: u64,
        /// Most bytes.
        limit: u32,
    },
}

/// What a completed read returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReadOutcome {
    /// Answer to [`StoreRead::LogRange`].
    Log {
        /// Entries in order.
        entries: Vec<LogEntry>,
        /// Current head of that database's log.
        head: u64,
    },
    /// Answer to [`StoreRead::SnapshotBytes`].
    Snapshot {
        /// The snapshot's id.
        snapshot: u64,
        /// Its size.
        total: u64,
        /// Its SHA-256.
        sha256: Vec<u8>,
        /// The bytes asked for.
        data: Vec<u8>,
    },
}

/// A reply to a client or operator request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The write committed at the requested consistency.
    Committed {
        /// Its transaction id (also the version of every row it wrote).
        txn_id: TxnId,
    },
    /// The write failed.
    Failed(WriteError),
    /// An operator command succeeded.
    AdminOk,
    /// An operator command was refused.
    AdminErr(String),
}

/// Events reported for logs, metrics and simulation checkers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A member changed state in the local view.
    MemberChanged {
        /// Which member.
        id: NodeId,
        /// From.
        from: MemberState,
        /// To.
        to: MemberState,
    },
    /// A message from a removed node was refused.
    RefusedRemoved {
        /// Sender.
        from: NodeId,
    },
    /// A transaction's outcome was decided (by its coordinator) or learned.
    TxnDecided {
        /// Which transaction.
        txn_id: TxnId,
        /// Committed (true) or aborted.
        committed: bool,
    },
    /// A peer's log did not continue where this node stopped reading it.
    LogGap {
        /// Whose log.
        peer: NodeId,
        /// Database.
        database: String,
        /// The position asked after.
        after: u64,
        /// The first position received.
        first: u64,
    },
    /// The local node finished catching up and is now ALIVE.
    CaughtUp,
    /// A snapshot of `database` from `donor` was installed.
    SnapshotInstalled {
        /// Database.
        database: String,
        /// Who took it.
        donor: NodeId,
        /// Its size in bytes.
        bytes: u64,
    },
    /// Entries of the local log of `database` were garbage-collected.
    LogTrimmed {
        /// Database.
        database: String,
        /// How many.
        entries: u64,
        /// The lowest position any peer had applied (entries above it that were deleted
        /// were past the maximum retention).
        watermark: u64,
    },
    /// Snapshot bytes arrived (reported about every tenth of the image).
    SnapshotProgress {
        /// Database.
        database: String,
        /// From whom.
        donor: NodeId,
        /// Bytes so far.
        received: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Catch-up from a peer's log applied another 100 transactions (or finished).
    CatchUpProgress {
        /// Whose log.
        peer: NodeId,
        /// Database.
        database: String,
        /// Position reached.
        position: u64,
        /// The peer's head as last known.
        head: u64,
    },
    /// A read-only replica follows another member (its source was silent too long, or
    /// this is the first one).
    ReplicaSource {
        /// The member it followed (`None` at start).
        from: Option<NodeId>,
        /// The member it follows now.
        to: NodeId,
    },
    /// A read-only replica's snapshot of `database` from `source` was not installed
    /// within `initial_sync_timeout_minutes`: dropped, and taken from another member.
    ReplicaSyncTimedOut {
        /// The database.
        database: String,
        /// The member it came from.
        source: NodeId,
    },
    /// A read-only replica took up a database of its source.
    ReplicaDatabase {
        /// Database.
        database: String,
    },
    /// The local clock issued a timestamp.
    ClockIssued(Hlc),
    /// The store reported an error.
    StorageError(String),
}

/// An effect for the host to carry out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Send a message to a peer (best effort; loss is tolerated).
    Send(Envelope),
    /// Fire [`Input::Timer`] at `at` (the node's clock).
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When.
        at: Millis,
    },
    /// Perform a durable write, then report [`Input::StorageDone`].
    Persist {
        /// Completion id.
        op: OpId,
        /// What to write.
        write: StoreWrite,
    },
    /// Perform a read, then report [`Input::StorageRead`].
    Read {
        /// Completion id.
        op: OpId,
        /// What to read.
        read: StoreRead,
    },
    /// Answer a client or operator.
    Reply {
        /// Which request.
        req: ReqId,
        /// The answer.
        reply: Reply,
    },
    /// Report an event.
    Observe(Observation),
}

/// How a recovered transaction record stood when the node stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecoveredTxnState {
    /// Prepared, outcome unknown here.
    Prepared,
    /// Decided committed; applying may not have finished.
    Committing,
}

/// What the host recovered from storage at startup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveredState {
    /// Last persisted incarnation of the local node (the node starts at one more).
    pub incarnation: u64,
    /// Last persisted membership.
    pub members: Vec<MemberDigest>,
    /// Unfinished transaction records.
    pub txns: Vec<(Txn, RecoveredTxnState)>,
    /// Finished transactions and whether they committed.
    pub decided: Vec<(TxnId, bool)>,
    /// Transactions refused here (never to be staged), not known finished.
    pub refused: Vec<TxnId>,
    /// Transactions whose vote this node promised to recovery (staged or refused).
    pub promised: Vec<TxnId>,
    /// Local log heads per database.
    pub heads: BTreeMap<String, u64>,
    /// Schema version per database.
    pub schemas: BTreeMap<String, u64>,
    /// Position consumed in each peer's log, per database.
    pub progress: BTreeMap<(NodeId, String), u64>,
    /// Highest HLC found in storage; the clock starts above it.
    pub max_hlc: Hlc,
}
