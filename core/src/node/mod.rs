//! The state machine: one [`Node`] per marmot process (or per simulated host).
//!
//! [`Node::handle`] takes one input and appends effects. Messages a node sends to itself
//! (the coordinator is also a participant) go through an internal queue and are handled
//! within the same call, so the local participant runs exactly the code a remote one does.

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::catchup::{CatchUp, Chunk, Lag, Pull};
use crate::config::CoreConfig;
use crate::coordinator::{Coordinator, InFlightSummary, Next};
use crate::hlc::{HlcClock, TxnId};
use crate::io::{
    AdminCmd, Effect, Input, Observation, OpId, ReadOutcome, RecoveredState, RecoveredTxnState, Reply, ReqId,
    StoreOutcome, StoreWrite, Timer,
};
use crate::membership::{MemberDigest, MemberState, Membership, Transition};
use crate::message::{Envelope, LogEntry, Message};
use crate::outbox::{step, Outbox, PendingOp};
use crate::participant::Participant;
use crate::types::NodeId;
use crate::Millis;

mod follow;

/// One marmot node's protocol state.
pub struct Node {
    me: NodeId,
    cfg: CoreConfig,
    clock: HlcClock,
    rng: ChaCha8Rng,
    members: Membership,
    now: Millis,
    out: Outbox,
    coord: Coordinator,
    part: Participant,
    catchup: CatchUp,
    snapshots: crate::snapshot::Snapshots,
    gc: crate::gc::Gc,
    recovered: Option<RecoveredState>,
    started: bool,
    /// Replica mode: the member followed ([`crate::replica`]); `None` for a member.
    following: Option<crate::replica::Following>,
    /// Replicas following this member, and where they listen (answers go there).
    followers: BTreeMap<NodeId, String>,
    /// Replicas waiting for this member's heads to move past what they know, since when.
    parked: BTreeMap<NodeId, (Millis, BTreeMap<String, u64>)>,
}

impl Node {
    /// Build a node. `peers` are the configured seed members `(id, address)`;
    /// `seed` feeds the node's RNG (mixed with its id and incarnation).
    pub fn new(
        cfg: CoreConfig,
        me: NodeId,
        addr: String,
        peers: Vec<(NodeId, String)>,
        seed: u64,
        recovered: RecoveredState,
    ) -> Self {
        let incarnation = recovered.incarnation + 1;
        let mut members = Membership::new(me, addr, MemberState::Joining, incarnation);
        // A replica is in no cluster: its `peers` are the members it may follow.
        let follow = cfg.replica.clone().map(|r| crate::replica::Following::new(r, peers.clone()));
        let peers = if follow.is_some() { Vec::new() } else { peers };
        let restored = if follow.is_some() { &[][..] } else { &recovered.members[..] };
        for d in restored {
            if d.id == me {
                continue;
            }
            // Restored peers start SUSPECT: a lone restarted node must not count
            // anyone as alive until it hears from them.
            let mut d = d.clone();
            if matches!(d.state, MemberState::Alive | MemberState::Joining) {
                d.state = MemberState::Suspect;
            }
            members.add_peer(d, 0);
        }
        if let Some(local) = recovered.members.iter().find(|d| d.id == me) {
            // Keep the admin flag about ourselves.
            members.merge(std::slice::from_ref(local), 0);
        }
        for (id, paddr) in peers {
            members.add_peer(
                MemberDigest {
                    id,
                    addr: paddr,
                    state: MemberState::Alive,
                    incarnation: 0,
                    admin_gen: 0,
                    removed: false,
                    sentinel: false,
                    fresh: false,
                },
                0,
            );
        }
        members.set_local_sentinel(cfg.sentinel);
        // No earlier life on this store: a new node, or one whose disk was lost.
        members.set_local_fresh(recovered.incarnation == 0);
        let rng_seed = seed ^ me.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ incarnation.rotate_left(32);
        Self {
            me,
            clock: HlcClock::new(me, recovered.max_hlc),
            rng: ChaCha8Rng::seed_from_u64(rng_seed),
            members,
            now: 0,
            out: Outbox::new(me),
            coord: Coordinator::default(),
            part: Participant::default(),
            catchup: CatchUp::new(recovered.heads.clone(), recovered.progress.clone(), recovered.schemas.clone()),
            snapshots: Default::default(),
            gc: Default::default(),
            recovered: Some(recovered),
            started: false,
            following: follow,
            followers: BTreeMap::new(),
            parked: BTreeMap::new(),
            cfg,
        }
    }

