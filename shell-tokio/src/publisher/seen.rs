//! What a standby has seen the publishing node publish, so that its own cursors follow
//! and a takeover repeats (almost) nothing.
//!
//! Nodes apply concurrent transactions in different orders, so a standby cannot move its
//! cursor to "where the publisher is": it moves over each entry of its own log only once
//! every event that entry makes has been seen in the stream (or the entry makes none).
//! An entry is never passed on the strength of some of its events: a publisher that died
//! in the middle of a batch left the rest unpublished.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::broker::Published;

/// Events seen in the stream whose entries this node's cursors have not passed yet.
#[derive(Default)]
pub struct Seen {
    by_db: BTreeMap<String, BTreeMap<String, Pending>>,
}

struct Pending {
    /// The first stream sequence of the transaction's events seen.
    stream_seq: u64,
    indexes: BTreeSet<usize>,
    since: Instant,
}

impl Seen {
    /// Remember one event found in the stream.
    pub fn add(&mut self, p: &Published, now: Instant) {
        let pending = self.by_db.entry(p.db.clone()).or_default().entry(p.txn.clone()).or_insert(Pending {
            stream_seq: p.stream_seq,
            indexes: BTreeSet::new(),
            since: now,
        });
        pending.indexes.insert(p.index);
    }

    /// Whether every event `indexes` of `txn` in `db` was seen; forgets them if so.
    pub fn take_if_complete(&mut self, db: &str, txn: &str, indexes: &[usize]) -> bool {
        let Some(txns) = self.by_db.get_mut(db) else { return false };
        let complete = txns.get(txn).is_some_and(|p| indexes.iter().all(|i| p.indexes.contains(i)));
        if complete {
            txns.remove(txn);
        }
        complete
    }

    /// Forget what was seen longer than `age` ago and never matched: entries this node's
    /// cursor had passed already (read again after a restart), or a log far behind.
    pub fn prune(&mut self, now: Instant, age: Duration) {
        for txns in self.by_db.values_mut() {
            txns.retain(|_, p| now.duration_since(p.since) < age);
        }
        self.by_db.retain(|_, t| !t.is_empty());
    }

    /// The stream position to save, `read` being the last one read: just before the
    /// oldest event still waiting for its entry, so a restart reads it again.
    pub fn safe_position(&self, read: u64) -> u64 {
        let oldest = self.by_db.values().flat_map(|t| t.values()).map(|p| p.stream_seq).min();
        oldest.map_or(read, |s| s.saturating_sub(1).min(read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u64, txn: &str, index: usize) -> Published {
        Published { stream_seq: seq, txn: txn.into(), db: "app".into(), index }
    }

    #[test]
    fn an_entry_is_passed_only_once_all_its_events_were_seen() {
        let now = Instant::now();
        let mut s = Seen::default();
        s.add(&p(5, "t1", 0), now);
        assert!(!s.take_if_complete("app", "t1", &[0, 2]), "event 2 of t1 was not published yet");
        assert_eq!(s.safe_position(5), 4, "t1's events are read again after a restart");
        s.add(&p(6, "t1", 2), now);
        assert!(s.take_if_complete("app", "t1", &[0, 2]));
        assert!(!s.take_if_complete("app", "t1", &[0, 2]), "forgotten once passed");
        assert!(!s.take_if_complete("other", "t1", &[0]));
        assert_eq!(s.safe_position(6), 6);
    }

    #[test]
    fn old_unmatched_events_are_forgotten() {
        let now = Instant::now();
        let mut s = Seen::default();
        s.add(&p(3, "t0", 0), now);
        s.prune(now + Duration::from_secs(5), Duration::from_secs(60));
        assert_eq!(s.safe_position(9), 2);
        s.prune(now + Duration::from_secs(61), Duration::from_secs(60));
        assert_eq!(s.safe_position(9), 9);
    }
}
