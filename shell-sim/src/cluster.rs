//! A simulated cluster: turmoil plus the state that outlives host crashes (stores,
//! client results, observations, the trace hash).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use marmot_core::coordinator::InFlightSummary;
use marmot_core::io::AdminCmd;
use marmot_core::participant::ParticipantSummary;
use marmot_core::{Consistency, CoreConfig, Millis, NodeId, Observation, RowChange, TxnId};
use marmot_store::{Location, Store, Synchronous};
use tokio::sync::mpsc::UnboundedSender;

use crate::host::{host_name, run_host};

/// The simulated wall clock starts here (2026-01-01T00:00:00Z), whatever the real date.
pub const EPOCH_MS: u64 = 1_767_225_600_000;

/// Shape of a simulated cluster.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Node count; ids are 1..=nodes.
    pub nodes: u64,
    /// Root seed: turmoil's RNG, node RNGs and SQLite's `random()` derive from it.
    pub seed: u64,
    /// Protocol settings.
    pub core: CoreConfig,
    /// Clock offset of each node in ms (index = id - 1).
    pub skews_ms: Vec<i64>,
    /// Databases and the schema SQL run in each, on every node, before start.
    pub schema: Vec<(String, String)>,
    /// Network latency bounds.
    pub min_latency_ms: u64,
    /// Network latency bounds.
    pub max_latency_ms: u64,
    /// How long each storage write takes to become durable (0 = at once).
    pub io_latency_ms: u64,
    /// Nodes that are not started with the cluster: they join later knowing only node
    /// 1 as their seed, and the others do not know them in advance.
    pub late_nodes: Vec<NodeId>,
    /// Sentinels: they vote and keep versions and the log, but hold no table data.
    pub sentinels: Vec<NodeId>,
    /// Read-only replicas: they follow node 1 (and, when it is silent, another member
    /// they learned of), take no writes and count in no quorum.
    pub replicas: Vec<NodeId>,
    /// How every replica follows.
    pub replica: marmot_core::ReplicaConfig,
    /// Stores compare snapshots with their SHA-256 before installing them (false only
    /// in the control run that shows the data checks catch what the checksum keeps out).
    pub verify_snapshot_checksums: bool,
}

/// A client transaction: statements run together on one node.
#[derive(Clone, Debug)]
pub struct ClientTxn {
    /// Database the statements run in.
    pub database: String,
    /// SQLite statements.
    pub statements: Vec<String>,
    /// Write consistency.
    pub consistency: Consistency,
    /// The statements are one schema change (DDL), replicated as such rather than captured.
    pub schema_change: bool,
}

/// How a client request ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientOutcome {
    /// Committed at the requested consistency.
    Committed(TxnId),
    /// The write was refused or failed, with the node's error (typed: checks classify
    /// failures by kind, never by their text).
    Refused(marmot_core::WriteError),
    /// Failed before reaching the core (capture) or an admin command failed, with the text.
    Failed(String),
    /// The statements changed no row.
    NoChange,
    /// An admin command succeeded.
    AdminOk,
    /// The target host was down.
    HostDown,
}

/// One client request and its fate.
#[derive(Clone, Debug)]
pub struct ClientResult {
    /// Node it was sent to.
    pub node: NodeId,
    /// What was asked (None for admin commands).
    pub txn: Option<ClientTxn>,
    /// The captured rows, once captured.
    pub rows: Vec<RowChange>,
    /// Sim time sent.
    pub sent_ms: u64,
    /// Sim time answered.
    pub answered_ms: Option<u64>,
    /// Outcome, if answered (a crash can swallow it).
    pub outcome: Option<ClientOutcome>,
}

pub(crate) enum HostRequest {
    Write { idx: usize, txn: ClientTxn },
    Admin { idx: usize, cmd: AdminCmd },
}

