//! One simulated marmot host: the event loop around a [`Driver`].

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use marmot_core::io::Reply;
use marmot_core::Envelope;
use marmot_core::{Input, Millis, Node, NodeId, Observation};
use marmot_proto::link::Links;
use marmot_store::capture::CaptureScope;
use marmot_store::driver::Driver;
use marmot_store::host::{group_commit, Host as NodeHost, HostIo};
use marmot_store::Store;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::cluster::{ClientOutcome, HostRequest, Shared};

/// The node port every simulated node serves gRPC on.
pub const PORT: u16 = 9000;

/// Host name of a node.
pub fn host_name(id: NodeId) -> String {
    format!("n{id}")
}

/// `SIM_TRACE=1` prints every input a node is fed and every output it produces (to
/// stderr), to read a failing seed's history step by step.
fn tracing_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SIM_TRACE").is_some_and(|v| v == "1"))
}

/// Where a simulated node's outputs go: its peer links (through the fault model's
/// snapshot corruption), the shared results of the workload's requests, and the checkers.
struct SimIo<'a> {
    id: NodeId,
    now: Millis,
    shared: &'a Shared,
    links: &'a Links<crate::net::Unsigned>,
}

impl HostIo<usize> for SimIo<'_> {
    fn send(&mut self, _node: &Node, mut env: Envelope) {
        if tracing_on() {
            eprintln!("[{} n{}] out send {env:?}", self.now, self.id);
        }
        if let marmot_core::Message::SnapshotChunk { data, offset, .. } = &mut env.msg {
            if let Some(at) = self.shared.take_corruption(*offset, data.len()) {
                data[at] ^= 0x5a;
            }
        }
        // Loss is part of the model: a full queue to a peer drops it.
        let _ = self.links.send(&format!("{}:{PORT}", host_name(env.to)), &env);
    }

    fn reply(&mut self, idx: usize, reply: Reply) {
        if tracing_on() {
            eprintln!("[{} n{}] out reply {reply:?}", self.now, self.id);
        }
        let outcome = match reply {
            Reply::Committed { txn_id } => ClientOutcome::Committed(txn_id),
            Reply::Failed(e) => ClientOutcome::Refused(e),
            Reply::AdminOk => ClientOutcome::AdminOk,
            Reply::AdminErr(e) => ClientOutcome::Failed(e),
        };
        self.shared.complete(idx, outcome, self.now);
    }

    fn observe(&mut self, o: Observation) {
        if tracing_on() {
            eprintln!("[{} n{}] out observe {o:?}", self.now, self.id);
        }
        if let Observation::ClockIssued(h) = &o {
            self.shared.check_clock(self.id, *h);
        }
        self.shared.observe(self.id, o);
    }
}

struct Host {
    id: NodeId,
    shared: Rc<Shared>,
    store: Rc<RefCell<Store>>,
    /// The node's driver and the workload's requests awaiting their reply (by index into
    /// the shared results).
    host: NodeHost<usize>,
    links: Links<crate::net::Unsigned>,
}

impl Host {
    fn now(&self) -> Millis {
        self.shared.clock_of(self.id)
    }

    /// Route what the last step produced, then record the node's trace and phases.
    fn dispatch(&mut self) {
        let mut io = SimIo { id: self.id, now: self.now(), shared: &self.shared, links: &self.links };
        self.host.route(&mut io);
        self.shared.fold_trace(self.id, self.host.driver().trace_hash().unwrap_or(0));
        let node = self.host.node();
        let phases = crate::cluster::Phases {
            coordinating: node.inflight_summary(),
            commit_targets: node.commit_targets(),
            participating: node.participant_summary(),
        };
        self.shared.set_phases(self.id, phases, node.intent_count());
    }

    /// Run `f` in a group commit, as the production engine does: its writes commit
    /// together before any of its messages or replies leave (a simulated crash can only
    /// come between two such steps); then route what it produced.
    fn step(&mut self, f: impl FnOnce(&mut NodeHost<usize>, &mut Store, Millis)) {
        let now = self.now();
        let committed = group_commit(&mut self.store.borrow_mut(), |store| f(&mut self.host, store, now));
        if let Err(e) = committed {
            self.shared.violation(format!("node {}: a group commit failed: {e}", self.id));
        }
        self.dispatch();
    }

    fn feed(&mut self, input: Input) {
        if tracing_on() {
            eprintln!("[{} n{}] in {input:?}", self.now(), self.id);
        }
        self.step(|host, store, now| host.feed(store, now, input));
    }

