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

use crate::config::CoreConfig;
use crate::hlc::TxnId;
use crate::io::{Observation, StoreRead, StoreWrite};
use crate::message::{LogEntry, Message};
use crate::outbox::{Outbox, PendingOp, Step};
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
    /// Databases installed from a snapshot since this node started. What they lack is
    /// what was written while the snapshot travelled, and delta sync closes that: judged
    /// by the thresholds again, a node whose transfer is paced slower than the write rate
    /// would fetch snapshot after snapshot and never catch up. Only a gap (the log
    /// collected) sends them back to a snapshot.
    snapshotted: BTreeSet<String>,
    /// Databases whose log floor is being raised (see [`CatchUp::on_peer_applied`]).
    raising_floor: BTreeSet<String>,
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

impl Lag {
    /// Too far behind for delta sync (more than `delta_sync_threshold_txns` transactions,
    /// or behind for longer than `delta_sync_threshold_ms`)? Then a snapshot repairs it.
    pub(crate) fn past_thresholds(&self, cfg: &CoreConfig) -> bool {
        cfg.anti_entropy
            && (self.transactions > cfg.delta_sync_threshold_txns || self.behind_ms > cfg.delta_sync_threshold_ms)
    }
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

    /// A peer reports having applied our log of `db` up to `pos`: past our head, our log
    /// lost entries it had (a disk lost or rolled back), and its floor is raised before
    /// anything new is logged at a sequence that peer takes for one it has (issued once
    /// until it completes).
    pub(crate) fn on_peer_applied(&mut self, out: &mut Outbox, db: &str, pos: u64) {
        if pos > self.heads.get(db).copied().unwrap_or(0) && self.raising_floor.insert(db.to_string()) {
            let write = StoreWrite::RaiseLogFloor { database: db.to_string(), floor: pos };
            out.persist(write, PendingOp::RaiseLogFloor { database: db.to_string() });
        }
    }

