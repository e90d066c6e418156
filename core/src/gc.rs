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
}

impl Gc {
    /// `peer` has applied our log of `db` up to `pos`.
    pub(crate) fn note(&mut self, peer: NodeId, db: &str, pos: u64) {
        let w = self.watermarks.entry((peer, db.to_string())).or_insert(0);
        *w = (*w).max(pos);
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
            let upto = self.collectable(members, database, *head);
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
