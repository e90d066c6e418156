//! The CDC publisher: every committed transaction's row changes, as Debezium events, to
//! the configured sinks (`[publisher]`, `[[publisher.sinks]]`).
//!
//! **Who publishes.** Every node's log holds every committed transaction of every
//! database, so one node is enough: the lowest-id ALIVE data node (not a sentinel) in
//! this node's view publishes, the others stand by. A standby reads the stream and moves
//! its own cursors over the entries whose events it has seen there ([`seen`]); when the
//! publisher dies, the next node reads the stream to its end and takes over from its
//! cursors, so it repeats at most what it could not see. Repeats carry the same event id
//! and the broker drops them inside its duplicate window: delivery is at-least-once, never
//! lost. During a partition each side may publish; the ids keep copies apart the same way.
//!
//! **Order.** A sink publishes each database's log in order and moves its cursor only
//! after the broker acknowledged the whole batch, so events of one row reach its topic in
//! commit order, and a restart repeats at most the unacknowledged batch.
//!
//! One OS thread per sink: reads are blocking SQLite calls on the thread's own read-only
//! connections; the broker client runs on the node's tokio runtime.

pub mod broker;
pub mod cursor;
pub mod debezium;
pub mod filter;
pub mod kafka;
pub mod log;
pub mod nats;
pub mod seen;
pub mod sink_config;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::engine::{wall_ms, Engine};
use crate::sink_stats::SinkStats;
use broker::Broker;
use cursor::Cursors;
use debezium::{Column, Event, Origin};
use filter::Filter;
use log::{Entry, LogReader};
use marmot_store::codec::txn_id_bytes;
use seen::Seen;
use sink_config::Sink;

/// How often a sink looks again at which node publishes.
const ROLE_CHECK: Duration = Duration::from_secs(1);
/// Events a standby reads from the stream per step.
const FOLLOW_BATCH: usize = 1000;
/// How long a standby remembers an event it has not matched with its log.
const SEEN_FOR: Duration = Duration::from_secs(600);
/// How long a new publisher reads the stream before it publishes (the old one may still
/// be publishing, on the other side of a partition).
const CATCH_UP: Duration = Duration::from_secs(5);

/// Start one publishing thread per sink; their statistics, in sink order.
pub fn spawn(engine: Engine, data_dir: PathBuf, sinks: &[Sink], rt: Handle) -> Result<Vec<Arc<SinkStats>>, String> {
    let mut all = Vec::new();
    for sink in sinks {
        let stats = Arc::new(SinkStats::new(&sink.name));
        let worker = Worker::new(engine.clone(), data_dir.clone(), sink.clone(), rt.clone(), stats.clone())?;
        std::thread::Builder::new()
            .name(format!("publisher-{}", sink.name))
            .spawn(move || worker.run())
            .map_err(|e| format!("publisher thread: {e}"))?;
        all.push(stats);
    }
    Ok(all)
}

/// Whether the log no longer holds transaction `saved` at `seq` where it should: another
/// transaction is there, or nothing though `seq` is within (or past) the entries kept.
/// Nothing there below the oldest entry is GC's trimming, not a replaced log.
fn log_replaced(seq: u64, saved: &[u8], here: Option<&[u8]>, oldest: u64, newest: u64) -> bool {
    match here {
        Some(t) => t != saved,
        None => seq > newest || seq >= oldest,
    }
}

/// One sink's publishing loop.
struct Worker {
    engine: Engine,
    sink: Sink,
    filter: Filter,
    rt: Handle,
    log: LogReader,
    cursors: Cursors,
    broker: Broker,
    stats: Arc<SinkStats>,
    active: bool,
    role_checked: Option<Instant>,
    /// Events seen in the stream while standing by.
    seen: Seen,
    /// The last stream sequence read or published.
    stream_read: u64,
    /// When a standby last warned that it cannot read the stream.
    warned: Option<Instant>,
    /// The position last reported to log GC, per database.
    reported: BTreeMap<String, u64>,
    /// A standby's newest log entry per database when it last looked: with nothing new
    /// read from the stream and nothing new in the log, there is nothing to move over.
    looked_at: BTreeMap<String, u64>,
}

impl Worker {
    fn new(engine: Engine, dir: PathBuf, sink: Sink, rt: Handle, stats: Arc<SinkStats>) -> Result<Self, String> {
        let cursors = Cursors::open(&dir)?;
        let stream_read = cursors.stream_seq(&sink.name)?;
        Ok(Worker {
            filter: Filter::new(&sink.filter_databases, &sink.filter_tables)?,
            cursors,
            log: LogReader::new(dir),
            broker: Broker::new(&sink),
            engine,
            sink,
            rt,
            stats,
            active: false,
            role_checked: None,
            seen: Seen::default(),
            stream_read,
            warned: None,
            reported: BTreeMap::new(),
            looked_at: BTreeMap::new(),
        })
    }

