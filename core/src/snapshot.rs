//! Anti-entropy by snapshot.
//!
//! A brand-new node (one holding nothing of a database yet) starts each database from a
//! snapshot. A node repairs a database by snapshot instead of delta sync when it is too far behind
//! a peer's log (more than `delta_sync_threshold_txns` transactions, or behind for longer
//! than `delta_sync_threshold_ms`) — decided at once while it is joining (after a restart
//! or as a new node), and otherwise when two anti-entropy checks in a row find it so
//! (positions trail heads briefly in normal operation) — or when the peer no longer has
//! the entries it needs (a gap: the peer's log was garbage-collected past our position). It pulls the
//! snapshot chunk by chunk from one donor, then asks the store to verify and install it
//! atomically; the install reports the positions in every peer's log that the snapshot
//! stands for, and delta sync resumes from exactly there. A snapshot that fails to
//! arrive or to verify is dropped and fetched again, from another live peer if there is
//! one. Pulls of that database wait while a snapshot is on its way, and a joining node
//! is not ALIVE before its snapshots are installed.

use std::collections::BTreeMap;

use crate::catchup::Lag;
use crate::io::{Observation, StoreRead, StoreWrite};
use crate::message::Message;
use crate::node::Node;
use crate::outbox::PendingOp;
use crate::types::NodeId;
use crate::Millis;

/// A snapshot being fetched.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fetch {
    pub(crate) donor: NodeId,
    snapshot: u64,
    total: u64,
    sha256: Vec<u8>,
    data: Vec<u8>,
    last_activity: Millis,
    /// When the first chunk arrived (the rate limit's reference point).
    started: Millis,
    /// The next chunk is asked for at this time (paced by the rate limit).
    next_at: Option<Millis>,
    pub(crate) installing: bool,
}

/// Snapshots in flight, per database, and the last donor tried.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshots {
    pub(crate) fetches: BTreeMap<String, Fetch>,
    last_donor: BTreeMap<String, NodeId>,
    last_check: Millis,
    /// (peer, database) found past the thresholds at the last check.
    over: std::collections::BTreeSet<(NodeId, String)>,
}

/// How far a snapshot fetch has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchProgress {
    /// Database.
    pub database: String,
    /// From whom.
    pub donor: NodeId,
    /// Bytes received.
    pub received: u64,
    /// Bytes in all (0 until the first chunk arrives).
    pub total: u64,
}

impl Node {
    /// Snapshots being fetched, and how far each has come.
    pub fn snapshot_fetches(&self) -> Vec<FetchProgress> {
        let progress = |(db, f): (&String, &Fetch)| FetchProgress {
            database: db.clone(),
            donor: f.donor,
            received: if f.installing { f.total } else { f.data.len() as u64 },
            total: f.total,
        };
        self.snapshots.fetches.iter().map(progress).collect()
    }

    /// Whether a snapshot of `db` is on its way.
    pub(crate) fn fetching(&self, db: &str) -> bool {
        self.snapshots.fetches.contains_key(db)
    }

    /// Too far behind `peer`'s log of `db` for delta sync?
    pub(crate) fn needs_snapshot(&self, peer: NodeId, db: &str) -> bool {
        self.past_thresholds(&self.catchup.lag(&(peer, db.to_string()), self.now))
    }

    fn past_thresholds(&self, l: &Lag) -> bool {
        self.cfg.anti_entropy
            && (l.transactions > self.cfg.delta_sync_threshold_txns || l.behind_ms > self.cfg.delta_sync_threshold_ms)
    }

    /// Start fetching a snapshot of `db` from `donor`.
    pub(crate) fn start_snapshot(&mut self, db: &str, donor: NodeId) {
        // A sentinel holds no table data: ask a live data node instead (none: not now).
        let donor = if self.members.is_sentinel(donor) {
            match self.members.live_peers().into_iter().find(|p| !self.members.is_sentinel(*p)) {
                Some(p) => p,
                None => return,
            }
        } else {
            donor
        };
        if self.fetching(db) {
            return;
        }
        self.snapshots.last_donor.insert(db.to_string(), donor);
        self.snapshots.fetches.insert(db.to_string(), Fetch { donor, last_activity: self.now, ..Default::default() });
        self.send(donor, Message::SnapshotRequest { database: db.to_string(), snapshot: 0, offset: 0 });
    }

