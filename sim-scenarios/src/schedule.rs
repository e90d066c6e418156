//! The vocabulary of a plan: the faults a schedule injects, where a triggered crash
//! lands, causal chains of writes, and the expectations a scenario adds to the invariants
//! every run checks.

use marmot_core::{Consistency, NodeId};
use marmot_shell_sim::ClientTxn;

/// Where in a coordinated transaction a triggered crash lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CrashPhase {
    /// PREPAREs sent, commit not decided.
    Preparing,
    /// Commit decided, the coordinator's own commit not yet durable.
    Deciding,
    /// COMMITs in flight; the links to some participants are cut first, so only part of
    /// them ever receive it.
    PartialCommit,
    /// The client answered, and no COMMIT got out: the coordinator is cut off from every
    /// peer the moment it decides, and crashes once its client has the answer.
    Answered,
    /// A participant: PREPARE received, its record not durable, no vote sent.
    ParticipantVoting,
    /// A participant: durably prepared and voted yes, the outcome unknown to it.
    ParticipantVoted,
    /// A participant: COMMIT received, its durable write not done.
    ParticipantCommitting,
}

/// One causal chain of [`Expectation::CausalChains`].
#[derive(Clone, Debug, PartialEq)]
pub struct CausalChain {
    /// When the first write is sent.
    pub at: u64,
    /// Node of the first write.
    pub first: NodeId,
    /// Node of the second write, sent when the first is acknowledged.
    pub second: NodeId,
    /// Row `k` of `app.kv` both write (no other write touches it).
    pub key: u64,
}

impl CausalChain {
    /// The `step`th (1 or 2) write of the chain.
    pub fn write(&self, step: u64) -> ClientTxn {
        ClientTxn {
            database: "app".into(),
            statements: vec![format!(
                "INSERT INTO kv (k, v, n) VALUES ({k}, 'chain', {step}) ON CONFLICT(k) DO UPDATE SET n = {step}",
                k = self.key
            )],
            consistency: Consistency::Quorum,
            schema_change: false,
        }
    }
}

/// A fault or operator action at a point in simulated time.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// From now on, crash `node` the first moment one of its transactions is in `phase`
    /// (or after 3 s regardless), and restart it `down_ms` later.
    CrashIn {
        /// The coordinator or participant.
        node: NodeId,
        /// Which window.
        phase: CrashPhase,
        /// Downtime.
        down_ms: u64,
        /// Whether its disk is lost with it (it comes back empty).
        disk_lost: bool,
    },
    /// Crash a node and lose its disk for good: restarted, it comes back empty.
    CrashLosingDisk(NodeId),
    /// Cut links between two groups.
    Partition(Vec<NodeId>, Vec<NodeId>),
    /// Repair all links.
    Heal,
    /// Crash a node.
    Crash(NodeId),
    /// Restart a crashed node.
    Restart(NodeId),
    /// Start a node that was not running yet (a late joiner).
    Join(NodeId),
    /// Drop everything the `from` nodes send to the `to` nodes (the other way still
    /// works) until the next heal.
    PartitionOneWay {
        /// Senders cut off.
        from: Vec<NodeId>,
        /// Receivers that stop hearing them.
        to: Vec<NodeId>,
    },
    /// Stall `node` for `ms` (a GC-like pause: alive, but handling nothing).
    Pause {
        /// The node.
        node: NodeId,
        /// How long.
        ms: u64,
    },
    /// Corrupt the next `n` snapshot chunks in transit.
    CorruptSnapshotChunks(u32),
    /// Set the per-tick link failure rate.
    Loss(f64),
    /// Operator: remove `node`, asked on `via`.
    Remove {
        /// Node receiving the admin call.
        via: NodeId,
        /// Node removed.
        node: NodeId,
    },
    /// Operator: allow `node` back, asked on `via`.
    Allow {
        /// Node receiving the admin call.
        via: NodeId,
        /// Node allowed.
        node: NodeId,
    },
}

/// A scenario-specific property checked after the run.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// No QUORUM (or ALL) write sent to these nodes at or after `from` commits before `to`
    /// (they are cut off from a majority until then).
    QuorumFailsOn {
        /// Nodes (the minority side).
        nodes: Vec<NodeId>,
        /// Window start (sim ms).
        from: u64,
        /// Window end (sim ms).
        to: u64,
    },
    /// At least one QUORUM write sent to these nodes in [from, to) commits, and none
    /// fails for lack of acks.
    QuorumSucceedsOn {
        /// Nodes (the majority side).
        nodes: Vec<NodeId>,
        /// Window start.
        from: u64,
        /// Window end.
        to: u64,
    },
    /// Writes sent to a removed node in [from, to) fail, and its traffic is refused.
    RemovedRefused {
        /// The removed node.
        node: NodeId,
        /// Window start.
        from: u64,
        /// Window end.
        to: u64,
    },
    /// At the end of the fault phase (the coordinator still away), no other node holds a
    /// transaction record of `coordinator`'s undecided: the members decided them all.
    NothingInDoubtFrom {
        /// The coordinator that went away.
        coordinator: NodeId,
    },
    /// The node restarted with a higher incarnation.
    IncarnationBumped {
        /// Which node.
        node: NodeId,
        /// At least this incarnation at the end.
        at_least: u64,
    },
    /// Without faults, the only acceptable failure is a write conflict (1213); writes sent
    /// within the `except` windows (around a scheduled fault) may fail otherwise.
    OnlyConflictsFail {
        /// (from, to) sim ms.
        except: Vec<(u64, u64)>,
    },
    /// Causal chains: at `at`, a client writes row `key` on node `first` (QUORUM); the
    /// moment that is acknowledged it writes the same row on node `second` (QUORUM). If
    /// both commit, the second must be ordered after the first (win LWW against what the
    /// client saw), whatever the clocks of the two nodes.
    CausalChains(Vec<CausalChain>),
    /// The node reported catching up (JOINING → ALIVE) after `after` ms.
    CaughtUp {
        /// Which node.
        node: NodeId,
        /// Not before this sim time.
        after: u64,
    },
    /// At least this many schema changes committed (the scenario really changed schemas).
    SchemaChangesCommit(usize),
    /// Some node reported a storage error containing this text (a fault was noticed).
    StorageErrorSeen(&'static str),
    /// Replica `node` moved from source `from` to another member after `after` ms.
    FailedOver {
        /// The replica.
        node: NodeId,
        /// The source it left.
        from: NodeId,
        /// Not before this sim time.
        after: u64,
    },
    /// The node installed at least one snapshot after `after` ms.
    SnapshotInstalled {
        /// Which node.
        node: NodeId,
        /// Not before this sim time.
        after: u64,
    },
    /// Some node garbage-collected log entries.
    LogCollected,
    /// No node ever found a gap in a peer's log (GC never deleted what a peer needed).
    NoLogGap,
    /// Counter `k` (row `k` of `app.kv`, column `n`) of `0..counters` equals, on every
    /// node, the increments acknowledged, up to those whose outcome is unknown.
    CountersMatchAcks {
        /// How many counters.
        counters: u64,
    },
    /// The node found a gap in a peer's log after `after` ms.
    LogGapSeen {
        /// Which node.
        node: NodeId,
        /// Not before this sim time.
        after: u64,
    },
}
