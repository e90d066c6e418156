//! A cluster of real `Node`s driven in one thread: messages arrive at once and in order
//! unless a test cuts a link, storage completes at once (on the model store in
//! `store.rs`) unless a test holds it, timers fire in time order as the test advances
//! the clock. Every effect is recorded so tests can assert on what a user or a peer
//! would see.

#![allow(dead_code)] // each test file uses a different part

pub mod store;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use marmot_core::io::{AdminCmd, Reply};
use marmot_core::membership::MemberState;
use marmot_core::{
    ColumnValue, Consistency, CoreConfig, Effect, Envelope, Input, Message, Node, NodeId, Observation, Op, ReqId,
    RowChange, RowKey, Timer, Value,
};

pub use store::Store;

/// Changes a message on its way.
pub type Tamper = Box<dyn FnMut(&mut Envelope)>;

/// The cluster under test.
pub struct Cluster {
    /// Current time (every node's clock).
    pub now: u64,
    nodes: BTreeMap<NodeId, Node>,
    /// Each node's durable state (kept across crashes).
    pub stores: BTreeMap<NodeId, Store>,
    inbox: VecDeque<(NodeId, Input)>,
    timers: BTreeSet<(u64, u64, NodeId, Timer)>,
    timer_seq: u64,
    /// Replies by request id (request ids are unique across the cluster).
    pub replies: BTreeMap<ReqId, Reply>,
    /// Every observation, in order.
    pub observed: Vec<(u64, NodeId, Observation)>,
    /// Every durable write asked for: (time, node, kind).
    pub persisted: Vec<(u64, NodeId, &'static str)>,
    /// Every message sent, delivered or not.
    pub sent: Vec<Envelope>,
    /// When each of `sent` was sent.
    pub sent_ms: Vec<u64>,
    /// Each node's configuration, and the address it starts with.
    cfgs: BTreeMap<NodeId, CoreConfig>,
    addrs: BTreeMap<NodeId, String>,
    /// Crashed nodes.
    pub down: BTreeSet<NodeId>,
    /// Links that drop everything, as (from, to).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Nodes whose storage completions wait until released.
    pub slow_disk: BTreeSet<NodeId>,
    /// Nodes whose durable writes fail ("disk full").
    pub failing_disk: BTreeSet<NodeId>,
    /// Message kinds dropped everywhere (e.g. "commit").
    pub drop_kinds: BTreeSet<&'static str>,
    /// Changes messages on their way (e.g. corrupts a snapshot chunk).
    pub tamper: Option<Tamper>,
    held: Vec<(NodeId, Input)>,
    next_req: ReqId,
    seed: u64,
}

impl Cluster {
    /// `n` nodes that all know each other, started and settled (every one ALIVE).
    pub fn new(n: u64, cfg: CoreConfig) -> Self {
        Self::with(n, |_| cfg.clone())
    }

    /// Like [`Cluster::new`], each node with its own configuration.
    pub fn with(n: u64, cfg_of: impl Fn(NodeId) -> CoreConfig) -> Self {
        let mut c = Self {
            now: 0,
            nodes: BTreeMap::new(),
            stores: BTreeMap::new(),
            inbox: VecDeque::new(),
            timers: BTreeSet::new(),
            timer_seq: 0,
            replies: BTreeMap::new(),
            observed: Vec::new(),
            sent: Vec::new(),
            sent_ms: Vec::new(),
            cfgs: BTreeMap::new(),
            addrs: BTreeMap::new(),
            persisted: Vec::new(),
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            slow_disk: BTreeSet::new(),
            failing_disk: BTreeSet::new(),
            drop_kinds: BTreeSet::new(),
            tamper: None,
            held: Vec::new(),
            next_req: 1,
            seed: 7,
        };
        for id in 1..=n {
            c.stores.insert(id, Store::default());
            c.cfgs.insert(id, cfg_of(id));
            c.addrs.insert(id, format!("n{id}"));
        }
        for id in 1..=n {
            c.boot(id);
        }
        c.run_for(3_000);
        for id in 1..=n {
            assert_eq!(c.state_of(id, id), Some(MemberState::Alive), "node {id} did not start");
        }
        c
    }

    /// Default configuration with `n` nodes.
    pub fn of(n: u64) -> Self {
        Self::new(n, CoreConfig::default())
    }

