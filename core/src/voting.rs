//! The commit rule of QUORUM and ALL writes: an outcome decided by what the members
//! other than the coordinator durably hold, so that any node can decide it — also when the
//! coordinator and its disk are gone for good.
//!
//! The coordinator stages (durably prepares) a transaction locally *before* it sends
//! PREPARE to anyone, so every member that received a PREPARE knows the coordinator holds
//! it. Each other member then either stages it ("staged", a yes vote) or durably promises
//! never to stage it ("refused": a conflict vote, or an answer to a fencing status query).
//! Both are permanent until the outcome is known. With `others` the members other than the
//! coordinator at PREPARE time and `commit_needs` the yes votes the level asks for:
//! - **committed** once `commit_needs` others staged it (with the coordinator, that is the
//!   level's number of copies — a quorum, or everyone);
//! - **aborted** once `others - commit_needs + 1` others refused it: then at most
//!   `commit_needs - 1` can ever stage it.
//!
//! The two thresholds add up to more than `others`, so no transaction meets both. The
//! coordinator answers its client once the commit threshold is met and its own commit is
//! durable: one round trip. A node that finds a transaction in doubt (its coordinator
//! silent, or the coordinator's own answer timed out) asks every member, fencing those that
//! hold nothing, and applies the same rule to the answers (CockroachDB's parallel commits
//! recover the same way: from what the writes' holders have staged).
//!
//! ONE writes (and transactions from nodes that predate the rule) carry no voting members:
//! their coordinator's word decides them, as before.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::message::TxnStatus;
use crate::types::NodeId;

/// Who votes on a transaction and how many yes votes commit it. Empty `members`: the
/// coordinator alone decides (ONE, or a transaction from an older node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voting {
    /// Every member at PREPARE time (REMOVED ones excluded), the coordinator included; sorted.
    pub members: Vec<NodeId>,
    /// Members other than the coordinator that must stage the transaction to commit it.
    pub commit_needs: u32,
    /// Members the coordinator did not send PREPARE to (it held them DEAD or SUSPECT):
    /// only the coordinator sends PREPARE, so they can never stage it — each counts as a
    /// refusal, and a conflict among the members it did ask can abort at once.
    pub unasked: Vec<NodeId>,
}

impl Voting {
    /// The rule for a write needing `needed` durable copies (the coordinator's among them)
    /// out of `members`.
    pub fn new(mut members: Vec<NodeId>, needed: usize, asked: &[NodeId]) -> Self {
        members.sort_unstable();
        members.dedup();
        debug_assert!(needed >= 1 && needed <= members.len(), "{needed} copies of {} members", members.len());
        let unasked = members.iter().copied().filter(|m| !asked.contains(m)).collect();
        Voting { members, commit_needs: needed.saturating_sub(1) as u32, unasked }
    }

    /// Whether the rule applies (false: the coordinator's word decides).
    pub fn is_counted(&self) -> bool {
        !self.members.is_empty()
    }

    /// Members other than the coordinator.
    fn others(&self, coordinator: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.members.iter().copied().filter(move |m| *m != coordinator)
    }

    /// Refusals that make a commit impossible.
    pub fn abort_needs(&self, coordinator: NodeId) -> u32 {
        let others = self.others(coordinator).count() as u32;
        others + 1 - self.commit_needs.min(others)
    }

    /// The outcome the answers decide (true: committed), if they decide one. `answers`
    /// holds each member's last word: `Pending` = staged, `Aborted` = refused (a member
    /// that learned the abort holds it as a refusal too), `Committed` = the outcome.
    pub fn verdict(&self, coordinator: NodeId, answers: &BTreeMap<NodeId, TxnStatus>) -> Option<bool> {
        if answers.values().any(|s| *s == TxnStatus::Committed) {
            return Some(true);
        }
        let count = |want: TxnStatus| self.others(coordinator).filter(|m| answers.get(m) == Some(&want)).count() as u32;
        let staged = count(TxnStatus::Pending);
        let refused = self
            .others(coordinator)
            .filter(|m| answers.get(m) == Some(&TxnStatus::Aborted) || self.unasked.contains(m))
            .count() as u32;
        debug_assert!(
            staged < self.commit_needs || refused < self.abort_needs(coordinator),
            "both thresholds met: {staged} staged, {refused} refused of {:?}",
            self.members
        );
        if staged >= self.commit_needs {
            Some(true)
        } else if refused >= self.abort_needs(coordinator) {
            Some(false)
        } else {
            None
        }
    }

    /// The members to ask about the transaction, other than `me`.
    pub fn peers_of(&self, me: NodeId) -> Vec<NodeId> {
        self.members.iter().copied().filter(|m| *m != me).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(list: &[(NodeId, TxnStatus)]) -> BTreeMap<NodeId, TxnStatus> {
        list.iter().copied().collect()
    }

    #[test]
    fn three_nodes_at_quorum_commit_on_one_other_copy_and_abort_on_two_refusals() {
        let v = Voting::new(vec![3, 1, 2], 2, &[1, 2, 3]);
        assert_eq!((v.commit_needs, v.abort_needs(1)), (1, 2));
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Pending)])), Some(true));
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Aborted)])), None);
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Aborted), (3, TxnStatus::Aborted)])), Some(false));
        // The coordinator's own word counts for nothing (its disk may be gone).
        assert_eq!(v.verdict(1, &answers(&[(1, TxnStatus::Pending)])), None);
        assert_eq!(v.verdict(1, &answers(&[(1, TxnStatus::Aborted), (2, TxnStatus::Aborted)])), None);
        // Unknown (a node catching up after a lost disk) counts neither way.
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Unknown), (3, TxnStatus::Aborted)])), None);
    }

    #[test]
    fn all_needs_every_copy_and_one_refusal_aborts() {
        let v = Voting::new(vec![1, 2, 3, 4, 5], 5, &[1, 2, 3, 4, 5]);
        assert_eq!((v.commit_needs, v.abort_needs(2)), (4, 1));
        assert_eq!(v.verdict(2, &answers(&[(1, TxnStatus::Aborted)])), Some(false));
        let staged: Vec<_> = [1, 3, 4, 5].iter().map(|m| (*m, TxnStatus::Pending)).collect();
        assert_eq!(v.verdict(2, &answers(&staged)), Some(true));
    }

    #[test]
    fn a_single_node_commits_on_its_own_copy() {
        let v = Voting::new(vec![1], 1, &[1]);
        assert_eq!(v.verdict(1, &BTreeMap::new()), Some(true));
    }

    #[test]
    fn members_never_asked_count_as_refusals() {
        // Five members, 4 and 5 held dead at PREPARE: one conflict among 2 and 3 aborts.
        let v = Voting::new(vec![1, 2, 3, 4, 5], 3, &[1, 2, 3]);
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Aborted)])), Some(false));
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Pending)])), None);
        assert_eq!(v.verdict(1, &answers(&[(2, TxnStatus::Pending), (3, TxnStatus::Pending)])), Some(true));
    }

    #[test]
    fn the_thresholds_never_both_hold() {
        for n in 1..=7usize {
            let members: Vec<NodeId> = (1..=n as u64).collect();
            for needed in 1..=n {
                let v = Voting::new(members.clone(), needed, &members);
                let others = n as u32 - 1;
                assert!(v.commit_needs + v.abort_needs(1) > others, "n={n} needed={needed}");
            }
        }
    }
}