    /// Every tick: drop stalled fetches; every `anti_entropy_interval_ms`: repair gaps
    /// still open by snapshot from a live peer (another one than last time if there is a
    /// choice). Lag past the thresholds is acted on at once, when a pull is due.
    pub(crate) fn retry_snapshots(&mut self) {
        let now = self.now;
        let stall = self.cfg.catchup_timeout_ms * 2;
        self.snapshots.fetches.retain(|_, f| f.installing || now.saturating_sub(f.last_activity) < stall);
        if !self.cfg.anti_entropy || now.saturating_sub(self.snapshots.last_check) < self.cfg.anti_entropy_interval_ms {
            return;
        }
        self.snapshots.last_check = now;
        let live = self.members.live_peers();
        let over: std::collections::BTreeSet<(NodeId, String)> = self
            .replication_lag(now)
            .into_iter()
            .filter(|l| self.past_thresholds(l) && live.contains(&l.peer))
            .map(|l| (l.peer, l.database))
            .collect();
        let persistent: Vec<(NodeId, String)> = over.intersection(&self.snapshots.over).cloned().collect();
        self.snapshots.over = over;
        for (peer, db) in persistent {
            self.start_snapshot(&db, peer);
        }
        for db in self.catchup.gap_databases() {
            if self.fetching(&db) || live.is_empty() {
                continue;
            }
            let last = self.snapshots.last_donor.get(&db).copied();
            let donor = live.iter().copied().find(|p| Some(*p) > last).unwrap_or(live[0]);
            self.start_snapshot(&db, donor);
        }
    }

    pub(crate) fn on_snapshot_request(&mut self, from: NodeId, database: String, snapshot: u64, offset: u64) {
        let limit = self.cfg.snapshot_chunk.max(1);
        let read = StoreRead::SnapshotBytes { database: database.clone(), snapshot, offset, limit };
        self.read(read, PendingOp::ServeSnapshot { to: from, database, offset });
    }

    pub(crate) fn on_snapshot_chunk(&mut self, from: NodeId, chunk: Chunk) {
        let now = self.now;
        let Some(f) = self.snapshots.fetches.get_mut(&chunk.database) else { return };
        if f.donor != from || f.installing {
            return;
        }
        if chunk.snapshot == 0 {
            // The donor could not take one: try again later, elsewhere.
            self.snapshots.fetches.remove(&chunk.database);
            return;
        }
        if f.snapshot == 0 {
            f.snapshot = chunk.snapshot;
            f.total = chunk.total;
            f.sha256 = chunk.sha256;
        }
        if chunk.snapshot != f.snapshot || chunk.offset != f.data.len() as u64 {
            return; // stale or duplicate
        }
        if f.data.is_empty() {
            f.started = now;
        }
        let before = f.data.len() as u64;
        f.data.extend_from_slice(&chunk.data);
        f.last_activity = now;
        let got = f.data.len() as u64;
        let total = f.total;
        if got < total && !chunk.data.is_empty() {
            // Pace the fetch: by now at most `rate` bytes per second since it started.
            let rate = self.cfg.snapshot_bytes_per_sec;
            let due = got.saturating_mul(1000).checked_div(rate).map_or(now, |ms| f.started + ms);
            if before * 10 / total != got * 10 / total {
                let database = chunk.database.clone();
                self.observe(Observation::SnapshotProgress { database, donor: from, received: got, total });
            }
            if due > now {
                let f = self.snapshots.fetches.get_mut(&chunk.database).expect("present");
                f.next_at = Some(due);
                f.last_activity = due;
                self.out.timer_at(crate::io::Timer::SnapshotPace, due);
                return;
            }
            let snapshot = self.snapshots.fetches[&chunk.database].snapshot;
            self.send(from, Message::SnapshotRequest { database: chunk.database, snapshot, offset: got });
            return;
        }
        let f = self.snapshots.fetches.get_mut(&chunk.database).expect("present");
        if got != f.total {
            self.snapshots.fetches.remove(&chunk.database);
            return;
        }
        f.installing = true;
        let write = StoreWrite::InstallSnapshot {
            database: chunk.database.clone(),
            me: self.me,
            donor: from,
            bytes: std::mem::take(&mut f.data),
            sha256: f.sha256.clone(),
        };
        let bytes = f.total;
        self.persist(write, PendingOp::InstallSnapshot { database: chunk.database, donor: from, bytes });
    }

