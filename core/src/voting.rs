//! The commit rule of QUORUM and ALL writes: one round trip to commit, and an outcome any
//! member can recover from what the others hold — also when the coordinator and its disk
//! are gone for good.
//!
//! The coordinator stages (durably prepares) a transaction locally *before* it sends
//! PREPARE, so every member holding a PREPARE knows the coordinator holds it too. Each other
//! member it asks either stages it (a yes vote) or durably refuses it (a conflict vote). With
//! `commit_needs` = quorum − 1:
//! - **Commit** (coordinator): once `commit_needs` others staged it, the coordinator makes
//!   its own commit durable and answers the client — one round trip — then sends COMMIT.
//! - **Abort** (coordinator): on a refusal, or when the votes do not come in time, it asks
//!   the members to abort it (ABORT request). The abort is final at the first member that
//!   records it durably; only then is the client told. A member that already promised its
//!   vote to recovery (below) refuses the request, so an abort can never slip in after a
//!   recovery counted that member's stage.
//! - **Recovery** (any member holding it staged whose coordinator fell silent, or the
//!   coordinator itself once it gave up waiting): it asks every member the coordinator
//!   asked; each first promises its vote durably (refusing now if it holds nothing), then
//!   answers. A known outcome decides. Otherwise, once *every* asked member has answered —
//!   so none of them can hold a final abort unseen — `commit_needs` stages commit it (the
//!   coordinator may have answered its client) and `others − commit_needs + 1` refusals
//!   abort it (it can never reach a quorum). Members the coordinator never asked (it held
//!   them dead) never stage it: they count as refusals.
//!
//! The two thresholds add up to more than the others, so no transaction meets both; the
//! coordinator's word is never needed, so a coordinator lost for good leaves nothing in
//! doubt while the members it asked can answer.
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

    /// Whether `staged` other members holding it commit it.
    pub fn commits_with(&self, staged: usize) -> bool {
        staged as u32 >= self.commit_needs
    }

    /// The members other than the coordinator that it asked (sent PREPARE to).
    pub fn asked_others(&self, coordinator: NodeId) -> Vec<NodeId> {
        self.others(coordinator).filter(|m| !self.unasked.contains(m)).collect()
    }

    /// The outcome recovery finds in `answers` (each member's promised word: `Pending` =
    /// staged, `Refused`, `Unknown` = holds nothing it can vouch for; `Committed` or
    /// `Aborted` = the outcome), if they decide one.
    pub fn recovered(&self, coordinator: NodeId, answers: &BTreeMap<NodeId, TxnStatus>) -> Option<bool> {
        if answers.values().any(|s| *s == TxnStatus::Committed) {
            return Some(true);
        }
        if answers.values().any(|s| *s == TxnStatus::Aborted) {
            return Some(false);
        }
        let asked = self.asked_others(coordinator);
        if !asked.iter().all(|m| answers.contains_key(m)) {
            return None; // one of them may hold a final abort
        }
        let said = |want: TxnStatus| asked.iter().filter(|m| answers.get(m) == Some(&want)).count() as u32;
        let staged = said(TxnStatus::Pending);
        let refused =
            said(TxnStatus::Refused) + self.others(coordinator).filter(|m| self.unasked.contains(m)).count() as u32;
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
    use TxnStatus::{Aborted, Committed, Pending, Refused, Unknown};

    fn answers(list: &[(NodeId, TxnStatus)]) -> BTreeMap<NodeId, TxnStatus> {
        list.iter().copied().collect()
    }

    #[test]
    fn three_nodes_commit_on_one_other_copy_once_every_asked_member_answered() {
        let v = Voting::new(vec![3, 1, 2], 2, &[1, 2, 3]);
        assert_eq!((v.commit_needs, v.abort_needs(1)), (1, 2));
        assert!(v.commits_with(1) && !v.commits_with(0));
        // Node 3 has not answered: it might hold a final abort.
        assert_eq!(v.recovered(1, &answers(&[(2, Pending)])), None);
        assert_eq!(v.recovered(1, &answers(&[(2, Pending), (3, Refused)])), Some(true));
        assert_eq!(v.recovered(1, &answers(&[(2, Refused), (3, Refused)])), Some(false));
        // An outcome decides at once; the coordinator's stage counts for nothing.
        assert_eq!(v.recovered(1, &answers(&[(3, Aborted)])), Some(false));
        assert_eq!(v.recovered(1, &answers(&[(1, Committed)])), Some(true));
        assert_eq!(v.recovered(1, &answers(&[(1, Pending), (2, Refused), (3, Unknown)])), None);
    }

    #[test]
    fn members_never_asked_count_as_refusals_and_need_not_answer() {
        // Five members, 4 and 5 held dead at PREPARE.
        let v = Voting::new(vec![1, 2, 3, 4, 5], 3, &[1, 2, 3]);
        assert_eq!(v.asked_others(1), vec![2, 3]);
        assert_eq!(v.recovered(1, &answers(&[(2, Refused), (3, Pending)])), Some(false));
        assert_eq!(v.recovered(1, &answers(&[(2, Pending), (3, Pending)])), Some(true));
    }

    #[test]
    fn a_single_node_commits_on_its_own_copy() {
        let v = Voting::new(vec![1], 1, &[1]);
        assert!(v.commits_with(0));
        assert_eq!(v.recovered(1, &BTreeMap::new()), Some(true));
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
