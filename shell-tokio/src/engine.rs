//! The production host of one node: a dedicated thread owns the [`Driver`] and the
//! [`Store`], fires timers on the wall clock, and serves requests from MySQL sessions
//! (client statements to run and capture, captured writes, database creation). Replies
//! travel back on oneshot channels.
//!
//! This thread is the only writer of every SQLite file of the node: sessions hand it
//! their write statements (and reads that must see their open transaction's rows) as
//! jobs, which run on the database's writer between group commits. No lock is
//! ever waited for between in-process writers, and no SQLite write runs on the async
//! runtime's worker threads.

use std::collections::BTreeMap;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crate::cluster_status::ClusterStatus;
use marmot_core::io::{AdminCmd, Reply};
use marmot_core::{Consistency, CoreConfig, Envelope, Input, Node, NodeId, Observation, RowChange, WriteError};
use tokio::sync::oneshot;

use crate::member_events::MemberEvents;
use crate::metrics::Metrics;

use marmot_store::driver::Driver;
use marmot_store::host::{group_commit, Host, HostIo};
use marmot_store::{ConnSetup, Location, Store, StoreError, Synchronous, WriterSetup};

/// Wall clock in ms since the Unix epoch.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A client statement to run on the store (see [`Engine::run`]).
type Job = Box<dyn FnOnce(&mut Store) + Send>;

enum Request {
    Run(Job),
    Write { rows: Vec<RowChange>, consistency: Option<Consistency>, reply: oneshot::Sender<Reply> },
    EnsureDatabase { name: String, reply: oneshot::Sender<Result<bool, String>> },
    Admin { cmd: AdminCmd, reply: oneshot::Sender<Reply> },
    Status { reply: oneshot::Sender<ClusterStatus> },
    Peer(Envelope),
    LogRead { reader: String, database: String, upto: u64 },
    Stop,
}

/// Delivers envelopes to peers (the gRPC transport in production): best effort, never
/// blocking the engine thread.
pub trait PeerLink: Send + Sync {
    /// Send `env` to the peer at `addr`.
    fn send(&self, addr: &str, env: &Envelope);
}

/// How a node reaches its cluster.
#[derive(Clone, Default)]
pub struct Network {
    /// The address this node advertises to its peers.
    pub addr: String,
    /// Peers known at start (the seeds that answered), by id and address.
    pub peers: Vec<(NodeId, String)>,
    /// Sends envelopes to peers (none: a node alone).
    pub transport: Option<std::sync::Arc<dyn PeerLink>>,
    /// Counters shared with the transport (none: the engine makes its own).
    pub metrics: Option<Arc<Metrics>>,
}

/// What the engine keeps to answer a request: its reply channel and when it came.
type Waiter = (oneshot::Sender<Reply>, Instant);

/// Where the engine's outputs go: the transport, the waiting sessions, the metrics.
struct EngineIo {
    net: Network,
    metrics: Arc<Metrics>,
    events: Arc<MemberEvents>,
    /// Transactions this node coordinates, by when their clock reading was taken.
    deciding: BTreeMap<marmot_core::TxnId, Instant>,
}

impl HostIo<Waiter> for EngineIo {
    fn send(&mut self, node: &Node, env: Envelope) {
        if let (Some(t), Some(addr)) = (&self.net.transport, node.addr_of(env.to)) {
            t.send(addr, &env);
        }
    }

    fn reply(&mut self, (tx, started): Waiter, reply: Reply) {
        count_reply(&self.metrics, &reply, started);
        let _ = tx.send(reply);
    }

    fn observe(&mut self, o: Observation) {
        observe(&self.metrics, &self.events, &mut self.deciding, o);
    }
}

/// Count a client's answer.
fn count_reply(m: &Metrics, r: &Reply, started: Instant) {
    match r {
        Reply::Committed { .. } => {
            m.committed.fetch_add(1, Relaxed);
            m.commit_latency.observe(started.elapsed());
        }
        Reply::Failed(WriteError::Conflict) => {
            m.conflicted.fetch_add(1, Relaxed);
        }
        Reply::Failed(_) => {
            m.aborted.fetch_add(1, Relaxed);
        }
        Reply::AdminOk | Reply::AdminErr(_) => {}
    }
}

