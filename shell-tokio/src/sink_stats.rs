//! Counters of each CDC publisher sink, shown on `/metrics`. Kept apart from both the
//! publisher and the metrics module so neither imports the other.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// One sink's counters.
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// Events the broker acknowledged.
    pub events: AtomicU64,
    /// Publish attempts that failed (each is retried).
    pub failures: AtomicU64,
    /// Log entries that were trimmed before this sink published them.
    pub skipped: AtomicU64,
    active: AtomicBool,
    lag: Mutex<BTreeMap<String, u64>>,
}

impl SinkStats {
    /// Zeroed counters of sink `name`.
    pub fn new(name: &str) -> Self {
        SinkStats {
            name: name.to_string(),
            events: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            active: AtomicBool::new(false),
            lag: Mutex::new(BTreeMap::new()),
        }
    }

    /// `n` more events acknowledged.
    pub fn published(&self, n: u64) {
        self.events.fetch_add(n, Relaxed);
    }

    /// One more failed publish.
    pub fn failed(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    /// Whether this node publishes for the sink now.
    pub fn set_active(&self, active: bool) {
        self.active.store(active, Relaxed);
    }

    /// Log entries of `db` not yet published.
    pub fn set_lag(&self, db: &str, entries: u64) {
        self.lag.lock().unwrap_or_else(|p| p.into_inner()).insert(db.to_string(), entries);
    }

    /// Whether this node publishes for the sink now.
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }
}

/// The Prometheus text of every sink's counters (nothing when there are none).
pub fn render(sinks: &[std::sync::Arc<SinkStats>], out: &mut String) {
    if sinks.is_empty() {
        return;
    }
    type Series = (&'static str, &'static str, &'static str, fn(&SinkStats) -> u64);
    let series: [Series; 4] = [
        ("marmot_publisher_events_total", "counter", "CDC events the sink's broker acknowledged.", |s| {
            s.events.load(Relaxed)
        }),
        ("marmot_publisher_failures_total", "counter", "Failed publish attempts (each is retried).", |s| {
            s.failures.load(Relaxed)
        }),
        ("marmot_publisher_skipped_total", "counter", "Log entries trimmed before the sink published them.", |s| {
            s.skipped.load(Relaxed)
        }),
        ("marmot_publisher_active", "gauge", "1 if this node publishes for the sink (the others stand by).", |s| {
            u64::from(s.is_active())
        }),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in sinks {
            let _ = writeln!(out, "{name}{{sink=\"{}\"}} {}", s.name, value(s));
        }
    }
    let _ = writeln!(
        out,
        "# HELP marmot_publisher_lag_entries Log entries of a database the sink has not published.\n# TYPE marmot_publisher_lag_entries gauge"
    );
    for s in sinks {
        for (db, lag) in s.lag.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "marmot_publisher_lag_entries{{sink=\"{}\",database=\"{db}\"}} {lag}", s.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sink_has_its_series() {
        let s = std::sync::Arc::new(SinkStats::new("nats-events"));
        s.published(3);
        s.failed();
        s.set_active(true);
        s.set_lag("app", 7);
        let mut out = String::new();
        render(&[s], &mut out);
        assert!(out.contains("marmot_publisher_events_total{sink=\"nats-events\"} 3"), "{out}");
        assert!(out.contains("marmot_publisher_failures_total{sink=\"nats-events\"} 1"), "{out}");
        assert!(out.contains("marmot_publisher_active{sink=\"nats-events\"} 1"), "{out}");
        assert!(out.contains("marmot_publisher_lag_entries{sink=\"nats-events\",database=\"app\"} 7"), "{out}");
    }
}
