//! What one step of a node produces, and the storage operations it waits on.
//!
//! Every concern (coordinator, participant, catch-up, snapshots, GC) is handed the
//! [`Outbox`] by the node for the call, in the way foca hands its `Runtime` in: a
//! concern says what should happen (send, persist, read, set a timer, reply, observe)
//! without reaching into the node. Effects keep the order in which they were asked for;
//! messages to the node itself wait in a local queue that the node drains within the same
//! step, so a local participant runs exactly the code a remote one does.

use std::collections::{BTreeMap, VecDeque};

use crate::config::CoreConfig;
use crate::hlc::{Hlc, HlcClock, TxnId};
use crate::io::{Effect, Observation, OpId, Reply, ReqId, StoreRead, StoreWrite, Timer};
use crate::message::{Envelope, Message};
use crate::types::NodeId;
use crate::Millis;

/// What a pending storage operation was for.
#[derive(Clone, Debug)]
pub(crate) enum PendingOp {
    Prepare { txn_id: TxnId },
    Commit { txn_id: TxnId },
    Abort,
    Refuse { txn_id: TxnId, to: NodeId },
    Promise { txn_id: TxnId, reply: Option<(NodeId, crate::message::TxnStatus)> },
    AbortAck { txn_id: TxnId, to: NodeId },
    ApplyLog { peer: NodeId, database: String, last_seq: u64, head: u64, txn_ids: Vec<TxnId> },
    Membership,
    ServeLog { to: NodeId, database: String, after: u64 },
    ServeSnapshot(crate::snapshot::Served),
    InstallSnapshot { database: String, donor: NodeId, bytes: u64 },
    TrimLog { database: String, watermark: u64 },
    RaiseLogFloor { database: String },
}

/// What a concern is handed for one call: the time, the configuration, the clock, who the
/// node is, and the outbox. Built by the node with [`step!`] (a macro, so that
/// the borrows stay on the node's fields and the concern's own state can be borrowed
/// beside them).
pub(crate) struct Step<'a> {
    /// The node's time.
    pub(crate) now: Millis,
    /// The node's configuration.
    pub(crate) cfg: &'a CoreConfig,
    /// The node's clock: messages carry its last reading; the coordinator takes
    /// transaction ids from it.
    pub(crate) clock: &'a mut HlcClock,
    /// Where effects go.
    pub(crate) out: &'a mut Outbox,
}

impl Step<'_> {
    /// The node itself.
    pub(crate) fn me(&self) -> NodeId {
        self.out.me
    }

    /// Send `msg` to `to`.
    pub(crate) fn send(&mut self, to: NodeId, msg: Message) {
        self.out.send(self.clock.last(), to, msg);
    }
}

/// The [`Step`] of node `$n` (a `&mut Node` or `self`).
macro_rules! step {
    ($n:expr) => {
        crate::outbox::Step { now: $n.now, cfg: &$n.cfg, clock: &mut $n.clock, out: &mut $n.out }
    };
}
pub(crate) use step;

/// The effects of the step under way, the node's messages to itself, and the storage
/// operations awaiting completion.
#[derive(Debug)]
pub(crate) struct Outbox {
    me: NodeId,
    effects: Vec<Effect>,
    local: VecDeque<Envelope>,
    next_op: OpId,
    pending: BTreeMap<OpId, PendingOp>,
}

impl Outbox {
    /// The outbox of node `me`.
    pub(crate) fn new(me: NodeId) -> Self {
        Outbox { me, effects: Vec::new(), local: VecDeque::new(), next_op: 1, pending: BTreeMap::new() }
    }

    /// Send `msg` to `to`, stamped with the clock reading `stamp`; to the node itself it
    /// goes to the local queue.
    pub(crate) fn send(&mut self, stamp: Hlc, to: NodeId, msg: Message) {
        let env = Envelope { from: self.me, to, clock: stamp, msg };
        if to == self.me {
            self.local.push_back(env);
        } else {
            self.effects.push(Effect::Send(env));
        }
    }

    /// Ask for a durable write; its completion comes back for `why`.
    pub(crate) fn persist(&mut self, write: StoreWrite, why: PendingOp) {
        let op = self.wait_for(why);
        self.effects.push(Effect::Persist { op, write });
    }

    /// Ask for a read; its completion comes back for `why`.
    pub(crate) fn read(&mut self, read: StoreRead, why: PendingOp) {
        let op = self.wait_for(why);
        self.effects.push(Effect::Read { op, read });
    }

    fn wait_for(&mut self, why: PendingOp) -> OpId {
        let op = self.next_op;
        self.next_op += 1;
        self.pending.insert(op, why);
        op
    }

    /// Fire `timer` at `at`.
    pub(crate) fn timer_at(&mut self, timer: Timer, at: Millis) {
        self.effects.push(Effect::SetTimer { timer, at });
    }

    /// Answer request `req`.
    pub(crate) fn reply(&mut self, req: ReqId, reply: Reply) {
        self.effects.push(Effect::Reply { req, reply });
    }

    /// Report `o`.
    pub(crate) fn observe(&mut self, o: Observation) {
        self.effects.push(Effect::Observe(o));
    }

    /// What storage operation `op` was for (once: a completion is taken when it arrives).
    pub(crate) fn complete(&mut self, op: OpId) -> Option<PendingOp> {
        self.pending.remove(&op)
    }

    /// The next message the node sent itself.
    pub(crate) fn next_local(&mut self) -> Option<Envelope> {
        self.local.pop_front()
    }

    /// Hand the step's effects over, in order.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<Effect>) {
        debug_assert!(self.local.is_empty(), "a step ended with messages to itself unhandled");
        out.append(&mut self.effects);
    }
}
