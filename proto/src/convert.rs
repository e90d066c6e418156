//! Conversions between the core's messages and their protobuf form. Decoding checks
//! every required field and enum value and says which one is wrong.

use std::collections::BTreeMap;

use marmot_core::membership::MemberDigest;
use marmot_core::message::{LogEntry, TxnStatus, Vote};
use marmot_core::voting::Voting;
use marmot_core::{ColumnValue, Envelope, Hlc, MemberState, Message, Op, RowChange, RowKey, Txn, Value, Version};

use crate::pb;

/// Why a protobuf message does not map onto a core message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {0}")]
pub struct Invalid(pub &'static str);

fn hlc(h: Hlc) -> pb::Hlc {
    pb::Hlc { wall: h.wall, logical: h.logical, node: h.node }
}

fn from_hlc(h: Option<pb::Hlc>, what: &'static str) -> Result<Hlc, Invalid> {
    let h = h.ok_or(Invalid(what))?;
    Ok(Hlc { wall: h.wall, logical: h.logical, node: h.node })
}

fn value(v: &Value) -> pb::Value {
    use pb::value::Kind;
    pb::Value {
        kind: Some(match v {
            Value::Null => Kind::Null(true),
            Value::Integer(i) => Kind::Integer(*i),
            Value::Real(f) => Kind::Real(*f),
            Value::Text(s) => Kind::Text(s.clone()),
            Value::Blob(b) => Kind::Blob(b.clone()),
        }),
    }
}

fn from_value(v: Option<pb::Value>) -> Result<Value, Invalid> {
    use pb::value::Kind;
    Ok(match v.and_then(|v| v.kind).ok_or(Invalid("value"))? {
        Kind::Null(_) => Value::Null,
        Kind::Integer(i) => Value::Integer(i),
        Kind::Real(f) => Value::Real(f),
        Kind::Text(s) => Value::Text(s),
        Kind::Blob(b) => Value::Blob(b),
    })
}

fn row(r: &[ColumnValue]) -> pb::Row {
    pb::Row {
        columns: r.iter().map(|c| pb::ColumnValue { column: c.column.clone(), value: Some(value(&c.value)) }).collect(),
    }
}

fn from_row(r: pb::Row) -> Result<Vec<ColumnValue>, Invalid> {
    r.columns.into_iter().map(|c| Ok(ColumnValue { column: c.column, value: from_value(c.value)? })).collect()
}

fn txn(t: &Txn) -> pb::Txn {
    pb::Txn {
        id: Some(hlc(t.id)),
        coordinator: t.coordinator,
        rows: t
            .rows
            .iter()
            .map(|r| pb::RowChange {
                database: r.database.clone(),
                table: r.table.clone(),
                op: match r.op {
                    Op::Insert => pb::Op::Insert,
                    Op::Update => pb::Op::Update,
                    Op::Delete => pb::Op::Delete,
                } as i32,
                key: r.key.0.clone(),
                before: r.before.as_deref().map(row),
                after: r.after.as_deref().map(row),
                schema_version: r.schema_version,
                read_version: r.read_version.map(|v| hlc(v.0)),
            })
            .collect(),
        first_committer_wins: t.first_committer_wins,
        voters: t.voting.members.clone(),
        commit_needs: t.voting.commit_needs,
        unasked: t.voting.unasked.clone(),
    }
}

fn from_txn(t: Option<pb::Txn>) -> Result<Txn, Invalid> {
    let t = t.ok_or(Invalid("txn"))?;
    let rows = t
        .rows
        .into_iter()
        .map(|r| {
            Ok(RowChange {
                op: match pb::Op::try_from(r.op) {
                    Ok(pb::Op::Insert) => Op::Insert,
                    Ok(pb::Op::Update) => Op::Update,
                    Ok(pb::Op::Delete) => Op::Delete,
                    _ => return Err(Invalid("row op")),
                },
                database: r.database,
                table: r.table,
                key: RowKey(r.key),
                before: r.before.map(from_row).transpose()?,
                after: r.after.map(from_row).transpose()?,
                schema_version: r.schema_version,
                read_version: r.read_version.map(|v| from_hlc(Some(v), "read version").map(Version)).transpose()?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Txn {
        id: from_hlc(t.id, "txn id")?,
        coordinator: t.coordinator,
        rows: rows.into(),
        first_committer_wins: t.first_committer_wins,
        voting: Voting { members: t.voters, commit_needs: t.commit_needs, unasked: t.unasked },
    })
}

/// A member digest as protobuf.
pub fn digest(d: &MemberDigest) -> pb::MemberDigest {
    pb::MemberDigest {
        id: d.id,
        addr: d.addr.clone(),
        state: match d.state {
            MemberState::Joining => pb::MemberState::Joining,
            MemberState::Alive => pb::MemberState::Alive,
            MemberState::Suspect => pb::MemberState::Suspect,
            MemberState::Dead => pb::MemberState::Dead,
            MemberState::Removed => pb::MemberState::Removed,
        } as i32,
        incarnation: d.incarnation,
        admin_gen: d.admin_gen,
        removed: d.removed,
        sentinel: d.sentinel,
        fresh: d.fresh,
    }
}

/// A member digest from protobuf.
pub fn from_digest(d: pb::MemberDigest) -> Result<MemberDigest, Invalid> {
    Ok(MemberDigest {
        state: match pb::MemberState::try_from(d.state) {
            Ok(pb::MemberState::Joining) => MemberState::Joining,
            Ok(pb::MemberState::Alive) => MemberState::Alive,
            Ok(pb::MemberState::Suspect) => MemberState::Suspect,
            Ok(pb::MemberState::Dead) => MemberState::Dead,
            Ok(pb::MemberState::Removed) => MemberState::Removed,
            _ => return Err(Invalid("member state")),
        },
        id: d.id,
        addr: d.addr,
        incarnation: d.incarnation,
        admin_gen: d.admin_gen,
        removed: d.removed,
        sentinel: d.sentinel,
        fresh: d.fresh,
    })
}

fn vote(v: Vote) -> i32 {
    (match v {
        Vote::Yes => pb::Vote::Yes,
        Vote::Conflict => pb::Vote::Conflict,
        Vote::Refused => pb::Vote::Refused,
    }) as i32
}

fn from_status(s: i32) -> Result<TxnStatus, Invalid> {
    Ok(match pb::TxnStatus::try_from(s) {
        Ok(pb::TxnStatus::Committed) => TxnStatus::Committed,
        Ok(pb::TxnStatus::Aborted) => TxnStatus::Aborted,
        Ok(pb::TxnStatus::Pending) => TxnStatus::Pending,
        Ok(pb::TxnStatus::Unknown) => TxnStatus::Unknown,
        Ok(pb::TxnStatus::Refused) => TxnStatus::Refused,
        _ => return Err(Invalid("txn status")),
    })
}

fn status(s: TxnStatus) -> i32 {
    (match s {
        TxnStatus::Committed => pb::TxnStatus::Committed,
        TxnStatus::Aborted => pb::TxnStatus::Aborted,
        TxnStatus::Pending => pb::TxnStatus::Pending,
        TxnStatus::Unknown => pb::TxnStatus::Unknown,
        TxnStatus::Refused => pb::TxnStatus::Refused,
    }) as i32
}

/// An envelope as protobuf.
pub fn envelope(e: &Envelope) -> pb::Envelope {
    use pb::envelope::Msg;
    let msg = match &e.msg {
        Message::Gossip { members, heads, applied, schemas } => Msg::Gossip(pb::Gossip {
            schemas: schemas.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            members: members.iter().map(digest).collect(),
            heads: heads.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            applied: applied.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }),
        Message::Prepare { txn: t } => Msg::Prepare(pb::Prepare { txn: Some(txn(t)) }),
        Message::PrepareReply { txn_id, vote: v } => {
            Msg::PrepareReply(pb::PrepareReply { txn_id: Some(hlc(*txn_id)), vote: vote(*v) })
        }
        Message::Commit { txn_id } => Msg::Commit(pb::Commit { txn_id: Some(hlc(*txn_id)) }),
        Message::CommitAck { txn_id } => Msg::CommitAck(pb::CommitAck { txn_id: Some(hlc(*txn_id)) }),
        Message::Abort { txn_id } => Msg::Abort(pb::Abort { txn_id: Some(hlc(*txn_id)) }),
        Message::Heartbeat { txn_ids } => {
            Msg::Heartbeat(pb::Heartbeat { txn_ids: txn_ids.iter().map(|h| hlc(*h)).collect() })
        }
        Message::StatusQuery { txn_id, fence } => {
            Msg::StatusQuery(pb::StatusQuery { txn_id: Some(hlc(*txn_id)), fence: *fence })
        }
        Message::StatusReply { txn_id, status: s } => {
            Msg::StatusReply(pb::StatusReply { txn_id: Some(hlc(*txn_id)), status: status(*s) })
        }
        Message::AbortRequest { txn_id } => Msg::AbortRequest(pb::AbortRequest { txn_id: Some(hlc(*txn_id)) }),
        Message::AbortReply { txn_id, status: s } => {
            Msg::AbortReply(pb::AbortReply { txn_id: Some(hlc(*txn_id)), status: status(*s) })
        }
        Message::PullLog { database, after, limit } => {
            Msg::PullLog(pb::PullLog { database: database.clone(), after: *after, limit: *limit })
        }
        Message::LogChunk { database, after, entries, head } => Msg::LogChunk(pb::LogChunk {
            database: database.clone(),
            after: *after,
            entries: entries.iter().map(|e| pb::LogEntry { seq: e.seq, txn: Some(txn(&e.txn)) }).collect(),
            head: *head,
        }),
        Message::SnapshotRequest { database, snapshot, offset, shared } => Msg::SnapshotRequest(pb::SnapshotRequest {
            database: database.clone(),
            snapshot: *snapshot,
            offset: *offset,
            shared: *shared,
        }),
        Message::SnapshotChunk { database, snapshot, offset, total, sha256, data } => {
            Msg::SnapshotChunk(pb::SnapshotChunk {
                database: database.clone(),
                snapshot: *snapshot,
                offset: *offset,
                total: *total,
                sha256: sha256.clone(),
                data: data.clone(),
            })
        }
        Message::Follow { addr, members, known, applied } => Msg::Follow(pb::Follow {
            addr: addr.clone(),
            members: *members,
            known: known.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            applied: applied.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }),
        Message::FollowReply { members, heads } => Msg::FollowReply(pb::FollowReply {
            members: members.iter().map(digest).collect(),
            heads: heads.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }),
    };
    pb::Envelope { from: e.from, to: e.to, clock: Some(hlc(e.clock)), msg: Some(msg) }
}

/// An envelope from protobuf.
pub fn from_envelope(e: pb::Envelope) -> Result<Envelope, Invalid> {
    use pb::envelope::Msg;
    let msg = match e.msg.ok_or(Invalid("message kind (unknown to this version)"))? {
        Msg::Gossip(g) => Message::Gossip {
            members: g.members.into_iter().map(from_digest).collect::<Result<_, _>>()?,
            heads: g.heads.into_iter().collect::<BTreeMap<_, _>>(),
            applied: g.applied.into_iter().collect::<BTreeMap<_, _>>(),
            schemas: g.schemas.into_iter().collect::<BTreeMap<_, _>>(),
        },
        Msg::Prepare(p) => Message::Prepare { txn: from_txn(p.txn)? },
        Msg::PrepareReply(p) => Message::PrepareReply {
            txn_id: from_hlc(p.txn_id, "txn id")?,
            vote: match pb::Vote::try_from(p.vote) {
                Ok(pb::Vote::Yes) => Vote::Yes,
                Ok(pb::Vote::Conflict) => Vote::Conflict,
                Ok(pb::Vote::Refused) => Vote::Refused,
                _ => return Err(Invalid("vote")),
            },
        },
        Msg::Commit(c) => Message::Commit { txn_id: from_hlc(c.txn_id, "txn id")? },
        Msg::CommitAck(c) => Message::CommitAck { txn_id: from_hlc(c.txn_id, "txn id")? },
        Msg::Abort(a) => Message::Abort { txn_id: from_hlc(a.txn_id, "txn id")? },
        Msg::Heartbeat(h) => Message::Heartbeat {
            txn_ids: h.txn_ids.into_iter().map(|h| from_hlc(Some(h), "txn id")).collect::<Result<_, _>>()?,
        },
        Msg::StatusQuery(q) => Message::StatusQuery { txn_id: from_hlc(q.txn_id, "txn id")?, fence: q.fence },
        Msg::StatusReply(r) => {
            Message::StatusReply { txn_id: from_hlc(r.txn_id, "txn id")?, status: from_status(r.status)? }
        }
        Msg::AbortRequest(r) => Message::AbortRequest { txn_id: from_hlc(r.txn_id, "txn id")? },
        Msg::AbortReply(r) => {
            Message::AbortReply { txn_id: from_hlc(r.txn_id, "txn id")?, status: from_status(r.status)? }
        }
        Msg::PullLog(p) => Message::PullLog { database: p.database, after: p.after, limit: p.limit },
        Msg::LogChunk(c) => Message::LogChunk {
            database: c.database,
            after: c.after,
            entries: c
                .entries
                .into_iter()
                .map(|e| Ok(LogEntry { seq: e.seq, txn: from_txn(e.txn)? }))
                .collect::<Result<_, _>>()?,
            head: c.head,
        },
        Msg::SnapshotRequest(r) => {
            Message::SnapshotRequest { database: r.database, snapshot: r.snapshot, offset: r.offset, shared: r.shared }
        }
        Msg::SnapshotChunk(c) => Message::SnapshotChunk {
            database: c.database,
            snapshot: c.snapshot,
            offset: c.offset,
            total: c.total,
            sha256: c.sha256,
            data: c.data,
        },
        Msg::Follow(f) => Message::Follow {
            addr: f.addr,
            members: f.members,
            known: f.known.into_iter().collect::<BTreeMap<_, _>>(),
            applied: f.applied.into_iter().collect::<BTreeMap<_, _>>(),
        },
        Msg::FollowReply(r) => Message::FollowReply {
            members: r.members.into_iter().map(from_digest).collect::<Result<_, _>>()?,
            heads: r.heads.into_iter().collect::<BTreeMap<_, _>>(),
        },
    };
    Ok(Envelope { from: e.from, to: e.to, clock: from_hlc(e.clock, "clock")?, msg })
}