/// State shared by the hosts and the outer loop; it survives host crashes.
pub struct Shared {
    pub(crate) spec: ClusterSpec,
    stores: Vec<Rc<RefCell<Store>>>,
    inboxes: RefCell<Vec<Option<UnboundedSender<HostRequest>>>>,
    results: RefCell<Vec<ClientResult>>,
    observations: RefCell<Vec<(u64, NodeId, Observation)>>,
    /// Every transaction any node was asked to commit or apply, by id (kept here because
    /// log GC deletes them from the nodes' logs).
    archive: RefCell<BTreeMap<marmot_core::TxnId, marmot_core::Txn>>,
    violations: RefCell<Vec<String>>,
    trace: RefCell<u64>,
    incarnations: RefCell<BTreeMap<NodeId, u64>>,
    /// What each running node coordinates right now, and its COMMIT targets.
    phases: RefCell<BTreeMap<NodeId, Phases>>,
    /// Row intents each running node holds (in memory: they are rebuilt from the prepared
    /// records at recovery, not stored).
    intents: RefCell<BTreeMap<NodeId, usize>>,
    /// Last HLC each node issued, across its restarts.
    last_issued: RefCell<BTreeMap<NodeId, marmot_core::Hlc>>,
    /// Snapshot chunks still to be corrupted in transit (one byte flipped each).
    corrupt_chunks: RefCell<u32>,
    /// Where in a chunk the flipped byte goes: a seeded RNG of its own, so corruption
    /// shifts no other draw.
    corrupt_rng: RefCell<rand_chacha::ChaCha8Rng>,
    /// Every transaction decided so far: (committed, by node, at ms), to catch a second,
    /// contrary decision the moment it is made.
    decided: RefCell<BTreeMap<marmot_core::TxnId, (bool, NodeId, u64)>>,
    /// Nodes stalled (a GC-like pause) until this sim time, ms.
    paused_until: RefCell<BTreeMap<NodeId, u64>>,
    /// Prefix of this run's in-memory database names.
    run_ns: String,
    /// The TCP connections of each running node's software.
    sockets: RefCell<BTreeMap<NodeId, std::sync::Arc<crate::sockets::Sockets>>>,
    /// Disks lost so far (each replacement disk gets a name of its own).
    disks_lost: RefCell<u64>,
}

impl Shared {
    /// How long `id` stays stalled from sim time `at` (ms; 0: it runs).
    pub(crate) fn pause_left(&self, id: NodeId, at: u64) -> u64 {
        self.paused_until.borrow().get(&id).map_or(0, |until| until.saturating_sub(at))
    }

    /// Which byte of a snapshot chunk of `len` bytes at image offset `offset` to flip, if
    /// corruption is pending (and count it). Only bytes past the first page are chosen:
    /// table and index pages, where a flipped byte may change a row without breaking the
    /// file's structure, and not only the header page SQLite itself checks on opening.
    pub(crate) fn take_corruption(&self, offset: u64, len: usize) -> Option<usize> {
        let mut n = self.corrupt_chunks.borrow_mut();
        let first = FIRST_DATA_PAGE.saturating_sub(offset) as usize;
        if *n == 0 || first >= len {
            return None;
        }
        *n -= 1;
        let span = (len - first) as u64;
        Some(first + (rand_core::Rng::next_u64(&mut *self.corrupt_rng.borrow_mut()) % span) as usize)
    }

    pub(crate) fn clock_of(&self, id: NodeId) -> Millis {
        let elapsed = turmoil::sim_elapsed().unwrap_or_default().as_millis() as i64;
        let skew = self.spec.skews_ms.get(id as usize - 1).copied().unwrap_or(0);
        (EPOCH_MS as i64 + elapsed + skew) as Millis
    }

    pub(crate) fn store(&self, id: NodeId) -> Rc<RefCell<Store>> {
        self.stores[id as usize - 1].clone()
    }