    /// The local node id.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// The local membership view.
    pub fn membership(&self) -> &Membership {
        &self.members
    }

    /// Handle one input at time `now`, appending effects to `out`.
    pub fn handle(&mut self, now: Millis, input: Input, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        match input {
            Input::Start => self.on_start(),
            Input::Timer(t) => self.on_timer(t),
            Input::Peer(env) => self.on_envelope(env),
            Input::Write { req, .. } if self.following.is_some() => {
                self.reply(req, Reply::Failed(crate::WriteError::ReadOnly { node: self.me }))
            }
            Input::Write { req, rows, consistency } => {
                self.coord.on_write(&mut step!(self), &self.members, req, rows, consistency)
            }
            Input::Admin { req, cmd } => self.on_admin(req, cmd),
            Input::StorageDone { op, result } => self.on_storage_done(op, result),
            Input::StorageRead { op, result } => self.on_storage_read(op, result),
            Input::LogRead { reader, database, upto } => self.gc.note_reader(reader, database, upto),
        }
        loop {
            while let Some(env) = self.out.next_local() {
                self.on_envelope(env);
            }
            // Local stages waiting on a row: released by this input, or out of time.
            if !self.part.wake_waiting(&mut step!(self)) {
                break;
            }
        }
        self.out.drain_into(out);
    }

    // ----- effects of the node's own routing (concerns are handed a `Step`) -----

    /// Whether this node is still joining (catching up after a start).
    fn joining(&self) -> bool {
        self.members.local().digest.state == MemberState::Joining
    }

    fn send(&mut self, to: NodeId, msg: Message) {
        self.out.send(self.clock.last(), to, msg);
    }

    fn persist(&mut self, write: StoreWrite, why: PendingOp) {
        self.out.persist(write, why);
    }

    fn timer(&mut self, timer: Timer, after: u64) {
        self.out.timer_at(timer, self.now + after);
    }

    fn reply(&mut self, req: ReqId, reply: Reply) {
        self.out.reply(req, reply);
    }

    fn observe(&mut self, o: Observation) {
        self.out.observe(o);
    }

    fn observe_transitions(&mut self, ts: Vec<Transition>) {
        for t in ts {
            self.observe(Observation::MemberChanged { id: t.id, from: t.from, to: t.to });
        }
    }

    fn persist_membership(&mut self) {
        let incarnation = self.members.local().digest.incarnation;
        let members = self.members.digests();
        self.persist(StoreWrite::Membership { incarnation, members }, PendingOp::Membership);
    }

    /// A uniformly drawn index below `n` (n > 0) from the node's seeded RNG.
    fn draw(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    // ----- lifecycle -----

    fn on_start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        for m in self.members.digests() {
            if m.id != self.me {
                self.members.touch(m.id, self.now);
            }
        }
        if self.members.live_peers().is_empty() {
            self.members.set_local_state(MemberState::Alive);
        }
        self.persist_membership();
        let rec = self.recovered.take().unwrap_or_default();
        for (id, committed) in rec.decided {
            self.part.restore_outcome(id, committed);
        }
        self.part.restore_votes(&rec.refused, &rec.promised);
        for (txn, state) in rec.txns {
            self.recover_txn(txn, state);
        }
        if self.following.is_some() {
            self.start_following();
            return;
        }
        // Everyone hears a starting node at once (and answers it if caught up): it
        // becomes ALIVE only after hearing from enough peers.
        self.announce();
        self.timer(Timer::Gossip, self.cfg.gossip_interval_ms);
        self.timer(Timer::Tick, self.cfg.gossip_interval_ms);
    }

    fn recover_txn(&mut self, txn: crate::types::Txn, state: RecoveredTxnState) {
        let id = txn.id;
        self.part.install(txn.clone(), self.now, true);
        match state {
            RecoveredTxnState::Committing => self.part.commit_local(&mut step!(self), id),
            RecoveredTxnState::Prepared if txn.coordinator == self.me && txn.voting.is_counted() => {
                // Others may hold enough stages to have committed it: the voting rule
                // decides, as for any member.
                self.part.set_adrift(id);
            }
            RecoveredTxnState::Prepared if txn.coordinator == self.me => {
                // A ONE write we coordinated and never made the commit decision durable
                // for, so no participant can have been told to commit: abort it
                // everywhere.
                self.decide_abort(id, &self.members.live_peers());
            }
            RecoveredTxnState::Prepared => {}
        }
    }

