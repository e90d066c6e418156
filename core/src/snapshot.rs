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

use std::collections::{BTreeMap, BTreeSet};

use crate::catchup::Lag;
use crate::config::CoreConfig;
use crate::io::{Observation, ReadOutcome, StoreRead, StoreWrite, Timer};
use crate::membership::{MemberState, Membership};
use crate::message::Message;
use crate::outbox::{PendingOp, Step};
use crate::types::NodeId;
use crate::Millis;

/// A snapshot being fetched.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fetch {
    donor: NodeId,
    snapshot: u64,
    total: u64,
    sha256: Vec<u8>,
    data: Vec<u8>,
    last_activity: Millis,
    /// When the fetch began.
    began: Millis,
    /// When the first chunk arrived (the rate limit's reference point).
    started: Millis,
    /// The next chunk is asked for at this time (paced by the rate limit).
    next_at: Option<Millis>,
    installing: bool,
}

/// Snapshots in flight, per database, and the last donor tried.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshots {
    fetches: BTreeMap<String, Fetch>,
    last_donor: BTreeMap<String, NodeId>,
    last_check: Millis,
    /// (peer, database) found past the thresholds at the last check.
    over: BTreeSet<(NodeId, String)>,
    /// As a donor: the last snapshot made of each database, and when. Several nodes or
    /// replicas starting together then cost one image, not one each.
    made: BTreeMap<String, (u64, Millis)>,
    /// As a donor: databases a new snapshot is being taken of, with the nodes whose
    /// requests for one wait for it.
    taking: BTreeMap<String, Vec<NodeId>>,
}

/// What a read of snapshot bytes was for.
#[derive(Clone, Debug)]
pub(crate) struct Served {
    /// The node that asked.
    pub to: NodeId,
    /// Of which database.
    pub database: String,
    /// From where.
    pub offset: u64,
    /// A snapshot made for an earlier request was read.
    pub reused: bool,
    /// A new snapshot was taken: remember it.
    pub fresh: bool,
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

impl Snapshots {
    /// Snapshots being fetched, and how far each has come.
    pub(crate) fn progress(&self) -> Vec<FetchProgress> {
        let progress = |(db, f): (&String, &Fetch)| FetchProgress {
            database: db.clone(),
            donor: f.donor,
            received: if f.installing { f.total } else { f.data.len() as u64 },
            total: f.total,
        };
        self.fetches.iter().map(progress).collect()
    }

    /// Whether a snapshot of `db` is on its way.
    /// Fetches not installing that began `limit` or longer before `now`: (database, donor).
    pub(crate) fn overdue(&self, now: Millis, limit: Millis) -> Vec<(String, NodeId)> {
        let late = |f: &&Fetch| !f.installing && now.saturating_sub(f.began) >= limit;
        self.fetches.iter().filter(|(_, f)| late(f)).map(|(db, f)| (db.clone(), f.donor)).collect()
    }

    /// Drop the fetch of `db` (chunks still arriving for it are ignored).
    pub(crate) fn abandon(&mut self, db: &str) {
        if self.fetches.get(db).is_some_and(|f| !f.installing) {
            self.fetches.remove(db);
        }
    }

    pub(crate) fn fetching(&self, db: &str) -> bool {
        self.fetches.contains_key(db)
    }

    /// Whether no snapshot is on its way.
    pub(crate) fn idle(&self) -> bool {
        self.fetches.is_empty()
    }

    /// Start fetching a snapshot of `db` from `donor`; `shared`: this node holds nothing of
    /// `db` yet (see [`Message::SnapshotRequest`]).
    pub(crate) fn start(&mut self, st: &mut Step, members: &Membership, db: &str, donor: NodeId, shared: bool) {
        // A sentinel holds no table data. A joining peer has not caught up: its snapshot
        // would set a caught-up node back (what it applied from other logs is lost until
        // pulled again, and where those logs were collected meanwhile, the next snapshot
        // comes from a node as stale; simulation `log_gc`, seed 10, over the gRPC
        // transport). Ask another live data node instead (none: not now; the
        // anti-entropy check tries again).
        let joining = |p: NodeId| members.get(p).is_some_and(|m| m.state() == MemberState::Joining);
        let local_joining = members.local().state() == MemberState::Joining;
        let usable = |p: NodeId| !members.is_sentinel(p) && (local_joining || !joining(p));
        let donor = if usable(donor) {
            donor
        } else {
            match members.live_peers().into_iter().find(|p| usable(*p)) {
                Some(p) => p,
                None => return,
            }
        };
        if self.fetching(db) {
            return;
        }
        self.last_donor.insert(db.to_string(), donor);
        self.fetches
            .insert(db.to_string(), Fetch { donor, last_activity: st.now, began: st.now, ..Default::default() });
        st.send(donor, Message::SnapshotRequest { database: db.to_string(), snapshot: 0, offset: 0, shared });
    }

