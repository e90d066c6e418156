//! Both sides of read-only replica mode ([`crate::replica`]): a member answering the
//! replicas that follow it, and a replica following a member.

use std::collections::BTreeMap;

use super::Node;
use crate::catchup::Pull;
use crate::io::{Observation, Timer};
use crate::membership::{MemberDigest, MemberState};
use crate::message::Message;
use crate::outbox::step;
use crate::replica::{ReplicaDatabase, ReplicaStatus};
use crate::types::NodeId;
use crate::Millis;

/// How long a member holds a replica's long poll with nothing new to tell (answered on
/// the first tick after this: one to two seconds).
const HOLD_MS: Millis = 1_000;

/// How often a replica checks whether its source has been silent too long.
const CHECK_MS: Millis = 100;

impl Node {
    /// The address of node `id`: a member's, a followed member's (replica mode), or a
    /// replica's that follows this member.
    pub fn addr_of(&self, id: NodeId) -> Option<&str> {
        if let Some(m) = self.members.get(id) {
            return Some(m.digest.addr.as_str());
        }
        if let Some(addr) = self.following.as_ref().and_then(|f| f.addr_of(id)) {
            return Some(addr);
        }
        self.followers.get(&id).map(String::as_str)
    }

    /// Replica mode: what is followed and how far behind (`None` for a member).
    pub fn replica_status(&self, now: Millis) -> Option<ReplicaStatus> {
        let f = self.following.as_ref()?;
        let mut status = f.status(now);
        for db in f.followed() {
            let (position, head) = self.catchup.position_in(f.source(), db);
            let behind_ms = self.catchup.lag(&(f.source(), db.clone()), now).behind_ms;
            let state = if self.snapshots.fetching(db) { "snapshot" } else { "following" };
            status.databases.push(ReplicaDatabase { name: db.clone(), position, head, behind_ms, state });
        }
        Some(status)
    }

    // ----- a member -----

    /// A replica asks for this member's log heads (and members): remember where it
    /// listens, and answer — at once if asked for members or if a head moved past what
    /// the replica `known`s, else when one does (a long poll). A replica serves no other
    /// replica. A position the replica `applied` past this member's head means its log
    /// lost entries: the floor is raised above it, as for a peer's gossip.
    pub(super) fn on_follow(
        &mut self,
        from: NodeId,
        addr: String,
        members: bool,
        known: BTreeMap<String, u64>,
        applied: BTreeMap<String, u64>,
    ) {
        if self.following.is_some() || self.members.get(from).is_some() {
            return;
        }
        for (db, pos) in &applied {
            self.catchup.on_peer_applied(&mut self.out, db, *pos);
        }
        self.followers.insert(from, addr);
        self.parked.remove(&from);
        if members || self.moved_past(&known) {
            self.answer_follower(from, members);
        } else {
            self.parked.insert(from, (self.now, known));
        }
    }

    /// Whether this member has a head past `known` (a database it does not name counts:
    /// a first ask is answered at once unless this member has no database at all).
    fn moved_past(&self, known: &BTreeMap<String, u64>) -> bool {
        self.catchup.heads().iter().any(|(db, h)| known.get(db).is_none_or(|k| h > k))
    }

    fn answer_follower(&mut self, to: NodeId, members: bool) {
        let members: Vec<MemberDigest> = if members { self.members.digests() } else { Vec::new() };
        let heads = self.catchup.heads().clone();
        self.send(to, Message::FollowReply { members, heads });
    }