    pub(crate) fn peers_of(&self, id: NodeId) -> Vec<(NodeId, String)> {
        let addr = |p: NodeId| (p, format!("{}:{}", host_name(p), crate::host::PORT));
        if self.spec.late_nodes.contains(&id) || self.spec.replicas.contains(&id) {
            return vec![addr(1)];
        }
        let member = |p: &NodeId| !self.spec.late_nodes.contains(p) && !self.spec.replicas.contains(p);
        (1..=self.spec.nodes).filter(|p| *p != id && member(p)).map(addr).collect()
    }

    pub(crate) fn set_inbox(&self, id: NodeId, tx: UnboundedSender<HostRequest>) {
        self.inboxes.borrow_mut()[id as usize - 1] = Some(tx);
    }

    pub(crate) fn note_start(&self, id: NodeId, incarnation: u64) {
        self.incarnations.borrow_mut().insert(id, incarnation);
    }

    pub(crate) fn complete(&self, idx: usize, outcome: ClientOutcome, _now: Millis) {
        let elapsed = sim_ms();
        let mut r = self.results.borrow_mut();
        r[idx].outcome = Some(outcome);
        r[idx].answered_ms = Some(elapsed);
    }

    pub(crate) fn set_rows(&self, idx: usize, rows: Vec<RowChange>) {
        self.results.borrow_mut()[idx].rows = rows;
    }

    /// Remember the transactions a storage write carries.
    pub(crate) fn archive(&self, w: &marmot_core::StoreWrite) {
        let mut a = self.archive.borrow_mut();
        match w {
            marmot_core::StoreWrite::Commit { txn } => {
                a.entry(txn.id).or_insert_with(|| txn.clone());
            }
            marmot_core::StoreWrite::ApplyLog { entries, .. } => {
                for e in entries {
                    a.entry(e.txn.id).or_insert_with(|| e.txn.clone());
                }
            }
            _ => {}
        }
    }

    /// A fresh registry for the connections of a node's software that starts now.
    pub(crate) fn new_sockets(&self, id: NodeId) -> std::sync::Arc<crate::sockets::Sockets> {
        let sockets = std::sync::Arc::<crate::sockets::Sockets>::default();
        self.sockets.borrow_mut().insert(id, sockets.clone());
        sockets
    }

    pub(crate) fn observe(&self, id: NodeId, o: Observation) {
        if !matches!(o, Observation::ClockIssued(_)) {
            let at = sim_ms();
            if let Observation::TxnDecided { txn_id, committed } = &o {
                self.check_decision(at, id, *txn_id, *committed);
            }
            self.observations.borrow_mut().push((at, id, o));
        }
    }

    /// No transaction is decided both ways, checked as decisions happen so the report
    /// names the moment and the node (the end-of-run check only knows that it happened).
    fn check_decision(&self, at: u64, id: NodeId, txn: marmot_core::TxnId, committed: bool) {
        let mut decided = self.decided.borrow_mut();
        match decided.get(&txn) {
            Some((was, by, when)) if *was != committed => self.violation(format!(
                "at {at} ms node {id} decided {txn} {}, but node {by} decided it {} at {when} ms",
                if committed { "committed" } else { "aborted" },
                if *was { "committed" } else { "aborted" },
            )),
            Some(_) => {}
            None => {
                decided.insert(txn, (committed, id, at));
            }
        }
    }

    pub(crate) fn violation(&self, v: String) {
        self.violations.borrow_mut().push(v);
    }

    pub(crate) fn set_phases(&self, id: NodeId, phases: Phases, intents: usize) {
        self.phases.borrow_mut().insert(id, phases);
        self.intents.borrow_mut().insert(id, intents);
    }

    /// HLC must never go backwards on a node, restarts included.
    pub(crate) fn check_clock(&self, id: NodeId, h: marmot_core::Hlc) {
        let mut last = self.last_issued.borrow_mut();
        if let Some(prev) = last.get(&id) {
            if h <= *prev {
                self.violation(format!("node {id} HLC went backwards: issued {h} after {prev}"));
            }
        }
        last.insert(id, h);
    }

    pub(crate) fn fold_trace(&self, id: NodeId, h: u64) {
        let mut t = self.trace.borrow_mut();
        *t = (*t ^ h ^ id).wrapping_mul(0x100_0000_01b3).rotate_left(7);
    }
}