    fn boot(&mut self, id: NodeId) {
        let ids: Vec<NodeId> = self.stores.keys().copied().collect();
        // Members know each other; a replica knows the members it may follow.
        let replica = |p: &NodeId| self.cfgs[p].replica.is_some();
        let peers = ids.iter().filter(|p| **p != id && !replica(p)).map(|p| (*p, format!("n{p}"))).collect();
        self.seed += 1;
        let (cfg, addr) = (self.cfgs[&id].clone(), self.addrs[&id].clone());
        let node = Node::new(cfg, id, addr, peers, self.seed, self.stores[&id].recover());
        self.nodes.insert(id, node);
        self.inbox.push_back((id, Input::Start));
    }

    /// Node `id` as it stands.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    /// How node `at` sees member `of`.
    pub fn state_of(&self, at: NodeId, of: NodeId) -> Option<MemberState> {
        self.nodes[&at].membership().state_of(of)
    }

    /// Crash node `id`: it loses everything not in its store.
    pub fn crash(&mut self, id: NodeId) {
        self.down.insert(id);
        self.timers.retain(|(_, _, n, _)| *n != id);
        self.inbox.retain(|(n, _)| *n != id);
        self.held.retain(|(n, _)| *n != id);
    }

    /// Restart a crashed node on its store.
    pub fn restart(&mut self, id: NodeId) {
        self.down.remove(&id);
        self.boot(id);
    }

    /// Restart a crashed node at another address, or with another configuration.
    pub fn restart_as(&mut self, id: NodeId, addr: &str, cfg: CoreConfig) {
        self.addrs.insert(id, addr.to_string());
        self.cfgs.insert(id, cfg);
        self.restart(id);
    }

    /// Restart a crashed node on an empty store (its disk was lost).
    pub fn replace_disk(&mut self, id: NodeId) {
        self.stores.insert(id, Store::default());
        self.restart(id);
    }

    /// Cut both directions between `a` and every node of `others`.
    pub fn partition(&mut self, a: &[NodeId], others: &[NodeId]) {
        for x in a {
            for y in others {
                self.cut.insert((*x, *y));
                self.cut.insert((*y, *x));
            }
        }
    }

    /// Repair every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Let held storage completions of `id` arrive.
    pub fn release_disk(&mut self, id: NodeId) {
        self.slow_disk.remove(&id);
        let (go, keep): (Vec<_>, Vec<_>) = self.held.drain(..).partition(|(n, _)| *n == id);
        self.held = keep;
        self.inbox.extend(go);
    }

    /// Submit a client write of `rows` at node `at`; returns its request id.
    pub fn write(&mut self, at: NodeId, rows: Vec<RowChange>, consistency: Option<Consistency>) -> ReqId {
        let req = self.next_req;
        self.next_req += 1;
        self.inbox.push_back((at, Input::Write { req, rows, consistency }));
        self.drain();
        req
    }

    /// An operator command at node `at`; returns its request id.
    pub fn admin(&mut self, at: NodeId, cmd: AdminCmd) -> ReqId {
        let req = self.next_req;
        self.next_req += 1;
        self.inbox.push_back((at, Input::Admin { req, cmd }));
        self.drain();
        req
    }

    /// Deliver every pending input (at the current time).
    pub fn drain(&mut self) {
        let mut handled = 0u64;
        while let Some((id, input)) = self.inbox.pop_front() {
            handled += 1;
            assert!(handled < 1_000_000, "livelock: a million inputs at {} ms without time passing", self.now);
            if self.down.contains(&id) {
                continue;
            }
            let mut out = Vec::new();
            self.nodes.get_mut(&id).expect("a node").handle(self.now, input, &mut out);
            for e in out {
                self.effect(id, e);
            }
        }
    }

    fn effect(&mut self, id: NodeId, e: Effect) {
        match e {
            Effect::Send(mut env) => {
                if let Some(t) = self.tamper.as_mut() {
                    t(&mut env);
                }
                let dropped = self.down.contains(&env.to)
                    || self.cut.contains(&(env.from, env.to))
                    || self.drop_kinds.contains(env.msg.kind());
                self.sent.push(env.clone());
                self.sent_ms.push(self.now);
                if !dropped {
                    self.inbox.push_back((env.to, Input::Peer(env)));
                }
            }
            Effect::SetTimer { timer, at } => {
                self.timer_seq += 1;
                self.timers.insert((at.max(self.now), self.timer_seq, id, timer));
            }
            Effect::Persist { op, write } => {
                self.persisted.push((self.now, id, write_kind(&write)));
                let result = if self.failing_disk.contains(&id) {
                    Err("disk full".to_string())
                } else {
                    self.stores.get_mut(&id).expect("a store").write(write)
                };
                self.complete(id, Input::StorageDone { op, result });
            }
            Effect::Read { op, read } => {
                let result = self.stores.get_mut(&id).expect("a store").read(read, id);
                self.complete(id, Input::StorageRead { op, result });
            }
            Effect::Reply { req, reply } => {
                self.replies.insert(req, reply);
            }
            Effect::Observe(o) => self.observed.push((self.now, id, o)),
        }
    }

