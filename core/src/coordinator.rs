//! The coordinator side of 2PC.
//!
//! A client write becomes a [`Txn`] whose id is a fresh HLC reading. PREPARE goes to
//! every ALIVE member and to the local node (through the same participant code). The
//! commit is decided once the consistency level's number of durable PREPARE acks is in,
//! the coordinator's own among them; a conflict vote aborts it everywhere (MySQL 1213);
//! too few acks by `prepare_timeout_ms` abort it with an error naming got/needed.
//! The decision is made durable locally first (the local participant's COMMIT), and only
//! then is COMMIT sent to the others — so a coordinator that restarts with a transaction
//! still merely PREPARED knows no one was told to commit it, and aborts it. The client is
//! answered once as many nodes as the level asks have the commit durable.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Consistency;
use crate::error::WriteError;
use crate::hlc::TxnId;
use crate::io::{Observation, Reply, ReqId, Timer};
use crate::membership::Membership;
use crate::message::{Message, TxnStatus, Vote};
use crate::outbox::Step;
use crate::types::{NodeId, RowChange, Txn};
use crate::Millis;

/// A transaction this node coordinates, from PREPARE until the client is answered.
#[derive(Clone, Debug)]
struct InFlight {
    req: ReqId,
    consistency: Consistency,
    needed: usize,
    targets: Vec<NodeId>,
    yes: BTreeSet<NodeId>,
    /// The commit was decided (the local commit may not be durable yet).
    committing: bool,
    /// The local commit is durable and COMMIT went out to the others.
    commit_sent: bool,
    commit_acks: BTreeSet<NodeId>,
    storage_error: Option<String>,
    /// Extra time each phase may take for a large transaction.
    slack_ms: u64,
}

/// Bytes of a transaction per extra millisecond its phases may take (≈ 8 MB/s: a large
/// transaction is not failed by timeouts sized for small ones).
const BYTES_PER_SLACK_MS: usize = 8 << 10;

/// How many transactions this node coordinates are in each phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlightSummary {
    /// PREPARE sent, commit not decided.
    pub preparing: usize,
    /// Commit decided, the local commit not durable yet (nobody told).
    pub deciding: usize,
    /// COMMIT sent to the participants, not all of them confirmed yet.
    pub committing: usize,
}

/// The transactions this node coordinates, and the committed ones whose COMMIT some
/// participants have not confirmed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Coordinator {
    inflight: BTreeMap<TxnId, InFlight>,
    /// Committed transactions whose COMMIT some participants have not confirmed:
    /// who, and until when to keep resending.
    unconfirmed: BTreeMap<TxnId, (BTreeSet<NodeId>, Millis)>,
}

/// What the node must do after a coordinator step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Next {
    /// Nothing more.
    Nothing,
    /// The commit is decided: make it durable locally (the local participant's COMMIT).
    CommitLocal,
    /// Abort everywhere (`targets` and the local participant), then answer `req`.
    Abort { targets: Vec<NodeId>, req: ReqId, reply: Reply },
}

/// How many durable acks a consistency level needs with the current membership.
pub(crate) fn acks_needed(members: &Membership, c: Consistency) -> usize {
    match c {
        Consistency::One => 1,
        Consistency::Quorum => members.quorum(),
        Consistency::All => members.total_membership(),
    }
}

impl Coordinator {
    /// Transactions in flight here, by phase (for metrics and fault injection).
    pub(crate) fn summary(&self) -> InFlightSummary {
        let mut s = InFlightSummary::default();
        for f in self.inflight.values() {
            if f.commit_sent {
                s.committing += 1;
            } else if f.committing {
                s.deciding += 1;
            } else {
                s.preparing += 1;
            }
        }
        s
    }

    /// The participants other than `me` of in-flight transactions whose COMMIT is sent
    /// (sorted, unique).
    pub(crate) fn commit_targets(&self, me: NodeId) -> Vec<NodeId> {
        let mut t: Vec<NodeId> =
            self.inflight.values().filter(|f| f.commit_sent).flat_map(|f| f.targets.iter().copied()).collect();
        t.sort();
        t.dedup();
        t.retain(|n| *n != me);
        t
    }

    /// Whether this node coordinates `id` and has not answered its client yet.
    pub(crate) fn is_inflight(&self, id: TxnId) -> bool {
        self.inflight.contains_key(&id)
    }

    /// The local PREPARE of `id` failed with `err` (the client is told why).
    pub(crate) fn note_storage_error(&mut self, id: TxnId, err: String) {
        if let Some(f) = self.inflight.get_mut(&id) {
            f.storage_error = Some(err);
        }
    }

