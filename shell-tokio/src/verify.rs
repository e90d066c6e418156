//! `GET /admin/cluster/verify[?database=D]` (what `marmot verify` calls): do all members
//! hold the same data? Online, while writes go on.
//!
//! The node asked picks a cutoff a little in the past and asks every member (itself
//! included) for per-table checksums of the rows settled at that cutoff (see
//! `store/checksum.rs`). Members report the keys written since; the node asks again
//! leaving those keys out everywhere, until no member reports a key it was not told to
//! leave out. The sums then cover the same keys on every node and must be equal. A
//! difference is asked about again a few times with a fresh cutoff, since a transaction
//! older than the cutoff may still be on its way to some member; one that persists is
//! reported. Members that are not ALIVE cannot be checked, and the answer then does not
//! say the cluster agrees. Sentinels hold no table data and are not asked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use marmot_core::NodeId;
use marmot_proto::pb;
use serde_json::json;

use crate::admin::{allowed, json_answer, unauthorized, unavailable, Answer};
use crate::auth::Secret;
use crate::engine::{wall_ms, Engine};
use crate::node_checksums::node_checksums;
use crate::peers::Peers;
use crate::transport;

/// How far before now the cutoff is: transactions older than this are expected to have
/// reached every live member (one that has not makes the attempt differ, and the next
/// attempt, a second later, asks again). Rows written since are left out of the sums.
const CUTOFF_MARGIN_MS: u64 = 500;
/// Rounds of "leave these keys out too" per attempt.
const MAX_ROUNDS: usize = 8;
/// Attempts with a fresh cutoff before a difference is reported.
const ATTEMPTS: usize = 3;
/// How long a member has to answer one round.
const PEER_TIMEOUT: Duration = Duration::from_secs(120);

/// What the handler needs.
pub struct VerifyState {
    /// The node.
    pub engine: Engine,
    /// The cluster secret the endpoint is behind.
    pub secret: Secret,
    /// Calls to peers.
    pub peers: Arc<Peers>,
}

/// The route.
pub fn router(state: Arc<VerifyState>) -> Router {
    Router::new().route("/admin/cluster/verify", get(verify)).with_state(state)
}

#[derive(serde::Deserialize)]
struct Params {
    database: Option<String>,
}

/// (database, table) → its keys.
type Keys = BTreeMap<(String, String), BTreeSet<Vec<u8>>>;
/// (database, table) → per node (rows, digest).
type Sums = BTreeMap<(String, String), BTreeMap<NodeId, (u64, Vec<u8>)>>;

/// One round's answers: per node its databases and table sums, and the failures.
struct Round {
    databases: BTreeMap<NodeId, BTreeSet<String>>,
    sums: Sums,
    new_keys: Keys,
    failed: BTreeMap<NodeId, String>,
}