    /// The raise of `db`'s log floor completed or failed (its head arrives with the outcome).
    pub(crate) fn floor_raised(&mut self, db: &str) {
        self.raising_floor.remove(db);
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
        self.snapshotted.insert(db.to_string());
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

    /// This node's position in `peer`'s log of `db`, and that log's head as last heard.
    pub(crate) fn position_in(&self, peer: NodeId, db: &str) -> (u64, u64) {
        (self.position(peer, db), self.peer_heads.get(&(peer, db.to_string())).copied().unwrap_or(0))
    }

    /// Whether this node holds nothing of `db` yet: no entry of its own log and nothing
    /// applied from any peer's (a brand-new node, which starts from a snapshot).
    pub(crate) fn never_applied(&self, db: &str) -> bool {
        self.heads.get(db).copied().unwrap_or(0) == 0 && !self.progress.iter().any(|((_, d), pos)| d == db && *pos > 0)
    }

    /// Where a pull should start, if one is due for (peer, db).
    fn due(&self, peer: NodeId, db: &str) -> Option<u64> {
        let key = (peer, db.to_string());
        let head = *self.peer_heads.get(&key)?;
        let pos = self.position(peer, db);
        (pos < head && !self.pulls.contains_key(&key) && !self.gaps.contains(&key)).then_some(pos)
    }

    /// Every peer's log of every database this node has heard of, and how far behind it
    /// this node is, at `now`.
    pub(crate) fn lags(&self, now: Millis) -> Vec<Lag> {
        self.peer_heads.keys().map(|key| self.lag(key, now)).collect()
    }

    /// `from` reported its log heads: note them (the first report heard from each peer
    /// while joining sets the targets to reach before this node is ALIVE). Returns the
    /// databases reported, to pull from.
    pub(crate) fn on_peer_heads(
        &mut self,
        from: NodeId,
        heads: BTreeMap<String, u64>,
        joining: bool,
        now: Millis,
    ) -> Vec<String> {
        let first = self.heard.insert(from);
        let mut dbs = Vec::with_capacity(heads.len());
        for (db, head) in heads {
            let key = (from, db.clone());
            if joining && first {
                self.join_targets.insert(key.clone(), head);
            }
            let cur = self.peer_heads.entry(key.clone()).or_insert(0);
            *cur = (*cur).max(head);
            self.note_lag(&key, now);
            dbs.push(db);
        }
        dbs
    }

    /// The peers with a head for `db`, their lag noted at `now` (after a snapshot of it:
    /// pulls resume from each).
    pub(crate) fn peers_of(&mut self, db: &str, now: Millis) -> Vec<NodeId> {
        let peers: Vec<NodeId> = self.peer_heads.keys().filter(|(_, d)| d == db).map(|(p, _)| *p).collect();
        for p in &peers {
            self.note_lag(&(*p, db.to_string()), now);
        }
        peers
    }

    /// Forget pulls unanswered for `timeout`; every (peer, database) to pull from again.
    pub(crate) fn expire_pulls(&mut self, now: Millis, timeout: Millis) -> Vec<Pos> {
        self.pulls.retain(|_, since| now.saturating_sub(*since) < timeout);
        self.peer_heads.keys().cloned().collect()
    }

    /// Pull `db` from `peer` if a pull is due: returns [`Pull::Snapshot`] instead when this
    /// node is joining and holds nothing of `db` yet, or is past the delta-sync thresholds
    /// and has not installed a snapshot of `db` since it started.
    pub(crate) fn pull(&mut self, st: &mut Step, peer: NodeId, db: &str, joining: bool) -> Pull {
        let fresh = self.never_applied(db);
        let far_behind =
            !self.snapshotted.contains(db) && self.lag(&(peer, db.to_string()), st.now).past_thresholds(st.cfg);
        if joining && self.due(peer, db).is_some() && (fresh || far_behind) {
            return Pull::Snapshot;
        }
        if let Some(after) = self.due(peer, db) {
            self.pulls.insert((peer, db.to_string()), st.now);
            let limit = st.cfg.catchup_batch as u32;
            st.send(peer, Message::PullLog { database: db.to_string(), after, limit });
            return Pull::Asked;
        }
        Pull::NotDue
    }

    /// A peer asks for the entries of our log of `database` after `after`: read them.
    pub(crate) fn serve(st: &mut Step, from: NodeId, database: String, after: u64, limit: u32) {
        let limit = limit.clamp(1, st.cfg.catchup_batch.max(1) as u32);
        let read = StoreRead::LogRange { database: database.clone(), after, limit };
        st.out.read(read, PendingOp::ServeLog { to: from, database, after });
    }

    /// Entries of `from`'s log of `db` after `after` arrived: apply them, or find a gap.
    pub(crate) fn on_chunk(
        &mut self,
        st: &mut Step,
        from: NodeId,
        db: String,
        after: u64,
        entries: Vec<LogEntry>,
        head: u64,
    ) -> Chunk {
        let key = (from, db.clone());
        if !self.pulls.contains_key(&key) || after != self.position(from, &db) {
            return Chunk::Stale;
        }
        let ph = self.peer_heads.entry(key.clone()).or_insert(0);
        *ph = (*ph).max(head);
        self.note_lag(&key, st.now);
        let Some(first) = entries.first() else {
            self.pulls.remove(&key);
            return Chunk::Level;
        };
        if first.seq != after + 1 {
            self.pulls.remove(&key);
            self.gaps.insert(key);
            st.out.observe(Observation::LogGap { peer: from, database: db, after, first: first.seq });
            return Chunk::Gap;
        }
        let last_seq = entries.last().map(|e| e.seq).unwrap_or(after);
        let txn_ids: Vec<TxnId> = entries.iter().map(|e| e.txn.id).collect();
        st.out.persist(
            StoreWrite::ApplyLog { peer: from, database: db.clone(), entries },
            PendingOp::ApplyLog { peer: from, database: db, last_seq, head, txn_ids },
        );
        Chunk::Applying
    }

    /// Entries of `peer`'s log of `db` up to `last_seq` are applied (its head: `head`).
    pub(crate) fn on_applied(&mut self, st: &mut Step, peer: NodeId, db: &str, last_seq: u64, head: u64) {
        let key = (peer, db.to_string());
        let pos = self.progress.entry(key.clone()).or_insert(0);
        let before = *pos;
        *pos = (*pos).max(last_seq);
        if head.saturating_sub(before) >= 100 && before / 100 != last_seq / 100 {
            // A real catch-up (not the steady trickle): report every 100 transactions.
            let o = Observation::CatchUpProgress { peer, database: db.to_string(), position: last_seq, head };
            st.out.observe(o);
        }
        self.note_lag(&key, st.now);
        self.pulls.remove(&key);
    }
}

/// What [`CatchUp::pull`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pull {
    /// Nothing to pull, or a pull already on its way.
    NotDue,
    /// Asked for the next entries.
    Asked,
    /// Delta sync will not do: start from a snapshot.
    Snapshot,
}

/// What became of a chunk of a peer's log ([`CatchUp::on_chunk`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Not the answer to the pull on its way.
    Stale,
    /// Nothing after our position: level with that log.
    Level,
    /// The peer no longer has the entries after our position: repair by snapshot.
    Gap,
    /// Its entries are being applied.
    Applying,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::{Hlc, HlcClock};

    /// A joining node past the thresholds starts from a snapshot; once one is installed,
    /// what was written while it travelled comes by delta sync, however much it is (a
    /// paced transfer slower than the write rate would otherwise never end).
    #[test]
    fn after_a_snapshot_the_rest_comes_by_delta_sync() {
        let cfg = CoreConfig { delta_sync_threshold_txns: 10, ..CoreConfig::default() };
        let mut clock = HlcClock::new(1, Hlc { wall: 0, logical: 0, node: 1 });
        let mut out = Outbox::new(1);
        let mut st = Step { now: 1_000, cfg: &cfg, clock: &mut clock, out: &mut out };
        let mut c = CatchUp::new(BTreeMap::from([("app".to_string(), 5)]), BTreeMap::new(), BTreeMap::new());
        c.on_peer_heads(2, BTreeMap::from([("app".to_string(), 500)]), true, 1_000);
        assert_eq!(c.pull(&mut st, 2, "app", true), Pull::Snapshot);
        // The snapshot stands for 300 of peer 2's entries; 200 more came meanwhile.
        c.reset_positions("app", BTreeMap::from([(2, 300)]));
        assert_eq!(c.pull(&mut st, 2, "app", true), Pull::Asked);
    }
}
