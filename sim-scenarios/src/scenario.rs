//! The scenarios: what each one does to the cluster, in one line each, and the test that
//! runs it (for the replay command). Their plans are drawn in [`crate::plan`].

/// The scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// No faults but, in half the runs, one planned restart (catch-up by delta sync);
    /// 3 or 5 nodes; every consistency level.
    SteadyState,
    /// A minority/majority partition, then healing.
    Partition,
    /// The busiest coordinator crashes (mid-PREPARE, mid-COMMIT) and restarts.
    CoordinatorCrash,
    /// A participant crashes mid-transaction and restarts.
    ParticipantCrash,
    /// Two nodes write the same rows at the same instant.
    SameRows,
    /// Clock skew up to ±2 s between nodes.
    ClockSkew,
    /// Message loss, delay and reordering.
    MessageLoss,
    /// A node is down for a while and catches up by delta sync after restarting.
    RestartCatchUp,
    /// A node is REMOVED (traffic refused, quorum shrinks), then allowed back.
    RemovedNode,
    /// Everything at once, rates drawn from the seed.
    Swarm,
    /// A brand-new node joins a running cluster knowing only one seed node.
    NewNodeJoins,
    /// Schema changes from any node, two at the same instant, racing row writes, some
    /// during a partition: every node ends with the same schema and rows.
    SchemaChanges,
    /// A node down past the delta-sync threshold catches up by snapshot, then by delta.
    SnapshotCatchUp,
    /// Logs are garbage-collected while a node is down: within the maximum retention
    /// nothing it needs goes (it catches up by delta sync); past it, its entries are
    /// deleted anyway and gap detection sends it to a snapshot.
    LogGc,
    /// Hot counters incremented (`n = n + 1`) from every node at QUORUM and ALL, under
    /// clock skew, a partition and a coordinator crash: every counter ends equal to the
    /// increments acknowledged (plus at most those whose outcome the client never
    /// learned) — first-committer-wins loses no update.
    LostUpdate,
    /// Two data nodes and a sentinel (node 3: votes, keeps versions and the log, holds no
    /// table data). Hot counters incremented on both data nodes at QUORUM while the
    /// sentinel sides with one data node, then with the other, then a data node crashes:
    /// the side with the sentinel keeps committing, the lone data node commits nothing,
    /// no increment is lost (the sentinel refuses a read older than the version it
    /// recorded), and the sentinel's tables stay empty.
    Sentinel,
    /// Disks lost for good: a coordinator crashes inside a commit window and comes back
    /// empty, then another node's disk is lost outright, while hot counters are
    /// incremented at QUORUM and ALL from every node. Each comes back under its old id
    /// with nothing, and starts over from snapshots. No acknowledged write or increment
    /// is lost, no transaction is decided both ways, and all nodes end equal.
    DiskLoss,
    /// The busiest coordinator crashes inside a commit window (staging, deciding, or with
    /// its client answered and COMMITs in flight), its disk is lost, and it stays away
    /// until the end of the run: the members left decide every one of its transactions
    /// from what they staged — none stays in doubt, no acknowledged write is lost, none is
    /// decided both ways — and it comes back empty at the end and catches up.
    CoordinatorLost,
    /// Three members and a read-only replica (node 4) that knows only node 1. The replica
    /// starts from snapshots, then follows node 1's log; node 1 crashes for longer than
    /// the failover timeout and the replica follows another member it learned of; later
    /// it is cut off from every member for a while. It never shows a transaction no
    /// member applied, and after healing it equals the members.
    Replica,
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Scenario; 19] = [
        Scenario::SteadyState,
        Scenario::Partition,
        Scenario::CoordinatorCrash,
        Scenario::ParticipantCrash,
        Scenario::SameRows,
        Scenario::ClockSkew,
        Scenario::MessageLoss,
        Scenario::RestartCatchUp,
        Scenario::RemovedNode,
        Scenario::Swarm,
        Scenario::NewNodeJoins,
        Scenario::SchemaChanges,
        Scenario::SnapshotCatchUp,
        Scenario::LogGc,
        Scenario::LostUpdate,
        Scenario::Sentinel,
        Scenario::DiskLoss,
        Scenario::CoordinatorLost,
        Scenario::Replica,
    ];

    /// The test function that runs it (for the replay command).
    pub fn test_name(self) -> &'static str {
        match self {
            Scenario::SteadyState => "steady_state",
            Scenario::Partition => "partition",
            Scenario::CoordinatorCrash => "coordinator_crash",
            Scenario::ParticipantCrash => "participant_crash",
            Scenario::SameRows => "same_rows",
            Scenario::ClockSkew => "clock_skew",
            Scenario::MessageLoss => "message_loss",
            Scenario::RestartCatchUp => "restart_catch_up",
            Scenario::RemovedNode => "removed_node",
            Scenario::Swarm => "swarm",
            Scenario::NewNodeJoins => "new_node_joins",
            Scenario::SchemaChanges => "schema_changes",
            Scenario::SnapshotCatchUp => "snapshot_catch_up",
            Scenario::LogGc => "log_gc",
            Scenario::LostUpdate => "lost_update",
            Scenario::Sentinel => "sentinel",
            Scenario::DiskLoss => "disk_loss",
            Scenario::CoordinatorLost => "coordinator_lost",
            Scenario::Replica => "replica",
        }
    }
}
