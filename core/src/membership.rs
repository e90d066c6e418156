//! SWIM-style membership with incarnation numbers, plus marmot's sticky REMOVED state.
//!
//! Each member has a SWIM state (JOINING, ALIVE, SUSPECT, DEAD) at an incarnation, and,
//! separately, an administrative `removed` flag versioned by `admin_gen`:
//! - SWIM merge: a higher incarnation wins; at equal incarnation the state only escalates
//!   (JOINING < ALIVE < SUSPECT < DEAD). A node refutes a suspicion of itself by bumping
//!   its incarnation above the one it was suspected at.
//! - Admin merge: a higher `admin_gen` wins; at equal generations `removed` wins. Gossip
//!   alone therefore cannot revive a REMOVED member: only an explicit allow (which bumps
//!   the generation) can.
//!
//! Quorum is `floor(total / 2) + 1` over every member that is not REMOVED; DEAD members
//! still count, so a minority partition can never commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::NodeId;
use crate::Millis;

/// A member's state as the rest of marmot sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MemberState {
    /// Catching up; not sent PREPAREs yet.
    Joining,
    /// Healthy.
    Alive,
    /// Not heard from for `suspect_timeout_ms`.
    Suspect,
    /// Not heard from for `dead_timeout_ms`; still counts toward quorum.
    Dead,
    /// Removed by an operator: excluded from quorum, its traffic refused.
    Removed,
}

impl MemberState {
    fn rank(self) -> u8 {
        match self {
            MemberState::Joining => 0,
            MemberState::Alive => 1,
            MemberState::Suspect => 2,
            MemberState::Dead => 3,
            MemberState::Removed => 4,
        }
    }

    /// Upper-case name as the admin API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Joining => "JOINING",
            MemberState::Alive => "ALIVE",
            MemberState::Suspect => "SUSPECT",
            MemberState::Dead => "DEAD",
            MemberState::Removed => "REMOVED",
        }
    }
}

/// What gossip carries about one member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDigest {
    /// Node id.
    pub id: NodeId,
    /// Address the node advertises.
    pub addr: String,
    /// SWIM state (never `Removed`).
    pub state: MemberState,
    /// SWIM incarnation.
    pub incarnation: u64,
    /// Generation of the admin flag.
    pub admin_gen: u64,
    /// Whether an operator removed it.
    pub removed: bool,
    /// A sentinel: votes, holds no table data (never a snapshot donor).
    #[serde(default)]
    pub sentinel: bool,
    /// Started on an empty store (a new node, or one whose disk was lost) and not caught
    /// up yet: it may have forgotten transactions it once voted for, so it cannot vouch
    /// for what the cluster committed (see `Node::maybe_caught_up`).
    #[serde(default)]
    pub fresh: bool,
}

/// One member in the local view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Gossiped facts.
    pub digest: MemberDigest,
    /// Last time (local clock) a message came directly from it.
    pub last_contact: Millis,
}

impl Member {
    /// Effective state: REMOVED overrides the SWIM state.
    pub fn state(&self) -> MemberState {
        if self.digest.removed {
            MemberState::Removed
        } else {
            self.digest.state
        }
    }
}

/// Errors of administrative membership changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The local node asked to remove itself.
    #[error("cannot remove the local node")]
    RemoveSelf,
    /// No such member.
    #[error("node {0} is not a member")]
    Unknown(NodeId),
}

/// The local view of the cluster.
#[derive(Clone, Debug)]
pub struct Membership {
    me: NodeId,
    members: BTreeMap<NodeId, Member>,
}

/// A state change the view went through, for observation and persistence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Which member.
    pub id: NodeId,
    /// State before.
    pub from: MemberState,
    /// State after.
    pub to: MemberState,
}

impl Membership {
    /// A view holding only the local node.
    pub fn new(me: NodeId, addr: String, state: MemberState, incarnation: u64) -> Self {
        let mut members = BTreeMap::new();
        members.insert(
            me,
            Member {
                digest: MemberDigest {
                    id: me,
                    addr,
                    state,
                    incarnation,
                    admin_gen: 0,
                    removed: false,
                    sentinel: false,
                    fresh: false,
                },
                last_contact: 0,
            },
        );
        Self { me, members }
    }

    /// The local node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// The local node's entry.
    pub fn local(&self) -> &Member {
        &self.members[&self.me]
    }

    /// Set the local node's SWIM state (JOINING → ALIVE when caught up).
    pub fn set_local_state(&mut self, state: MemberState) {
        if let Some(m) = self.members.get_mut(&self.me) {
            m.digest.state = state;
        }
    }

    /// Whether the local node started on an empty store and has not caught up yet.
    pub fn set_local_fresh(&mut self, fresh: bool) {
        if let Some(m) = self.members.get_mut(&self.me) {
            m.digest.fresh = fresh;
        }
    }

