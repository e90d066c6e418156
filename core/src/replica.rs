//! Read-only replica mode: which member a replica follows, and when it moves on.
//!
//! A replica is not a member: it votes on nothing, counts in no quorum, and no member
//! waits for it. It asks one member — its *source* — for its log heads
//! ([`crate::Message::Follow`]), and pulls that member's log exactly as a member catches
//! up ([`crate::catchup`]): a database it holds nothing of starts from a snapshot, then
//! entries follow in the source's log order. The ask is a long poll: the source answers
//! as soon as its heads move past those the replica names, or after about a second with
//! nothing new, and the replica asks again at once — so a commit reaches the replica
//! about one round trip after the source applied it, with no polling delay. Only
//! committed transactions
//! enter a log, so a replica never shows one the cluster did not commit.
//!
//! Failover needs no position translation. Members apply concurrent transactions in
//! different orders, so a position in one member's log means nothing in another's; but
//! a snapshot carries the donor's positions in *every* member's log, and delta sync from
//! a new source resumes at the replica's position in that member's log — which may
//! replay entries it already has from the old source (applied markers make that
//! harmless) and never skips one: an entry at or below that position was applied by the
//! donor before the snapshot was taken. A new source that no longer has that part of
//! its log answers with a gap, and the replica takes a snapshot from it.
//!
//! Members are learned from the source every `discovery_interval_ms`; when the source
//! is silent for `failover_timeout_ms` the replica follows the next live data member
//! (by id, after the current one), or the next configured address if none is known.
//! A silent source is asked again after `reconnect_interval_ms`, doubling up to
//! `reconnect_max_backoff_ms`.

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::ReplicaConfig;
use crate::membership::{MemberDigest, MemberState};
use crate::message::Message;
use crate::types::NodeId;
use crate::Millis;

/// No answer from the source for this long: it is silent (asks back off, and the
/// failover clock runs). A member holds a long poll for one to two seconds.
const SILENT_MS: Millis = 4_000;

/// An ask not answered in this long is made again (the answer or the ask was lost).
const REASK_MS: Millis = 3_000;

/// What a replica knows of its cluster and its source.
#[derive(Clone, Debug)]
pub(crate) struct Following {
    cfg: ReplicaConfig,
    filter: Option<GlobSet>,
    /// The configured addresses (`follow_addresses`, resolved to ids by the host).
    seeds: Vec<(NodeId, String)>,
    /// The members as the source last described them.
    cluster: BTreeMap<NodeId, MemberDigest>,
    source: NodeId,
    source_since: Millis,
    last_heard: Option<Millis>,
    next_ask: Millis,
    /// Asks in a row without an answer (the reconnect backoff's exponent).
    unanswered: u32,
    last_members: Option<Millis>,
    last_discovery: Option<Millis>,
    followed: BTreeSet<String>,
    failovers: u64,
    /// The source's heads as last heard (all databases; empty after a failover).
    known: BTreeMap<String, u64>,
}

/// What a replica makes of its source's answer ([`Following::on_reply`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reply {
    /// The source's heads of the databases followed.
    pub(crate) heads: BTreeMap<String, u64>,
    /// Databases taken up now.
    pub(crate) new: Vec<String>,
    /// The next long poll, to send at once.
    pub(crate) ask: Message,
}

/// A replica's state, for `/metrics` and the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The member followed.
    pub source: NodeId,
    /// Its address.
    pub source_addr: String,
    /// Milliseconds since it last answered (`None`: not yet).
    pub heard_ms_ago: Option<Millis>,
    /// Times the replica moved to another source.
    pub failovers: u64,
    /// Databases replicated, each with its lag behind the source's log.
    pub databases: Vec<ReplicaDatabase>,
}

/// One replicated database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaDatabase {
    /// Database.
    pub name: String,
    /// The replica's position in the source's log.
    pub position: u64,
    /// The source's head, as last heard.
    pub head: u64,
    /// How long the replica has been behind that head (0 when level).
    pub behind_ms: Millis,
    /// `snapshot` while a snapshot is fetched, `following` otherwise.
    pub state: &'static str,
}

fn glob_set(patterns: &[String]) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // The host validated every pattern; one that does not parse matches nothing.
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    b.build().ok()
}