/// A running simulated cluster.
pub struct SimCluster {
    sim: turmoil::Sim<'static>,
    shared: Rc<Shared>,
    down: BTreeMap<NodeId, bool>,
    /// Links cut by partitions, both ways or one way, and by how many (until
    /// [`SimCluster::heal`], or until each cut is lifted by [`SimCluster::unpartition`]).
    cut: BTreeMap<(NodeId, NodeId), u32>,
    /// Links stalled by a loss, and until when (ms).
    stalled: BTreeMap<(NodeId, NodeId), u64>,
    /// Per tick and link, the chance that a segment is lost (see [`SimCluster::set_loss`]).
    loss: f64,
    /// Draws the losses (seeded: a run replays exactly).
    loss_rng: rand_chacha::ChaCha8Rng,
}

impl SimCluster {
    /// Build the cluster: create every node's in-memory store with the schema, and
    /// register the hosts with turmoil (seeded, with a fixed epoch).
    pub fn new(spec: ClusterSpec) -> Result<Self, String> {
        let run_ns = format!("sim{:x}-{}", spec.seed, unique());
        let mut stores = Vec::new();
        for id in 1..=spec.nodes {
            stores.push(Rc::new(RefCell::new(empty_store(&spec, &format!("{run_ns}-n{id}"), id)?)));
        }
        let mut b = turmoil::Builder::new();
        b.rng_seed(spec.seed)
            .epoch(UNIX_EPOCH + Duration::from_millis(EPOCH_MS))
            .simulation_duration(Duration::from_secs(24 * 3600))
            .tick_duration(Duration::from_millis(1))
            .min_message_latency(Duration::from_millis(spec.min_latency_ms))
            .max_message_latency(Duration::from_millis(spec.max_latency_ms));
        let sim = b.build();
        let shared = Rc::new(Shared {
            inboxes: RefCell::new(vec![None; spec.nodes as usize]),
            stores,
            results: RefCell::new(Vec::new()),
            observations: RefCell::new(Vec::new()),
            archive: RefCell::new(BTreeMap::new()),
            violations: RefCell::new(Vec::new()),
            trace: RefCell::new(0),
            incarnations: RefCell::new(BTreeMap::new()),
            last_issued: RefCell::new(BTreeMap::new()),
            corrupt_chunks: RefCell::new(0),
            corrupt_rng: RefCell::new(rand_core::SeedableRng::seed_from_u64(spec.seed ^ 0xC0_22_07)),
            paused_until: RefCell::new(BTreeMap::new()),
            decided: RefCell::new(BTreeMap::new()),
            run_ns,
            sockets: RefCell::default(),
            disks_lost: RefCell::new(0),
            phases: RefCell::new(BTreeMap::new()),
            intents: RefCell::new(BTreeMap::new()),
            spec,
        });
        let loss_rng = <rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(loss_seed(&shared.spec));
        let mut c = Self {
            sim,
            shared,
            down: BTreeMap::new(),
            cut: BTreeMap::new(),
            stalled: BTreeMap::new(),
            loss: 0.0,
            loss_rng,
        };
        for id in 1..=c.shared.spec.nodes {
            if !c.shared.spec.late_nodes.contains(&id) {
                c.start(id);
            }
        }
        Ok(c)
    }