    /// Every tick: drop stalled fetches. Returns whether the anti-entropy check is due
    /// (every `anti_entropy_interval_ms`); if so, the caller runs [`Snapshots::repair`].
    pub(crate) fn tick(&mut self, now: Millis, cfg: &CoreConfig) -> bool {
        let stall = cfg.catchup_timeout_ms * 2;
        self.fetches.retain(|_, f| f.installing || now.saturating_sub(f.last_activity) < stall);
        if !cfg.anti_entropy || now.saturating_sub(self.last_check) < cfg.anti_entropy_interval_ms {
            return false;
        }
        self.last_check = now;
        true
    }

    /// The anti-entropy check: repair by snapshot what two checks in a row found past the
    /// thresholds (`lags`: the replication lag per peer and database), and the gaps still
    /// open (`gaps`) from a live peer (another one than last time if there is a choice).
    /// Lag past the thresholds is acted on at once, when a pull is due.
    pub(crate) fn repair(&mut self, st: &mut Step, members: &Membership, lags: Vec<Lag>, gaps: BTreeSet<String>) {
        let live = members.live_peers();
        let over: BTreeSet<(NodeId, String)> = lags
            .into_iter()
            .filter(|l| l.past_thresholds(st.cfg) && live.contains(&l.peer))
            .map(|l| (l.peer, l.database))
            .collect();
        let persistent: Vec<(NodeId, String)> = over.intersection(&self.over).cloned().collect();
        self.over = over;
        for (peer, db) in persistent {
            self.start(st, members, &db, peer, false);
        }
        for db in gaps {
            if self.fetching(&db) || live.is_empty() {
                continue;
            }
            let last = self.last_donor.get(&db).copied();
            let donor = live.iter().copied().find(|p| Some(*p) > last).unwrap_or(live[0]);
            self.start(st, members, &db, donor, false);
        }
    }

    /// A peer asks for a chunk of a snapshot of `database`: read it. A `shared` request for
    /// a new snapshot (0) gets the one made less than `snapshot_reuse_ms` ago, if any.
    /// Requests that arrive while a new one is being taken wait for it, whoever asks: it
    /// is as new as one taken for them.
    pub(crate) fn on_request(
        &mut self,
        st: &mut Step,
        from: NodeId,
        database: String,
        snapshot: u64,
        offset: u64,
        shared: bool,
    ) {
        let limit = st.cfg.snapshot_chunk.max(1);
        let recent = self.made.get(&database).filter(|(_, at)| st.now.saturating_sub(*at) < st.cfg.snapshot_reuse_ms);
        let (id, reused) = match recent {
            Some((id, _)) if snapshot == 0 && shared => (*id, true),
            _ => (snapshot, false),
        };
        let fresh = id == 0;
        if fresh && st.cfg.snapshot_reuse_ms > 0 {
            if let Some(waiting) = self.taking.get_mut(&database) {
                waiting.push(from);
                return;
            }
            self.taking.insert(database.clone(), Vec::new());
        }
        let read = StoreRead::SnapshotBytes { database: database.clone(), snapshot: id, offset, limit };
        st.out.read(read, PendingOp::ServeSnapshot(Served { to: from, database, offset, reused, fresh }));
    }

    /// Snapshot bytes were read for a peer: send them, or say none could be had. A reused
    /// snapshot the store no longer keeps is taken anew.
    pub(crate) fn on_served(&mut self, st: &mut Step, s: Served, result: Result<ReadOutcome, String>) {
        let waiting = if s.fresh { self.taking.remove(&s.database).unwrap_or_default() } else { Vec::new() };
        let database = s.database.clone();
        self.send_served(st, s, result);
        // Those who waited get the snapshot just made (or, if none was, ask again).
        for to in waiting {
            self.on_request(st, to, database.clone(), 0, 0, true);
        }
    }

    fn send_served(&mut self, st: &mut Step, s: Served, result: Result<ReadOutcome, String>) {
        match result {
            Ok(ReadOutcome::Snapshot { snapshot, total, sha256, data }) => {
                if s.fresh && snapshot != 0 {
                    self.made.insert(s.database.clone(), (snapshot, st.now));
                }
                let chunk =
                    Message::SnapshotChunk { database: s.database, snapshot, offset: s.offset, total, sha256, data };
                st.send(s.to, chunk);
            }
            Err(_) if s.reused => {
                self.made.remove(&s.database);
                self.on_request(st, s.to, s.database, 0, s.offset, false);
            }
            Err(e) => {
                st.out.observe(Observation::StorageError(e));
                let refusal = Message::SnapshotChunk {
                    database: s.database,
                    snapshot: 0,
                    offset: s.offset,
                    total: 0,
                    sha256: Vec::new(),
                    data: Vec::new(),
                };
                st.send(s.to, refusal);
            }
            Ok(_) => {}
        }
    }

