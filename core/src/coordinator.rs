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

use std::collections::BTreeSet;

use crate::config::Consistency;
use crate::error::WriteError;
use crate::hlc::TxnId;
use crate::io::{Observation, Reply, ReqId, Timer};
use crate::message::{Message, TxnStatus, Vote};
use crate::node::Node;
use crate::types::{NodeId, RowChange, Txn};

/// A transaction this node coordinates, from PREPARE until the client is answered.
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
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
    pub(crate) storage_error: Option<String>,
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

impl Node {
    /// Transactions in flight here, by phase (for metrics and fault injection).
    pub fn inflight_summary(&self) -> InFlightSummary {
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

    /// The participants of in-flight transactions whose COMMIT is sent (sorted, unique).
    pub fn commit_targets(&self) -> Vec<NodeId> {
        let mut t: Vec<NodeId> =
            self.inflight.values().filter(|f| f.commit_sent).flat_map(|f| f.targets.iter().copied()).collect();
        t.sort();
        t.dedup();
        t.retain(|n| *n != self.me);
        t
    }

    /// How many durable acks a consistency level needs with the current membership.
    pub fn acks_needed(&self, c: Consistency) -> usize {
        match c {
            Consistency::One => 1,
            Consistency::Quorum => self.members.quorum(),
            Consistency::All => self.members.total_membership(),
        }
    }

    pub(crate) fn on_write(&mut self, req: ReqId, mut rows: Vec<RowChange>, consistency: Option<Consistency>) {
        if self.members.local().state() == crate::MemberState::Removed {
            self.reply(req, Reply::Failed(WriteError::Removed));
            return;
        }
        let consistency = consistency.unwrap_or(self.cfg.default_consistency);
        // ONE is answered on the coordinator's word alone: no quorum to intersect, so a
        // version check could not make it safe, only slower. It stays last-writer-wins.
        let first_committer_wins = consistency != Consistency::One
            && self.cfg.conflict_rule == crate::config::ConflictRule::FirstCommitterWins;
        if !first_committer_wins && rows.iter().any(RowChange::is_check_only) {
            // Without version checks a check is nothing to do, and applied it would write
            // an old image over any newer one LWW lets it beat.
            rows.retain(|r| !r.is_check_only());
            if rows.is_empty() {
                let txn_id = self.clock.now(self.now);
                self.observe(Observation::ClockIssued(txn_id));
                self.reply(req, Reply::Committed { txn_id });
                return;
            }
        }
        if rows.is_empty() {
            self.reply(req, Reply::Failed(WriteError::Empty));
            return;
        }
        if self.members.local().state() == crate::MemberState::Joining {
            // A joining node may know only its seed: a quorum counted over that partial
            // view could be smaller than the real one.
            self.reply(req, Reply::Failed(WriteError::Joining));
            return;
        }
        let needed = self.acks_needed(consistency);
        let targets = self.members.prepare_targets();
        if targets.len() < needed {
            let err = WriteError::NotEnoughAcks { got: targets.len(), needed, consistency: consistency.to_string() };
            self.reply(req, Reply::Failed(err));
            return;
        }
        let id = self.clock.now(self.now);
        self.observe(Observation::ClockIssued(id));
        let txn = Txn { id, coordinator: self.me, rows: rows.into(), first_committer_wins };
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
            self.send(t, Message::Prepare { txn: txn.clone() });
        }
        self.timer(Timer::PrepareTimeout(id), self.cfg.prepare_timeout_ms + slack_ms);
    }

    pub(crate) fn on_vote(&mut self, from: NodeId, id: TxnId, vote: Vote) {
        let Some(f) = self.inflight.get_mut(&id) else {
            // A late vote. If we committed, make sure the voter learns it.
            if vote == Vote::Yes && self.decided.get(&id) == Some(&true) {
                self.send(from, Message::Commit { txn_id: id });
            }
            return;
        };
        match vote {
            Vote::Yes => {
                f.yes.insert(from);
                if f.commit_sent {
                    self.send(from, Message::Commit { txn_id: id });
                } else if !f.committing && f.yes.len() >= f.needed && f.yes.contains(&self.me) {
                    f.committing = true;
                    self.commit_local(id);
                }
            }
            Vote::Conflict if !f.committing => {
                let f = self.inflight.remove(&id).expect("present");
                self.decide_abort(id, &f.targets);
                self.reply(f.req, Reply::Failed(WriteError::Conflict));
            }
            Vote::Refused if from == self.me && !f.committing => {
                let f = self.inflight.remove(&id).expect("present");
                self.decide_abort(id, &f.targets);
                let err = f.storage_error.unwrap_or_else(|| "local prepare refused".into());
                self.reply(f.req, Reply::Failed(WriteError::Storage(err)));
            }
            Vote::Conflict | Vote::Refused => {}
        }
    }