    /// Start a node's host for the first time (late joiners); no-op if started before.
    pub fn start(&mut self, id: NodeId) {
        if self.down.contains_key(&id) {
            return;
        }
        let s = self.shared.clone();
        self.sim.host(host_name(id), move || run_host(s.clone(), id));
        self.down.insert(id, false);
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &ClusterSpec {
        &self.shared.spec
    }

    /// Advance one tick (1 ms of simulated time).
    pub fn step(&mut self) -> Result<(), String> {
        self.draw_losses();
        self.sim.step().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Loss on TCP: a lost segment is sent again after the retransmission timeout, so
    /// the connection stalls for a while (here 200–600 ms) and then delivers everything
    /// in order. A link that is cut stays cut.
    fn draw_losses(&mut self) {
        let now = self.elapsed_ms();
        let ended: Vec<(NodeId, NodeId)> =
            self.stalled.iter().filter(|(_, until)| **until <= now).map(|(l, _)| *l).collect();
        for link in ended {
            self.stalled.remove(&link);
            if !self.cut.contains_key(&link) {
                self.sim.release(host_name(link.0), host_name(link.1));
            }
        }
        if self.loss <= 0.0 {
            return;
        }
        for x in 1..=self.shared.spec.nodes {
            for y in (x + 1)..=self.shared.spec.nodes {
                let link = (x, y);
                if self.cut.contains_key(&link) || self.stalled.contains_key(&link) {
                    continue;
                }
                let draw = rand_core::Rng::next_u64(&mut self.loss_rng) as f64 / u64::MAX as f64;
                if draw < self.loss {
                    let stall = 200 + rand_core::Rng::next_u64(&mut self.loss_rng) % 401;
                    self.stalled.insert(link, now + stall);
                    self.sim.hold(host_name(x), host_name(y));
                }
            }
        }
    }

    /// Run until `ms` of simulated time have passed since the start.
    pub fn run_until(&mut self, ms: u64) -> Result<(), String> {
        while self.elapsed_ms() < ms {
            self.step()?;
        }
        Ok(())
    }

    /// Simulated time since the start, ms.
    pub fn elapsed_ms(&self) -> u64 {
        self.sim.elapsed().as_millis() as u64
    }

    fn push(&mut self, node: NodeId, txn: Option<ClientTxn>, make: impl FnOnce(usize) -> HostRequest) -> usize {
        let idx = {
            let mut r = self.shared.results.borrow_mut();
            r.push(ClientResult {
                node,
                txn,
                rows: Vec::new(),
                sent_ms: self.elapsed_ms(),
                answered_ms: None,
                outcome: None,
            });
            r.len() - 1
        };
        let sent = !self.is_down(node)
            && self.shared.inboxes.borrow()[node as usize - 1].as_ref().is_some_and(|tx| tx.send(make(idx)).is_ok());
        if !sent {
            self.shared.complete(idx, ClientOutcome::HostDown, 0);
        }
        idx
    }

    /// Send a client transaction to a node. Returns its index in [`SimCluster::results`].
    pub fn submit(&mut self, node: NodeId, txn: ClientTxn) -> usize {
        self.push(node, Some(txn.clone()), |idx| HostRequest::Write { idx, txn })
    }

    /// Send an operator command to a node.
    pub fn admin(&mut self, node: NodeId, cmd: AdminCmd) -> usize {
        self.push(node, None, |idx| HostRequest::Admin { idx, cmd })
    }

    /// Whether a node is crashed (or, a late joiner, not started yet).
    pub fn is_down(&self, node: NodeId) -> bool {
        self.down.get(&node).copied().unwrap_or(true)
    }

    /// Crash a node: its software stops, its store stays (writes still in flight to
    /// it are lost).
    pub fn crash(&mut self, node: NodeId) {
        if !self.is_down(node) {
            if let Some(sockets) = self.shared.sockets.borrow_mut().remove(&node) {
                sockets.crashing();
            }
            self.sim.crash(host_name(node));
            self.shared.inboxes.borrow_mut()[node as usize - 1] = None;
            self.shared.phases.borrow_mut().remove(&node);
            self.down.insert(node, true);
        }
    }

    /// A crashed node's disk is lost for good: when restarted it comes back under its
    /// old id with an empty store (the schema only), as a replaced machine would.
    pub fn lose_disk(&mut self, node: NodeId) -> Result<(), String> {
        if !self.is_down(node) {
            return Err(format!("node {node} is running; crash it first"));
        }
        let k = {
            let mut n = self.shared.disks_lost.borrow_mut();
            *n += 1;
            *n
        };
        let name = format!("{}-n{node}-disk{k}", self.shared.run_ns);
        let fresh = empty_store(&self.shared.spec, &name, node)?;
        *self.shared.stores[node as usize - 1].borrow_mut() = fresh;
        Ok(())
    }

    /// Record an invariant violation found by the runner.
    pub fn note_violation(&self, v: String) {
        self.shared.violation(v);
    }

    /// What a running node is coordinating and taking part in right now, and where its
    /// COMMITs are going.
    pub fn phases(&self, node: NodeId) -> Phases {
        self.shared.phases.borrow().get(&node).cloned().unwrap_or_default()
    }

    /// How many row intents a node held after its last step.
    pub fn intents(&self, node: NodeId) -> usize {
        self.shared.intents.borrow().get(&node).copied().unwrap_or(0)
    }

    /// Restart a crashed node (it recovers from its store with a bumped incarnation);
    /// a late joiner that never started is started.
    pub fn restart(&mut self, node: NodeId) {
        if !self.down.contains_key(&node) {
            self.start(node);
        } else if self.is_down(node) {
            self.sim.bounce(host_name(node));
            self.down.insert(node, false);
        }
    }

    /// Cut every link between the two groups. Nodes talk over TCP, which retransmits
    /// what a cut link drops: what was sent meanwhile is held and arrives when the link
    /// heals, unless an end gave up on the connection first (the HTTP/2 keepalive of
    /// [`marmot_proto::link`] closes a connection whose pings go unanswered; a new one
    /// cannot be opened across the cut). Turmoil's dropping partition instead leaves a
    /// permanent hole in a TCP stream, which no real network does.
    pub fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for x in a {
            for y in b {
                *self.cut.entry((*x.min(y), *x.max(y))).or_default() += 1;
                self.sim.hold(host_name(*x), host_name(*y));
            }
        }
    }

    /// Lift one [`SimCluster::partition`] of the links between the two groups: a link
    /// another partition still cuts stays cut (a fault's own cut must not heal the
    /// scenario's partition).
    pub fn unpartition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for x in a {
            for y in b {
                let link = (*x.min(y), *x.max(y));
                let Some(n) = self.cut.get_mut(&link) else { continue };
                *n -= 1;
                if *n == 0 {
                    self.cut.remove(&link);
                    if !self.stalled.contains_key(&link) {
                        self.sim.release(host_name(*x), host_name(*y));
                    }
                }
            }
        }
    }