/// Log what the core reports and time prepare rounds.
fn observe(m: &Metrics, events: &MemberEvents, deciding: &mut BTreeMap<marmot_core::TxnId, Instant>, o: Observation) {
    match o {
        Observation::ClockIssued(id) => {
            if deciding.len() > 100_000 {
                deciding.clear(); // transactions that never decided; keep the map bounded
            }
            deciding.insert(id, Instant::now());
        }
        Observation::TxnDecided { txn_id, .. } => {
            if let Some(t) = deciding.remove(&txn_id) {
                m.prepare_latency.observe(t.elapsed());
            }
        }
        Observation::MemberChanged { id, from, to } => {
            events.record(id, from, to, wall_ms());
            tracing::info!(node_id = id, from = from.as_str(), to = to.as_str(), "member state changed")
        }
        Observation::RefusedRemoved { from } => {
            tracing::warn!(node_id = from, "refused traffic from a REMOVED node")
        }
        Observation::LogGap { .. } | Observation::StorageError(_) => tracing::warn!(?o, "replication problem"),
        Observation::CaughtUp => tracing::info!("caught up with the cluster"),
        Observation::LogTrimmed { database, entries, watermark } => {
            m.log_trimmed.fetch_add(entries, Relaxed);
            tracing::info!(database = %database, entries, watermark, "log garbage-collected")
        }
        Observation::SnapshotProgress { database, donor, received, total } => {
            tracing::info!(database = %database, donor, received, total, "snapshot transfer in progress")
        }
        Observation::CatchUpProgress { peer, database, position, head } => {
            tracing::info!(database = %database, peer, position, head, behind = head.saturating_sub(position), "catching up by delta sync")
        }
        Observation::ReplicaSource { from, to } => {
            tracing::info!(source = to, previous = ?from, "replica follows a member")
        }
        Observation::ReplicaSyncTimedOut { database, source } => {
            tracing::warn!(database = %database, source, "replica's snapshot not installed within initial_sync_timeout_minutes: taken from another member")
        }
        Observation::ReplicaDatabase { database } => {
            tracing::info!(database = %database, "replica takes up a database")
        }
        Observation::SnapshotInstalled { database, donor, bytes } => {
            m.snapshots_installed.fetch_add(1, Relaxed);
            m.snapshot_bytes.fetch_add(bytes, Relaxed);
            tracing::info!(database = %database, donor, bytes, "snapshot installed; delta sync resumes from its position")
        }
    }
}

/// A group commit failed after the protocol counted its writes as durable: the node stops
/// (a restart recovers from the last durable state).
fn stop_after_failed_commit(error: &str) -> ! {
    tracing::error!(
        error,
        "committing a batch of writes failed after the protocol counted them as durable: \
         stopping the node (a restart recovers from the last durable state)"
    );
    std::process::exit(70);
}

/// At most this many requests and peer messages go into one group commit.
const MAX_BATCH: usize = 64;

/// A handle to the node's engine thread; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    tx: Sender<Request>,
    /// This node's id.
    pub node_id: NodeId,
    /// Where the databases live.
    pub location: Location,
    /// SQLite durability mode.
    pub sync: Synchronous,
    /// Auto-increment ids for this node.
    pub ids: std::sync::Arc<crate::ids::IdGenerator>,
    /// How long a session statement waits for SQLite's write lock before failing with
    /// 1205 (`lock_wait_timeout_seconds`).
    pub lock_wait: Duration,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// Rewrite replicated DDL to be safe to replay (`[ddl] enable_idempotent`).
    pub idempotent_ddl: bool,
    /// How long a schema change waits for a concurrent one on the same database to finish
    /// (`[ddl] lock_lease_seconds`) before failing with 1213.
    pub ddl_lease: Duration,
    /// Whether the node is draining (`marmot cluster drain`) and the MySQL work in flight.
    pub drain: Arc<crate::drain::Drain>,
    /// The membership changes this node saw (the dashboard's events).
    pub member_events: Arc<MemberEvents>,
    /// A read-only replica (`[replica] enabled`): clients' writes and DDL get 1290.
    pub read_only: bool,
    /// The databases as clients see them, kept current by the store.
    catalog: Arc<std::sync::Mutex<marmot_store::Catalog>>,
}