    /// Ask for the next chunk of every paced fetch that is due.
    pub(crate) fn on_snapshot_pace(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        for (db, f) in self.snapshots.fetches.iter_mut() {
            if f.next_at.is_some_and(|t| t <= now) {
                f.next_at = None;
                due.push((f.donor, db.clone(), f.snapshot, f.data.len() as u64));
            }
        }
        for (donor, database, snapshot, offset) in due {
            self.send(donor, Message::SnapshotRequest { database, snapshot, offset });
        }
    }

    pub(crate) fn on_snapshot_installed(
        &mut self,
        database: String,
        donor: NodeId,
        bytes: u64,
        positions: BTreeMap<NodeId, u64>,
    ) {
        self.snapshots.fetches.remove(&database);
        self.catchup.reset_positions(&database, positions);
        self.observe(Observation::SnapshotInstalled { database: database.clone(), donor, bytes });
        self.resume_pulls(&database);
        self.maybe_caught_up();
    }

    pub(crate) fn on_snapshot_failed(&mut self, database: &str) {
        self.snapshots.fetches.remove(database);
    }
}

/// A [`Message::SnapshotChunk`]'s fields.
pub(crate) struct Chunk {
    pub(crate) database: String,
    pub(crate) snapshot: u64,
    pub(crate) offset: u64,
    pub(crate) total: u64,
    pub(crate) sha256: Vec<u8>,
    pub(crate) data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use crate::io::{Effect, Input, RecoveredState, Timer};
    use crate::message::{Envelope, Message};
    use crate::{CoreConfig, Node};

    fn chunk(offset: u64, len: usize) -> Input {
        let msg = Message::SnapshotChunk {
            database: "db".into(),
            snapshot: 7,
            offset,
            total: 4000,
            sha256: vec![1; 32],
            data: vec![0; len],
        };
        Input::Peer(Envelope { from: 2, to: 1, clock: Default::default(), msg })
    }

    fn requests(out: &[Effect]) -> Vec<u64> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Send(Envelope { msg: Message::SnapshotRequest { offset, .. }, .. }) => Some(*offset),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn snapshot_fetches_are_paced_to_the_configured_rate() {
        let cfg = CoreConfig { snapshot_bytes_per_sec: 10_000, ..CoreConfig::default() };
        let mut n = Node::new(cfg, 1, "n1".into(), vec![(2, "n2".into())], 1, RecoveredState::default());
        let mut out = Vec::new();
        n.handle(1000, Input::Start, &mut out);
        n.start_snapshot("db", 2);
        n.out.drain_into(&mut Vec::new()); // the first request
                                           // 1000 bytes at 10,000 B/s: the next chunk may be asked for 100 ms after the first.
        out.clear();
        n.handle(1000, chunk(0, 1000), &mut out);
        assert!(requests(&out).is_empty(), "asked again at once: {out:?}");
        assert!(out.contains(&Effect::SetTimer { timer: Timer::SnapshotPace, at: 1100 }), "{out:?}");
        out.clear();
        n.handle(1050, Input::Timer(Timer::SnapshotPace), &mut out);
        assert!(requests(&out).is_empty(), "asked again early: {out:?}");
        n.handle(1100, Input::Timer(Timer::SnapshotPace), &mut out);
        assert_eq!(requests(&out), vec![1000]);
        // A late chunk (the budget is already spent) is followed at once.
        out.clear();
        n.handle(1300, chunk(1000, 1000), &mut out);
        assert_eq!(requests(&out), vec![2000]);
        assert_eq!(n.snapshot_fetches()[0].received, 2000);
    }
}