    /// Drop everything `from` sends to `to`, while `to` still reaches `from` (an
    /// asymmetric partition: one side hears the other, not the other way round). Over
    /// TCP this stalls the connections from `from` to `to` (their data and pings never
    /// arrive) until the keepalive closes them, while `to`'s connections to `from` go on
    /// delivering.
    pub fn partition_oneway(&mut self, from: &[NodeId], to: &[NodeId]) {
        for x in from {
            for y in to {
                *self.cut.entry((*x.min(y), *x.max(y))).or_default() += 1;
                self.sim.partition_oneway(host_name(*x), host_name(*y));
            }
        }
    }

    /// Stall a node for `ms` (a long GC-like pause of its event loop): it handles no
    /// message, timer or client request until then, and then goes on from where it was;
    /// what reached it meanwhile waits in its inbox (its gRPC server, like the
    /// production node's, runs apart from the event loop and keeps its connections).
    pub fn pause(&mut self, node: NodeId, ms: u64) {
        let until = self.elapsed_ms() + ms;
        let mut p = self.shared.paused_until.borrow_mut();
        let e = p.entry(node).or_insert(0);
        *e = (*e).max(until);
    }

    /// Repair every link (one-way cuts included).
    pub fn heal(&mut self) {
        for x in 1..=self.shared.spec.nodes {
            for y in (x + 1)..=self.shared.spec.nodes {
                self.sim.repair(host_name(x), host_name(y));
                self.sim.release(host_name(x), host_name(y));
            }
        }
        self.cut.clear();
        self.stalled.clear();
    }