    fn on_request(&mut self, req: HostRequest) {
        match req {
            HostRequest::Write { idx, txn } => {
                marmot_store::simclock::set_now_ms(self.now());
                let captured = {
                    let mut store = self.store.borrow_mut();
                    if txn.schema_change {
                        // As the MySQL front end does: the DDL against this node's schema version.
                        store.conn(&txn.database).and_then(|c| {
                            let v = marmot_store::schema::version(c)?;
                            let sql = txn.statements.join(";\n");
                            Ok(((), vec![marmot_store::ddl::ddl_change(&txn.database, sql, v)]))
                        })
                    } else {
                        store.capture(&txn.database, CaptureScope::default(), |conn| {
                            for s in &txn.statements {
                                conn.execute_batch(s)?;
                            }
                            Ok(())
                        })
                    }
                };
                match captured {
                    Err(e) => self.shared.complete(idx, ClientOutcome::Failed(format!("capture: {e}")), self.now()),
                    Ok((_, rows)) if rows.is_empty() => self.shared.complete(idx, ClientOutcome::NoChange, self.now()),
                    Ok((_, rows)) => {
                        self.shared.set_rows(idx, rows.clone());
                        if tracing_on() {
                            eprintln!("[{} n{}] in write of {} rows", self.now(), self.id, rows.len());
                        }
                        let consistency = Some(txn.consistency);
                        self.step(|host, store, now| host.write(store, now, rows, consistency, idx));
                    }
                }
            }
            HostRequest::Admin { idx, cmd } => {
                if tracing_on() {
                    eprintln!("[{} n{}] in admin {cmd:?}", self.now(), self.id);
                }
                self.step(|host, store, now| host.admin(store, now, cmd, idx));
            }
        }
    }

    async fn run(
        mut self,
        mut inbox: UnboundedReceiver<HostRequest>,
        mut peers: UnboundedReceiver<Envelope>,
    ) -> turmoil::Result {
        self.feed(Input::Start);
        loop {
            let stalled = self.shared.pause_left(self.id, crate::cluster::sim_ms());
            if stalled > 0 {
                tokio::time::sleep(Duration::from_millis(stalled)).await;
                continue;
            }
            let wait = self.host.wait_ms(self.now());
            tokio::select! {
                biased;
                Some(env) = peers.recv() => self.feed(Input::Peer(env)),
                Some(req) = inbox.recv() => self.on_request(req),
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                    self.step(|host, store, now| host.fire_due(store, now));
                }
            }
        }
    }
}

/// The host's software: recover from the store, start the node, serve forever.
pub async fn run_host(shared: Rc<Shared>, id: NodeId) -> turmoil::Result {
    let store = shared.store(id);
    let recovered = store.borrow_mut().recover()?;
    let incarnation = recovered.incarnation + 1;
    shared.note_start(id, incarnation);
    let core = marmot_core::CoreConfig {
        sentinel: shared.spec.sentinels.contains(&id),
        replica: shared.spec.replicas.contains(&id).then(|| shared.spec.replica.clone()),
        ..shared.spec.core.clone()
    };
    let node = Node::new(
        core,
        id,
        format!("{}:{PORT}", host_name(id)),
        shared.peers_of(id),
        shared.spec.seed ^ incarnation.wrapping_mul(0x5851_F42D_4C95_7F2D),
        recovered,
    );
    let (peer_tx, peer_rx) = unbounded_channel();
    let sockets = shared.new_sockets(id);
    let server_shared = shared.clone();
    let server_sockets = sockets.clone();
    tokio::task::spawn_local(async move {
        if let Err(e) = crate::net::serve(PORT, peer_tx, server_sockets).await {
            server_shared.violation(format!("node {id}: its gRPC server stopped: {e}"));
        }
    });
    let (tx, rx) = unbounded_channel();
    shared.set_inbox(id, tx);
    let tap_shared = shared.clone();
    let tap: marmot_store::driver::WriteTap = Box::new(move |w| tap_shared.archive(w));
    let host = Host {
        id,
        shared: shared.clone(),
        store,
        host: NodeHost::new(Driver::new(node, true).with_io_latency(shared.spec.io_latency_ms).with_write_tap(tap)),
        links: crate::net::links(shared.spec.core.prepare_timeout_ms, sockets),
    };
    host.run(rx, peer_rx).await
}