    /// Answer the parked long polls this member's heads moved past, and (on a tick) those
    /// held for [`HOLD_MS`].
    pub(super) fn wake_followers(&mut self, tick: bool) {
        let now = self.now;
        let due: Vec<NodeId> = self
            .parked
            .iter()
            .filter(|(_, (since, known))| self.moved_past(known) || (tick && now.saturating_sub(*since) >= HOLD_MS))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.parked.remove(&id);
            self.answer_follower(id, false);
        }
    }

    // ----- a replica -----

    /// Start following: this node is ALIVE at once (it joins nothing) and asks its first
    /// source.
    pub(super) fn start_following(&mut self) {
        self.members.set_local_state(MemberState::Alive);
        if let Some(f) = &self.following {
            self.observe(Observation::ReplicaSource { from: None, to: f.source() });
        }
        self.poll_source();
        self.timer(Timer::Tick, self.cfg.gossip_interval_ms);
    }

    /// The poll timer: fail over if the source has been silent too long, ask it for its
    /// heads when due.
    pub(super) fn poll_source(&mut self) {
        let addr = self.members.local().digest.addr.clone();
        let Some(f) = self.following.as_mut() else { return };
        let overdue = self.snapshots.overdue(self.now, f.cfg().initial_sync_timeout_ms);
        let mut moved = None;
        for (database, source) in overdue {
            self.snapshots.abandon(&database);
            if source == f.source() && moved.is_none() {
                moved = f.fail_over(self.now);
            }
            self.out.observe(Observation::ReplicaSyncTimedOut { database, source });
        }
        let (polled, ask) = f.poll(self.now, &addr);
        let moved = moved.or(polled);
        let to = f.source();
        if let Some(from) = moved {
            self.observe(Observation::ReplicaSource { from: Some(from), to });
        }
        if let Some((to, msg)) = ask {
            self.ask_source(to, msg);
        }
        self.timer(Timer::Gossip, CHECK_MS);
    }

    /// The source's heads (and members): take up new databases, pull what is behind,
    /// and ask again (the next long poll).
    pub(super) fn on_follow_reply(&mut self, from: NodeId, members: Vec<MemberDigest>, heads: BTreeMap<String, u64>) {
        let (now, addr) = (self.now, self.members.local().digest.addr.clone());
        let Some(f) = self.following.as_mut() else { return };
        let Some(reply) = f.on_reply(now, from, members, heads, &addr) else { return };
        for database in reply.new {
            self.observe(Observation::ReplicaDatabase { database });
        }
        self.on_peer_heads(from, reply.heads);
        self.ask_source(from, reply.ask);
    }

    /// Send a long poll to the source, with how far this replica applied its log.
    fn ask_source(&mut self, to: NodeId, mut ask: Message) {
        if let Message::Follow { applied, .. } = &mut ask {
            *applied = self.catchup.applied_of(to);
        }
        self.send(to, ask);
    }

    /// Pull `db` from `peer` if it is the source and `db` is replicated: from a
    /// snapshot if the replica holds nothing of it yet, at most `snapshot_concurrency`
    /// at once.
    pub(super) fn replica_pull(&mut self, peer: NodeId, db: &str) {
        let Some(f) = &self.following else { return };
        if peer != f.source() || !f.follows(db) {
            return;
        }
        let limit = f.cfg().snapshot_concurrency.max(1);
        if self.snapshots.progress().len() >= limit {
            // Delta pulls wait too: a snapshot still to come would replace what they bring.
            if self.catchup.never_applied(db) {
                return;
            }
        }
        if self.catchup.pull(&mut step!(self), peer, db, true) == Pull::Snapshot
            && self.snapshots.progress().len() < limit
        {
            self.start_snapshot(db, peer);
        }
    }

    /// Every tick: a database whose source log has a gap is fetched again as a snapshot
    /// from the source (a member would ask another live member; a replica has only its
    /// source).
    pub(super) fn repair_replica(&mut self) {
        let Some(f) = &self.following else { return };
        let source = f.source();
        let limit = f.cfg().snapshot_concurrency.max(1);
        let gaps: Vec<String> = self.catchup.gap_databases().into_iter().filter(|db| f.follows(db)).collect();
        for db in gaps {
            if !self.snapshots.fetching(&db) && self.snapshots.progress().len() < limit {
                self.start_snapshot(&db, source);
            }
        }
    }
}