    /// Add a peer known from configuration or recovered state without overriding
    /// fresher knowledge.
    pub fn add_peer(&mut self, digest: MemberDigest, now: Millis) {
        if digest.id == self.me {
            return;
        }
        self.members.entry(digest.id).or_insert(Member { digest, last_contact: now });
    }

    /// Every member, by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// One member.
    pub fn get(&self, id: NodeId) -> Option<&Member> {
        self.members.get(&id)
    }

    /// Digests of every member, for gossip and persistence.
    pub fn digests(&self) -> Vec<MemberDigest> {
        self.members.values().map(|m| m.digest.clone()).collect()
    }

    /// Effective state of a member, if known.
    pub fn state_of(&self, id: NodeId) -> Option<MemberState> {
        self.members.get(&id).map(Member::state)
    }

    /// Whether traffic from `id` must be refused (it was removed).
    pub fn is_removed(&self, id: NodeId) -> bool {
        self.state_of(id) == Some(MemberState::Removed)
    }

    /// Members that are not REMOVED, the local node included.
    pub fn total_membership(&self) -> usize {
        self.members.values().filter(|m| m.state() != MemberState::Removed).count()
    }

    /// `floor(total_membership / 2) + 1`.
    pub fn quorum(&self) -> usize {
        self.total_membership() / 2 + 1
    }

    /// Members in state ALIVE (the local node always counts as a participant too).
    pub fn alive_count(&self) -> usize {
        self.members.values().filter(|m| m.state() == MemberState::Alive).count()
    }

    /// Who receives a PREPARE: the local node and every ALIVE peer, sorted.
    pub fn prepare_targets(&self) -> Vec<NodeId> {
        self.members
            .values()
            .filter(|m| m.digest.id == self.me || m.state() == MemberState::Alive)
            .map(|m| m.digest.id)
            .collect()
    }

    /// Every member that is not REMOVED (the local node included), sorted: those
    /// [`Membership::quorum`] counts.
    pub fn voters(&self) -> Vec<NodeId> {
        self.members.values().filter(|m| m.state() != MemberState::Removed).map(|m| m.digest.id).collect()
    }

    /// Peers (not the local node) that are not REMOVED, sorted.
    pub fn live_peers(&self) -> Vec<NodeId> {
        self.members
            .values()
            .filter(|m| m.digest.id != self.me && m.state() != MemberState::Removed)
            .map(|m| m.digest.id)
            .collect()
    }

    /// Record direct contact from `id`.
    pub fn touch(&mut self, id: NodeId, now: Millis) {
        if let Some(m) = self.members.get_mut(&id) {
            m.last_contact = m.last_contact.max(now);
        }
    }

    /// Merge gossip. Returns the transitions it caused and whether anything durable
    /// (membership set, admin flags, local incarnation) changed.
    pub fn merge(&mut self, digests: &[MemberDigest], now: Millis) -> (Vec<Transition>, bool) {
        let mut transitions = Vec::new();
        let mut durable = false;
        for d in digests {
            if d.id == self.me {
                durable |= self.merge_self(d);
                continue;
            }
            match self.members.get_mut(&d.id) {
                None => {
                    self.members.insert(d.id, Member { digest: d.clone(), last_contact: now });
                    durable = true;
                    transitions.push(Transition { id: d.id, from: MemberState::Dead, to: self.members[&d.id].state() });
                }
                Some(m) => {
                    let before = m.state();
                    if d.admin_gen > m.digest.admin_gen
                        || (d.admin_gen == m.digest.admin_gen && d.removed && !m.digest.removed)
                    {
                        m.digest.admin_gen = d.admin_gen;
                        m.digest.removed = d.removed;
                        durable = true;
                    }
                    if d.incarnation > m.digest.incarnation
                        || (d.incarnation == m.digest.incarnation && d.state.rank() > m.digest.state.rank())
                    {
                        if d.incarnation > m.digest.incarnation && d.state.rank() < m.digest.state.rank() {
                            // A refutation: the member proved it is up.
                            m.last_contact = m.last_contact.max(now);
                        }
                        m.digest.incarnation = d.incarnation;
                        m.digest.state = d.state;
                        m.digest.fresh = d.fresh;
                    }
                    if m.digest.addr != d.addr && d.incarnation >= m.digest.incarnation {
                        m.digest.addr = d.addr.clone();
                        durable = true;
                    }
                    if m.digest.sentinel != d.sentinel && d.incarnation >= m.digest.incarnation {
                        // A role comes from the node's configuration: its latest word wins.
                        m.digest.sentinel = d.sentinel;
                        durable = true;
                    }
                    let after = m.state();
                    if before != after {
                        transitions.push(Transition { id: d.id, from: before, to: after });
                    }
                }
            }
        }
        (transitions, durable)
    }

