//! Log garbage collection, coordinated with the peers that read the log.
//!
//! Each node deletes entries of its own log of a database on a two-tier policy: an
//! entry younger than `gc_min_retention_ms` is always kept; one older than
//! `gc_max_retention_ms` (if set) is always deleted; in between, an entry goes only once
//! every non-removed peer — down or not — has applied it. What a peer has applied (its
//! watermark) is learned from the position it asks after when it pulls, and from gossip,
//! where every node tells the receiver how far it has applied the receiver's log. A peer
//! never heard from has applied nothing, so it holds entries back until the maximum
//! retention. A peer that comes back after a forced deletion finds a gap where it left off,
//! and gap detection sends it to a snapshot.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::CoreConfig;
use crate::hlc::Hlc;
use crate::io::{Observation, StoreWrite};
use crate::membership::Membership;
use crate::outbox::{Outbox, PendingOp};
use crate::types::NodeId;
use crate::Millis;

/// Watermarks and the GC schedule.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gc {
    /// (peer, database) → how far that peer has applied our log of that database.
    watermarks: BTreeMap<(NodeId, String), u64>,
    last_run: Millis,
    /// Databases with a trim in flight.
    running: BTreeSet<String>,
    /// (local reader, database) → how far that reader has read our log of it.
    readers: BTreeMap<(String, String), u64>,
}

impl Gc {
    /// `peer` has applied our log of `db` up to `pos`.
    pub(crate) fn note(&mut self, peer: NodeId, db: &str, pos: u64) {
        let w = self.watermarks.entry((peer, db.to_string())).or_insert(0);
        *w = (*w).max(pos);
    }

    /// Local reader `reader` has read our log of `db` up to `pos` (it may go back: a
    /// replaced log is read again from an earlier position).
    pub(crate) fn note_reader(&mut self, reader: String, db: String, pos: u64) {
        self.readers.insert((reader, db), pos);
    }

    /// How far every configured local reader has read our log of `db` (`head` if none
    /// is configured; 0 while one has not reported).
    fn read_by_readers(&self, cfg: &CoreConfig, db: &str, head: u64) -> u64 {
        cfg.log_readers
            .iter()
            .map(|r| self.readers.get(&(r.clone(), db.to_string())).copied().unwrap_or(0))
            .fold(head, u64::min)
    }

    fn watermark(&self, peer: NodeId, db: &str) -> u64 {
        self.watermarks.get(&(peer, db.to_string())).copied().unwrap_or(0)
    }

    /// The position up to which every non-removed peer of `members` has applied our log
    /// of `db`, whose head is `head`.
    fn collectable(&self, members: &Membership, db: &str, head: u64) -> u64 {
        let me = members.local().digest.id;
        members
            .digests()
            .iter()
            .filter(|m| m.id != me && !m.removed)
            .map(|m| self.watermark(m.id, db))
            .fold(head, u64::min)
    }

    /// Every `gc_interval_ms`: trim each database's log (`heads`: their heads here) as far
    /// as the policy allows.
    pub(crate) fn maybe_collect(
        &mut self,
        now: Millis,
        cfg: &CoreConfig,
        members: &Membership,
        heads: &BTreeMap<String, u64>,
        out: &mut Outbox,
    ) {
        if now.saturating_sub(self.last_run) < cfg.gc_interval_ms {
            return;
        }
        self.last_run = now;
        let keep_from = Hlc { wall: now.saturating_sub(cfg.gc_min_retention_ms), logical: 0, node: 0 };
        let force_before = (cfg.gc_max_retention_ms > 0).then(|| Hlc {
            wall: now.saturating_sub(cfg.gc_max_retention_ms),
            logical: 0,
            node: 0,
        });
        for (database, head) in heads {
            if !self.running.insert(database.clone()) {
                continue;
            }
            let upto = self.collectable(members, database, *head).min(self.read_by_readers(cfg, database, *head));
            let write = StoreWrite::TrimLog { database: database.clone(), upto, keep_from, force_before };
            out.persist(write, PendingOp::TrimLog { database: database.clone(), watermark: upto });
        }
    }

    /// A trim of `database` is durable: `entries` went.
    pub(crate) fn on_trimmed(&mut self, database: String, watermark: u64, entries: u64, out: &mut Outbox) {
        self.running.remove(&database);
        if entries > 0 {
            out.observe(Observation::LogTrimmed { database, entries, watermark });
        }
    }