    /// A node reports the commit durable. The first such report comes from the local
    /// participant: only then does COMMIT go to the other participants.
    pub(crate) fn on_commit_ack(&mut self, from: NodeId, id: TxnId) {
        let Some(f) = self.inflight.get_mut(&id) else {
            if from == self.me {
                // A commit re-driven after a restart: tell everyone, they may still hold intents.
                let peers = self.members.live_peers();
                for p in &peers {
                    self.send(*p, Message::Commit { txn_id: id });
                }
                self.await_commit_acks(id, peers.into_iter().collect());
            } else if let Some(w) = self.unconfirmed.get_mut(&id) {
                w.0.remove(&from);
            }
            return;
        };
        f.commit_acks.insert(from);
        if from == self.me && !f.commit_sent {
            f.commit_sent = true;
            let others: Vec<NodeId> = f.targets.iter().copied().filter(|t| *t != self.me).collect();
            let slack_ms = f.slack_ms;
            self.observe(Observation::TxnDecided { txn_id: id, committed: true });
            for t in others {
                self.send(t, Message::Commit { txn_id: id });
            }
            self.timer(Timer::CommitTimeout(id), self.cfg.commit_timeout_ms + slack_ms);
        }
        let f = &self.inflight[&id];
        if f.commit_acks.len() >= f.needed && f.commit_acks.contains(&self.me) {
            let f = self.inflight.remove(&id).expect("present");
            self.reply(f.req, Reply::Committed { txn_id: id });
            self.await_remaining_acks(id, &f);
        }
    }

    /// After the client is answered, keep telling the participants that have not
    /// confirmed yet, so a lost COMMIT does not leave their intents until the
    /// heartbeat timeout.
    fn await_remaining_acks(&mut self, id: TxnId, f: &InFlight) {
        let waiting: BTreeSet<NodeId> =
            f.targets.iter().copied().filter(|t| *t != self.me && !f.commit_acks.contains(t)).collect();
        self.await_commit_acks(id, waiting);
    }

    fn await_commit_acks(&mut self, id: TxnId, waiting: BTreeSet<NodeId>) {
        if !waiting.is_empty() {
            self.unconfirmed.insert(id, (waiting, self.now + self.cfg.heartbeat_timeout_ms));
        }
    }

    /// Resend COMMIT to participants that have not confirmed (called every tick).
    pub(crate) fn resend_commits(&mut self) {
        let now = self.now;
        self.unconfirmed.retain(|_, (waiting, until)| !waiting.is_empty() && *until > now);
        let resend: Vec<(TxnId, Vec<NodeId>)> =
            self.unconfirmed.iter().map(|(id, (w, _))| (*id, w.iter().copied().collect())).collect();
        for (id, to) in resend {
            for t in to {
                self.send(t, Message::Commit { txn_id: id });
            }
        }
    }

    pub(crate) fn on_prepare_timeout(&mut self, id: TxnId) {
        let Some(f) = self.inflight.get(&id) else { return };
        if f.committing {
            return;
        }
        let f = self.inflight.remove(&id).expect("present");
        self.decide_abort(id, &f.targets);
        let err =
            WriteError::NotEnoughAcks { got: f.yes.len(), needed: f.needed, consistency: f.consistency.to_string() };
        self.reply(f.req, Reply::Failed(err));
    }

    pub(crate) fn on_commit_timeout(&mut self, id: TxnId) {
        let Some(f) = self.inflight.remove(&id) else { return };
        let err = WriteError::CommitUnconfirmed { got: f.commit_acks.len(), needed: f.needed };
        self.reply(f.req, Reply::Failed(err));
        self.await_remaining_acks(id, &f);
    }

    /// Abort everywhere: the local participant and every target.
    pub(crate) fn decide_abort(&mut self, id: TxnId, targets: &[NodeId]) {
        self.decided.entry(id).or_insert(false);
        self.observe(Observation::TxnDecided { txn_id: id, committed: false });
        let mut all: BTreeSet<NodeId> = targets.iter().copied().collect();
        all.insert(self.me);
        for t in all {
            self.send(t, Message::Abort { txn_id: id });
        }
    }

    pub(crate) fn send_heartbeats(&mut self) {
        let mut by_target: std::collections::BTreeMap<NodeId, Vec<TxnId>> = Default::default();
        for (id, f) in &self.inflight {
            for t in &f.targets {
                if *t != self.me {
                    by_target.entry(*t).or_default().push(*id);
                }
            }
        }
        for (t, txn_ids) in by_target {
            self.send(t, Message::Heartbeat { txn_ids });
        }
    }

    /// What this node can tell others about a transaction.
    pub(crate) fn status_of(&self, id: TxnId) -> TxnStatus {
        if let Some(c) = self.decided.get(&id) {
            return if *c { TxnStatus::Committed } else { TxnStatus::Aborted };
        }
        if let Some(f) = self.inflight.get(&id) {
            return if f.commit_sent { TxnStatus::Committed } else { TxnStatus::Pending };
        }
        if self.part.prepared.contains_key(&id) {
            return TxnStatus::Pending;
        }
        TxnStatus::Unknown
    }
}
