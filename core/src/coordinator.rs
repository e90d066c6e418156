//! The coordinator side of the commit.
//!
//! A client write becomes a [`Txn`] whose id is a fresh HLC reading. QUORUM and ALL writes
//! follow the voting rule of [`crate::voting`]: the coordinator stages the transaction
//! locally first, then sends PREPARE to every other ALIVE member; once a quorum staged it
//! (and, for ALL, every member it asked, or the prepare timeout passed) it makes its own
//! commit durable and answers the client — one round trip — then sends COMMIT, resent until
//! each member confirms. A conflict vote, or votes that do not come in time, turn into an
//! ABORT request, final at the first member that records it; the client then gets 1213 (or
//! the acks it lacked). If no member takes it in time the client hears that the outcome is
//! not known yet, and recovery ([`crate::participant`]) decides it.
//!
//! ONE writes go to every target at once and are decided by the coordinator's word, as
//! before the rule: a coordinator that restarts with one merely staged aborts it.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Consistency;
use crate::error::WriteError;
use crate::hlc::TxnId;
use crate::io::{Observation, Reply, ReqId, Timer};
use crate::membership::Membership;
use crate::message::{Message, TxnStatus, Vote};
use crate::outbox::Step;
use crate::types::{NodeId, RowChange, Txn};
use crate::voting::Voting;
use crate::Millis;

