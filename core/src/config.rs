//! Protocol settings (the parts of marmot's configuration the core obeys).

use serde::{Deserialize, Serialize};

/// Write consistency level: how many nodes must durably hold a write before the client
/// is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Consistency {
    /// The coordinator alone.
    One,
    /// A majority of non-removed members, the coordinator included.
    Quorum,
    /// Every non-removed member.
    All,
}

impl std::fmt::Display for Consistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Consistency::One => "ONE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
        })
    }
}

impl std::str::FromStr for Consistency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "ONE" => Ok(Consistency::One),
            "QUORUM" => Ok(Consistency::Quorum),
            "ALL" => Ok(Consistency::All),
            other => Err(format!("unknown consistency level {other:?} (expected ONE, QUORUM or ALL)")),
        }
    }
}

/// How concurrent writes of one row are settled (`[replication] conflict_rule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictRule {
    /// QUORUM and ALL writes are first-committer-wins per row: a transaction whose rows
    /// changed since it read them gets a conflict (MySQL 1213) and the client retries, so
    /// `UPDATE t SET n = n + 1` from two nodes never loses an increment. ONE writes are
    /// last-writer-wins (they are answered before any other node is asked).
    FirstCommitterWins,
    /// Every write is last-writer-wins by HLC, as Marmot does: the later of two
    /// concurrent changes of a row survives and the other is silently replaced.
    LastWriterWins,
}

impl std::str::FromStr for ConflictRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "first_committer_wins" => Ok(ConflictRule::FirstCommitterWins),
            "last_writer_wins" => Ok(ConflictRule::LastWriterWins),
            other => Err(format!("{other:?} is not \"first_committer_wins\" or \"last_writer_wins\"")),
        }
    }
}

/// Timeouts and sizes the core runs by. Defaults are the seed's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreConfig {
    /// How often to gossip (`[cluster] gossip_interval_ms`).
    pub gossip_interval_ms: u64,
    /// Peers gossiped to each round (`[cluster] gossip_fanout`).
    pub gossip_fanout: usize,
    /// ALIVE → SUSPECT after this long without contact (`suspect_timeout_ms`).
    pub suspect_timeout_ms: u64,
    /// SUSPECT → DEAD after this long without contact (`dead_timeout_ms`).
    pub dead_timeout_ms: u64,
    /// PREPARE acks must arrive within this (`[coordinator] prepare_timeout_ms`).
    pub prepare_timeout_ms: u64,
    /// COMMIT is resent to a participant that has not confirmed it for at least this long
    /// (`[coordinator] commit_timeout_ms`); after that its own recovery decides.
    pub commit_timeout_ms: u64,
    /// A prepared transaction whose coordinator is silent this long is resolved
    /// (`[transaction] heartbeat_timeout_seconds`, in ms here).
    pub heartbeat_timeout_ms: u64,
    /// Default write consistency (`[replication] default_write_consistency`).
    pub default_consistency: Consistency,
    /// How concurrent writes of one row are settled (`[replication] conflict_rule`).
    pub conflict_rule: ConflictRule,
    /// Most log entries sent in one catch-up chunk.
    pub catchup_batch: usize,
    /// A catch-up pull with no answer after this long may be retried.
    pub catchup_timeout_ms: u64,
    /// Repair lag by snapshot at all (`[replication] enable_anti_entropy`).
    pub anti_entropy: bool,
    /// This node is a sentinel (`[cluster] sentinel`): it votes and keeps the replication
    /// log and row versions, but holds no table data, so it is never a snapshot donor.
    pub sentinel: bool,
    /// How often lag is checked (`anti_entropy_interval_seconds`, in ms here).
    pub anti_entropy_interval_ms: u64,
    /// Delta sync only below this many transactions of lag
    /// (`delta_sync_threshold_transactions`); else a snapshot.
    pub delta_sync_threshold_txns: u64,
    /// …and below this much time behind (`delta_sync_threshold_seconds`, in ms here).
    pub delta_sync_threshold_ms: u64,
    /// Bytes per snapshot chunk.
    pub snapshot_chunk: u32,
    /// Most snapshot bytes fetched per second (0 = unlimited).
    pub snapshot_bytes_per_sec: u64,
    /// A donor serves a request for a new snapshot from a node holding nothing of the
    /// database with the snapshot of it made less than this long ago
    /// (`[replica] snapshot_cache_ttl_seconds`, in ms here; 0 = never). Nodes behind or past
    /// a gap always get a new one.
    pub snapshot_reuse_ms: u64,
    /// Log entries younger than this are kept (`gc_min_retention_hours`, in ms here).
    pub gc_min_retention_ms: u64,
    /// Log entries older than this are deleted even if a peer still needs them
    /// (`gc_max_retention_hours`, in ms here; 0 = never).
    pub gc_max_retention_ms: u64,
    /// How often the log is garbage-collected.
    pub gc_interval_ms: u64,
    /// Local readers of the log (the CDC publisher's sinks): each holds entries back like a
    /// peer, between the minimum and maximum retention, at the position it reports with
    /// [`crate::Input::LogRead`]; one that has not reported yet holds everything, so a
    /// restart cannot trim what a sink has still to read. Sorted, no duplicates.
    pub log_readers: Vec<String>,
    /// Read-only replica mode (`[replica] enabled`): this node joins no cluster and
    /// follows one ([`crate::replica`]); `None` for a member.
    #[serde(default)]
    pub replica: Option<ReplicaConfig>,
}