impl Following {
    /// Follow the first of `seeds` (non-empty: the host checks `follow_addresses`).
    pub(crate) fn new(cfg: ReplicaConfig, seeds: Vec<(NodeId, String)>) -> Self {
        let source = seeds.first().map_or(0, |s| s.0);
        Self {
            filter: glob_set(&cfg.databases),
            cfg,
            seeds,
            cluster: BTreeMap::new(),
            source,
            source_since: 0,
            last_heard: None,
            next_ask: 0,
            unanswered: 0,
            last_members: None,
            last_discovery: None,
            followed: BTreeSet::new(),
            failovers: 0,
            known: BTreeMap::new(),
        }
    }

    pub(crate) fn cfg(&self) -> &ReplicaConfig {
        &self.cfg
    }

    pub(crate) fn source(&self) -> NodeId {
        self.source
    }

    /// The address of a member (as the source described it, or as configured).
    pub(crate) fn addr_of(&self, id: NodeId) -> Option<&str> {
        self.cluster
            .get(&id)
            .map(|d| d.addr.as_str())
            .or_else(|| self.seeds.iter().find(|s| s.0 == id).map(|s| s.1.as_str()))
    }

    /// Whether `db` is replicated here.
    pub(crate) fn follows(&self, db: &str) -> bool {
        self.followed.contains(db)
    }

    /// The next source after the current one: a live data member the source described,
    /// else a configured address; `None` if there is no other.
    fn next_source(&self) -> Option<NodeId> {
        let live: Vec<NodeId> = self
            .cluster
            .values()
            .filter(|d| d.state == MemberState::Alive && !d.removed && !d.sentinel && d.id != self.source)
            .map(|d| d.id)
            .collect();
        let pool: Vec<NodeId> = if live.is_empty() {
            self.seeds.iter().map(|s| s.0).filter(|id| *id != self.source).collect()
        } else {
            live
        };
        pool.iter().copied().find(|id| *id > self.source).or_else(|| pool.first().copied())
    }

    /// At `now`: move to another source if this one has been silent for the failover
    /// timeout (returns the old one), and the ask due now, if any.
    pub(crate) fn poll(&mut self, now: Millis, my_addr: &str) -> (Option<NodeId>, Option<(NodeId, Message)>) {
        let mut moved = None;
        if self.source_since == 0 {
            self.source_since = now;
        }
        let heard = self.last_heard.unwrap_or(self.source_since);
        if now.saturating_sub(heard) >= self.cfg.failover_timeout_ms {
            moved = self.fail_over(now);
        }
        if now < self.next_ask {
            return (moved, None);
        }
        let silent = now.saturating_sub(self.last_heard.unwrap_or(self.source_since)) >= SILENT_MS;
        self.next_ask = if silent {
            let backoff = self.cfg.reconnect_interval_ms.saturating_mul(1 << self.unanswered.min(16));
            self.unanswered += 1;
            now + backoff.min(self.cfg.reconnect_max_backoff_ms).max(1)
        } else {
            now + REASK_MS
        };
        (moved, Some((self.source, self.ask(now, my_addr))))
    }

    /// Follow the next source from `now` (returns the one left; `None` if there is no
    /// other, and the same one gets a fresh start).
    pub(crate) fn fail_over(&mut self, now: Millis) -> Option<NodeId> {
        let mut moved = None;
        if let Some(next) = self.next_source() {
            moved = Some(self.source);
            self.source = next;
            self.failovers += 1;
        }
        // Give the new source (or, alone, the same one) a full timeout.
        self.known.clear();
        self.source_since = now;
        self.last_heard = None;
        self.unanswered = 0;
        self.next_ask = now;
        moved
    }

    /// The next long poll of the source.
    fn ask(&self, now: Millis, my_addr: &str) -> Message {
        let members = self.last_members.is_none_or(|t| now.saturating_sub(t) >= self.cfg.discovery_interval_ms);
        // (`applied` is the node's to fill: positions are catch-up's.)
        Message::Follow { addr: my_addr.to_string(), members, known: self.known.clone(), applied: BTreeMap::new() }
    }