    /// What this node, as coordinator, can tell others about `id`.
    pub(crate) fn status(&self, id: TxnId) -> Option<TxnStatus> {
        self.inflight.get(&id).map(|f| if f.commit_sent { TxnStatus::Committed } else { TxnStatus::Pending })
    }

    /// A client write: a transaction with a fresh HLC id, PREPARE to every target.
    pub(crate) fn on_write(
        &mut self,
        st: &mut Step,
        members: &Membership,
        req: ReqId,
        mut rows: Vec<RowChange>,
        consistency: Option<Consistency>,
    ) {
        if members.local().state() == crate::MemberState::Removed {
            st.out.reply(req, Reply::Failed(WriteError::Removed));
            return;
        }
        let consistency = consistency.unwrap_or(st.cfg.default_consistency);
        // ONE is answered on the coordinator's word alone: no quorum to intersect, so a
        // version check could not make it safe, only slower. It stays last-writer-wins.
        let first_committer_wins =
            consistency != Consistency::One && st.cfg.conflict_rule == crate::config::ConflictRule::FirstCommitterWins;
        if !first_committer_wins && rows.iter().any(RowChange::is_check_only) {
            // Without version checks a check is nothing to do, and applied it would write
            // an old image over any newer one LWW lets it beat.
            rows.retain(|r| !r.is_check_only());
            if rows.is_empty() {
                let txn_id = st.clock.now(st.now);
                st.out.observe(Observation::ClockIssued(txn_id));
                st.out.reply(req, Reply::Committed { txn_id });
                return;
            }
        }
        if rows.is_empty() {
            st.out.reply(req, Reply::Failed(WriteError::Empty));
            return;
        }
        if members.local().state() == crate::MemberState::Joining {
            // A joining node may know only its seed: a quorum counted over that partial
            // view could be smaller than the real one.
            st.out.reply(req, Reply::Failed(WriteError::Joining));
            return;
        }
        let needed = acks_needed(members, consistency);
        let targets = members.prepare_targets();
        if targets.len() < needed {
            let err = WriteError::NotEnoughAcks { got: targets.len(), needed, consistency: consistency.to_string() };
            st.out.reply(req, Reply::Failed(err));
            return;
        }
        let id = st.clock.now(st.now);
        st.out.observe(Observation::ClockIssued(id));
        let txn = Txn { id, coordinator: st.me(), rows: rows.into(), first_committer_wins };
        let slack_ms = (txn.approx_bytes() / BYTES_PER_SLACK_MS) as u64;
        self.inflight.insert(
            id,
            InFlight {
                req,
                consistency,
                needed,
                targets: targets.clone(),
                yes: BTreeSet::new(),
                committing: false,
                commit_sent: false,
                commit_acks: BTreeSet::new(),
                storage_error: None,
                slack_ms,
            },
        );
        for t in targets {
            st.send(t, Message::Prepare { txn: txn.clone() });
        }
        st.out.timer_at(Timer::PrepareTimeout(id), st.now + st.cfg.prepare_timeout_ms + slack_ms);
    }

    /// A participant's vote on `id`, which this node coordinates (see
    /// [`Coordinator::is_inflight`]).
    pub(crate) fn on_vote(&mut self, st: &mut Step, from: NodeId, id: TxnId, vote: Vote) -> Next {
        let Some(f) = self.inflight.get_mut(&id) else { return Next::Nothing };
        match vote {
            Vote::Yes => {
                f.yes.insert(from);
                if f.commit_sent {
                    st.send(from, Message::Commit { txn_id: id });
                } else if !f.committing && f.yes.len() >= f.needed && f.yes.contains(&st.me()) {
                    f.committing = true;
                    return Next::CommitLocal;
                }
                Next::Nothing
            }
            Vote::Conflict if !f.committing => {
                let f = self.inflight.remove(&id).expect("present");
                Next::Abort { targets: f.targets, req: f.req, reply: Reply::Failed(WriteError::Conflict) }
            }
            Vote::Refused if from == st.me() && !f.committing => {
                let f = self.inflight.remove(&id).expect("present");
                let err = f.storage_error.unwrap_or_else(|| "local prepare refused".into());
                Next::Abort { targets: f.targets, req: f.req, reply: Reply::Failed(WriteError::Storage(err)) }
            }
            Vote::Conflict | Vote::Refused => Next::Nothing,
        }
    }

