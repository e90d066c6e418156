//! Prometheus metrics of one node, rendered in the text exposition format.
//!
//! Counters and histograms are atomics updated where things happen (the engine thread,
//! the transport, MySQL sessions); gauges that describe the cluster (members by state,
//! replication lag) are read from the engine at scrape time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use marmot_core::catchup::Lag;

use crate::cluster_status::ClusterStatus;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Statement kinds counted separately; anything else is `other`.
pub const STATEMENT_KINDS: [&str; 12] =
    ["select", "insert", "update", "delete", "replace", "ddl", "begin", "commit", "rollback", "set", "show", "other"];

/// The node's counters.
#[derive(Default)]
pub struct Metrics {
    /// Transactions this node coordinated that committed.
    pub committed: AtomicU64,
    /// Transactions that failed for lack of acknowledgements, storage errors and the like.
    pub aborted: AtomicU64,
    /// Transactions refused because another one held a row (MySQL 1213).
    pub conflicted: AtomicU64,
    /// From a transaction's clock reading to its decision (the prepare round).
    pub prepare_latency: Histogram,
    /// From a client's commit request to the answer (prepare and commit).
    pub commit_latency: Histogram,
    /// Bytes of messages sent to peers.
    pub bytes_out: AtomicU64,
    /// Bytes of messages received from peers.
    pub bytes_in: AtomicU64,
    /// Peer calls refused for a wrong or missing cluster secret.
    pub auth_refused: AtomicU64,
    /// Snapshots installed (anti-entropy).
    pub snapshots_installed: AtomicU64,
    /// Bytes of the snapshots installed.
    pub snapshot_bytes: AtomicU64,
    /// Log entries deleted by garbage collection.
    pub log_trimmed: AtomicU64,
    /// Open MySQL connections.
    pub mysql_connections: AtomicU64,
    /// MySQL connections accepted since start.
    pub mysql_connections_total: AtomicU64,
    statements: [AtomicU64; STATEMENT_KINDS.len()],
    /// The CDC publisher's sinks, once it started.
    pub publisher_sinks: std::sync::OnceLock<Vec<std::sync::Arc<crate::sink_stats::SinkStats>>>,
    /// Samples of `committed`, one a second for the last few (see [`Metrics::sample`]).
    committed_samples: std::sync::Mutex<std::collections::VecDeque<(std::time::Instant, u64)>>,
}

/// Seconds of samples the commit rate is taken over.
const RATE_WINDOW: usize = 10;

impl Metrics {
    /// Take a sample of the commit counter: call about once a second.
    pub fn sample(&self, now: std::time::Instant) {
        let mut samples = self.committed_samples.lock().expect("samples");
        samples.push_back((now, self.committed.load(Relaxed)));
        while samples.len() > RATE_WINDOW + 1 {
            samples.pop_front();
        }
    }

