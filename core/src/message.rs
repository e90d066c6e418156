//! Node-to-node messages. Every message travels in an [`Envelope`] carrying the
//! sender's HLC reading, which the receiver merges into its own clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hlc::{Hlc, TxnId};
use crate::membership::MemberDigest;
use crate::types::{NodeId, Txn};

/// A message with its routing and clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Sender's HLC at send time.
    pub clock: Hlc,
    /// Payload.
    pub msg: Message,
}

/// A participant's answer to PREPARE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vote {
    /// Durably prepared; intents held.
    Yes,
    /// A row is locked by another live transaction.
    Conflict,
    /// Not prepared for another reason (e.g. the coordinator is removed here).
    Refused,
}

/// What a node knows of a transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TxnStatus {
    /// Committed here or decided committed by this coordinator.
    Committed,
    /// Aborted here.
    Aborted,
    /// Prepared or being decided; no outcome yet.
    Pending,
    /// Never seen (or, from its coordinator: can no longer commit). From a member of a
    /// transaction under the voting rule: it holds nothing and cannot promise (it is
    /// catching up after a lost disk).
    Unknown,
    /// Not staged here, and promised durably never to be (a vote, not an outcome).
    Refused,
}

/// One committed transaction in a node's log, restricted to one database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the sending node's log of that database.
    pub seq: u64,
    /// The transaction's rows in that database.
    pub txn: Txn,
}

/// Protocol messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Membership digests and the sender's log heads per database.
    Gossip {
        /// Every member the sender knows.
        members: Vec<MemberDigest>,
        /// The sender's last log sequence per database.
        heads: BTreeMap<String, u64>,
        /// How far the sender has applied the receiver's log of each database (the
        /// receiver's log GC watermark for the sender).
        applied: BTreeMap<String, u64>,
        /// The sender's schema version per database.
        schemas: BTreeMap<String, u64>,
    },
    /// 2PC phase one.
    Prepare {
        /// The transaction with all its rows.
        txn: Txn,
    },
    /// A participant's vote.
    PrepareReply {
        /// Which transaction.
        txn_id: TxnId,
        /// The vote.
        vote: Vote,
    },
    /// 2PC phase two: apply.
    Commit {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// The commit is durable at the sender.
    CommitAck {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// Drop the transaction and its intents.
    Abort {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// The coordinator is still working on these transactions.
    Heartbeat {
        /// Transactions in flight.
        txn_ids: Vec<TxnId>,
    },
    /// What do you know of this transaction?
    StatusQuery {
        /// Which transaction.
        txn_id: TxnId,
        /// Recovery's question under the voting rule: the receiver first promises durably
        /// to answer the same from now on — it will accept no ABORT request of the
        /// coordinator — and, holding nothing, never to stage it (answering `Refused`).
        fence: bool,
    },
    /// Answer to [`Message::StatusQuery`].
    StatusReply {
        /// Which transaction.
        txn_id: TxnId,
        /// What the sender knows.
        status: TxnStatus,
    },
    /// From the coordinator of a transaction it has not decided: abort it, unless you
    /// promised recovery your vote or know it committed ([`crate::voting`]).
    AbortRequest {
        /// Which transaction.
        txn_id: TxnId,
    },
    /// Answer to [`Message::AbortRequest`]: `Aborted` (durably), or what stops it.
    AbortReply {
        /// Which transaction.
        txn_id: TxnId,
        /// `Aborted`, `Committed`, or the promised vote (`Pending` = staged, `Refused`).
        status: TxnStatus,
    },
    /// Send me your log of `database` after position `after`.
    PullLog {
        /// Database.
        database: String,
        /// Last position already consumed.
        after: u64,
        /// Most entries wanted.
        limit: u32,
    },
    /// Answer to [`Message::PullLog`].
    LogChunk {
        /// Database.
        database: String,
        /// The position the entries follow (echo of the request).
        after: u64,
        /// Entries in log order.
        entries: Vec<LogEntry>,
        /// The sender's head for that database.
        head: u64,
    },
    /// Send me bytes of a snapshot of `database` from `offset` (`snapshot` 0: take a
    /// new one).
    SnapshotRequest {
        /// Database.
        database: String,
        /// Which snapshot (0 = a new one).
        snapshot: u64,
        /// First byte wanted.
        offset: u64,
        /// The asker holds nothing of `database` yet, so a snapshot the donor made a
        /// little earlier for someone else serves it as well as a new one. A node that
        /// holds something asks for a new one: it is behind or past a gap, and an older
        /// image could leave it behind the same gap again.
        shared: bool,
    },
    /// Answer to [`Message::SnapshotRequest`].
    SnapshotChunk {
        /// Database.
        database: String,
        /// Which snapshot (0: none could be taken).
        snapshot: u64,
        /// Where `data` starts.
        offset: u64,
        /// Size of the whole snapshot.
        total: u64,
        /// SHA-256 of the whole snapshot.
        sha256: Vec<u8>,
        /// The bytes.
        data: Vec<u8>,
    },
    /// From a read-only replica (not a member) to the member it follows: your log heads,
    /// please, and the cluster's members if `members`. A long poll: with nothing newer
    /// than `known` to tell, the member answers when its heads move, or after a second.
    Follow {
        /// Where the replica listens (the answer goes there).
        addr: String,
        /// Whether to send the members too.
        members: bool,
        /// The member's heads as the replica last heard them (empty: answer at once).
        known: BTreeMap<String, u64>,
        /// How far the replica has applied the member's log of each database: a member
        /// whose log lost entries (a lost disk) raises its log floor above it, as for a
        /// peer's gossip, so the replica never takes a new entry for one it has.
        applied: BTreeMap<String, u64>,
    },
    /// Answer to [`Message::Follow`].
    FollowReply {
        /// Every member the sender knows (empty unless asked for).
        members: Vec<MemberDigest>,
        /// The sender's last log sequence per database.
        heads: BTreeMap<String, u64>,
    },
}

impl Message {
    /// Short name, for tracing and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Gossip { .. } => "gossip",
            Message::Prepare { .. } => "prepare",
            Message::PrepareReply { .. } => "prepare_reply",
            Message::Commit { .. } => "commit",
            Message::CommitAck { .. } => "commit_ack",
            Message::Abort { .. } => "abort",
            Message::Heartbeat { .. } => "heartbeat",
            Message::StatusQuery { .. } => "status_query",
            Message::StatusReply { .. } => "status_reply",
            Message::AbortRequest { .. } => "abort_request",
            Message::AbortReply { .. } => "abort_reply",
            Message::PullLog { .. } => "pull_log",
            Message::LogChunk { .. } => "log_chunk",
            Message::SnapshotRequest { .. } => "snapshot_request",
            Message::SnapshotChunk { .. } => "snapshot_chunk",
            Message::Follow { .. } => "follow",
            Message::FollowReply { .. } => "follow_reply",
        }
    }
}