/// Errors talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine thread has stopped.
    #[error("the replication engine has stopped")]
    Stopped,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Open the store, recover, and start the engine thread of a node that is a member of
    /// the cluster reached through `net` (a node alone: `Network::default()`); `setup`
    /// registers on every writer connection the functions client statements call.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        location: Location,
        sync: Synchronous,
        configured_id: NodeId,
        cfg: CoreConfig,
        seed: u64,
        id_mode: crate::ids::IdMode,
        net: Network,
        setup: Option<ConnSetup>,
    ) -> Result<(Engine, std::thread::JoinHandle<()>), EngineError> {
        let mut store = Store::open(location.clone(), sync, None)?;
        store.set_sentinel(cfg.sentinel);
        let read_only = cfg.replica.is_some();
        let node_id = store.node_identity(configured_id, || (seed & ((1 << 53) - 1)).max(1))?;
        let recovered = store.recover()?;
        let catalog = store.catalog();
        let ids = std::sync::Arc::new(crate::ids::IdGenerator::new(id_mode, node_id));
        let next_ids = ids.clone();
        let writer_setup: ConnSetup = Arc::new(move |conn: &rusqlite::Connection| {
            let ids = next_ids.clone();
            conn.create_scalar_function(
                "marmot_next_id",
                0,
                rusqlite::functions::FunctionFlags::SQLITE_UTF8,
                move |_| Ok(ids.next(wall_ms())),
            )?;
            match &setup {
                Some(s) => s(conn),
                None => Ok(()),
            }
        });
        store.set_writer_setup(WriterSetup { setup: Some(writer_setup), generated_ids: true })?;
        let addr = if net.addr.is_empty() { format!("node-{node_id}") } else { net.addr.clone() };
        let node = Node::new(cfg, node_id, addr, net.peers.clone(), seed, recovered);
        let (tx, rx) = channel::<Request>();
        let metrics = net.metrics.clone().unwrap_or_default();
        let m = metrics.clone();
        let member_events = Arc::new(MemberEvents::default());
        let events = member_events.clone();
        let handle = std::thread::Builder::new()
            .name("marmot-engine".into())
            .spawn(move || {
                let mut host: Host<Waiter> = Host::new(Driver::new(node, false));
                let mut io = EngineIo { net, metrics: m, events, deciding: BTreeMap::new() };
                host.feed(&mut store, wall_ms(), Input::Start);
                let mut stop = false;
                // Client statements queued during a batch: they run once the batch is
                // durable and its messages are out, outside any group commit. Run inside
                // it they would hold back every reply and PREPARE vote of the batch, and
                // their savepoints would journal pages the batch had already changed.
                let mut jobs: Vec<Job> = Vec::new();
                loop {
                    host.route(&mut io);
                    for job in jobs.drain(..) {
                        job(&mut store);
                        if let Some(e) = store.fatal() {
                            stop_after_failed_commit(e);
                        }
                    }
                    if stop {
                        break;
                    }
                    let wait = host.wait_ms(wall_ms());
                    let first = match rx.recv_timeout(Duration::from_millis(wait.max(1))) {
                        Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Ok(req) => Some(req),
                        Err(RecvTimeoutError::Timeout) => None,
                    };
                    // Group commit: everything queued now is handled in one batch, and
                    // nothing it sends or replies leaves before the batch is durable.
                    let committed = group_commit(&mut store, |store| {
                        let mut next = first;
                        let mut served = 0;
                        while let Some(req) = next.take() {
                            match req {
                                Request::Run(job) => jobs.push(job),
                                Request::Write { rows, consistency, reply } => {
                                    host.write(store, wall_ms(), rows, consistency, (reply, Instant::now()))
                                }
                                Request::Admin { cmd, reply } => {
                                    host.admin(store, wall_ms(), cmd, (reply, Instant::now()))
                                }
                                Request::Status { reply } => {
                                    let _ = reply.send(ClusterStatus::of(host.node(), wall_ms()));
                                }
                                Request::EnsureDatabase { name, reply } => {
                                    let existed = store.databases().contains(&name);
                                    let r = store.ensure_database(&name).map(|_| !existed).map_err(|e| e.to_string());
                                    let r = r.and_then(|v| store.commit_batch().map(|_| v).map_err(|e| e.to_string()));
                                    store.begin_batch();
                                    let _ = reply.send(r);
                                }
                                Request::Peer(env) => host.feed(store, wall_ms(), Input::Peer(env)),
                                Request::LogRead { reader, database, upto } => {
                                    host.feed(store, wall_ms(), Input::LogRead { reader, database, upto })
                                }
                                Request::Stop => stop = true,
                            }
                            served += 1;
                            if !stop && served < MAX_BATCH {
                                next = rx.try_recv().ok();
                            }
                        }
                        host.fire_due(store, wall_ms());
                    });
                    if let Err(e) = committed {
                        stop_after_failed_commit(&e.to_string());
                    }
                }
                tracing::info!("replication engine stopped");
            })
            .map_err(|e| StoreError::Io(format!("starting the engine thread: {e}")))?;
        Ok((
            Engine {
                tx,
                node_id,
                location,
                sync,
                ids,
                lock_wait: Duration::from_secs(50),
                metrics,
                idempotent_ddl: true,
                ddl_lease: Duration::from_secs(30),
                drain: Arc::default(),
                member_events,
                read_only,
                catalog,
            },
            handle,
        ))
    }

    /// How long a schema change waits for another one on the same database
    /// (`[ddl] lock_lease_seconds`).
    pub fn with_ddl_lease(mut self, lease: Duration) -> Self {
        self.ddl_lease = lease;
        self
    }

    /// Whether replicated DDL is rewritten to be safe to replay.
    pub fn with_idempotent_ddl(mut self, on: bool) -> Self {
        self.idempotent_ddl = on;
        self
    }

    /// Use `wait` as the lock wait timeout of sessions.
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Run `job` on the engine thread with the store, after the current group commit, and
    /// return its result. Client statements run this way on each database's only writer.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |store: &mut Store| {
            let _ = reply.send(job(store));
        });
        self.tx.send(Request::Run(job)).map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Replicate captured rows; resolves when the core answers.
    pub async fn write(&self, rows: Vec<RowChange>, consistency: Option<Consistency>) -> Result<Reply, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Write { rows, consistency, reply }).map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Create a database; `Ok(true)` if it was created, `Ok(false)` if it existed.
    pub async fn ensure_database(&self, name: &str) -> Result<bool, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::EnsureDatabase { name: name.to_string(), reply }).map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?.map_err(|e| EngineError::Store(StoreError::Io(e)))
    }

    /// The local view of the cluster.
    pub async fn status(&self) -> Result<ClusterStatus, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Status { reply }).map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Run an operator membership command; `Err` carries the core's reason.
    pub async fn admin(&self, cmd: AdminCmd) -> Result<Result<(), String>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Admin { cmd, reply }).map_err(|_| EngineError::Stopped)?;
        Ok(match rx.await.map_err(|_| EngineError::Stopped)? {
            Reply::AdminOk => Ok(()),
            Reply::AdminErr(e) => Err(e),
            other => Err(format!("unexpected engine reply {other:?}")),
        })
    }

    /// Hand a message from a peer to the engine.
    pub fn deliver(&self, env: Envelope) {
        let _ = self.tx.send(Request::Peer(env));
    }

    /// Local log reader `reader` (a publisher sink) has read `database`'s log up to
    /// `upto`: log GC may go that far for it.
    pub fn log_read(&self, reader: &str, database: &str, upto: u64) {
        let _ = self.tx.send(Request::LogRead { reader: reader.to_string(), database: database.to_string(), upto });
    }

    /// Ask the engine thread to finish (after everything queued before).
    pub fn stop(&self) {
        let _ = self.tx.send(Request::Stop);
    }

    /// Whether `db` exists as a dropped database (its file kept as a tombstone).
    pub fn is_dropped(&self, db: &str) -> bool {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner()).is_dropped(db)
    }

    /// Names of the user databases (not dropped ones), sorted.
    pub fn databases(&self) -> Vec<String> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner()).visible()
    }
}