    /// Transactions this node coordinated and committed per second, over the samples of
    /// the last few seconds (0 before there are two).
    pub fn writes_per_second(&self) -> f64 {
        let samples = self.committed_samples.lock().expect("samples");
        match (samples.front(), samples.back()) {
            (Some((t0, c0)), Some((t1, c1))) if t1 > t0 => (c1 - c0) as f64 / t1.duration_since(*t0).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Count one statement whose first keyword is `keyword`.
    pub fn statement(&self, keyword: &str) {
        let kind = match keyword.to_ascii_uppercase().as_str() {
            "SELECT" | "WITH" => "select",
            "INSERT" => "insert",
            "UPDATE" => "update",
            "DELETE" => "delete",
            "REPLACE" => "replace",
            "CREATE" | "DROP" | "ALTER" | "RENAME" | "TRUNCATE" => "ddl",
            "BEGIN" | "START" => "begin",
            "COMMIT" => "commit",
            "ROLLBACK" => "rollback",
            "SET" => "set",
            "SHOW" => "show",
            _ => "other",
        };
        let i = STATEMENT_KINDS.iter().position(|k| *k == kind).unwrap_or(STATEMENT_KINDS.len() - 1);
        self.statements[i].fetch_add(1, Relaxed);
    }

    /// The text exposition of everything, with the cluster gauges from `status`.
    pub fn render(&self, status: &ClusterStatus) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        counter(
            &mut out,
            "marmot_transactions_total",
            "Transactions coordinated by this node, by outcome.",
            &[
                ("{result=\"committed\"}", self.committed.load(Relaxed)),
                ("{result=\"aborted\"}", self.aborted.load(Relaxed)),
                ("{result=\"conflicted\"}", self.conflicted.load(Relaxed)),
            ],
        );
        self.prepare_latency.render(
            &mut out,
            "marmot_prepare_latency_seconds",
            "Time from a transaction's start to its commit decision (prepare round).",
        );
        self.commit_latency.render(
            &mut out,
            "marmot_commit_latency_seconds",
            "Time from a client's commit to its answer (prepare and commit).",
        );
        counter(&mut out, "marmot_bytes_sent_total", "Bytes sent to peers.", &[("", self.bytes_out.load(Relaxed))]);
        counter(
            &mut out,
            "marmot_bytes_received_total",
            "Bytes received from peers.",
            &[("", self.bytes_in.load(Relaxed))],
        );
        counter(
            &mut out,
            "marmot_auth_refused_total",
            "Peer calls refused for an invalid cluster secret.",
            &[("", self.auth_refused.load(Relaxed))],
        );
        counter(
            &mut out,
            "marmot_snapshots_installed_total",
            "Database snapshots installed by anti-entropy.",
            &[("", self.snapshots_installed.load(Relaxed))],
        );
        counter(
            &mut out,
            "marmot_snapshot_bytes_total",
            "Bytes of the snapshots installed.",
            &[("", self.snapshot_bytes.load(Relaxed))],
        );
        counter(
            &mut out,
            "marmot_log_entries_collected_total",
            "Transaction log entries deleted by garbage collection.",
            &[("", self.log_trimmed.load(Relaxed))],
        );
        let _ = writeln!(
            out,
            "# HELP marmot_schema_version Schema version per database (bumped by every schema change).\n# TYPE marmot_schema_version gauge"
        );
        for (db, v) in &status.schema_versions {
            let _ = writeln!(out, "marmot_schema_version{{database=\"{db}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP marmot_snapshot_fetch_bytes Bytes of snapshots being fetched: received so far and in all.\n# TYPE marmot_snapshot_fetch_bytes gauge"
        );
        for f in &status.snapshot_fetches {
            for (part, v) in [("received", f.received), ("total", f.total)] {
                let labels = format!("database=\"{}\",donor=\"{}\",part=\"{part}\"", f.database, f.donor);
                let _ = writeln!(out, "marmot_snapshot_fetch_bytes{{{labels}}} {v}");
            }
        }
        counter(
            &mut out,
            "marmot_mysql_connections_total",
            "MySQL connections accepted.",
            &[("", self.mysql_connections_total.load(Relaxed))],
        );
        let kinds: Vec<(String, u64)> = STATEMENT_KINDS
            .iter()
            .zip(&self.statements)
            .map(|(k, n)| (format!("{{kind=\"{k}\"}}"), n.load(Relaxed)))
            .collect();
        let kinds: Vec<(&str, u64)> = kinds.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        counter(&mut out, "marmot_statements_total", "MySQL statements by kind.", &kinds);
        let _ = writeln!(
            out,
            "# HELP marmot_mysql_connections Open MySQL connections.\n# TYPE marmot_mysql_connections gauge"
        );
        let _ = writeln!(out, "marmot_mysql_connections {}", self.mysql_connections.load(Relaxed));
        crate::sink_stats::render(self.publisher_sinks.get().map_or(&[], |v| v.as_slice()), &mut out);
        let _ = writeln!(
            out,
            "# HELP marmot_members Cluster members by state, as this node sees them.\n# TYPE marmot_members gauge"
        );
        for state in ["JOINING", "ALIVE", "SUSPECT", "DEAD", "REMOVED"] {
            let n = status.members.iter().filter(|m| m.status == state).count();
            let _ = writeln!(out, "marmot_members{{state=\"{state}\"}} {n}");
        }
        type LagValue = fn(&Lag) -> f64;
        let lag_gauges: [(&str, &str, LagValue); 2] = [
            ("transactions", "Transactions of a peer's log not yet applied here.", |l| l.transactions as f64),
            ("seconds", "How long this node has been behind a peer's log.", |l| l.behind_ms as f64 / 1000.0),
        ];
        for (unit, help, value) in lag_gauges {
            let name = format!("marmot_replication_lag_{unit}");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for l in &status.lag {
                let _ = writeln!(out, "{name}{{peer=\"{}\",database=\"{}\"}} {}", l.peer, l.database, value(l));
            }
        }
        if let Some(r) = &status.replica {
            render_replica(r, &mut out);
        }
        out
    }
}

/// A replica's gauges: its source, failovers, and per database its lag behind the source.
fn render_replica(r: &marmot_core::replica::ReplicaStatus, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP marmot_replica_source Node id of the member this read-only replica follows.\n# TYPE marmot_replica_source gauge\nmarmot_replica_source {}",
        r.source
    );
    let _ = writeln!(
        out,
        "# HELP marmot_replica_failovers_total Times this replica moved to another member.\n# TYPE marmot_replica_failovers_total counter\nmarmot_replica_failovers_total {}",
        r.failovers
    );
    let _ = writeln!(
        out,
        "# HELP marmot_replica_lag_transactions Transactions of the source's log not yet applied by this replica.\n# TYPE marmot_replica_lag_transactions gauge"
    );
    for d in &r.databases {
        let _ = writeln!(
            out,
            "marmot_replica_lag_transactions{{database=\"{}\"}} {}",
            d.name,
            d.head.saturating_sub(d.position)
        );
    }
    let _ = writeln!(
        out,
        "# HELP marmot_replica_lag_seconds How long this replica has been behind its source's log.\n# TYPE marmot_replica_lag_seconds gauge"
    );
    for d in &r.databases {
        let _ = writeln!(out, "marmot_replica_lag_seconds{{database=\"{}\"}} {}", d.name, d.behind_ms as f64 / 1000.0);
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn writes_per_second_is_the_commit_rate_over_the_last_samples() {
        let m = Metrics::default();
        let t0 = std::time::Instant::now();
        assert_eq!(m.writes_per_second(), 0.0, "no samples yet");
        m.sample(t0);
        m.committed.fetch_add(30, Relaxed);
        m.sample(t0 + Duration::from_secs(2));
        assert_eq!(m.writes_per_second(), 15.0);
        // Only the last RATE_WINDOW seconds count.
        for s in 3..30 {
            m.sample(t0 + Duration::from_secs(s));
        }
        assert_eq!(m.writes_per_second(), 0.0);
    }
}
