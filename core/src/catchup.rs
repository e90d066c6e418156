//! Catch-up by delta sync.
//!
//! Every node appends each transaction it applies to its own log of that database, with
//! a per-node, per-database sequence number. A node remembers, per peer and database,
//! the last position of that peer's log it has applied. Gossip carries each node's log
//! heads; whenever a peer's head is past our position we pull the entries after it, in
//! chunks, and apply them exactly once with LWW (applied markers make replays harmless).
//! A chunk that does not start right after the position asked for means the peer no
//! longer has what we need: that is a gap, reported and never skipped (snapshots, which
//! repair it, arrive with log GC).

use std::collections::{BTreeMap, BTreeSet};

use crate::hlc::TxnId;
use crate::io::{Observation, StoreRead, StoreWrite};
use crate::membership::MemberState;
use crate::message::{LogEntry, Message};
use crate::node::Node;
use crate::outbox::PendingOp;
use crate::types::NodeId;
use crate::Millis;

type Pos = (NodeId, String);

/// Log heads and per-peer progress.
#[derive(Clone, Debug, Default)]
pub(crate) struct CatchUp {
    heads: BTreeMap<String, u64>,
    progress: BTreeMap<Pos, u64>,
    peer_heads: BTreeMap<Pos, u64>,
    pulls: BTreeMap<Pos, Millis>,
    join_targets: BTreeMap<Pos, u64>,
    heard: BTreeSet<NodeId>,
    gaps: BTreeSet<Pos>,
    /// Since when our position in a peer's log has been behind its head.
    behind_since: BTreeMap<Pos, Millis>,
    /// Schema version per database.
    schemas: BTreeMap<String, u64>,
}

/// Raise each entry of `into` to the value in `from` (versions and heads only grow).
fn merge_max(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (db, v) in from {
        let cur = into.entry(db.clone()).or_insert(0);
        *cur = (*cur).max(*v);
    }
}

/// How far this node is behind one peer's log of one database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lag {
    /// The peer.
    pub peer: NodeId,
    /// The database.
    pub database: String,
    /// Transactions of the peer's log not yet applied here.
    pub transactions: u64,
    /// How long this node has been behind that log (0 when level).
    pub behind_ms: Millis,
}

impl CatchUp {
    pub(crate) fn new(
        heads: BTreeMap<String, u64>,
        progress: BTreeMap<Pos, u64>,
        schemas: BTreeMap<String, u64>,
    ) -> Self {
        Self { heads, progress, schemas, ..Default::default() }
    }

    pub(crate) fn schemas(&self) -> &BTreeMap<String, u64> {
        &self.schemas
    }

    /// Schema versions reported by a completed write.
    pub(crate) fn merge_schemas(&mut self, schemas: &BTreeMap<String, u64>) {
        merge_max(&mut self.schemas, schemas);
    }

    pub(crate) fn heads(&self) -> &BTreeMap<String, u64> {
        &self.heads
    }

    pub(crate) fn merge_heads(&mut self, heads: &BTreeMap<String, u64>) {
        merge_max(&mut self.heads, heads);
    }

    fn position(&self, peer: NodeId, db: &str) -> u64 {
        self.progress.get(&(peer, db.to_string())).copied().unwrap_or(0)
    }

    /// How far this node has applied `peer`'s log, per database.
    pub(crate) fn applied_of(&self, peer: NodeId) -> BTreeMap<String, u64> {
        self.progress.iter().filter(|((p, _), _)| *p == peer).map(|((_, db), pos)| (db.clone(), *pos)).collect()
    }

    pub(crate) fn clear_pull(&mut self, peer: NodeId, db: &str) {
        self.pulls.remove(&(peer, db.to_string()));
    }

    pub(crate) fn heard_from(&self) -> BTreeSet<NodeId> {
        self.heard.clone()
    }

    pub(crate) fn level_with_join_targets(&self) -> bool {
        self.join_targets.iter().all(|((p, db), target)| self.position(*p, db) >= *target)
    }

    /// Databases with a gap in some peer's log.
    pub(crate) fn gap_databases(&self) -> BTreeSet<String> {
        self.gaps.iter().map(|(_, db)| db.clone()).collect()
    }