async fn verify(State(state): State<Arc<VerifyState>>, headers: HeaderMap, Query(p): Query<Params>) -> Answer {
    if !allowed(&state.secret, &headers) {
        return unauthorized();
    }
    let status = match state.engine.status().await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let database = p.database.unwrap_or_default();
    let me = status.local_node_id;
    let mut members: Vec<(NodeId, String)> = Vec::new();
    let mut not_checked: BTreeMap<NodeId, String> = BTreeMap::new();
    // Sentinels hold no table data: there is nothing of theirs to compare.
    for m in status.members.iter().filter(|m| m.status != "REMOVED" && !m.sentinel) {
        if m.node_id == me || m.status == "ALIVE" {
            members.push((m.node_id, m.address.clone()));
        } else {
            not_checked.insert(m.node_id, format!("{} (only ALIVE members can be checked)", m.status));
        }
    }
    let mut last = None;
    let mut attempts = 0;
    for attempt in 0..ATTEMPTS {
        attempts = attempt + 1;
        let cutoff = wall_ms().saturating_sub(CUTOFF_MARGIN_MS);
        let mut excluded = Keys::new();
        let mut round = ask(&state, &members, &database, cutoff, &excluded).await;
        for _ in 1..MAX_ROUNDS {
            if round.new_keys.is_empty() || !round.failed.is_empty() {
                break;
            }
            for (table, keys) in std::mem::take(&mut round.new_keys) {
                excluded.entry(table).or_default().extend(keys);
            }
            round = ask(&state, &members, &database, cutoff, &excluded).await;
        }
        let settled = round.new_keys.is_empty();
        let report = compare(&round, settled, cutoff, &excluded, &not_checked);
        let agree = report["agree"].as_bool() == Some(true);
        last = Some(report);
        if agree || !round.failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut report = last.expect("at least one attempt");
    report["attempts"] = json!(attempts);
    report["database"] = json!(if database.is_empty() { None } else { Some(database) });
    json_answer(StatusCode::OK, report)
}

/// Ask every member in `members` for its checksums at `cutoff` without the `excluded` keys.
async fn ask(state: &VerifyState, members: &[(NodeId, String)], database: &str, cutoff: u64, excluded: &Keys) -> Round {
    let request = pb::ChecksumRequest {
        database: database.to_string(),
        cutoff_wall: cutoff,
        exclude: excluded
            .iter()
            .map(|((db, table), keys)| pb::TableKeys {
                database: db.clone(),
                table: table.clone(),
                keys: keys.iter().cloned().collect(),
            })
            .collect(),
    };
    let mut calls = tokio::task::JoinSet::new();
    for (id, addr) in members.iter().cloned() {
        let request = request.clone();
        if id == state.engine.node_id {
            let engine = state.engine.clone();
            calls.spawn(async move {
                let answer = tokio::task::spawn_blocking(move || node_checksums(&engine, &request))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                (id, answer)
            });
        } else {
            let (channel, signer) = (state.peers.channel(&addr), state.peers.signer.clone());
            calls.spawn(async move {
                let answer = match channel {
                    Ok(c) => transport::peer_checksums(c, signer, request, PEER_TIMEOUT).await,
                    Err(e) => Err(e),
                };
                (id, answer)
            });
        }
    }
    let mut round =
        Round { databases: BTreeMap::new(), sums: Sums::new(), new_keys: Keys::new(), failed: BTreeMap::new() };
    while let Some(Ok((id, answer))) = calls.join_next().await {
        let reply = match answer {
            Ok(r) => r,
            Err(e) => {
                round.failed.insert(id, e);
                continue;
            }
        };
        round.databases.insert(id, reply.databases.into_iter().collect());
        for t in reply.tables {
            let table = (t.database, t.table);
            if !t.recent.is_empty() {
                round.new_keys.entry(table.clone()).or_default().extend(t.recent);
            }
            round.sums.entry(table).or_default().insert(id, (t.rows, t.digest));
        }
    }
    round
}

/// The report of one attempt: per table whether every checked node holds it with the same
/// sum; `agree` only when every table does, every member was checked and the keys settled.
fn compare(
    round: &Round,
    settled: bool,
    cutoff: u64,
    excluded: &Keys,
    not_checked: &BTreeMap<NodeId, String>,
) -> serde_json::Value {
    let checked: Vec<NodeId> = round.databases.keys().copied().collect();
    let mut all_agree = settled && round.failed.is_empty() && not_checked.is_empty();
    let mut databases: BTreeSet<&String> = BTreeSet::new();
    for dbs in round.databases.values() {
        databases.extend(dbs);
    }
    let mut missing_databases = Vec::new();
    for db in databases {
        let lacking: Vec<NodeId> =
            round.databases.iter().filter(|(_, dbs)| !dbs.contains(db)).map(|(id, _)| *id).collect();
        if !lacking.is_empty() {
            all_agree = false;
            missing_databases.push(json!({"database": db, "missing_on": lacking}));
        }
    }
    let tables: Vec<_> = round
        .sums
        .iter()
        .map(|((db, table), by_node)| {
            let first = by_node.values().next();
            let agree = by_node.len() == checked.len() && by_node.values().all(|s| Some(s) == first);
            all_agree &= agree;
            let nodes: BTreeMap<String, serde_json::Value> = checked
                .iter()
                .map(|id| {
                    let v = by_node.get(id).map_or(
                        serde_json::Value::Null,
                        |(rows, digest)| json!({"rows": rows, "checksum": hex(digest)}),
                    );
                    (id.to_string(), v)
                })
                .collect();
            let key = (db.clone(), table.clone());
            let left_out =
                excluded.get(&key).map_or(0, BTreeSet::len) + round.new_keys.get(&key).map_or(0, BTreeSet::len);
            json!({"database": db, "table": table, "agree": agree, "left_out": left_out, "nodes": nodes})
        })
        .collect();
    let failed: Vec<_> = round
        .failed
        .iter()
        .map(|(id, e)| json!({"node_id": id, "reason": e}))
        .chain(not_checked.iter().map(|(id, e)| json!({"node_id": id, "reason": e})))
        .collect();
    json!({
        "agree": all_agree,
        "settled": settled,
        "cutoff_ms": cutoff,
        "checked_nodes": checked,
        "not_checked": failed,
        "missing_databases": missing_databases,
        "tables": tables,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