    /// Flip one byte in each of the next `n` snapshot chunks sent, as a faulty network
    /// or disk would.
    pub fn corrupt_snapshot_chunks(&mut self, n: u32) {
        *self.shared.corrupt_chunks.borrow_mut() = n;
    }

    /// Random segment loss: each tick, each link loses a segment with probability
    /// `fail / 20` and, TCP retransmitting it, stalls for 200–600 ms (see
    /// `draw_losses`). Turmoil's own loss would drop the segment for good, leaving a
    /// hole in the TCP stream that kills the connection until the keepalive notices.
    pub fn set_loss(&mut self, fail: f64) {
        self.loss = fail / 20.0;
    }

    /// Client request `idx` (one, without copying them all as [`SimCluster::results`] does).
    pub fn result(&self, idx: usize) -> Option<ClientResult> {
        self.shared.results.borrow().get(idx).cloned()
    }

    /// Every client request so far.
    pub fn results(&self) -> Vec<ClientResult> {
        self.shared.results.borrow().clone()
    }

    /// Every observation so far (node, event).
    pub fn observations(&self) -> Vec<(NodeId, Observation)> {
        self.shared.observations.borrow().iter().map(|(_, id, o)| (*id, o.clone())).collect()
    }

    /// Every transaction any node committed or applied (whether or not still in a log).
    pub fn archived_txns(&self) -> BTreeMap<marmot_core::TxnId, marmot_core::Txn> {
        self.shared.archive.borrow().clone()
    }

    /// Every observation so far with its sim time: (ms, node, event).
    pub fn observations_timed(&self) -> Vec<(u64, NodeId, Observation)> {
        self.shared.observations.borrow().clone()
    }

    /// Invariant violations the hosts detected while running.
    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.borrow().clone()
    }

    /// Hash of every input and effect of every node, in order.
    pub fn trace_hash(&self) -> u64 {
        *self.shared.trace.borrow()
    }

    /// A node's store (for checks).
    pub fn store(&self, node: NodeId) -> Rc<RefCell<Store>> {
        self.shared.store(node)
    }

    /// Current incarnation of each node that started.
    pub fn incarnations(&self) -> BTreeMap<NodeId, u64> {
        self.shared.incarnations.borrow().clone()
    }
}

/// Where a running node's transactions stand after its last step (to aim crashes at).
#[derive(Clone, Debug, Default)]
pub struct Phases {
    /// Transactions it coordinates, by phase.
    pub coordinating: InFlightSummary,
    /// Where its COMMITs are going.
    pub commit_targets: Vec<NodeId>,
    /// Transactions others coordinate, by phase here.
    pub participating: ParticipantSummary,
}

/// A node's store as a freshly installed node has it: the schema, no data, no log.
fn empty_store(spec: &ClusterSpec, name: &str, id: NodeId) -> Result<Store, String> {
    let loc = Location::Memory(name.to_string());
    let mut store = Store::open(loc, Synchronous::Normal, Some(spec.seed ^ id)).map_err(|e| e.to_string())?;
    store.set_sentinel(spec.sentinels.contains(&id));
    if !spec.verify_snapshot_checksums {
        store.skip_snapshot_checksums();
    }
    for (db, sql) in &spec.schema {
        store.ensure_database(db).map_err(|e| e.to_string())?;
        store.conn(db).map_err(|e| e.to_string())?.execute_batch(sql).map_err(|e| e.to_string())?;
    }
    Ok(store)
}

/// Simulated time since the start, ms.
pub(crate) fn sim_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64
}

/// A process-unique number so concurrent simulations never share in-memory databases.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Where a snapshot image's table pages start: past SQLite's first page (4 KiB, the
/// default page size), which holds the file header and the schema.
const FIRST_DATA_PAGE: u64 = 4096;

/// The seed of the loss draws: apart from turmoil's, so that loss does not shift its draws.
fn loss_seed(spec: &ClusterSpec) -> u64 {
    spec.seed ^ 0x10_55_10_55
}