    /// After a snapshot of `db`: the positions it stands for replace ours, and gaps and
    /// pulls of `db` are forgotten.
    pub(crate) fn reset_positions(&mut self, db: &str, positions: BTreeMap<NodeId, u64>) {
        self.progress.retain(|(_, d), _| d != db);
        self.gaps.retain(|(_, d)| d != db);
        self.pulls.retain(|(_, d), _| d != db);
        self.behind_since.retain(|(_, d), _| d != db);
        for (peer, pos) in positions {
            self.progress.insert((peer, db.to_string()), pos);
        }
        // Whatever the join targets were, the snapshot's positions now decide.
        for ((p, d), target) in self.join_targets.iter_mut() {
            if d == db {
                *target = (*target).min(self.progress.get(&(*p, d.clone())).copied().unwrap_or(0));
            }
        }
    }

    /// How far behind `key`'s log this node is at `now`.
    pub(crate) fn lag(&self, key: &Pos, now: Millis) -> Lag {
        let head = self.peer_heads.get(key).copied().unwrap_or(0);
        Lag {
            peer: key.0,
            database: key.1.clone(),
            transactions: head.saturating_sub(self.position(key.0, &key.1)),
            behind_ms: self.behind_since.get(key).map_or(0, |t| now.saturating_sub(*t)),
        }
    }

    /// Record whether we are behind `key`'s head at `now`.
    pub(crate) fn note_lag(&mut self, key: &Pos, now: Millis) {
        let head = self.peer_heads.get(key).copied().unwrap_or(0);
        if self.position(key.0, &key.1) < head {
            self.behind_since.entry(key.clone()).or_insert(now);
        } else {
            self.behind_since.remove(key);
        }
    }

    /// Whether this node holds nothing of `db` yet: no entry of its own log and nothing
    /// applied from any peer's (a brand-new node, which starts from a snapshot).
    fn never_applied(&self, db: &str) -> bool {
        self.heads.get(db).copied().unwrap_or(0) == 0 && !self.progress.iter().any(|((_, d), pos)| d == db && *pos > 0)
    }

    /// Where a pull should start, if one is due for (peer, db).
    fn due(&self, peer: NodeId, db: &str) -> Option<u64> {
        let key = (peer, db.to_string());
        let head = *self.peer_heads.get(&key)?;
        let pos = self.position(peer, db);
        (pos < head && !self.pulls.contains_key(&key) && !self.gaps.contains(&key)).then_some(pos)
    }
}

impl Node {
    /// How far behind each peer's log of each database this node is, at `now`.
    pub fn replication_lag(&self, now: Millis) -> Vec<Lag> {
        self.catchup.peer_heads.keys().map(|key| self.catchup.lag(key, now)).collect()
    }

    /// This node's schema version per database.
    pub fn schema_versions(&self) -> &BTreeMap<String, u64> {
        self.catchup.schemas()
    }

    /// A peer's schema versions: a newer schema there than here means schema changes to
    /// pull (they travel in the peer's log like any transaction).
    pub(crate) fn on_peer_schemas(&mut self, from: NodeId, schemas: BTreeMap<String, u64>) {
        for (db, v) in schemas {
            let ours = self.catchup.schemas.get(&db).copied().unwrap_or(0);
            if v > ours {
                self.pull_if_due(from, &db);
            }
        }
    }

    pub(crate) fn on_peer_heads(&mut self, from: NodeId, heads: BTreeMap<String, u64>) {
        let joining = self.members.local().digest.state == MemberState::Joining;
        let first = self.catchup.heard.insert(from);
        for (db, head) in heads {
            let key = (from, db.clone());
            if joining && first {
                self.catchup.join_targets.insert(key.clone(), head);
            }
            let cur = self.catchup.peer_heads.entry(key.clone()).or_insert(0);
            *cur = (*cur).max(head);
            self.catchup.note_lag(&key, self.now);
            self.pull_if_due(from, &db);
        }
        self.maybe_caught_up();
    }

    /// Pull (or snapshot) again from every peer with a head for `db`.
    pub(crate) fn resume_pulls(&mut self, db: &str) {
        let peers: Vec<NodeId> = self.catchup.peer_heads.keys().filter(|(_, d)| d == db).map(|(p, _)| *p).collect();
        for p in peers {
            self.catchup.note_lag(&(p, db.to_string()), self.now);
            self.pull_if_due(p, db);
        }
    }

