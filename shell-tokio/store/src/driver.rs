//! The driver: owns a [`Node`], feeds it inputs, and executes its effects.
//!
//! Storage effects run synchronously against the [`Store`] passed to each call, in the
//! order they were emitted, and their completions are fed back to the node. With an I/O
//! latency set (the simulator), each write is carried out only when its simulated
//! latency has elapsed — still inline, still in order — so a crash in between loses it,
//! exactly like a write that never reached the disk. Timers go into a queue ordered by
//! due time and then by the order they were set. What is left for the
//! host — messages to send, replies, observations — comes back as [`Output`]s. The same
//! driver runs in production and in the simulator; only the host around it differs.

use std::collections::{BTreeMap, VecDeque};

use marmot_core::io::Reply;
use marmot_core::{Effect, Envelope, Input, Millis, Node, Observation, ReqId, Timer};

use crate::Store;

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

enum Io {
    Write(marmot_core::OpId, marmot_core::StoreWrite),
    Read(marmot_core::OpId, marmot_core::StoreRead),
}

/// Sees every storage write just before it is carried out (the simulator's checkers use
/// it to remember transactions that log GC later deletes).
pub type WriteTap = Box<dyn FnMut(&marmot_core::StoreWrite)>;

/// A node with its timer queue and (optionally) its queue of writes in flight.
pub struct Driver {
    tap: Option<WriteTap>,
    node: Node,
    timers: BTreeMap<(Millis, u64), Timer>,
    timer_seq: u64,
    trace: Option<u64>,
    io_latency_ms: u64,
    io: VecDeque<(Millis, Io)>,
}

impl Driver {
    /// Wrap a node. With `trace`, every input and effect is folded into a hash (used by
    /// the simulator to prove runs are deterministic).
    pub fn new(node: Node, trace: bool) -> Self {
        Self {
            tap: None,
            node,
            timers: BTreeMap::new(),
            timer_seq: 0,
            trace: trace.then_some(0xcbf2_9ce4_8422_2325),
            io_latency_ms: 0,
            io: VecDeque::new(),
        }
    }

    /// Complete each storage operation `ms` after it was issued (0 = at once).
    pub fn with_io_latency(mut self, ms: u64) -> Self {
        self.io_latency_ms = ms;
        self
    }

    /// Call `tap` with every storage write before it is carried out.
    pub fn with_write_tap(mut self, tap: WriteTap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Hash of everything seen so far (if tracing).
    pub fn trace_hash(&self) -> Option<u64> {
        self.trace
    }

    /// When the next timer or storage completion is due.
    pub fn next_timer(&self) -> Option<Millis> {
        let t = self.timers.keys().next().map(|k| k.0);
        let io = self.io.front().map(|x| x.0);
        match (t, io) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Complete every storage operation and fire every timer due at `now`, in order.
    pub fn fire_due(&mut self, store: &mut Store, now: Millis) -> Vec<Output> {
        let mut out = Vec::new();
        loop {
            let io_due = self.io.front().map(|x| x.0).filter(|at| *at <= now);
            let timer_due = self.timers.keys().next().copied().filter(|k| k.0 <= now);
            match (io_due, timer_due) {
                (Some(a), t) if t.is_none_or(|t| a <= t.0) => {
                    let (_, io) = self.io.pop_front().expect("present");
                    let input = self.execute(store, io);
                    out.extend(self.handle(store, now, input));
                }
                (_, Some(key)) => {
                    let t = self.timers.remove(&key).expect("present");
                    out.extend(self.handle(store, now, Input::Timer(t)));
                }
                _ => break,
            }
        }
        out
    }

    fn execute(&mut self, store: &mut Store, io: Io) -> Input {
        if let (Some(tap), Io::Write(_, w)) = (self.tap.as_mut(), &io) {
            tap(w);
        }
        match io {
            Io::Write(op, write) => Input::StorageDone { op, result: store.write(&write).map_err(|e| e.to_string()) },
            Io::Read(op, read) => Input::StorageRead { op, result: store.read(&read).map_err(|e| e.to_string()) },
        }
    }

    fn issue(&mut self, store: &mut Store, now: Millis, io: Io, queue: &mut VecDeque<Input>) {
        if self.io_latency_ms == 0 {
            let input = self.execute(store, io);
            queue.push_back(input);
        } else {
            // In order: never before anything issued earlier.
            let due = self.io.back().map_or(0, |x| x.0).max(now + self.io_latency_ms);
            self.io.push_back((due, io));
        }
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
                    Effect::Persist { op, write } => self.issue(store, now, Io::Write(op, write), &mut queue),
                    Effect::Read { op, read } => self.issue(store, now, Io::Read(op, read), &mut queue),
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
            use std::hash::Hasher;
            let mut hasher = fnv::FnvHasher::with_key(*h);
            hasher.write(&postcard::to_stdvec(&(now, item)).expect("serializable"));
            *h = hasher.finish();
        }
    }
}
