//! The recent membership changes this node saw, for the dashboard.
//!
//! Recorded from the core's own `MemberChanged` observations, so every transition is kept,
//! however briefly a state lasted (a member that was DEAD for a quarter of a second before
//! it restarted still shows SUSPECT → DEAD → JOINING). Sampling the membership instead
//! would miss such states between two looks.

use std::collections::VecDeque;
use std::sync::Mutex;

use marmot_core::{MemberState, NodeId};
use serde::Serialize;

/// Membership changes kept.
pub const EVENTS_KEPT: usize = 100;

/// One member changing state in this node's view.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Event {
    /// When this node noticed (wall clock, ms since the epoch).
    pub at_ms: u64,
    /// The member.
    pub node_id: NodeId,
    /// Its state before (a member this node had not known comes from DEAD, as in the core).
    pub from: &'static str,
    /// Its state now.
    pub to: &'static str,
}

/// The last [`EVENTS_KEPT`] membership changes.
#[derive(Default)]
pub struct MemberEvents {
    recent: Mutex<VecDeque<Event>>,
}

impl MemberEvents {
    /// Record that `node_id` went from `from` to `to` at `at_ms`.
    pub fn record(&self, node_id: NodeId, from: MemberState, to: MemberState, at_ms: u64) {
        let mut recent = self.recent.lock().expect("member events");
        if recent.len() == EVENTS_KEPT {
            recent.pop_front();
        }
        recent.push_back(Event { at_ms, node_id, from: from.as_str(), to: to.as_str() });
    }

    /// The changes kept, oldest first.
    pub fn recent(&self) -> Vec<Event> {
        self.recent.lock().expect("member events").iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberState::*;

    #[test]
    fn every_change_is_kept_in_order_and_the_oldest_go_first() {
        let events = MemberEvents::default();
        events.record(2, Alive, Suspect, 10);
        events.record(2, Suspect, Dead, 11);
        events.record(3, Dead, Joining, 12); // learned of
        events.record(2, Dead, Joining, 13);
        let seen: Vec<_> = events.recent().into_iter().map(|e| (e.at_ms, e.node_id, e.from, e.to)).collect();
        assert_eq!(
            seen,
            vec![
                (10, 2, "ALIVE", "SUSPECT"),
                (11, 2, "SUSPECT", "DEAD"),
                (12, 3, "DEAD", "JOINING"),
                (13, 2, "DEAD", "JOINING"),
            ]
        );
        for i in 0..EVENTS_KEPT as u64 {
            events.record(2, Alive, Suspect, 100 + i);
        }
        let recent = events.recent();
        assert_eq!(recent.len(), EVENTS_KEPT);
        assert_eq!(recent.first().map(|e| e.at_ms), Some(100));
        assert_eq!(recent.last().map(|e| e.at_ms), Some(100 + EVENTS_KEPT as u64 - 1));
    }
}
