//! The participant side of the commit: durable PREPARE with write intents, COMMIT, ABORT,
//! and recovery of transactions whose coordinator went silent.
//!
//! A PREPARE is refused (vote `Conflict`, made durable first under the voting rule) when any
//! of its rows carries an intent of another unresolved transaction; the node's own writes
//! wait for such a row instead (up to half the prepare timeout). Under the voting rule
//! ([`crate::voting`]) a staged transaction whose coordinator has been silent for
//! `heartbeat_timeout_ms` is recovered by asking every member the coordinator asked: each
//! promises its vote durably and answers, and the rule decides once all have. For ONE
//! writes (the coordinator's word decides): any "committed" answer commits it; an
//! "aborted"/"unknown" answer from its coordinator aborts it; a REMOVED coordinator with
//! no peer reporting a commit aborts it. Nothing is ever aborted on a guess.

use std::collections::{BTreeMap, BTreeSet};

use crate::hlc::TxnId;
use crate::io::{Observation, StoreWrite};
use crate::membership::Membership;
use crate::message::{Message, TxnStatus, Vote};
use crate::outbox::{PendingOp, Step};
use crate::types::{IntentKey, NodeId, RowKey, Txn, SCHEMA_TABLE};
use crate::Millis;

/// A transaction prepared at this node.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    txn: Txn,
    last_heard: Millis,
    durable: bool,
    committing: bool,
    /// Coordinated here, and its client answered without an outcome (or the node restarted
    /// with it staged): recovery decides it, as for a silent coordinator.
    adrift: bool,
    last_query: Option<Millis>,
    answers: BTreeMap<NodeId, TxnStatus>,
}

/// How many transactions other nodes coordinate are in each participant phase here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParticipantSummary {
    /// PREPARE received, its record not durable yet (no vote sent).
    pub voting: usize,
    /// Durably prepared and voted yes; the outcome not known here.
    pub voted: usize,
    /// COMMIT known here, its durable write not done yet.
    pub committing: usize,
}

/// Prepared transactions, the intents they hold, and the outcomes known here.
#[derive(Clone, Debug, Default)]
pub(crate) struct Participant {
    prepared: BTreeMap<TxnId, Prepared>,
    /// Row -> the prepared transactions holding an intent on it. Usually one; more when a
    /// transaction already decided committed (its COMMIT overtook its PREPARE) is applied
    /// over a row another prepared transaction holds: neither may release the other's
    /// intent, or a third transaction could prepare over a row still in doubt.
    intents: BTreeMap<IntentKey, BTreeSet<TxnId>>,
    /// Commits whose persist failed, to issue again on the next tick.
    commit_retries: Vec<TxnId>,
    /// Outcomes known here: true = committed. The participant is their only writer: what
    /// the coordinator decides, catch-up learns or recovery finds is recorded through it.
    decided: BTreeMap<TxnId, bool>,
    /// This node's own writes whose local stage waits for a row another transaction holds
    /// here, and when each gives up (a conflict, 1213), in arrival order. Answered after one
    /// round trip, a write's COMMIT may still be on its way to the other members: a client
    /// that goes on to write the same row through one of them waits for it, as InnoDB waits
    /// for a row lock, instead of failing at once.
    waiting: Vec<(Txn, Millis)>,
    /// Transactions refused here: never to be staged (votes, not outcomes).
    refused: BTreeSet<TxnId>,
    /// Transactions whose vote (staged or refused) this node promised to recovery: it
    /// accepts no ABORT request of their coordinator any more.
    promised: BTreeSet<TxnId>,
}

