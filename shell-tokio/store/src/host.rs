//! What every host of a node does around its [`Driver`], whichever loop runs it (the
//! production engine thread on the wall clock, the simulator's turmoil task on simulated
//! time): client and operator requests are numbered and remembered until the core answers
//! them; a step's inputs are fed inside one group commit, whose messages and replies leave
//! only once it is durable; and the step's outputs are routed — each reply to whoever
//! waits for it, messages to the transport, observations to the host. What differs
//! between hosts is only how the loop waits for work and what its transport and
//! observers do ([`HostIo`]).

use std::collections::BTreeMap;

use marmot_core::io::{AdminCmd, Reply};
use marmot_core::{Consistency, Envelope, Input, Millis, Node, Observation, ReqId, RowChange};

use crate::driver::{Driver, Output};
use crate::{Store, StoreError};

/// Longest a host waits for work when no timer is set.
const IDLE_WAIT_MS: u64 = 1000;

/// Where a host's outputs go.
pub trait HostIo<W> {
    /// Deliver `env` to its peer (`node`: the sender, whose membership knows addresses).
    fn send(&mut self, node: &Node, env: Envelope);
    /// The core answered the request `waiter` waits on.
    fn reply(&mut self, waiter: W, reply: Reply);
    /// Log, count or check this.
    fn observe(&mut self, observation: Observation);
}

/// A node's driver with the requests waiting on it; `W` is what a host keeps to answer
/// a request (a reply channel, an index into the simulator's results).
pub struct Host<W> {
    driver: Driver,
    waiting: BTreeMap<ReqId, W>,
    next_req: ReqId,
    outs: Vec<Output>,
}

impl<W> Host<W> {
    /// A host around `driver`, no request waiting.
    pub fn new(driver: Driver) -> Self {
        Host { driver, waiting: BTreeMap::new(), next_req: 1, outs: Vec::new() }
    }

    /// The driver (its trace hash, its timers).
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// The node.
    pub fn node(&self) -> &Node {
        self.driver.node()
    }

    /// Feed one input that no one waits on.
    pub fn feed(&mut self, store: &mut Store, now: Millis, input: Input) {
        let outs = self.driver.handle(store, now, input);
        self.outs.extend(outs);
    }

    /// A client's captured rows to replicate; the answer goes to `waiter`.
    pub fn write(
        &mut self,
        store: &mut Store,
        now: Millis,
        rows: Vec<RowChange>,
        consistency: Option<Consistency>,
        waiter: W,
    ) {
        let req = self.wait_for(waiter);
        self.feed(store, now, Input::Write { req, rows, consistency });
    }

    /// An operator's membership command; the answer goes to `waiter`.
    pub fn admin(&mut self, store: &mut Store, now: Millis, cmd: AdminCmd, waiter: W) {
        let req = self.wait_for(waiter);
        self.feed(store, now, Input::Admin { req, cmd });
    }

    /// Fire the timers due by `now`.
    pub fn fire_due(&mut self, store: &mut Store, now: Millis) {
        let outs = self.driver.fire_due(store, now);
        self.outs.extend(outs);
    }

    /// How long the loop may wait for work before the next timer is due.
    pub fn wait_ms(&self, now: Millis) -> u64 {
        self.driver.next_timer().map_or(IDLE_WAIT_MS, |at| at.saturating_sub(now))
    }

    /// Route the outputs gathered since the last call, in the order they came. Call it
    /// only after the group commit they were produced in is durable.
    pub fn route(&mut self, io: &mut impl HostIo<W>) {
        for o in self.outs.drain(..) {
            match o {
                Output::Send(env) => io.send(self.driver.node(), env),
                Output::Reply(req, reply) => {
                    if let Some(waiter) = self.waiting.remove(&req) {
                        io.reply(waiter, reply);
                    }
                }
                Output::Observe(observation) => io.observe(observation),
            }
        }
    }

    fn wait_for(&mut self, waiter: W) -> ReqId {
        let req = self.next_req;
        self.next_req += 1;
        debug_assert!(!self.waiting.contains_key(&req), "request {req} numbered twice");
        self.waiting.insert(req, waiter);
        req
    }
}

/// Run `f` in one group commit of `store`: everything it writes becomes durable together,
/// before any message or reply it produced is routed (a crash comes between two such
/// steps, never inside one).
pub fn group_commit<T>(store: &mut Store, f: impl FnOnce(&mut Store) -> T) -> Result<T, StoreError> {
    store.begin_batch();
    let out = f(store);
    store.commit_batch().map(|()| out)
}