    fn complete(&mut self, id: NodeId, input: Input) {
        if self.slow_disk.contains(&id) {
            self.held.push((id, input));
        } else {
            self.inbox.push_back((id, input));
        }
    }

    /// Run `ms` of time: deliver everything, fire due timers in order, repeat.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        let mut fired = 0u64;
        loop {
            self.drain();
            fired += 1;
            assert!(fired < 1_000_000, "livelock: a million timers between {} ms and {until} ms", self.now);
            let Some(first) = self.timers.first().copied() else { break };
            if first.0 > until {
                break;
            }
            self.timers.remove(&first);
            let (at, _, id, timer) = first;
            self.now = self.now.max(at);
            self.inbox.push_back((id, Input::Timer(timer)));
        }
        self.now = until;
    }

    /// Run until `req` is answered (at most `ms`); its reply.
    pub fn answer(&mut self, req: ReqId, ms: u64) -> Option<Reply> {
        let until = self.now + ms;
        while self.now < until && !self.replies.contains_key(&req) {
            self.run_for(10);
        }
        self.replies.get(&req).cloned()
    }

    /// Write and wait for the answer (at most 10 s).
    pub fn commit(&mut self, at: NodeId, rows: Vec<RowChange>, consistency: Option<Consistency>) -> Reply {
        let req = self.write(at, rows, consistency);
        self.answer(req, 10_000).expect("no answer within 10 s")
    }

    /// Messages of `kind` sent so far.
    pub fn count_sent(&self, kind: &str) -> usize {
        self.sent.iter().filter(|e| e.msg.kind() == kind).count()
    }

    /// The rows of `database` at node `id`.
    pub fn rows(&self, id: NodeId, database: &str) -> BTreeMap<(String, RowKey), marmot_core::Row> {
        self.stores[&id].table_rows(database)
    }

    /// Observations of node `id` matching `f`.
    pub fn seen(&self, id: NodeId, f: impl Fn(&Observation) -> bool) -> usize {
        self.observed.iter().filter(|(_, n, o)| *n == id && f(o)).count()
    }

    /// Messages sent from `from` to `to` of `kind`.
    pub fn sent_between(&self, from: NodeId, to: NodeId, kind: &str) -> Vec<&Message> {
        self.sent.iter().filter(|e| e.from == from && e.to == to && e.msg.kind() == kind).map(|e| &e.msg).collect()
    }
}

/// A short name for a durable write.
pub fn write_kind(w: &marmot_core::StoreWrite) -> &'static str {
    use marmot_core::StoreWrite as W;
    match w {
        W::Prepare { .. } => "prepare",
        W::Commit { .. } => "commit",
        W::Abort { .. } => "abort",
        W::Refuse { .. } => "refuse",
        W::Promise { .. } => "promise",
        W::ApplyLog { .. } => "apply_log",
        W::InstallSnapshot { .. } => "install_snapshot",
        W::TrimLog { .. } => "trim_log",
        W::RaiseLogFloor { .. } => "raise_log_floor",
        W::Membership { .. } => "membership",
    }
}

/// A row change: table `t` of database `db`, key `k`, column `v` set to `v`.
pub fn put(db: &str, k: i64, v: i64) -> RowChange {
    RowChange {
        database: db.into(),
        table: "t".into(),
        op: Op::Insert,
        key: RowKey(k.to_be_bytes().to_vec()),
        before: None,
        after: Some(vec![ColumnValue { column: "v".into(), value: Value::Integer(v) }]),
        schema_version: 0,
        read_version: None,
    }
}

/// The value of column `v` of key `k` in database `db` at node `id`, if the row exists.
pub fn value(c: &Cluster, id: NodeId, db: &str, k: i64) -> Option<i64> {
    let rows = c.rows(id, db);
    let row = rows.get(&("t".to_string(), RowKey(k.to_be_bytes().to_vec())))?;
    match row[0].value {
        Value::Integer(v) => Some(v),
        _ => None,
    }
}

/// Whether `r` is a commit.
pub fn committed(r: &Reply) -> bool {
    matches!(r, Reply::Committed { .. })
}