    fn run(mut self) {
        tracing::info!(sink = %self.sink.name, kind = %self.sink.kind, "publisher sink started");
        loop {
            if self.role_checked.is_none_or(|t| t.elapsed() >= ROLE_CHECK) {
                self.check_role();
            }
            if !self.active {
                if let Err(e) = self.follow() {
                    if self.warned.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                        tracing::warn!(sink = %self.sink.name, error = %e, "standby cannot follow the stream");
                        self.warned = Some(Instant::now());
                    }
                    std::thread::sleep(ROLE_CHECK / 4);
                }
                continue;
            }
            let mut published_any = false;
            for db in self.engine.databases() {
                if !self.filter.database(&db) {
                    self.report(&db, u64::MAX);
                    continue;
                }
                match self.publish_next(&db) {
                    Ok(n) => published_any |= n > 0,
                    Err(e) => {
                        tracing::warn!(sink = %self.sink.name, database = %db, error = %e, "publisher cannot read the log");
                        self.log.close(&db);
                    }
                }
            }
            if !published_any {
                std::thread::sleep(Duration::from_millis(self.sink.poll_interval_ms));
            }
        }
    }

    /// Whether this node is the one that publishes: the lowest-id ALIVE data node.
    fn check_role(&mut self) {
        self.role_checked = Some(Instant::now());
        self.seen.prune(Instant::now(), SEEN_FOR);
        let Ok(status) = self.rt.block_on(self.engine.status()) else { return };
        let me = status.local_node_id;
        let alive = |m: &&crate::cluster_status::MemberView| m.status == "ALIVE" && !m.sentinel;
        let self_alive = status.members.iter().filter(alive).any(|m| m.node_id == me);
        let lower = status.members.iter().filter(alive).any(|m| m.node_id < me);
        let active = self_alive && !lower;
        if active && !self.active {
            // Take over where the stream ends, not where this node's cursors are.
            let start = Instant::now();
            while start.elapsed() < CATCH_UP {
                match self.follow() {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(sink = %self.sink.name, error = %e, "cannot read the stream before publishing");
                        break;
                    }
                }
            }
            self.broker.stop_following();
        }
        if active != self.active {
            tracing::info!(sink = %self.sink.name, active, "publisher role changed");
        }
        self.active = active;
        self.stats.set_active(active);
    }

    /// Publish the next batch of `db`'s log; how many log entries it covered.
    fn publish_next(&mut self, db: &str) -> Result<usize, String> {
        if !self.log.has_log(db) {
            return Ok(0);
        }
        let name = self.sink.name.clone();
        let (oldest, newest) = self.log.bounds(db)?;
        let after = self.position(db, oldest, newest)?;
        self.report(db, after);
        self.stats.set_lag(db, newest.saturating_sub(after));
        if oldest > after + 1 {
            tracing::error!(sink = %name, database = %db, cursor = after, oldest,
                "the log was trimmed past this sink's cursor: changes in between were not published");
            self.stats.skipped.fetch_add(oldest - after - 1, std::sync::atomic::Ordering::Relaxed);
        }
        let entries = self.log.read(db, after, self.sink.batch_size)?;
        let Some(last) = entries.last().map(|e| e.seq) else { return Ok(0) };
        let events = self.events(db, &entries)?;
        if let Some(seq) = self.publish_retrying(&events) {
            self.stream_read = self.stream_read.max(seq);
            self.cursors.set_stream_seq(&name, self.seen.safe_position(self.stream_read))?;
        }
        let last_txn = entries.last().map(|e| txn_id_bytes(e.txn.id));
        self.cursors.set(&name, db, last, last_txn.as_deref())?;
        self.report(db, last);
        self.stats.set_lag(db, newest.saturating_sub(last));
        Ok(entries.len())
    }

    /// Tell log GC how far this sink has read `db` (when that changed).
    fn report(&mut self, db: &str, upto: u64) {
        if self.reported.get(db) != Some(&upto) {
            self.engine.log_read(&self.sink.name, db, upto);
            self.reported.insert(db.to_string(), upto);
        }
    }

    /// Where `sink`'s cursor of `db` is in this node's log (whose entries now run from
    /// `oldest` to `newest`). A new sink (or a database new to it) starts at the oldest
    /// entry kept. A snapshot installed here replaces the log with the donor's, whose
    /// positions differ: the saved transaction is then looked up again by its id.
    fn position(&mut self, db: &str, oldest: u64, newest: u64) -> Result<u64, String> {
        let name = self.sink.name.clone();
        let Some(cursor::Position { seq, txn }) = self.cursors.get(&name, db)? else {
            let start = oldest.saturating_sub(1);
            self.cursors.set(&name, db, start, None)?;
            return Ok(start);
        };
        let Some(txn) = txn else { return Ok(seq) };
        let here = self.log.txn_at(db, seq)?;
        if !log_replaced(seq, &txn, here.as_deref(), oldest, newest) {
            return Ok(seq);
        }
        let found = self.log.seq_of(db, &txn)?;
        let start = found.unwrap_or(oldest.saturating_sub(1));
        tracing::warn!(sink = %name, database = %db, was = seq, now = start, found = found.is_some(),
            "this node's log was replaced (a snapshot): the sink's position was found again by transaction id");
        self.cursors.set(&name, db, start, found.map(|_| txn.as_slice()))?;
        Ok(start)
    }

    /// A standby's step: read what the publisher published since the last step and move
    /// this node's cursors over the entries it covers; how many events were read.
    fn follow(&mut self) -> Result<usize, String> {
        let name = self.sink.name.clone();
        let read = self.rt.block_on(self.broker.read_published(self.stream_read, FOLLOW_BATCH))?;
        let now = Instant::now();
        for p in &read {
            self.seen.add(p, now);
            self.stream_read = self.stream_read.max(p.stream_seq);
        }
        for db in self.engine.databases() {
            if self.filter.database(&db) {
                self.advance_standby(&db, !read.is_empty())?;
            } else {
                self.report(&db, u64::MAX);
            }
        }
        self.seen.prune(now, SEEN_FOR);
        self.cursors.set_stream_seq(&name, self.seen.safe_position(self.stream_read))?;
        Ok(read.len())
    }

    /// Move `db`'s cursor over the entries whose events were all seen in the stream.
    fn advance_standby(&mut self, db: &str, read_more: bool) -> Result<(), String> {
        if !self.log.has_log(db) {
            return Ok(());
        }
        let name = self.sink.name.clone();
        let (oldest, newest) = self.log.bounds(db)?;
        if !read_more && self.looked_at.get(db) == Some(&newest) {
            return Ok(());
        }
        self.looked_at.insert(db.to_string(), newest);
        let mut after = self.position(db, oldest, newest)?;
        let mut passed = None;
        let start = after;
        'read: loop {
            let entries = self.log.read(db, after, self.sink.batch_size)?;
            let full = entries.len() as u64 == self.sink.batch_size;
            for e in &entries {
                let indexes = self.publishable(db, e);
                if !indexes.is_empty() && !self.seen.take_if_complete(db, &e.txn.id.to_string(), &indexes) {
                    break 'read;
                }
                after = e.seq;
                passed = Some(txn_id_bytes(e.txn.id));
            }
            if !full {
                break;
            }
        }
        if after != start {
            self.cursors.set(&name, db, after, passed.as_deref())?;
        }
        self.report(db, after);
        self.stats.set_lag(db, newest.saturating_sub(after));
        Ok(())
    }

    /// The indexes of `entry`'s row changes that make events: rows of `db`'s published
    /// tables that change data.
    fn publishable(&self, db: &str, entry: &Entry) -> Vec<usize> {
        let rows = entry.txn.rows.iter().enumerate();
        rows.filter(|(_, row)| {
            row.database == db
                && !row.is_schema_change()
                && !row.is_check_only()
                && !row.table.starts_with("__marmot")
                && self.filter.table(db, &row.table)
        })
        .map(|(i, _)| i)
        .collect()
    }

    /// The events of `entries`: their row changes of published tables, in log order.
    fn events(&mut self, db: &str, entries: &[Entry]) -> Result<Vec<Event>, String> {
        let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        let mut out = Vec::new();
        let now = wall_ms();
        for e in entries {
            let indexes = self.publishable(db, e);
            if !indexes.is_empty() && self.seen.take_if_complete(db, &e.txn.id.to_string(), &indexes) {
                continue; // published by the node that published before this one
            }
            for index in indexes {
                let row = &e.txn.rows[index];
                if !columns.contains_key(&row.table) {
                    columns.insert(row.table.clone(), self.log.columns(db, &row.table)?);
                }
                let origin = Origin { txn: e.txn.id, node: e.txn.coordinator, sequence: e.seq, index };
                out.push(debezium::event(&self.sink.topic_prefix, row, &columns[&row.table], origin, now));
            }
        }
        Ok(out)
    }

    /// Publish `events`, retrying with exponential backoff until the broker takes them;
    /// the highest stream sequence they got.
    fn publish_retrying(&mut self, events: &[Event]) -> Option<u64> {
        if events.is_empty() {
            return None;
        }
        let mut delay = self.sink.retry_initial_ms as f64;
        loop {
            match self.rt.block_on(self.broker.publish(events)) {
                Ok(seq) => {
                    self.stats.published(events.len() as u64);
                    return Some(seq);
                }
                Err(e) => {
                    self.stats.failed();
                    tracing::warn!(sink = %self.sink.name, error = %e, retry_ms = delay as u64, "publish failed; retrying");
                    std::thread::sleep(Duration::from_millis(delay as u64));
                    delay = (delay * self.sink.retry_multiplier).min(self.sink.retry_max_ms as f64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::log_replaced;

    #[test]
    fn a_replaced_log_is_told_from_a_trimmed_one() {
        assert!(!log_replaced(7, b"t7", Some(b"t7"), 1, 9), "same transaction, same place");
        assert!(log_replaced(7, b"t7", Some(b"u"), 1, 9), "another transaction at the position");
        assert!(log_replaced(12, b"t12", None, 1, 9), "a position past the newest entry");
        assert!(!log_replaced(3, b"t3", None, 5, 9), "trimmed by GC: the position holds");
    }
}