    fn on_timer(&mut self, t: Timer) {
        match t {
            Timer::Gossip if self.following.is_some() => self.poll_source(),
            Timer::Gossip => {
                self.gossip_round();
                self.timer(Timer::Gossip, self.cfg.gossip_interval_ms);
            }
            Timer::Tick => {
                let ts = self.members.detect_failures(self.now, self.cfg.suspect_timeout_ms, self.cfg.dead_timeout_ms);
                self.observe_transitions(ts);
                self.coord.send_heartbeats(&mut step!(self));
                self.coord.resend_commits(&mut step!(self));
                self.part.retry_commits(&mut step!(self));
                self.part.resolve_stale(&mut step!(self), &self.members);
                self.retry_pulls();
                self.wake_followers(true);
                let check_due = self.snapshots.tick(self.now, &self.cfg);
                if self.following.is_some() {
                    self.repair_replica();
                } else if check_due {
                    let (lags, gaps) = (self.replication_lag(self.now), self.catchup.gap_databases());
                    self.snapshots.repair(&mut step!(self), &self.members, lags, gaps);
                }
                self.gc.maybe_collect(self.now, &self.cfg, &self.members, self.catchup.heads(), &mut self.out);
                self.timer(Timer::Tick, self.cfg.gossip_interval_ms);
            }
            Timer::PrepareTimeout(id) => {
                let next = self.coord.on_prepare_timeout(&mut step!(self), id);
                self.follow(id, next);
            }
            Timer::SnapshotPace => self.snapshots.on_pace(&mut step!(self)),
        }
    }

    fn gossip_round(&mut self) {
        let mut peers = self.members.live_peers();
        let fanout = self.cfg.gossip_fanout.min(peers.len());
        let mut chosen = Vec::with_capacity(fanout);
        for _ in 0..fanout {
            let i = self.draw(peers.len());
            chosen.push(peers.swap_remove(i));
        }
        self.gossip_to(chosen);
    }

    /// Tell every live peer at once: used when the local node's own state changes
    /// (caught up, refuted a suspicion, operator action), which peers must not learn
    /// a round late.
    fn announce(&mut self) {
        let peers = self.members.live_peers();
        self.gossip_to(peers);
    }

    fn gossip_to(&mut self, peers: Vec<NodeId>) {
        let members = self.members.digests();
        let heads = self.catchup.heads().clone();
        let schemas = self.catchup.schemas().clone();
        for to in peers {
            let applied = self.catchup.applied_of(to);
            let (members, heads, schemas) = (members.clone(), heads.clone(), schemas.clone());
            self.send(to, Message::Gossip { members, heads, applied, schemas });
        }
    }