    /// A chunk arrived from `from`: keep it, ask for the next one (paced by the rate
    /// limit), or have the whole snapshot verified and installed.
    pub(crate) fn on_chunk(&mut self, st: &mut Step, from: NodeId, chunk: Chunk) {
        let now = st.now;
        let Some(f) = self.fetches.get_mut(&chunk.database) else { return };
        if f.donor != from || f.installing {
            return;
        }
        if chunk.snapshot == 0 {
            // The donor could not take one: try again later, elsewhere.
            self.fetches.remove(&chunk.database);
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
            let rate = st.cfg.snapshot_bytes_per_sec;
            let due = got.saturating_mul(1000).checked_div(rate).map_or(now, |ms| f.started + ms);
            if before * 10 / total != got * 10 / total {
                let database = chunk.database.clone();
                st.out.observe(Observation::SnapshotProgress { database, donor: from, received: got, total });
            }
            let f = self.fetches.get_mut(&chunk.database).expect("present");
            if due > now {
                f.next_at = Some(due);
                f.last_activity = due;
                st.out.timer_at(Timer::SnapshotPace, due);
                return;
            }
            let snapshot = f.snapshot;
            st.send(from, Message::SnapshotRequest { database: chunk.database, snapshot, offset: got, shared: false });
            return;
        }
        if got != f.total {
            self.fetches.remove(&chunk.database);
            return;
        }
        f.installing = true;
        let write = StoreWrite::InstallSnapshot {
            database: chunk.database.clone(),
            me: st.me(),
            donor: from,
            bytes: std::mem::take(&mut f.data),
            sha256: f.sha256.clone(),
        };
        let bytes = f.total;
        st.out.persist(write, PendingOp::InstallSnapshot { database: chunk.database, donor: from, bytes });
    }

    /// Ask for the next chunk of every paced fetch that is due.
    pub(crate) fn on_pace(&mut self, st: &mut Step) {
        let now = st.now;
        let mut due = Vec::new();
        for (db, f) in self.fetches.iter_mut() {
            if f.next_at.is_some_and(|t| t <= now) {
                f.next_at = None;
                due.push((f.donor, db.clone(), f.snapshot, f.data.len() as u64));
            }
        }
        for (donor, database, snapshot, offset) in due {
            st.send(donor, Message::SnapshotRequest { database, snapshot, offset, shared: false });
        }
    }