    fn merge_self(&mut self, d: &MemberDigest) -> bool {
        let me = self.members.get_mut(&self.me).expect("local member always present");
        let mut durable = false;
        // The same tie-break as for peers: at one generation, a removal beats an allow
        // (else a node allowed and removed at once would think itself in while every
        // peer refuses it).
        if d.admin_gen > me.digest.admin_gen || (d.admin_gen == me.digest.admin_gen && d.removed && !me.digest.removed)
        {
            me.digest.admin_gen = d.admin_gen;
            me.digest.removed = d.removed;
            durable = true;
        }
        // Refute a suspicion; and a view of a later or other life of this node (its disk was
        // lost, so it restarted at a lower incarnation than peers knew, or as JOINING at
        // the incarnation they hold ALIVE): peers must learn what it is now.
        let suspected = matches!(d.state, MemberState::Suspect | MemberState::Dead);
        let other_life = d.incarnation > me.digest.incarnation
            || (d.state == MemberState::Alive && me.digest.state == MemberState::Joining);
        if (suspected || other_life) && d.incarnation >= me.digest.incarnation {
            me.digest.incarnation = d.incarnation + 1;
            durable = true;
        }
        durable
    }

    /// Failure detection: escalate peers not heard from. Returns the transitions.
    pub fn detect_failures(&mut self, now: Millis, suspect_after: u64, dead_after: u64) -> Vec<Transition> {
        let mut out = Vec::new();
        for m in self.members.values_mut() {
            if m.digest.id == self.me || m.digest.removed {
                continue;
            }
            let silent = now.saturating_sub(m.last_contact);
            let before = m.digest.state;
            let next = match before {
                MemberState::Alive | MemberState::Joining if silent > suspect_after => MemberState::Suspect,
                MemberState::Suspect if silent > dead_after => MemberState::Dead,
                s => s,
            };
            if next != before {
                m.digest.state = next;
                out.push(Transition { id: m.digest.id, from: before, to: next });
            }
        }
        out
    }

    /// Operator removal: sticky until [`Membership::allow`].
    pub fn remove(&mut self, id: NodeId) -> Result<(), AdminError> {
        if id == self.me {
            return Err(AdminError::RemoveSelf);
        }
        let m = self.members.get_mut(&id).ok_or(AdminError::Unknown(id))?;
        m.digest.admin_gen += 1;
        m.digest.removed = true;
        Ok(())
    }

    /// Set the local node's role (from its configuration).
    pub fn set_local_sentinel(&mut self, sentinel: bool) {
        self.members.get_mut(&self.me).expect("local member always present").digest.sentinel = sentinel;
    }

    /// Whether `id` is a known sentinel.
    pub fn is_sentinel(&self, id: NodeId) -> bool {
        self.members.get(&id).is_some_and(|m| m.digest.sentinel)
    }

    /// The local node leaves (a drain): REMOVED, sticky until another node allows it back.
    pub fn leave(&mut self) {
        let me = self.members.get_mut(&self.me).expect("local member always present");
        me.digest.admin_gen += 1;
        me.digest.removed = true;
        debug_assert_eq!(self.local().state(), MemberState::Removed);
    }