    fn on_envelope(&mut self, env: Envelope) {
        let from = env.from;
        if from != self.me {
            if self.members.is_removed(from) {
                self.observe(Observation::RefusedRemoved { from });
                if matches!(env.msg, Message::Gossip { .. }) {
                    // Tell it: a removed node that never heard of its removal would go on
                    // coordinating writes nobody answers (its clients would see timeouts,
                    // not "removed"), and suspect every peer.
                    self.gossip_to(vec![from]);
                }
                return;
            }
            if self.members.local().state() == MemberState::Removed {
                // We were removed: take part in nothing until allowed back, except
                // gossip, which is how we learn that we were allowed.
                if !matches!(env.msg, Message::Gossip { .. }) {
                    return;
                }
            }
            self.clock.update(env.clock, self.now);
            self.members.touch(from, self.now);
        }
        match env.msg {
            // (A newer schema at a peer needs no pull of its own: a schema change is a
            // logged transaction, so the peer's head moved past it too.)
            Message::Gossip { members, heads, applied, schemas: _ } => {
                for (db, pos) in &applied {
                    // Before GC hears it: a position past our head is from our log's
                    // previous life, and must not let GC trim what peers never pulled.
                    self.catchup.on_peer_applied(&mut self.out, db, *pos);
                    self.gc.note(from, db, *pos);
                }
                let incarnation = self.members.local().digest.incarnation;
                let (ts, durable) = self.members.merge(&members, self.now);
                let refuted = self.members.local().digest.incarnation != incarnation;
                self.observe_transitions(ts);
                if durable {
                    self.persist_membership();
                }
                let sender_joining = members.iter().any(|d| d.id == from && d.state == MemberState::Joining);
                if refuted {
                    self.announce();
                } else if sender_joining && self.members.local().state() == MemberState::Alive {
                    // A joining node waits to hear log heads from peers that can vouch
                    // for the cluster (see `maybe_caught_up`): answer at once instead of
                    // when the random fanout next picks it.
                    self.gossip_to(vec![from]);
                }
                self.on_peer_heads(from, heads);
            }
            Message::Prepare { txn } => {
                let joining = self.joining();
                self.part.on_prepare(&mut step!(self), from, txn, joining)
            }
            Message::PrepareReply { txn_id, vote } => self.on_vote(from, txn_id, vote),
            Message::Commit { txn_id } => self.part.on_commit(&mut step!(self), txn_id),
            Message::CommitAck { txn_id } => self.coord.on_commit_ack(&mut step!(self), &self.members, from, txn_id),
            Message::Abort { txn_id } => self.part.on_abort(&mut step!(self), txn_id),
            Message::Heartbeat { txn_ids } => self.part.on_heartbeat(self.now, from, &txn_ids),
            Message::StatusQuery { txn_id, fence } => self.on_status_query(from, txn_id, fence),
            Message::AbortRequest { txn_id } => self.part.on_abort_request(&mut step!(self), from, txn_id),
            Message::AbortReply { txn_id, status } => self.on_abort_reply(from, txn_id, status),
            Message::StatusReply { txn_id, status } => {
                self.part.on_status_reply(&mut step!(self), &self.members, from, txn_id, status)
            }
            Message::PullLog { database, after, limit } => {
                // Asking after `after` says the peer has applied our log up to there.
                self.gc.note(from, &database, after);
                CatchUp::serve(&mut step!(self), from, database, after, limit);
            }
            Message::LogChunk { database, after, entries, head } => {
                self.on_log_chunk(from, database, after, entries, head)
            }
            Message::SnapshotRequest { database, snapshot, offset, shared } => {
                self.snapshots.on_request(&mut step!(self), from, database, snapshot, offset, shared)
            }
            Message::SnapshotChunk { database, snapshot, offset, total, sha256, data } => {
                let chunk = crate::snapshot::Chunk { database, snapshot, offset, total, sha256, data };
                self.snapshots.on_chunk(&mut step!(self), from, chunk)
            }
            Message::Follow { addr, members, known, applied } => self.on_follow(from, addr, members, known, applied),
            Message::FollowReply { members, heads } => self.on_follow_reply(from, members, heads),
        }
    }

    fn on_admin(&mut self, req: ReqId, cmd: AdminCmd) {
        let res = match cmd {
            AdminCmd::Remove(id) => self.members.remove(id),
            AdminCmd::Allow(id) => self.members.allow(id, self.now),
            AdminCmd::Leave => {
                self.members.leave();
                Ok(())
            }
        };
        match res {
            Ok(()) => {
                self.persist_membership();
                // Spread it at once rather than waiting for the next round.
                self.announce();
                self.reply(req, Reply::AdminOk);
            }
            Err(e) => self.reply(req, Reply::AdminErr(e.to_string())),
        }
    }

