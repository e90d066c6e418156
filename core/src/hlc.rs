//! Hybrid logical clock.
//!
//! A timestamp is `(wall, logical, node)` ordered lexicographically, so two timestamps
//! from different nodes never compare equal. Every local event ([`HlcClock::now`]) and
//! every received timestamp ([`HlcClock::update`]) moves the clock strictly forward.
//! Transaction ids are HLC timestamps ([`TxnId`]), hence unique cluster-wide.

use serde::{Deserialize, Serialize};

use crate::{Millis, NodeId};

/// One hybrid logical clock reading. Total order: wall, then logical, then node id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Hlc {
    /// Physical component, milliseconds since the Unix epoch.
    pub wall: u64,
    /// Logical counter breaking ties within one millisecond.
    pub logical: u32,
    /// The node that issued this timestamp.
    pub node: NodeId,
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}@{}", self.wall, self.logical, self.node)
    }
}

/// A transaction id: the coordinator's HLC reading when the transaction began.
pub type TxnId = Hlc;

/// The clock of one node. It never hands out the same or a smaller timestamp twice.
#[derive(Clone, Debug)]
pub struct HlcClock {
    node: NodeId,
    last: Hlc,
}

impl HlcClock {
    /// A clock for `node` that will never issue a timestamp at or below `floor`
    /// (pass the highest timestamp recovered from storage after a restart).
    pub fn new(node: NodeId, floor: Hlc) -> Self {
        Self { node, last: Hlc { wall: floor.wall, logical: floor.logical, node } }
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A fresh timestamp for a local event at physical time `pt`.
    pub fn now(&mut self, pt: Millis) -> Hlc {
        if pt > self.last.wall {
            self.last = Hlc { wall: pt, logical: 0, node: self.node };
        } else {
            self.last = Hlc { wall: self.last.wall, logical: self.bump(self.last.logical), node: self.node };
        }
        self.last
    }

    /// Merge a timestamp received from another node at physical time `pt`; returns the
    /// new local reading, which is greater than both the previous reading and `remote`.
    pub fn update(&mut self, remote: Hlc, pt: Millis) -> Hlc {
        let wall = pt.max(self.last.wall).max(remote.wall);
        let logical = if wall == self.last.wall && wall == remote.wall {
            self.bump(self.last.logical.max(remote.logical))
        } else if wall == self.last.wall {
            self.bump(self.last.logical)
        } else if wall == remote.wall {
            self.bump(remote.logical)
        } else {
            0
        };
        self.last = Hlc { wall, logical, node: self.node };
        self.last
    }

    fn bump(&self, logical: u32) -> u32 {
        // u32 logical overflow would need four billion events in one millisecond.
        logical.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The exact readings of the HLC merge rule, one case per branch (found by
    /// cargo-mutants: the monotonicity properties alone let the branches be swapped).
    #[test]
    fn update_follows_the_hlc_rule_exactly() {
        let h = |wall, logical, node| Hlc { wall, logical, node };
        let at = |wall, logical| {
            let mut c = HlcClock::new(1, Hlc::default());
            c.last = h(wall, logical, 1);
            c
        };
        // Local and remote on the same wall, ahead of physical time: past both logicals.
        assert_eq!(at(10, 2).update(h(10, 5, 2), 3), h(10, 6, 1));
        assert_eq!(at(10, 7).update(h(10, 5, 2), 3), h(10, 8, 1));
        // Local ahead of remote: local logical + 1.
        assert_eq!(at(10, 2).update(h(7, 9, 2), 3), h(10, 3, 1));
        // Remote ahead of local: remote logical + 1.
        assert_eq!(at(8, 9).update(h(10, 4, 2), 3), h(10, 5, 1));
        // Physical time ahead of both: logical 0.
        assert_eq!(at(8, 9).update(h(10, 4, 2), 12), h(12, 0, 1));
        // The reading is what messages are stamped with.
        let mut c = at(8, 9);
        let r = c.update(h(10, 4, 2), 3);
        assert_eq!(c.last(), r);
        assert_eq!(r.to_string(), "10.5@1");
    }

    #[test]
    fn now_is_strictly_monotonic_even_when_the_wall_clock_goes_back() {
        let mut c = HlcClock::new(1, Hlc::default());
        let a = c.now(100);
        let b = c.now(50);
        let d = c.now(100);
        assert!(a < b && b < d);
        assert_eq!(b.wall, 100);
    }

    #[test]
    fn restart_floor_is_respected() {
        let floor = Hlc { wall: 1000, logical: 7, node: 3 };
        let mut c = HlcClock::new(3, floor);
        assert!(c.now(10) > floor);
    }

    proptest! {
        #[test]
        fn every_event_moves_forward(events in proptest::collection::vec((any::<bool>(), 0u64..10_000, 0u64..10_000, 0u32..5, 1u64..5), 1..200)) {
            let mut c = HlcClock::new(9, Hlc::default());
            let mut prev = c.last();
            for (local, pt, rwall, rlog, rnode) in events {
                let next = if local {
                    c.now(pt)
                } else {
                    let remote = Hlc { wall: rwall, logical: rlog, node: rnode };
                    let n = c.update(remote, pt);
                    prop_assert!(n > remote || (n.wall, n.logical) > (remote.wall, remote.logical));
                    n
                };
                prop_assert!(next > prev);
                prop_assert!(next.wall >= pt);
                prev = next;
            }
        }

        #[test]
        fn order_is_total_and_lexicographic(a in (0u64..5, 0u32..5, 0u64..5), b in (0u64..5, 0u32..5, 0u64..5)) {
            let x = Hlc { wall: a.0, logical: a.1, node: a.2 };
            let y = Hlc { wall: b.0, logical: b.1, node: b.2 };
            prop_assert_eq!(x.cmp(&y), (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        }
    }
}