    /// A trim of `database` failed (it is tried again at the next interval).
    pub(crate) fn on_trim_failed(&mut self, database: &str) {
        self.running.remove(database);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Effect;
    use crate::membership::MemberState;

    fn cfg() -> CoreConfig {
        CoreConfig { gc_interval_ms: 1000, gc_min_retention_ms: 500, gc_max_retention_ms: 0, ..CoreConfig::default() }
    }

    fn members() -> Membership {
        Membership::new(1, "n1".into(), MemberState::Alive, 1)
    }

    fn heads() -> BTreeMap<String, u64> {
        BTreeMap::from([("d".to_string(), 10)])
    }

    /// The trims `f` asks for.
    fn trims(f: impl FnOnce(&mut Outbox)) -> Vec<StoreWrite> {
        let mut out = Outbox::new(1);
        f(&mut out);
        let mut effects = Vec::new();
        out.drain_into(&mut effects);
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Persist { write: w @ StoreWrite::TrimLog { .. }, .. } => Some(w),
                _ => None,
            })
            .collect()
    }

    fn observed(f: impl FnOnce(&mut Outbox)) -> usize {
        let mut out = Outbox::new(1);
        f(&mut out);
        let mut effects = Vec::new();
        out.drain_into(&mut effects);
        effects.iter().filter(|e| matches!(e, Effect::Observe(Observation::LogTrimmed { .. }))).count()
    }

    #[test]
    fn trims_once_per_interval_and_one_at_a_time_per_database() {
        let (cfg, m) = (cfg(), members());
        let mut gc = Gc::default();
        let first = trims(|o| gc.maybe_collect(1000, &cfg, &m, &heads(), o));
        // No maximum retention (0): nothing is ever deleted by force.
        assert!(matches!(first.as_slice(), [StoreWrite::TrimLog { force_before: None, .. }]), "{first:?}");
        // Not before the interval has passed, even one millisecond before.
        assert!(trims(|o| gc.maybe_collect(1001, &cfg, &m, &heads(), o)).is_empty());
        assert!(trims(|o| gc.maybe_collect(1999, &cfg, &m, &heads(), o)).is_empty());
        // The interval passed, but the first trim is still in flight: no second one.
        assert!(trims(|o| gc.maybe_collect(2000, &cfg, &m, &heads(), o)).is_empty());
        gc.on_trimmed("d".into(), 10, 3, &mut Outbox::new(1));
        assert_eq!(trims(|o| gc.maybe_collect(3000, &cfg, &m, &heads(), o)).len(), 1);
    }

    #[test]
    fn a_failed_trim_is_tried_again_at_the_next_interval() {
        let (cfg, m) = (cfg(), members());
        let mut gc = Gc::default();
        assert_eq!(trims(|o| gc.maybe_collect(1000, &cfg, &m, &heads(), o)).len(), 1);
        gc.on_trim_failed("d");
        assert_eq!(trims(|o| gc.maybe_collect(2000, &cfg, &m, &heads(), o)).len(), 1);
    }

    #[test]
    fn only_a_trim_that_removed_entries_is_reported() {
        let mut gc = Gc::default();
        assert_eq!(observed(|o| gc.on_trimmed("d".into(), 10, 0, o)), 0);
        assert_eq!(observed(|o| gc.on_trimmed("d".into(), 10, 1, o)), 1);
        assert_eq!(observed(|o| gc.on_trimmed("d".into(), 10, 7, o)), 1);
    }

    #[test]
    fn the_watermark_is_the_slowest_non_removed_peer_and_never_past_the_head() {
        let mut m = members();
        for (id, removed) in [(2, false), (3, false), (4, true)] {
            let d = crate::membership::MemberDigest {
                id,
                addr: format!("n{id}"),
                state: MemberState::Alive,
                incarnation: 1,
                admin_gen: u64::from(removed),
                removed,
                sentinel: false,
                fresh: false,
            };
            m.add_peer(d, 0);
        }
        let mut gc = Gc::default();
        gc.note(2, "d", 8);
        gc.note(2, "d", 5); // watermarks only grow
        gc.note(4, "d", 1); // removed: does not hold the log back
        assert_eq!(gc.collectable(&m, "d", 10), 0, "peer 3 was never heard from");
        gc.note(3, "d", 6);
        assert_eq!(gc.collectable(&m, "d", 10), 6);
        gc.note(3, "d", 50);
        assert_eq!(gc.collectable(&m, "d", 10), 8);
        assert_eq!(gc.collectable(&m, "d", 7), 7);
        let with_reader = CoreConfig { log_readers: vec!["nats".into()], ..CoreConfig::default() };
        assert_eq!(gc.read_by_readers(&with_reader, "d", 10), 0, "a reader not heard from holds everything");
        gc.note_reader("nats".into(), "d".into(), 4);
        assert_eq!(gc.read_by_readers(&with_reader, "d", 10), 4);
        gc.note_reader("nats".into(), "d".into(), u64::MAX);
        assert_eq!(gc.read_by_readers(&with_reader, "d", 10), 10);
        assert_eq!(gc.read_by_readers(&CoreConfig::default(), "d", 10), 10, "no reader configured");
        let upto = |w: &StoreWrite| match w {
            StoreWrite::TrimLog { upto, keep_from, force_before, .. } => {
                (*upto, keep_from.wall, force_before.map(|h| h.wall))
            }
            _ => unreachable!(),
        };
        let cfg = CoreConfig { gc_max_retention_ms: 4000, ..cfg() };
        let got = trims(|o| gc.maybe_collect(10_000, &cfg, &m, &heads(), o));
        assert_eq!(got.iter().map(upto).collect::<Vec<_>>(), vec![(8, 9_500, Some(6_000))]);
    }
}
