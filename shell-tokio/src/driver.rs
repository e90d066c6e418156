//! The driver: owns a [`Node`], feeds it inputs, and executes its effects.
//!
//! Storage effects run synchronously against the [`Store`] passed to each call, and
//! their completions are fed straight back to the node, in order; timers go into a
//! queue ordered by due time and then by the order they were set. What is left for the
//! host — messages to send, replies, observations — comes back as [`Output`]s. The same
//! driver runs in production and in the simulator; only the host around it differs.

use std::collections::{BTreeMap, VecDeque};

use marmot_core::io::Reply;
use marmot_core::{Effect, Envelope, Input, Millis, Node, Observation, ReqId, Timer};

use crate::store::Store;

/// What the host must do after a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Deliver to a peer.
    Send(Envelope),
    /// Answer a client or operator request.
    Reply(ReqId, Reply),
    /// Log, count or check this.
    Observe(Observation),
}

/// A node with its timer queue.
pub struct Driver {
    node: Node,
    timers: BTreeMap<(Millis, u64), Timer>,
    timer_seq: u64,
    trace: Option<u64>,
}

impl Driver {
    /// Wrap a node. With `trace`, every input and effect is folded into a hash (used by
    /// the simulator to prove runs are deterministic).
    pub fn new(node: Node, trace: bool) -> Self {
        Self { node, timers: BTreeMap::new(), timer_seq: 0, trace: trace.then_some(0xcbf2_9ce4_8422_2325) }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Hash of everything seen so far (if tracing).
    pub fn trace_hash(&self) -> Option<u64> {
        self.trace
    }

    /// When the next timer is due.
    pub fn next_timer(&self) -> Option<Millis> {
        self.timers.keys().next().map(|k| k.0)
    }

    /// Fire every timer due at `now`, in order.
    pub fn fire_due(&mut self, store: &mut Store, now: Millis) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some((&(at, seq), _)) = self.timers.iter().next() {
            if at > now {
                break;
            }
            let t = self.timers.remove(&(at, seq)).expect("present");
            out.extend(self.handle(store, now, Input::Timer(t)));
        }
        out
    }

    /// Feed one input and run everything it causes to completion.
    pub fn handle(&mut self, store: &mut Store, now: Millis, input: Input) -> Vec<Output> {
        let mut queue = VecDeque::from([input]);
        let mut out = Vec::new();
        let mut effects = Vec::new();
        while let Some(input) = queue.pop_front() {
            self.fold(now, &input);
            self.node.handle(now, input, &mut effects);
            for e in effects.drain(..) {
                self.fold(now, &e);
                match e {
                    Effect::Persist { op, write } => {
                        let result = store.write(&write).map_err(|e| e.to_string());
                        queue.push_back(Input::StorageDone { op, result });
                    }
                    Effect::Read { op, read } => {
                        let result = store.read(&read).map_err(|e| e.to_string());
                        queue.push_back(Input::StorageRead { op, result });
                    }
                    Effect::SetTimer { timer, at } => {
                        self.timer_seq += 1;
                        self.timers.insert((at, self.timer_seq), timer);
                    }
                    Effect::Send(env) => out.push(Output::Send(env)),
                    Effect::Reply { req, reply } => out.push(Output::Reply(req, reply)),
                    Effect::Observe(o) => out.push(Output::Observe(o)),
                }
            }
        }
        out
    }

    fn fold<T: serde::Serialize>(&mut self, now: Millis, item: &T) {
        if let Some(h) = self.trace.as_mut() {
            let bytes = postcard::to_stdvec(&(now, item)).expect("serializable");
            for b in bytes {
                *h = (*h ^ b as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
}
