//! # marmot-proto
//!
//! The wire encodings of node-to-node messages.
//!
//! - [`pb`]: the production gRPC service and its protobuf messages (`proto/marmot.proto`,
//!   compiled with protox, so no `protoc` is needed), with [`convert`] mapping them onto
//!   the core's messages. Compatibility rule: field numbers and types never change and
//!   are never reused; new information arrives as new fields or new oneof cases, which
//!   older nodes skip (an unknown message kind is dropped with a log line, and the
//!   protocol's retries cover it).
//! - [`link`]: the links between nodes (batching, large messages in pieces, reconnection
//!   with backoff, the receiving side), used by the production host and the simulator
//!   alike, so that the simulator's faults meet the code that runs in production.

pub mod convert;
pub mod link;

/// Generated protobuf messages and the tonic client and server of `marmot.v1.Marmot`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("marmot.v1");
}

#[cfg(test)]
mod tests {
    use super::*;
    use marmot_core::{Envelope, Hlc, Message};

    fn env() -> Envelope {
        Envelope {
            from: 1,
            to: 2,
            clock: Hlc { wall: 5, logical: 1, node: 1 },
            msg: Message::Commit { txn_id: Hlc { wall: 4, logical: 0, node: 1 } },
        }
    }

    #[test]
    fn protobuf_round_trip_and_bad_messages() {
        use marmot_core::membership::MemberDigest;
        use marmot_core::{ColumnValue, MemberState, Op, RowChange, RowKey, Txn, Value};
        let id = Hlc { wall: 9, logical: 2, node: 3 };
        let txn = Txn {
            id,
            coordinator: 3,
            rows: vec![RowChange {
                database: "db".into(),
                table: "t".into(),
                op: Op::Update,
                key: RowKey(vec![1, 2]),
                before: Some(vec![ColumnValue { column: "a".into(), value: Value::Null }]),
                after: Some(vec![
                    ColumnValue { column: "a".into(), value: Value::Blob(vec![0, 255]) },
                    ColumnValue { column: "b".into(), value: Value::Real(1.5) },
                    ColumnValue { column: "c".into(), value: Value::Text("é".into()) },
                    ColumnValue { column: "d".into(), value: Value::Integer(-7) },
                ]),
                schema_version: 4,
                read_version: Some(marmot_core::Version(Hlc { wall: 8, logical: 0, node: 2 })),
            }]
            .into(),
            first_committer_wins: true,
            voting: marmot_core::voting::Voting { members: vec![1, 2, 3], commit_needs: 1, unasked: vec![3] },
        };
        let msgs = vec![
            Message::Prepare { txn: txn.clone() },
            Message::Gossip {
                members: vec![MemberDigest {
                    id: 3,
                    addr: "127.0.0.1:8081".into(),
                    state: MemberState::Suspect,
                    incarnation: 5,
                    admin_gen: 1,
                    removed: true,
                    sentinel: true,
                    fresh: true,
                }],
                heads: [("db".to_string(), 12)].into_iter().collect(),
                applied: [("db".to_string(), 9)].into_iter().collect(),
                schemas: [("db".to_string(), 3)].into_iter().collect(),
            },
            Message::LogChunk {
                database: "db".into(),
                after: 1,
                entries: vec![marmot_core::message::LogEntry { seq: 2, txn }],
                head: 2,
            },
            Message::StatusReply { txn_id: id, status: marmot_core::message::TxnStatus::Pending },
            Message::Heartbeat { txn_ids: vec![id, id] },
            Message::Follow {
                addr: "127.0.0.1:9".into(),
                members: true,
                known: [("db".to_string(), 3)].into_iter().collect(),
                applied: [("db".to_string(), 2)].into_iter().collect(),
            },
            Message::FollowReply { members: Vec::new(), heads: [("db".to_string(), 4)].into_iter().collect() },
            Message::SnapshotRequest { database: "db".into(), snapshot: 3, offset: 1 << 20, shared: true },
            Message::SnapshotChunk {
                database: "db".into(),
                snapshot: 3,
                offset: 4,
                total: 9,
                sha256: vec![1; 32],
                data: vec![0, 255, 7],
            },
        ];
        for msg in msgs {
            let e = Envelope { from: 1, to: 2, clock: id, msg };
            assert_eq!(convert::from_envelope(convert::envelope(&e)), Ok(e));
        }
        let mut bad = convert::envelope(&env());
        bad.msg = None;
        assert_eq!(
            convert::from_envelope(bad).unwrap_err().to_string(),
            "invalid message kind (unknown to this version)"
        );
        let mut bad = convert::envelope(&env());
        bad.clock = None;
        assert!(convert::from_envelope(bad).is_err());
    }
}