/// A transaction this node coordinates, from PREPARE until the client is answered.
#[derive(Clone, Debug)]
struct InFlight {
    req: ReqId,
    consistency: Consistency,
    needed: usize,
    targets: Vec<NodeId>,
    /// The transaction, until PREPARE goes to the others (after the local stage, under
    /// the voting rule).
    unsent: Option<Txn>,
    voting: Voting,
    /// The local stage is durable.
    staged_here: bool,
    yes: BTreeSet<NodeId>,
    /// Members that durably refused it (conflict votes).
    refused: BTreeSet<NodeId>,
    /// An ABORT request is out (the error the client gets once it is final): no yes vote
    /// can commit it any more.
    aborting: Option<WriteError>,
    /// Members that answered the ABORT request with a vote promised to recovery.
    abort_refused: BTreeSet<NodeId>,
    /// When an unanswered ABORT request gives up (the client is told the outcome is open).
    abort_deadline: Millis,
    /// The commit was decided (the local commit may not be durable yet).
    committing: bool,
    storage_error: Option<String>,
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
    /// Client answered, COMMIT sent to the participants, not all of them confirmed yet.
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
    /// Answer `req`, and leave the outcome to recovery from the members' state.
    InDoubt { req: ReqId, reply: Reply },
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
        let mut s = InFlightSummary { committing: self.unconfirmed.len(), ..Default::default() };
        for f in self.inflight.values() {
            if f.committing {
                s.deciding += 1;
            } else {
                s.preparing += 1;
            }
        }
        s
    }

    /// The participants that have not confirmed a COMMIT sent to them (sorted, unique).
    pub(crate) fn commit_targets(&self, me: NodeId) -> Vec<NodeId> {
        let mut t: Vec<NodeId> = self.unconfirmed.values().flat_map(|(w, _)| w.iter().copied()).collect();
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
        self.inflight.get(&id).map(|_| TxnStatus::Pending)
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
        // ONE is decided by the coordinator's word; QUORUM and ALL by the voting rule.
        // The rule counts to a quorum whatever the level: ALL only waits longer for its
        // answer (and says so when a member did not stage it in time).
        let voting = if consistency == Consistency::One {
            Voting::default()
        } else {
            Voting::new(members.voters(), members.quorum(), &targets)
        };
        let txn = Txn { id, coordinator: st.me(), rows: rows.into(), first_committer_wins, voting };
        let slack_ms = (txn.approx_bytes() / BYTES_PER_SLACK_MS) as u64;
        // Under the rule the local stage comes first: a member that holds a PREPARE then
        // knows the coordinator holds it too, whatever became of the coordinator since.
        let first: Vec<NodeId> = if txn.voting.is_counted() { vec![st.me()] } else { targets.clone() };
        for t in first {
            st.send(t, Message::Prepare { txn: txn.clone() });
        }
        self.inflight.insert(
            id,
            InFlight {
                req,
                consistency,
                needed,
                targets,
                voting: txn.voting.clone(),
                unsent: Some(txn).filter(|t| t.voting.is_counted()),
                staged_here: false,
                yes: BTreeSet::new(),
                refused: BTreeSet::new(),
                aborting: None,
                abort_refused: BTreeSet::new(),
                abort_deadline: 0,
                committing: false,
                storage_error: None,
            },
        );
        st.out.timer_at(Timer::PrepareTimeout(id), st.now + st.cfg.prepare_timeout_ms + slack_ms);
    }

    /// A participant's vote on `id`, which this node coordinates (see
    /// [`Coordinator::is_inflight`]).
    pub(crate) fn on_vote(&mut self, st: &mut Step, from: NodeId, id: TxnId, vote: Vote) -> Next {
        let Some(f) = self.inflight.get_mut(&id) else { return Next::Nothing };
        if f.voting.is_counted() {
            return self.on_counted_vote(st, from, id, vote);
        }
        match vote {
            Vote::Yes => {
                f.yes.insert(from);
                if !f.committing && f.yes.len() >= f.needed && f.yes.contains(&st.me()) {
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

    /// A vote under the voting rule.
    fn on_counted_vote(&mut self, st: &mut Step, from: NodeId, id: TxnId, vote: Vote) -> Next {
        let me = st.me();
        let f = self.inflight.get_mut(&id).expect("in flight");
        match (vote, from == me) {
            (Vote::Yes, true) => {
                f.staged_here = true;
                if let Some(txn) = f.unsent.take() {
                    for t in f.targets.iter().copied().filter(|t| *t != me) {
                        st.send(t, Message::Prepare { txn: txn.clone() });
                    }
                }
            }
            (Vote::Yes, false) => {
                f.yes.insert(from);
            }
            (Vote::Conflict | Vote::Refused, true) if !f.staged_here => {
                // Refused here before anyone else was asked: nobody else holds it.
                let f = self.inflight.remove(&id).expect("present");
                let err = match vote {
                    Vote::Conflict => WriteError::Conflict,
                    _ => WriteError::Storage(f.storage_error.unwrap_or_else(|| "local prepare refused".into())),
                };
                return Next::Abort { targets: Vec::new(), req: f.req, reply: Reply::Failed(err) };
            }
            (Vote::Conflict, false) => {
                f.refused.insert(from);
                if !f.committing && f.aborting.is_none() {
                    return Self::request_abort(st, f, id, WriteError::Conflict);
                }
            }
            // Not durable (a member catching up, or its store failed): counts neither way.
            _ => {}
        }
        if f.committing || !f.staged_here || f.aborting.is_some() {
            return Next::Nothing;
        }
        let all_answered = f.yes.len() + f.refused.len() + 1 >= f.targets.len();
        if f.voting.commits_with(f.yes.len()) && (f.yes.len() + 1 >= f.needed || all_answered) {
            f.committing = true;
            return Next::CommitLocal;
        }
        Next::Nothing
    }

    /// Ask the members it asked to abort `id`; the first durable yes makes it final.
    fn request_abort(st: &mut Step, f: &mut InFlight, id: TxnId, err: WriteError) -> Next {
        debug_assert!(!f.committing, "{id}: abort requested after the commit was decided");
        f.aborting = Some(err);
        let asked = f.voting.asked_others(st.me());
        if asked.is_empty() {
            // Nobody else was asked: the local abort is final by itself.
            let reply = Reply::Failed(f.aborting.clone().expect("set"));
            return Next::Abort { targets: Vec::new(), req: f.req, reply };
        }
        for m in asked {
            st.send(m, Message::AbortRequest { txn_id: id });
        }
        // Half the prepare timeout: the members asked are slow or gone by now.
        f.abort_deadline = st.now + st.cfg.prepare_timeout_ms / 2;
        st.out.timer_at(Timer::PrepareTimeout(id), f.abort_deadline);
        Next::Nothing
    }

    /// A member's answer to the ABORT request for `id`: done (final), committed (recovery
    /// found it so), or a vote it promised to recovery.
    pub(crate) fn on_abort_reply(&mut self, st: &mut Step, from: NodeId, id: TxnId, status: TxnStatus) -> Next {
        let Some(f) = self.inflight.get_mut(&id) else { return Next::Nothing };
        if f.aborting.is_none() || f.committing {
            return Next::Nothing;
        }
        match status {
            TxnStatus::Aborted => {
                let f = self.inflight.remove(&id).expect("present");
                let reply = Reply::Failed(f.aborting.expect("aborting"));
                Next::Abort { targets: f.targets, req: f.req, reply }
            }
            TxnStatus::Committed => {
                f.committing = true;
                Next::CommitLocal
            }
            _ => {
                f.abort_refused.insert(from);
                if f.voting.asked_others(st.me()).iter().all(|m| f.abort_refused.contains(m)) {
                    // Every member promised recovery its vote: recovery decides.
                    let f = self.inflight.remove(&id).expect("present");
                    return Next::InDoubt { req: f.req, reply: Reply::Failed(Self::in_doubt(&f)) };
                }
                Next::Nothing
            }
        }
    }

    fn in_doubt(f: &InFlight) -> WriteError {
        WriteError::InDoubt { staged: f.yes.len() + 1, refused: f.refused.len(), needed: f.needed }
    }

    /// A node reports the commit durable. The first such report comes from the local
    /// participant: then the client is answered and COMMIT goes to the other participants,
    /// and is resent until each confirms.
    pub(crate) fn on_commit_ack(&mut self, st: &mut Step, members: &Membership, from: NodeId, id: TxnId) {
        if from != st.me() || !self.inflight.contains_key(&id) {
            if from == st.me() {
                // A commit re-driven after a restart or decided by recovery: tell everyone,
                // they may still hold intents.
                let peers = members.live_peers();
                for p in &peers {
                    st.send(*p, Message::Commit { txn_id: id });
                }
                self.await_commit_acks(st, id, peers.into_iter().collect());
            } else if let Some(w) = self.unconfirmed.get_mut(&id) {
                w.0.remove(&from);
                if w.0.is_empty() {
                    self.unconfirmed.remove(&id);
                }
            }
            return;
        }
        let f = self.inflight.remove(&id).expect("present");
        debug_assert!(
            f.committing || f.voting.is_counted(),
            "the local commit is durable but the commit was never decided (nor found by recovery)"
        );
        st.out.observe(Observation::TxnDecided { txn_id: id, committed: true });
        let others: BTreeSet<NodeId> = f.targets.iter().copied().filter(|t| *t != st.me()).collect();
        for t in &others {
            st.send(*t, Message::Commit { txn_id: id });
        }
        // Copies staged when it was decided: fewer than an ALL write asks for when a member
        // refused or did not answer in time (committed all the same, by the quorum rule).
        let copies = if f.voting.is_counted() { f.yes.len() + 1 } else { f.needed };
        let reply = if copies >= f.needed {
            Reply::Committed { txn_id: id }
        } else {
            Reply::Failed(WriteError::CommitUnconfirmed { got: copies, needed: f.needed })
        };
        st.out.reply(f.req, reply);
        self.await_commit_acks(st, id, others);
    }

    /// After the client is answered, keep telling the participants that have not
    /// confirmed yet, so a lost COMMIT does not leave their intents until the
    /// heartbeat timeout.
    fn await_commit_acks(&mut self, st: &mut Step, id: TxnId, waiting: BTreeSet<NodeId>) {
        if !waiting.is_empty() {
            let resend_for = st.cfg.commit_timeout_ms.max(st.cfg.heartbeat_timeout_ms);
            self.unconfirmed.insert(id, (waiting, st.now + resend_for));
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

    /// Too few votes for `id` in time. A write staged nowhere else, or a ONE write, is
    /// aborted; an ALL write a quorum staged commits (and says ALL fell short); any other
    /// is asked to abort. A second timeout (the ABORT request unanswered) answers the
    /// client that the outcome is not known yet and leaves it to recovery.
    pub(crate) fn on_prepare_timeout(&mut self, st: &mut Step, id: TxnId) -> Next {
        let Some(f) = self.inflight.get_mut(&id) else { return Next::Nothing };
        if f.committing {
            return Next::Nothing;
        }
        if f.voting.is_counted() && f.staged_here {
            if f.aborting.is_some() {
                if st.now < f.abort_deadline {
                    return Next::Nothing;
                }
                let f = self.inflight.remove(&id).expect("present");
                return Next::InDoubt { req: f.req, reply: Reply::Failed(Self::in_doubt(&f)) };
            }
            if f.voting.commits_with(f.yes.len()) {
                f.committing = true;
                return Next::CommitLocal;
            }
            let err = if f.refused.is_empty() {
                WriteError::NotEnoughAcks {
                    got: f.yes.len() + 1,
                    needed: f.needed,
                    consistency: f.consistency.to_string(),
                }
            } else {
                WriteError::Conflict
            };
            return Self::request_abort(st, f, id, err);
        }
        let f = self.inflight.remove(&id).expect("present");
        let err =
            WriteError::NotEnoughAcks { got: f.yes.len(), needed: f.needed, consistency: f.consistency.to_string() };
        let targets = if f.voting.is_counted() { Vec::new() } else { f.targets };
        Next::Abort { targets, req: f.req, reply: Reply::Failed(err) }
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