    /// A node reports the commit durable. The first such report comes from the local
    /// participant: only then does COMMIT go to the other participants.
    pub(crate) fn on_commit_ack(&mut self, st: &mut Step, members: &Membership, from: NodeId, id: TxnId) {
        let Some(f) = self.inflight.get_mut(&id) else {
            if from == st.me() {
                // A commit re-driven after a restart: tell everyone, they may still hold intents.
                let peers = members.live_peers();
                for p in &peers {
                    st.send(*p, Message::Commit { txn_id: id });
                }
                self.await_commit_acks(st, id, peers.into_iter().collect());
            } else if let Some(w) = self.unconfirmed.get_mut(&id) {
                w.0.remove(&from);
            }
            return;
        };
        f.commit_acks.insert(from);
        if from == st.me() && !f.commit_sent {
            debug_assert!(f.committing, "the local commit is durable but the commit was never decided");
            f.commit_sent = true;
            let others: Vec<NodeId> = f.targets.iter().copied().filter(|t| *t != st.me()).collect();
            let slack_ms = f.slack_ms;
            st.out.observe(Observation::TxnDecided { txn_id: id, committed: true });
            for t in others {
                st.send(t, Message::Commit { txn_id: id });
            }
            st.out.timer_at(Timer::CommitTimeout(id), st.now + st.cfg.commit_timeout_ms + slack_ms);
        }
        let f = &self.inflight[&id];
        if f.commit_acks.len() >= f.needed && f.commit_acks.contains(&st.me()) {
            let f = self.inflight.remove(&id).expect("present");
            debug_assert!(f.commit_sent, "a client answered before the commit was durable here");
            st.out.reply(f.req, Reply::Committed { txn_id: id });
            self.await_remaining_acks(st, id, &f);
        }
    }

    /// After the client is answered, keep telling the participants that have not
    /// confirmed yet, so a lost COMMIT does not leave their intents until the
    /// heartbeat timeout.
    fn await_remaining_acks(&mut self, st: &mut Step, id: TxnId, f: &InFlight) {
        let waiting: BTreeSet<NodeId> =
            f.targets.iter().copied().filter(|t| *t != st.me() && !f.commit_acks.contains(t)).collect();
        self.await_commit_acks(st, id, waiting);
    }

    fn await_commit_acks(&mut self, st: &mut Step, id: TxnId, waiting: BTreeSet<NodeId>) {
        if !waiting.is_empty() {
            self.unconfirmed.insert(id, (waiting, st.now + st.cfg.heartbeat_timeout_ms));
        }
    }

    /// Resend COMMIT to participants that have not confirmed (called every tick).
    pub(crate) fn resend_commits(&mut self, st: &mut Step) {
        let now = st.now;
        self.unconfirmed.retain(|_, (waiting, until)| !waiting.is_empty() && *until > now);
        for (id, (waiting, _)) in &self.unconfirmed {
            for t in waiting {
                st.send(*t, Message::Commit { txn_id: *id });
            }
        }
    }

    /// Too few votes for `id` in time: abort it, unless the commit was decided.
    pub(crate) fn on_prepare_timeout(&mut self, id: TxnId) -> Next {
        let Some(f) = self.inflight.get(&id) else { return Next::Nothing };
        if f.committing {
            return Next::Nothing;
        }
        let f = self.inflight.remove(&id).expect("present");
        let err =
            WriteError::NotEnoughAcks { got: f.yes.len(), needed: f.needed, consistency: f.consistency.to_string() };
        Next::Abort { targets: f.targets, req: f.req, reply: Reply::Failed(err) }
    }

    /// Too few commit acks for `id` in time: tell the client, keep telling participants.
    pub(crate) fn on_commit_timeout(&mut self, st: &mut Step, id: TxnId) {
        let Some(f) = self.inflight.remove(&id) else { return };
        let err = WriteError::CommitUnconfirmed { got: f.commit_acks.len(), needed: f.needed };
        st.out.reply(f.req, Reply::Failed(err));
        self.await_remaining_acks(st, id, &f);
    }

    /// Tell every target and the local participant that `id` is aborted.
    pub(crate) fn announce_abort(st: &mut Step, id: TxnId, targets: &[NodeId]) {
        st.out.observe(Observation::TxnDecided { txn_id: id, committed: false });
        let mut all: BTreeSet<NodeId> = targets.iter().copied().collect();
        all.insert(st.me());
        for t in all {
            st.send(t, Message::Abort { txn_id: id });
        }
    }

    /// Tell each participant which of its transactions this node still works on.
    pub(crate) fn send_heartbeats(&self, st: &mut Step) {
        let mut by_target: BTreeMap<NodeId, Vec<TxnId>> = BTreeMap::new();
        for (id, f) in &self.inflight {
            for t in &f.targets {
                if *t != st.me() {
                    by_target.entry(*t).or_default().push(*id);
                }
            }
        }
        for (t, txn_ids) in by_target {
            st.send(t, Message::Heartbeat { txn_ids });
        }
    }
}