    fn on_storage_done(&mut self, op: OpId, result: Result<StoreOutcome, String>) {
        let Some(why) = self.out.complete(op) else { return };
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.observe(Observation::StorageError(e.clone()));
                self.on_storage_failed(why, e);
                return;
            }
        };
        self.catchup.merge_heads(&outcome.heads);
        if !self.parked.is_empty() && !outcome.heads.is_empty() {
            self.wake_followers(false);
        }
        self.catchup.merge_schemas(&outcome.schemas);
        match why {
            PendingOp::Prepare { txn_id } if outcome.schema_conflict || outcome.row_conflict => {
                self.part.on_prepare_store_conflict(&mut step!(self), txn_id)
            }
            PendingOp::Prepare { txn_id } => self.part.on_prepared_durable(&mut step!(self), txn_id),
            PendingOp::Commit { txn_id } => self.part.on_committed_durable(&mut step!(self), txn_id),
            PendingOp::Refuse { txn_id, to } => Participant::on_refused_durable(&mut step!(self), txn_id, to),
            PendingOp::Promise { txn_id, reply } => {
                if let Some((to, status)) = reply {
                    self.send(to, Message::StatusReply { txn_id, status });
                }
            }
            PendingOp::AbortAck { txn_id, to } => {
                self.send(to, Message::AbortReply { txn_id, status: crate::message::TxnStatus::Aborted })
            }
            PendingOp::InstallSnapshot { database, donor, bytes } => {
                self.on_snapshot_installed(database, donor, bytes, outcome.positions)
            }
            PendingOp::TrimLog { database, watermark } => {
                self.gc.on_trimmed(database, watermark, outcome.trimmed, &mut self.out)
            }
            PendingOp::RaiseLogFloor { database } => self.catchup.floor_raised(&database),
            PendingOp::Abort | PendingOp::Membership | PendingOp::ServeLog { .. } | PendingOp::ServeSnapshot { .. } => {
            }
            PendingOp::ApplyLog { peer, database, last_seq, head, txn_ids } => {
                self.on_applied_log(peer, database, last_seq, head, txn_ids)
            }
        }
    }

    fn on_storage_failed(&mut self, why: PendingOp, err: String) {
        match why {
            // Not durable: vote no and forget it, unless the commit was decided and issued
            // while the prepare was in flight (it is retried until it applies).
            PendingOp::Prepare { txn_id } if self.part.on_prepare_failed(&mut step!(self), txn_id) => {
                self.coord.note_storage_error(txn_id, err)
            }
            PendingOp::ApplyLog { peer, database, .. } => self.catchup.clear_pull(peer, &database),
            PendingOp::InstallSnapshot { database, .. } => self.snapshots.finished(&database),
            PendingOp::TrimLog { database, .. } => self.gc.on_trim_failed(&database),
            PendingOp::RaiseLogFloor { database } => self.catchup.floor_raised(&database),
            // A commit is idempotent: try again on the next tick (the decision may already
            // be durable, and the client and the other participants are waiting on it).
            PendingOp::Commit { txn_id } => self.part.retry_commit(txn_id),
            // An abort that did not persist is found again at restart (PREPARED record)
            // or by stale-intent resolution.
            _ => {}
        }
    }

    fn on_storage_read(&mut self, op: OpId, result: Result<ReadOutcome, String>) {
        let Some(why) = self.out.complete(op) else { return };
        match (why, result) {
            (PendingOp::ServeLog { to, database, after }, Ok(ReadOutcome::Log { entries, head })) => {
                self.send(to, Message::LogChunk { database, after, entries, head });
            }
            (PendingOp::ServeSnapshot(served), result) => self.snapshots.on_served(&mut step!(self), served, result),
            (_, Err(e)) => self.observe(Observation::StorageError(e)),
            (_, Ok(_)) => {}
        }
    }

    /// How far behind each peer's log of each database this node is, at `now`.
    pub fn replication_lag(&self, now: Millis) -> Vec<Lag> {
        self.catchup.lags(now)
    }

    /// This node's schema version per database.
    pub fn schema_versions(&self) -> &BTreeMap<String, u64> {
        self.catchup.schemas()
    }

    fn on_peer_heads(&mut self, from: NodeId, heads: BTreeMap<String, u64>) {
        let joining = self.joining();
        for db in self.catchup.on_peer_heads(from, heads, joining, self.now) {
            self.pull_if_due(from, &db);
        }
        self.maybe_caught_up();
    }

    /// Pull (or snapshot) again from every peer with a head for `db`.
    fn resume_pulls(&mut self, db: &str) {
        for p in self.catchup.peers_of(db, self.now) {
            self.pull_if_due(p, db);
        }
    }

    /// Pull `db` from `peer` if due, or start from a snapshot if delta sync will not do.
    fn pull_if_due(&mut self, peer: NodeId, db: &str) {
        if self.snapshots.fetching(db) {
            return;
        }
        if self.following.is_some() {
            return self.replica_pull(peer, db);
        }
        let joining = self.joining();
        if self.catchup.pull(&mut step!(self), peer, db, joining) == Pull::Snapshot {
            self.start_snapshot(db, peer);
        }
    }

    /// Forget pulls that got no answer, and start any that are due.
    fn retry_pulls(&mut self) {
        for (peer, db) in self.catchup.expire_pulls(self.now, self.cfg.catchup_timeout_ms) {
            if !self.members.is_removed(peer) {
                self.pull_if_due(peer, &db);
            }
        }
    }

    fn on_log_chunk(&mut self, from: NodeId, db: String, after: u64, entries: Vec<LogEntry>, head: u64) {
        match self.catchup.on_chunk(&mut step!(self), from, db.clone(), after, entries, head) {
            Chunk::Level => self.maybe_caught_up(),
            // The peer no longer has what we need: repair by snapshot, never skip.
            Chunk::Gap if self.cfg.anti_entropy => self.start_snapshot(&db, from),
            Chunk::Gap | Chunk::Stale | Chunk::Applying => {}
        }
    }

    fn on_applied_log(&mut self, peer: NodeId, db: String, last_seq: u64, head: u64, txn_ids: Vec<TxnId>) {
        self.catchup.on_applied(&mut step!(self), peer, &db, last_seq, head);
        for id in txn_ids {
            // Committed somewhere: a prepared copy here can commit too.
            self.part.learned_committed(&mut step!(self), id);
        }
        if last_seq < head {
            self.pull_if_due(peer, &db);
        }
        self.maybe_caught_up();
    }

    /// Transactions in flight here, by phase (for metrics and fault injection).
    pub fn inflight_summary(&self) -> InFlightSummary {
        self.coord.summary()
    }

    /// Transactions other nodes coordinate, by phase here (for fault injection).
    pub fn participant_summary(&self) -> crate::participant::ParticipantSummary {
        self.part.summary(self.me)
    }

    /// The participants of in-flight transactions whose COMMIT is sent (sorted, unique).
    pub fn commit_targets(&self) -> Vec<NodeId> {
        self.coord.commit_targets(self.me)
    }

    /// Number of row intents held here.
    pub fn intent_count(&self) -> usize {
        self.part.intent_count()
    }

    /// A vote on a transaction: the coordinator's if it is in flight here; a late yes for
    /// one committed meanwhile is answered with COMMIT so the voter learns it.
    fn on_vote(&mut self, from: NodeId, id: TxnId, vote: crate::message::Vote) {
        if !self.coord.is_inflight(id) {
            if vote == crate::message::Vote::Yes && self.part.outcome(id) == Some(true) {
                self.send(from, Message::Commit { txn_id: id });
            }
            return;
        }
        let next = self.coord.on_vote(&mut step!(self), from, id, vote);
        self.follow(id, next);
    }

    /// Carry out what the coordinator decided about `id`.
    fn follow(&mut self, id: TxnId, next: Next) {
        match next {
            Next::Nothing => {}
            Next::CommitLocal => self.part.commit_local(&mut step!(self), id),
            Next::Abort { targets, req, reply } => {
                self.decide_abort(id, &targets);
                self.reply(req, reply);
            }
            Next::InDoubt { req, reply } => {
                self.part.set_adrift(id);
                self.reply(req, reply);
            }
        }
    }

    /// Abort `id` everywhere: the local participant and every target.
    fn decide_abort(&mut self, id: TxnId, targets: &[NodeId]) {
        self.part.note_aborted(id);
        Coordinator::announce_abort(&mut step!(self), id, targets);
    }

    /// What this node can tell others about a transaction: `Pending` only once staged
    /// durably (a stage the voting rule may count), `Refused` for a refusal (a vote,
    /// not an outcome).
    fn status_of(&self, id: TxnId) -> crate::message::TxnStatus {
        use crate::message::TxnStatus;
        if let Some(c) = self.part.outcome(id) {
            return if c { TxnStatus::Committed } else { TxnStatus::Aborted };
        }
        if let Some(s) = self.coord.status(id) {
            return s;
        }
        if self.part.is_committing(id) {
            return TxnStatus::Committed;
        }
        if self.part.is_staged(id) {
            return TxnStatus::Pending;
        }
        if self.part.is_refused(id) {
            return TxnStatus::Refused;
        }
        TxnStatus::Unknown
    }

    /// A status query. Recovery's (fencing) one about a transaction with no outcome here
    /// is answered once this node's vote is promised ([`crate::voting`]).
    fn on_status_query(&mut self, from: NodeId, id: TxnId, fence: bool) {
        let status = self.status_of(id);
        let open = matches!(
            status,
            crate::message::TxnStatus::Pending
                | crate::message::TxnStatus::Refused
                | crate::message::TxnStatus::Unknown
        );
        if !fence || !open || self.coord.is_inflight(id) {
            self.send(from, Message::StatusReply { txn_id: id, status });
            return;
        }
        let joining = self.joining();
        if let Some(status) = self.part.on_fence_query(&mut step!(self), from, id, joining) {
            self.send(from, Message::StatusReply { txn_id: id, status });
        }
    }

    /// A member's answer to this node's ABORT request for `id`. One that comes after the
    /// client was answered still makes the abort final.
    fn on_abort_reply(&mut self, from: NodeId, id: TxnId, status: crate::message::TxnStatus) {
        if self.coord.is_inflight(id) {
            let next = self.coord.on_abort_reply(&mut step!(self), from, id, status);
            self.follow(id, next);
        } else if status == crate::message::TxnStatus::Aborted && self.part.is_staged(id) {
            let peers = self.part.voting_peers(id, self.me);
            self.decide_abort(id, &peers);
        }
    }

    /// Snapshots being fetched, and how far each has come.
    pub fn snapshot_fetches(&self) -> Vec<crate::snapshot::FetchProgress> {
        self.snapshots.progress()
    }

    /// Start fetching a snapshot of `db` from `donor` (one made shortly before for another
    /// node will do if this one holds nothing of `db` yet).
    fn start_snapshot(&mut self, db: &str, donor: NodeId) {
        let shared = self.catchup.never_applied(db);
        self.snapshots.start(&mut step!(self), &self.members, db, donor, shared);
    }

    /// A snapshot of `database` is installed: delta sync resumes from the positions it
    /// stands for.
    fn on_snapshot_installed(&mut self, database: String, donor: NodeId, bytes: u64, positions: BTreeMap<NodeId, u64>) {
        self.snapshots.finished(&database);
        self.catchup.reset_positions(&database, positions);
        self.observe(Observation::SnapshotInstalled { database: database.clone(), donor, bytes });
        self.resume_pulls(&database);
        self.maybe_caught_up();
    }

    /// Mark the local node ALIVE once it has caught up with its peers.
    ///
    /// "Its peers" means a quorum (itself included) of peers it has heard log heads from
    /// that can vouch for what the cluster committed. A peer that started on an empty
    /// store and is still joining cannot: it may have lost its disk and forgotten
    /// transactions it voted for. Two such nodes vouching for each other once declared
    /// an empty database caught up while the only node holding the data was out of reach,
    /// and the cluster lost every acknowledged increment (simulation `disk_loss`, seed 2,
    /// over the gRPC transport). Having heard every member is always enough: being level
    /// with all their heads, this node holds whatever any of them holds (a new cluster
    /// starts this way).
    fn maybe_caught_up(&mut self) {
        if self.members.local().digest.state != MemberState::Joining {
            return;
        }
        let peers = self.members.live_peers();
        let heard: BTreeSet<NodeId> = self.catchup.heard_from();
        let amnesiac =
            |p: &NodeId| self.members.get(*p).is_some_and(|m| m.digest.fresh && m.digest.state == MemberState::Joining);
        let vouching = peers.iter().filter(|p| heard.contains(p) && !amnesiac(p)).count();
        let all_heard = peers.iter().all(|p| heard.contains(p));
        let enough = all_heard || vouching + 1 >= self.members.quorum().min(peers.len() + 1);
        if enough && self.catchup.level_with_join_targets() && self.snapshots.idle() {
            self.members.set_local_state(MemberState::Alive);
            self.members.set_local_fresh(false);
            self.observe(Observation::CaughtUp);
            self.observe(Observation::MemberChanged {
                id: self.me,
                from: MemberState::Joining,
                to: MemberState::Alive,
            });
            self.announce();
        }
    }
}