    /// The source answered at `now`: note its members (if sent) and take up new
    /// databases when discovery is due. Returns its heads of the databases followed, the
    /// databases taken up now, and the next long poll to send at once; `None` if `from`
    /// is not the source (a late answer).
    pub(crate) fn on_reply(
        &mut self,
        now: Millis,
        from: NodeId,
        members: Vec<MemberDigest>,
        heads: BTreeMap<String, u64>,
        my_addr: &str,
    ) -> Option<Reply> {
        if from != self.source {
            return None;
        }
        self.last_heard = Some(now);
        self.unanswered = 0;
        self.known = heads.clone();
        if !members.is_empty() {
            self.cluster = members.into_iter().map(|d| (d.id, d)).collect();
            self.last_members = Some(now);
        }
        let mut new = Vec::new();
        if self.last_discovery.is_none_or(|t| now.saturating_sub(t) >= self.cfg.database_discovery_interval_ms) {
            self.last_discovery = Some(now);
            for db in heads.keys() {
                // Each node's own system databases are never replicated.
                let system = db.starts_with("__marmot");
                let wanted = !system && self.filter.as_ref().is_none_or(|f| f.is_match(db));
                if wanted && self.followed.insert(db.clone()) {
                    new.push(db.clone());
                }
            }
        }
        let heads = heads.into_iter().filter(|(db, _)| self.followed.contains(db)).collect();
        self.next_ask = now + REASK_MS;
        Some(Reply { heads, new, ask: self.ask(now, my_addr) })
    }

    /// What the replica reports about itself (databases filled in by the node).
    pub(crate) fn status(&self, now: Millis) -> ReplicaStatus {
        ReplicaStatus {
            source: self.source,
            source_addr: self.addr_of(self.source).unwrap_or_default().to_string(),
            heard_ms_ago: self.last_heard.map(|t| now.saturating_sub(t)),
            failovers: self.failovers,
            databases: Vec::new(),
        }
    }

    /// The databases followed.
    pub(crate) fn followed(&self) -> impl Iterator<Item = &String> {
        self.followed.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: NodeId, state: MemberState) -> MemberDigest {
        MemberDigest {
            id,
            addr: format!("n{id}"),
            state,
            incarnation: 1,
            admin_gen: 0,
            removed: false,
            sentinel: false,
            fresh: false,
        }
    }

    fn cfg() -> ReplicaConfig {
        ReplicaConfig {
            databases: vec!["app*".into()],
            failover_timeout_ms: 10_000,
            reconnect_interval_ms: 1000,
            reconnect_max_backoff_ms: 4000,
            ..ReplicaConfig::default()
        }
    }

    /// A silent source is asked with a growing backoff, and after the failover timeout
    /// the replica follows the next live member it learned of; a late answer from the
    /// old source is ignored.
    #[test]
    fn a_silent_source_is_replaced_by_the_next_live_member() {
        let mut f = Following::new(cfg(), vec![(1, "n1".into())]);
        let (moved, ask) = f.poll(1_000, "r");
        assert_eq!(moved, None);
        assert!(matches!(ask, Some((1, Message::Follow { members: true, .. }))));
        let members = vec![member(1, MemberState::Alive), member(2, MemberState::Dead), member(3, MemberState::Alive)];
        let heads = BTreeMap::from([("app".to_string(), 5), ("other".to_string(), 7)]);
        let reply = f.on_reply(1_010, 1, members, heads.clone(), "r").expect("from the source");
        assert_eq!(reply.heads, BTreeMap::from([("app".to_string(), 5)]), "the glob keeps app only");
        assert_eq!(reply.new, vec!["app".to_string()]);
        let next = Message::Follow { addr: "r".into(), members: false, known: heads, applied: BTreeMap::new() };
        assert_eq!(reply.ask, next, "the next long poll names every head heard");
        // Silence: asks at 1 s, 2 s, 4 s, 4 s… after the poll interval runs out.
        let mut asked = Vec::new();
        for t in (1_100..11_010).step_by(100) {
            if let (None, Some(_)) = f.poll(t, "r") {
                asked.push(t);
            }
        }
        assert!(asked.len() < 30, "a silent source is not asked every poll: {asked:?}");
        let (moved, ask) = f.poll(11_010, "r");
        assert_eq!(moved, Some(1));
        assert_eq!(f.source(), 3, "node 2 is dead: node 3 is next");
        assert!(matches!(ask, Some((3, Message::Follow { ref known, .. })) if known.is_empty()), "asks afresh");
        assert_eq!(f.on_reply(11_020, 1, Vec::new(), BTreeMap::new(), "r"), None, "late answer of the old source");
        assert!(f.on_reply(11_020, 3, Vec::new(), BTreeMap::new(), "r").is_some());
    }
}