    fn pull_if_due(&mut self, peer: NodeId, db: &str) {
        if self.fetching(db) {
            return;
        }
        let joining = self.members.local().digest.state == MemberState::Joining;
        let fresh = self.catchup.never_applied(db);
        if joining && self.catchup.due(peer, db).is_some() && (fresh || self.needs_snapshot(peer, db)) {
            self.start_snapshot(db, peer);
            return;
        }
        if let Some(after) = self.catchup.due(peer, db) {
            self.catchup.pulls.insert((peer, db.to_string()), self.now);
            let limit = self.cfg.catchup_batch as u32;
            self.send(peer, Message::PullLog { database: db.to_string(), after, limit });
        }
    }

    /// Forget pulls that got no answer, and start any that are due.
    pub(crate) fn retry_pulls(&mut self) {
        let now = self.now;
        let timeout = self.cfg.catchup_timeout_ms;
        self.catchup.pulls.retain(|_, since| now.saturating_sub(*since) < timeout);
        let keys: Vec<Pos> = self.catchup.peer_heads.keys().cloned().collect();
        for (peer, db) in keys {
            if !self.members.is_removed(peer) {
                self.pull_if_due(peer, &db);
            }
        }
    }

    pub(crate) fn on_pull(&mut self, from: NodeId, database: String, after: u64, limit: u32) {
        // Asking after `after` says the peer has applied our log up to there.
        self.gc.note(from, &database, after);
        let limit = limit.clamp(1, self.cfg.catchup_batch.max(1) as u32);
        let read = StoreRead::LogRange { database: database.clone(), after, limit };
        self.read(read, PendingOp::ServeLog { to: from, database, after });
    }

    pub(crate) fn on_chunk(&mut self, from: NodeId, db: String, after: u64, entries: Vec<LogEntry>, head: u64) {
        let key = (from, db.clone());
        if !self.catchup.pulls.contains_key(&key) || after != self.catchup.position(from, &db) {
            return; // a stale or duplicate answer
        }
        let ph = self.catchup.peer_heads.entry(key.clone()).or_insert(0);
        *ph = (*ph).max(head);
        self.catchup.note_lag(&key, self.now);
        let Some(first) = entries.first() else {
            self.catchup.pulls.remove(&key);
            self.maybe_caught_up();
            return;
        };
        if first.seq != after + 1 {
            self.catchup.pulls.remove(&key);
            self.catchup.gaps.insert(key);
            self.observe(Observation::LogGap { peer: from, database: db.clone(), after, first: first.seq });
            // The peer no longer has what we need: repair by snapshot, never skip.
            if self.cfg.anti_entropy {
                self.start_snapshot(&db, from);
            }
            return;
        }
        let last_seq = entries.last().map(|e| e.seq).unwrap_or(after);
        let txn_ids: Vec<TxnId> = entries.iter().map(|e| e.txn.id).collect();
        self.persist(
            StoreWrite::ApplyLog { peer: from, database: db.clone(), entries },
            PendingOp::ApplyLog { peer: from, database: db, last_seq, head, txn_ids },
        );
    }

    pub(crate) fn on_applied_log(&mut self, peer: NodeId, db: String, last_seq: u64, head: u64, txn_ids: Vec<TxnId>) {
        let key = (peer, db.clone());
        let pos = self.catchup.progress.entry(key.clone()).or_insert(0);
        let before = *pos;
        *pos = (*pos).max(last_seq);
        if head.saturating_sub(before) >= 100 && before / 100 != last_seq / 100 {
            // A real catch-up (not the steady trickle): report every 100 transactions.
            let o = Observation::CatchUpProgress { peer, database: db.clone(), position: last_seq, head };
            self.observe(o);
        }
        self.catchup.note_lag(&key, self.now);
        self.catchup.pulls.remove(&key);
        for id in txn_ids {
            // Committed somewhere: a prepared copy here can commit too.
            if self.part.prepared.contains_key(&id) {
                self.commit_local(id);
            } else {
                self.decided.entry(id).or_insert(true);
            }
        }
        if last_seq < head {
            self.pull_if_due(peer, &db);
        }
        self.maybe_caught_up();
    }
}