impl Participant {
    /// Other transactions holding intents on rows `txn` writes.
    fn conflicts(&self, txn: &Txn) -> Vec<TxnId> {
        let mut out: Vec<TxnId> = txn
            .rows
            .iter()
            .filter_map(|r| self.intents.get(&r.intent_key()))
            .flatten()
            .copied()
            .filter(|owner| *owner != txn.id)
            .collect();
        // A schema change excludes row writes of its database, and the other way round.
        for db in txn.databases() {
            let schema = txn.rows.iter().any(|r| r.database == db && r.is_schema_change());
            let table = if schema { String::new() } else { SCHEMA_TABLE.to_string() };
            let from: IntentKey = (db.clone(), table, RowKey(Vec::new()));
            out.extend(
                self.intents
                    .range(from..)
                    .take_while(|((d, t, _), _)| *d == db && (schema || t == SCHEMA_TABLE))
                    .flat_map(|(_, owners)| owners.iter().copied())
                    .filter(|owner| *owner != txn.id),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    /// Hold intents for `txn` and remember it as prepared (`durable`: recovered from
    /// storage rather than just received).
    pub(crate) fn install(&mut self, txn: Txn, now: Millis, durable: bool) {
        debug_assert!(!self.prepared.contains_key(&txn.id), "{} prepared twice", txn.id);
        debug_assert_ne!(self.decided.get(&txn.id), Some(&false), "{} prepared after it was aborted here", txn.id);
        for r in txn.rows.iter() {
            self.intents.entry(r.intent_key()).or_default().insert(txn.id);
        }
        self.prepared.insert(
            txn.id,
            Prepared {
                txn,
                last_heard: now,
                durable,
                committing: false,
                adrift: false,
                last_query: None,
                answers: BTreeMap::new(),
            },
        );
    }

    /// Drop a prepared transaction and release its intents.
    fn forget(&mut self, id: TxnId) -> Option<Prepared> {
        let p = self.prepared.remove(&id)?;
        for r in p.txn.rows.iter() {
            let k = r.intent_key();
            if let Some(owners) = self.intents.get_mut(&k) {
                owners.remove(&id);
                if owners.is_empty() {
                    self.intents.remove(&k);
                }
            }
        }
        Some(p)
    }

    /// A commit persist failed: allow it to be issued again on the next tick.
    pub(crate) fn retry_commit(&mut self, id: TxnId) {
        if let Some(p) = self.prepared.get_mut(&id) {
            p.committing = false;
            self.commit_retries.push(id);
        }
    }

    /// Whether the local commit of `id` has been issued (the decision is known here).
    pub(crate) fn is_committing(&self, id: TxnId) -> bool {
        self.prepared.get(&id).is_some_and(|p| p.committing)
    }

    /// Issue again the commits whose persist failed.
    pub(crate) fn retry_commits(&mut self, st: &mut Step) {
        for id in std::mem::take(&mut self.commit_retries) {
            self.commit_local(st, id);
        }
    }

    /// Transactions coordinated elsewhere, by phase here (for fault injection).
    pub(crate) fn summary(&self, me: NodeId) -> ParticipantSummary {
        let mut s = ParticipantSummary::default();
        for p in self.prepared.values().filter(|p| p.txn.coordinator != me) {
            if p.committing {
                s.committing += 1;
            } else if p.durable {
                s.voted += 1;
            } else {
                s.voting += 1;
            }
        }
        s
    }

    /// Number of intents held.
    pub(crate) fn intent_count(&self) -> usize {
        self.intents.values().map(BTreeSet::len).sum()
    }

    /// The outcome of `id` known here (true: committed).
    pub(crate) fn outcome(&self, id: TxnId) -> Option<bool> {
        self.decided.get(&id).copied()
    }

    /// Record an outcome learned from storage at startup.
    pub(crate) fn restore_outcome(&mut self, id: TxnId, committed: bool) {
        self.decided.insert(id, committed);
    }

    /// Record refusals and promises found in storage at startup.
    pub(crate) fn restore_votes(&mut self, refused: &[TxnId], promised: &[TxnId]) {
        self.refused.extend(refused.iter().copied().filter(|id| !self.decided.contains_key(id)));
        self.promised.extend(promised.iter().copied());
    }

    /// The voting members of `id` other than `me` (empty if not staged here).
    pub(crate) fn voting_peers(&self, id: TxnId, me: NodeId) -> Vec<NodeId> {
        self.prepared.get(&id).map(|p| p.txn.voting.peers_of(me)).unwrap_or_default()
    }

    /// Whether `id` is refused here.
    pub(crate) fn is_refused(&self, id: TxnId) -> bool {
        self.refused.contains(&id)
    }

    /// Record that `id` is aborted, unless an outcome is already known.
    pub(crate) fn note_aborted(&mut self, id: TxnId) {
        self.decided.entry(id).or_insert(false);
    }

    /// `id` committed somewhere (its entry was applied from a peer's log): a prepared copy
    /// here can commit too; otherwise remember the outcome.
    pub(crate) fn learned_committed(&mut self, st: &mut Step, id: TxnId) {
        if self.prepared.contains_key(&id) {
            self.commit_local(st, id);
        } else {
            // Over a refusal too: a member that refused can see the transaction commit.
            self.decided.insert(id, true);
        }
    }

    /// PREPARE of `txn` from its coordinator `from`. A `joining` node applies a decided
    /// commit and repeats a durable vote, but casts no new vote: it may lack what quorum
    /// intersection relies on (back from a lost disk, it holds nothing it voted for
    /// before); a peer that still counts it as ALIVE waits for the other votes.
    pub(crate) fn on_prepare(&mut self, st: &mut Step, from: NodeId, txn: Txn, joining: bool) {
        let id = txn.id;
        match self.decided.get(&id) {
            Some(true) => {
                // COMMIT overtook PREPARE: apply it now.
                if !self.prepared.contains_key(&id) {
                    self.install(txn, st.now, false);
                    self.commit_local(st, id);
                }
                return;
            }
            Some(false) => return,
            None if self.refused.contains(&id) => return,
            None => {}
        }
        if let Some(p) = self.prepared.get(&id) {
            if p.durable {
                st.send(from, Message::PrepareReply { txn_id: id, vote: Vote::Yes });
            }
            return;
        }
        if joining {
            st.send(from, Message::PrepareReply { txn_id: id, vote: Vote::Refused });
            return;
        }
        if !self.conflicts(&txn).is_empty() {
            if txn.voting.is_counted() && from != st.me() {
                self.refuse(st, id, from);
            } else if txn.voting.is_counted() {
                // Nothing is sent before the local stage: wait here for the row.
                let give_up = st.now + st.cfg.prepare_timeout_ms / 2;
                self.waiting.push((txn, give_up));
            } else {
                st.send(from, Message::PrepareReply { txn_id: id, vote: Vote::Conflict });
            }
            return;
        }
        self.install(txn.clone(), st.now, false);
        st.out.persist(StoreWrite::Prepare { txn }, PendingOp::Prepare { txn_id: id });
    }

    /// The store found the transaction captured against an older schema, or (under
    /// first-committer-wins) a row changed since the transaction read it: nothing was
    /// recorded; vote conflict (the client retries on what is there now).
    pub(crate) fn on_prepare_store_conflict(&mut self, st: &mut Step, id: TxnId) {
        if self.is_committing(id) {
            return; // decided committed meanwhile: the commit applies it on the new schema
        }
        let Some(p) = self.forget(id) else { return };
        let to = p.txn.coordinator;
        if p.txn.voting.is_counted() && to != st.me() {
            self.refuse(st, id, to);
        } else {
            st.send(to, Message::PrepareReply { txn_id: id, vote: Vote::Conflict });
        }
    }

    /// Promise durably never to stage `id`, then vote conflict to its coordinator `to`
    /// ([`crate::voting`]).
    pub(crate) fn refuse(&mut self, st: &mut Step, id: TxnId, to: NodeId) {
        debug_assert!(!self.prepared.contains_key(&id), "{id} refused while staged here");
        debug_assert_ne!(self.decided.get(&id), Some(&true), "{id} refused after it committed here");
        self.refused.insert(id);
        st.out.persist(StoreWrite::Refuse { txn_id: id }, PendingOp::Refuse { txn_id: id, to });
    }

    /// Recovery asks for this node's vote on `id` ([`crate::voting`]): promise it durably,
    /// then answer — staged (`Pending`), or refused (refusing now if nothing is held).
    /// `None`: answered later (once the promise is durable), or not at all (a stage under
    /// way: asked again, it answers once durable). A node catching up after a lost disk
    /// holds nothing it may vouch for: `Unknown`.
    pub(crate) fn on_fence_query(
        &mut self,
        st: &mut Step,
        from: NodeId,
        id: TxnId,
        joining: bool,
    ) -> Option<TxnStatus> {
        let vote = if self.is_staged(id) {
            TxnStatus::Pending
        } else if self.prepared.contains_key(&id) {
            return None;
        } else if self.refused.contains(&id) {
            TxnStatus::Refused
        } else if joining {
            return Some(TxnStatus::Unknown);
        } else {
            self.refused.insert(id);
            TxnStatus::Refused
        };
        if self.promised.contains(&id) {
            return Some(vote);
        }
        self.promised.insert(id);
        st.out
            .persist(StoreWrite::Promise { txn_id: id }, PendingOp::Promise { txn_id: id, reply: Some((from, vote)) });
        None
    }

    /// The coordinator of `id` asks to abort it (it never decided it). Done — durably,
    /// then acknowledged — unless this node promised recovery its vote or knows the outcome;
    /// then the answer says which.
    pub(crate) fn on_abort_request(&mut self, st: &mut Step, from: NodeId, id: TxnId) {
        let answer = match self.decided.get(&id) {
            Some(true) => Some(TxnStatus::Committed),
            Some(false) => Some(TxnStatus::Aborted),
            None if self.is_committing(id) => Some(TxnStatus::Committed),
            None if self.promised.contains(&id) => {
                Some(if self.refused.contains(&id) { TxnStatus::Refused } else { TxnStatus::Pending })
            }
            None => None,
        };
        if let Some(status) = answer {
            st.send(from, Message::AbortReply { txn_id: id, status });
            return;
        }
        self.waiting.retain(|(t, _)| t.id != id);
        self.forget(id);
        self.refused.remove(&id);
        self.decided.insert(id, false);
        st.out.persist(StoreWrite::Abort { txn_id: id }, PendingOp::AbortAck { txn_id: id, to: from });
    }

    /// A refusal is durable: send the conflict vote it was for.
    pub(crate) fn on_refused_durable(st: &mut Step, id: TxnId, to: NodeId) {
        st.send(to, Message::PrepareReply { txn_id: id, vote: Vote::Conflict });
    }

    /// Whether `id` is durably staged here, its outcome unknown.
    pub(crate) fn is_staged(&self, id: TxnId) -> bool {
        self.prepared.get(&id).is_some_and(|p| p.durable && !p.committing)
    }

    /// The client of `id`, coordinated here, was answered without an outcome (or the node
    /// restarted with it staged): let recovery decide it now.
    pub(crate) fn set_adrift(&mut self, id: TxnId) {
        if let Some(p) = self.prepared.get_mut(&id) {
            p.adrift = true;
        }
    }

    /// The PREPARE of `id` could not be made durable: vote no, and forget it. Returns
    /// whether the transaction was given up (false: its commit was decided and issued
    /// meanwhile, and is retried until it applies).
    pub(crate) fn on_prepare_failed(&mut self, st: &mut Step, id: TxnId) -> bool {
        if self.is_committing(id) {
            return false;
        }
        let coord = self.prepared.get(&id).map(|p| p.txn.coordinator);
        self.forget(id);
        if let Some(c) = coord {
            st.send(c, Message::PrepareReply { txn_id: id, vote: Vote::Refused });
        }
        true
    }

    /// The PREPARE of `id` is durable: vote yes.
    pub(crate) fn on_prepared_durable(&mut self, st: &mut Step, id: TxnId) {
        let Some(p) = self.prepared.get_mut(&id) else { return };
        p.durable = true;
        let coord = p.txn.coordinator;
        st.send(coord, Message::PrepareReply { txn_id: id, vote: Vote::Yes });
    }

    /// Make a prepared transaction's commit durable here (idempotent).
    pub(crate) fn commit_local(&mut self, st: &mut Step, id: TxnId) {
        let Some(p) = self.prepared.get_mut(&id) else { return };
        if p.committing {
            return;
        }
        debug_assert_ne!(self.decided.get(&id), Some(&false), "{id} committed after it was aborted here");
        p.committing = true;
        let txn = p.txn.clone();
        st.out.persist(StoreWrite::Commit { txn }, PendingOp::Commit { txn_id: id });
    }

    /// The commit of `id` is durable here: tell its coordinator.
    pub(crate) fn on_committed_durable(&mut self, st: &mut Step, id: TxnId) {
        let Some(p) = self.forget(id) else { return };
        self.decided.insert(id, true);
        if p.txn.coordinator != st.me() {
            st.out.observe(Observation::TxnDecided { txn_id: id, committed: true });
        }
        st.send(p.txn.coordinator, Message::CommitAck { txn_id: id });
    }

    /// COMMIT of `id`.
    pub(crate) fn on_commit(&mut self, st: &mut Step, id: TxnId) {
        if self.prepared.contains_key(&id) {
            self.commit_local(st, id);
        } else {
            // Not prepared here (yet, or refused here: a refusal is a vote, and enough
            // others staged it): remember the outcome; the rows arrive with a late PREPARE
            // or through catch-up.
            self.decided.insert(id, true);
        }
    }

    /// Retry the local stages waiting on rows: those whose rows are free now stage, those
    /// out of time vote conflict. Returns whether any of them moved (their messages to this
    /// node are then queued).
    pub(crate) fn wake_waiting(&mut self, st: &mut Step) -> bool {
        if self.waiting.is_empty() {
            return false;
        }
        let mut moved = false;
        for (txn, give_up) in std::mem::take(&mut self.waiting) {
            if self.decided.contains_key(&txn.id) || self.prepared.contains_key(&txn.id) {
                moved = true; // aborted meanwhile (or staged by a retried PREPARE): drop it
            } else if self.conflicts(&txn).is_empty() {
                moved = true;
                let me = st.me();
                self.on_prepare(st, me, txn, false);
            } else if st.now >= give_up {
                moved = true;
                st.send(st.me(), Message::PrepareReply { txn_id: txn.id, vote: Vote::Conflict });
            } else {
                self.waiting.push((txn, give_up));
            }
        }
        moved
    }

    /// ABORT of `id`.
    pub(crate) fn on_abort(&mut self, st: &mut Step, id: TxnId) {
        self.waiting.retain(|(t, _)| t.id != id);
        self.refused.remove(&id);
        if let Some(p) = self.prepared.get(&id) {
            if p.committing {
                return;
            }
            self.forget(id);
            st.out.persist(StoreWrite::Abort { txn_id: id }, PendingOp::Abort);
        }
        self.decided.entry(id).or_insert(false);
    }

    /// The coordinator `from` is alive and still working on `ids`.
    pub(crate) fn on_heartbeat(&mut self, now: Millis, from: NodeId, ids: &[TxnId]) {
        for id in ids {
            if let Some(p) = self.prepared.get_mut(id) {
                if p.txn.coordinator == from {
                    p.last_heard = now;
                }
            }
        }
    }

    /// Ask about prepared transactions whose coordinator went silent (or that this node
    /// coordinates and left to recovery). Under the voting rule every member is asked,
    /// and fenced if it holds nothing; otherwise the live peers, as before.
    pub(crate) fn resolve_stale(&mut self, st: &mut Step, members: &Membership) {
        let now = st.now;
        let me = st.me();
        let requery = st.cfg.gossip_interval_ms * 2;
        let timeout = st.cfg.heartbeat_timeout_ms;
        let stale: Vec<TxnId> = self
            .prepared
            .values()
            .filter(|p| p.durable && !p.committing)
            .filter(|p| p.adrift || (p.txn.coordinator != me && now.saturating_sub(p.last_heard) > timeout))
            .filter(|p| p.last_query.is_none_or(|q| now.saturating_sub(q) >= requery))
            .map(|p| p.txn.id)
            .collect();
        for id in stale {
            let Some(p) = self.prepared.get_mut(&id) else { continue };
            p.last_query = Some(now);
            let counted = p.txn.voting.is_counted();
            if counted && p.txn.coordinator != me && self.promised.insert(id) {
                // This node's own vote goes into the count: promised like any other.
                st.out.persist(StoreWrite::Promise { txn_id: id }, PendingOp::Promise { txn_id: id, reply: None });
            }
            let peers = if counted { p.txn.voting.peers_of(me) } else { members.live_peers() };
            for peer in &peers {
                st.send(*peer, Message::StatusQuery { txn_id: id, fence: counted });
            }
            if counted {
                self.decide_by_votes(st, id);
            } else {
                self.maybe_abort_orphan(st, members, id);
            }
        }
    }

    /// A peer's answer about `id`.
    pub(crate) fn on_status_reply(
        &mut self,
        st: &mut Step,
        members: &Membership,
        from: NodeId,
        id: TxnId,
        status: TxnStatus,
    ) {
        let Some(p) = self.prepared.get_mut(&id) else { return };
        p.answers.insert(from, status);
        let coord = p.txn.coordinator;
        if p.txn.voting.is_counted() {
            return self.decide_by_votes(st, id);
        }
        match status {
            TxnStatus::Committed => self.commit_local(st, id),
            TxnStatus::Aborted | TxnStatus::Unknown if from == coord => self.on_abort(st, id),
            _ => self.maybe_abort_orphan(st, members, id),
        }
    }

    /// Apply the voting rule to the answers about `id` (this node's own stage among
    /// them), and tell the members the outcome if they decide one.
    fn decide_by_votes(&mut self, st: &mut Step, id: TxnId) {
        let me = st.me();
        let Some(p) = self.prepared.get(&id).filter(|p| p.durable && !p.committing) else { return };
        let mut answers = p.answers.clone();
        if p.txn.coordinator != me {
            answers.insert(me, TxnStatus::Pending);
        }
        let Some(committed) = p.txn.voting.recovered(p.txn.coordinator, &answers) else { return };
        let peers = p.txn.voting.peers_of(me);
        if committed {
            self.commit_local(st, id);
        } else {
            self.on_abort(st, id);
        }
        for peer in peers {
            let msg = if committed { Message::Commit { txn_id: id } } else { Message::Abort { txn_id: id } };
            st.send(peer, msg);
        }
    }

    /// A transaction whose coordinator was REMOVED and that no live peer reports
    /// committed can never commit: abort it.
    fn maybe_abort_orphan(&mut self, st: &mut Step, members: &Membership, id: TxnId) {
        let Some(p) = self.prepared.get(&id).filter(|p| !p.txn.voting.is_counted()) else { return };
        if !members.is_removed(p.txn.coordinator) {
            return;
        }
        let peers = members.live_peers();
        let all_answered = peers.iter().all(|n| p.answers.contains_key(n));
        let any_committed = p.answers.values().any(|s| *s == TxnStatus::Committed);
        if all_answered && !any_committed {
            self.on_abort(st, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::types::{Op, RowChange};

    fn change(db: &str, table: &str, key: u8) -> RowChange {
        RowChange {
            database: db.into(),
            table: table.into(),
            op: Op::Insert,
            key: RowKey(vec![key]),
            before: None,
            after: Some(Vec::new()),
            schema_version: 0,
            read_version: None,
        }
    }

    fn txn(wall: u64, rows: Vec<RowChange>) -> Txn {
        Txn {
            id: Hlc { wall, logical: 0, node: 1 },
            coordinator: 1,
            rows: rows.into(),
            first_committer_wins: true,
            voting: Default::default(),
        }
    }

    #[test]
    fn a_commit_applied_over_a_prepared_row_leaves_that_rows_intent() {
        // Seed 154 of `lost_update`: a COMMIT overtook its PREPARE, the late PREPARE was
        // applied over a row another transaction held prepared, and its commit released
        // that other intent; a third transaction then prepared over the row in doubt.
        let mut p = Participant::default();
        let held = txn(1, vec![change("a", "t", 1)]);
        p.install(held.clone(), 0, true);
        let overtaken = txn(2, vec![change("a", "t", 1)]);
        p.install(overtaken.clone(), 0, false);
        assert_eq!(p.intent_count(), 2);
        p.forget(overtaken.id);
        assert_eq!(p.conflicts(&txn(3, vec![change("a", "t", 1)])), vec![held.id]);
        p.forget(held.id);
        assert!(p.conflicts(&txn(4, vec![change("a", "t", 1)])).is_empty());
        assert_eq!(p.intent_count(), 0);
    }

    #[test]
    fn schema_changes_exclude_row_writes_of_their_database_only() {
        let mut p = Participant::default();
        let rows = txn(1, vec![change("a", "t", 1)]);
        p.install(rows.clone(), 0, true);
        // DDL on the same database waits for the row write; on another it does not.
        let ddl_a = txn(2, vec![change("a", SCHEMA_TABLE, 0)]);
        assert_eq!(p.conflicts(&ddl_a), vec![rows.id]);
        assert!(p.conflicts(&txn(3, vec![change("b", SCHEMA_TABLE, 0)])).is_empty());
        p.forget(rows.id);
        // A prepared schema change holds off row writes of its database, any table.
        p.install(ddl_a.clone(), 0, true);
        assert_eq!(p.conflicts(&txn(4, vec![change("a", "u", 9)])), vec![ddl_a.id]);
        assert!(p.conflicts(&txn(5, vec![change("b", "u", 9)])).is_empty());
        // Row writes on different keys still proceed side by side.
        p.forget(ddl_a.id);
        p.install(txn(6, vec![change("a", "t", 1)]), 0, true);
        assert!(p.conflicts(&txn(7, vec![change("a", "t", 2)])).is_empty());
    }
}