    /// The snapshot of `database` is installed, or failed to install: either way the fetch
    /// is over (a failed one is fetched again by the next repair).
    pub(crate) fn finished(&mut self, database: &str) {
        self.fetches.remove(database);
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
    use super::*;
    use crate::hlc::{Hlc, HlcClock};
    use crate::io::Effect;
    use crate::membership::{MemberDigest, MemberState};
    use crate::message::Envelope;
    use crate::outbox::Outbox;

    /// Node 1 fetching from node 2, with its clock, outbox and membership.
    struct Fetcher {
        snapshots: Snapshots,
        cfg: CoreConfig,
        clock: HlcClock,
        out: Outbox,
        members: Membership,
    }

    impl Fetcher {
        fn new(cfg: CoreConfig) -> Self {
            let mut members = Membership::new(1, "n1".into(), MemberState::Alive, 1);
            let peer = MemberDigest {
                id: 2,
                addr: "n2".into(),
                state: MemberState::Alive,
                incarnation: 1,
                admin_gen: 0,
                removed: false,
                sentinel: false,
                fresh: false,
            };
            members.add_peer(peer, 0);
            Fetcher {
                snapshots: Snapshots::default(),
                cfg,
                clock: HlcClock::new(1, Hlc::default()),
                out: Outbox::new(1),
                members,
            }
        }

        /// Run `f` at `now`; the effects it produced.
        fn at(&mut self, now: Millis, f: impl FnOnce(&mut Snapshots, &mut Step, &Membership)) -> Vec<Effect> {
            let mut st = Step { now, cfg: &self.cfg, clock: &mut self.clock, out: &mut self.out };
            f(&mut self.snapshots, &mut st, &self.members);
            let mut effects = Vec::new();
            self.out.drain_into(&mut effects);
            effects
        }
    }

    fn chunk(offset: u64, len: usize) -> Chunk {
        Chunk { database: "db".into(), snapshot: 7, offset, total: 4000, sha256: vec![1; 32], data: vec![0; len] }
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
        let mut n = Fetcher::new(CoreConfig { snapshot_bytes_per_sec: 10_000, ..CoreConfig::default() });
        let first = n.at(1000, |s, st, m| s.start(st, m, "db", 2, false));
        assert_eq!(requests(&first), vec![0]);
        // 1000 bytes at 10,000 B/s: the next chunk may be asked for 100 ms after the first.
        let out = n.at(1000, |s, st, _| s.on_chunk(st, 2, chunk(0, 1000)));
        assert!(requests(&out).is_empty(), "asked again at once: {out:?}");
        assert!(out.contains(&Effect::SetTimer { timer: Timer::SnapshotPace, at: 1100 }), "{out:?}");
        let out = n.at(1050, |s, st, _| s.on_pace(st));
        assert!(requests(&out).is_empty(), "asked again early: {out:?}");
        let out = n.at(1100, |s, st, _| s.on_pace(st));
        assert_eq!(requests(&out), vec![1000]);
        // A late chunk (the budget is already spent) is followed at once.
        let out = n.at(1300, |s, st, _| s.on_chunk(st, 2, chunk(1000, 1000)));
        assert_eq!(requests(&out), vec![2000]);
        assert_eq!(n.snapshots.progress()[0].received, 2000);
        // A chunk from someone else than the donor is ignored.
        let out = n.at(1400, |s, st, _| s.on_chunk(st, 3, chunk(2000, 1000)));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(n.snapshots.progress()[0].received, 2000);
    }

    #[test]
    fn a_sentinel_is_never_asked_for_a_snapshot() {
        let mut n = Fetcher::new(CoreConfig::default());
        n.members.add_peer(
            MemberDigest {
                id: 3,
                addr: "n3".into(),
                state: MemberState::Alive,
                incarnation: 1,
                admin_gen: 0,
                removed: false,
                sentinel: true,
                fresh: false,
            },
            0,
        );
        let out = n.at(1000, |s, st, m| s.start(st, m, "db", 3, false));
        let to: Vec<NodeId> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Send(env) => Some(env.to),
                _ => None,
            })
            .collect();
        assert_eq!(to, vec![2], "asked the sentinel: {out:?}");
        assert_eq!(n.snapshots.progress()[0].donor, 2);
    }

    /// The snapshot ids `out` reads for peers (0: a new one).
    fn snapshot_reads(out: &[Effect]) -> Vec<u64> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Read { read: StoreRead::SnapshotBytes { snapshot, .. }, .. } => Some(*snapshot),
                _ => None,
            })
            .collect()
    }

    /// The store took snapshot `id` for `to`'s request.
    fn taken(n: &mut Fetcher, at: Millis, to: NodeId, id: u64) {
        let read = Ok(ReadOutcome::Snapshot { snapshot: id, total: 10, sha256: vec![1; 32], data: vec![0; 10] });
        let served = Served { to, database: "db".into(), offset: 0, reused: false, fresh: true };
        n.at(at, |s, st, _| s.on_served(st, served, read));
    }

    #[test]
    fn only_a_node_holding_nothing_is_served_a_snapshot_made_for_another() {
        let mut n = Fetcher::new(CoreConfig { snapshot_reuse_ms: 30_000, ..CoreConfig::default() });
        let out = n.at(1000, |s, st, _| s.on_request(st, 2, "db".into(), 0, 0, true));
        assert_eq!(snapshot_reads(&out), vec![0]);
        taken(&mut n, 1100, 2, 9);
        // A node starting empty gets that one; a node behind (or past a gap) a new one:
        // the older image could leave it behind the same gap again (simulation `log_gc`).
        let out = n.at(2000, |s, st, _| s.on_request(st, 3, "db".into(), 0, 0, true));
        assert_eq!(snapshot_reads(&out), vec![9]);
        let out = n.at(2000, |s, st, _| s.on_request(st, 3, "db".into(), 0, 0, false));
        assert_eq!(snapshot_reads(&out), vec![0]);
        taken(&mut n, 2100, 3, 10);
        let out = n.at(3000, |s, st, _| s.on_request(st, 4, "db".into(), 0, 0, true));
        assert_eq!(snapshot_reads(&out), vec![10], "the newest is shared");
        // Past the cache's lifetime, nobody gets it.
        let out = n.at(32_100, |s, st, _| s.on_request(st, 4, "db".into(), 0, 0, true));
        assert_eq!(snapshot_reads(&out), vec![0]);
    }
}