/// How a read-only replica follows its cluster (`[replica]`, durations in ms here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaConfig {
    /// Databases to replicate (`replicate_databases`, globs; empty = all).
    pub databases: Vec<String>,
    /// How often the source is asked for the cluster's members (`discovery_interval_seconds`).
    pub discovery_interval_ms: u64,
    /// How often databases new at the source are taken up
    /// (`database_discovery_interval_seconds`).
    pub database_discovery_interval_ms: u64,
    /// A source silent this long is replaced by another member (`failover_timeout_seconds`).
    pub failover_timeout_ms: u64,
    /// A silent source is asked again after this, doubling (`reconnect_interval_seconds`)…
    pub reconnect_interval_ms: u64,
    /// …up to this (`reconnect_max_backoff_seconds`).
    pub reconnect_max_backoff_ms: u64,
    /// Most snapshots fetched at once (`snapshot_concurrency`).
    pub snapshot_concurrency: usize,
    /// A snapshot fetch not installed this long after it began is dropped and taken from
    /// another member (`initial_sync_timeout_minutes`).
    pub initial_sync_timeout_ms: u64,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        Self {
            databases: Vec::new(),
            discovery_interval_ms: 30_000,
            database_discovery_interval_ms: 10_000,
            failover_timeout_ms: 60_000,
            reconnect_interval_ms: 5_000,
            reconnect_max_backoff_ms: 30_000,
            snapshot_concurrency: 3,
            initial_sync_timeout_ms: 30 * 60_000,
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            gossip_interval_ms: 1000,
            gossip_fanout: 3,
            suspect_timeout_ms: 5000,
            dead_timeout_ms: 10_000,
            prepare_timeout_ms: 2000,
            commit_timeout_ms: 2000,
            heartbeat_timeout_ms: 10_000,
            default_consistency: Consistency::Quorum,
            conflict_rule: ConflictRule::FirstCommitterWins,
            catchup_batch: 64,
            catchup_timeout_ms: 3000,
            anti_entropy: true,
            sentinel: false,
            anti_entropy_interval_ms: 60_000,
            delta_sync_threshold_txns: 10_000,
            delta_sync_threshold_ms: 3_600_000,
            snapshot_chunk: 1 << 20,
            snapshot_bytes_per_sec: 100_000_000,
            snapshot_reuse_ms: 30_000,
            gc_min_retention_ms: 2 * 3_600_000,
            gc_max_retention_ms: 24 * 3_600_000,
            gc_interval_ms: 60_000,
            log_readers: Vec::new(),
            replica: None,
        }
    }
}