    /// Operator allow: the member may rejoin; it starts SUSPECT until it refutes.
    pub fn allow(&mut self, id: NodeId, now: Millis) -> Result<(), AdminError> {
        let m = self.members.get_mut(&id).ok_or(AdminError::Unknown(id))?;
        m.digest.admin_gen += 1;
        m.digest.removed = false;
        if id != self.me {
            m.digest.state = MemberState::Suspect;
            m.last_contact = now;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(id: NodeId, state: MemberState, inc: u64, gen: u64, removed: bool) -> MemberDigest {
        MemberDigest {
            id,
            addr: format!("n{id}"),
            state,
            incarnation: inc,
            admin_gen: gen,
            removed,
            sentinel: false,
            fresh: false,
        }
    }

    fn view() -> Membership {
        let mut m = Membership::new(1, "n1".into(), MemberState::Alive, 1);
        m.add_peer(d(2, MemberState::Alive, 1, 0, false), 0);
        m.add_peer(d(3, MemberState::Alive, 1, 0, false), 0);
        m
    }

    #[test]
    fn quorum_counts_dead_but_not_removed() {
        let mut m = view();
        m.detect_failures(20_000, 5000, 10_000);
        m.detect_failures(40_000, 5000, 10_000);
        assert_eq!(m.state_of(2), Some(MemberState::Dead));
        assert_eq!(m.quorum(), 2);
        m.remove(2).unwrap();
        assert_eq!(m.total_membership(), 2);
        assert_eq!(m.quorum(), 2);
        m.remove(3).unwrap();
        assert_eq!(m.quorum(), 1);
    }

    #[test]
    fn cannot_remove_self_and_removed_is_sticky() {
        let mut m = view();
        assert_eq!(m.remove(1), Err(AdminError::RemoveSelf));
        m.remove(2).unwrap();
        m.merge(&[d(2, MemberState::Alive, 99, 0, false)], 1);
        assert!(m.is_removed(2));
        m.allow(2, 2).unwrap();
        assert!(!m.is_removed(2));
        // A stale removal at an older generation cannot undo the allow.
        m.merge(&[d(2, MemberState::Alive, 99, 1, true)], 3);
        assert!(!m.is_removed(2));
    }

    #[test]
    fn a_node_that_leaves_is_removed_everywhere_until_a_peer_allows_it_back() {
        let mut leaver = view();
        let mut peer = Membership::new(2, "n2".into(), MemberState::Alive, 1);
        peer.add_peer(d(1, MemberState::Alive, 1, 0, false), 0);
        peer.add_peer(d(3, MemberState::Alive, 1, 0, false), 0);
        leaver.leave();
        assert_eq!(leaver.local().state(), MemberState::Removed);
        let gossip: Vec<_> = leaver.members().map(|m| m.digest.clone()).collect();
        peer.merge(&gossip, 1);
        assert!(peer.is_removed(1));
        assert_eq!((peer.total_membership(), peer.quorum()), (2, 2));
        peer.allow(1, 2).unwrap();
        let gossip: Vec<_> = peer.members().map(|m| m.digest.clone()).collect();
        leaver.merge(&gossip, 3);
        assert_eq!(leaver.local().state(), MemberState::Alive, "allowed back by a peer");
    }

    #[test]
    fn suspicion_is_refuted_by_incarnation_bump() {
        let mut m = view();
        m.merge(&[d(1, MemberState::Suspect, 1, 0, false)], 0);
        assert_eq!(m.local().digest.incarnation, 2);
        let mut other = view();
        other.merge(&[d(2, MemberState::Suspect, 1, 0, false)], 0);
        assert_eq!(other.state_of(2), Some(MemberState::Suspect));
        other.merge(&[d(2, MemberState::Alive, 2, 0, false)], 0);
        assert_eq!(other.state_of(2), Some(MemberState::Alive));
    }

    #[test]
    fn a_node_back_from_a_lost_disk_outbids_what_peers_knew_of_it() {
        // It restarts at incarnation 1 while peers hold it ALIVE at 3 (its crash went
        // unnoticed), then while they hold it ALIVE at its own incarnation.
        let mut m = Membership::new(1, "n1".into(), MemberState::Joining, 1);
        m.add_peer(d(2, MemberState::Alive, 1, 0, false), 0);
        m.merge(&[d(1, MemberState::Alive, 3, 0, false)], 0);
        assert_eq!(m.local().digest.incarnation, 4);
        m.merge(&[d(1, MemberState::Alive, 4, 0, false)], 0);
        assert_eq!(m.local().digest.incarnation, 5, "peers must see it JOINING, not ALIVE");
        // Once ALIVE itself, their ALIVE view of it is no news.
        m.set_local_state(MemberState::Alive);
        m.merge(&[d(1, MemberState::Alive, 5, 0, false)], 0);
        assert_eq!(m.local().digest.incarnation, 5);
    }

    fn arb_digest() -> impl Strategy<Value = MemberDigest> {
        (2u64..5, 0u8..4, 0u64..4, 0u64..3, any::<bool>()).prop_map(|(id, s, inc, gen, removed)| {
            let state = [MemberState::Joining, MemberState::Alive, MemberState::Suspect, MemberState::Dead][s as usize];
            // One admin generation carries one flag value, as in a real cluster where
            // each generation comes from one operator action.
            let _ = removed;
            d(id, state, inc, gen, gen % 2 == 1)
        })
    }

    proptest! {
        #[test]
        fn merge_is_order_independent(ds in proptest::collection::vec(arb_digest(), 0..20)) {
            let mut a = Membership::new(1, "n1".into(), MemberState::Alive, 1);
            let mut b = Membership::new(1, "n1".into(), MemberState::Alive, 1);
            for x in &ds { a.merge(std::slice::from_ref(x), 0); }
            for x in ds.iter().rev() { b.merge(std::slice::from_ref(x), 0); }
            prop_assert_eq!(a.digests(), b.digests());
        }

        #[test]
        fn merge_is_idempotent(ds in proptest::collection::vec(arb_digest(), 0..20)) {
            let mut a = Membership::new(1, "n1".into(), MemberState::Alive, 1);
            a.merge(&ds, 0);
            let once = a.digests();
            a.merge(&ds, 0);
            prop_assert_eq!(once, a.digests());
        }
    }
}
