//! The admin HTTP API and `/metrics`, served on the node port next to gRPC.
//!
//! `GET /admin/cluster/members`, `POST /admin/cluster/remove/{node_id}` and
//! `POST /admin/cluster/allow/{node_id}` answer with the JSON shapes of Marmot's
//! operations guide and need the `X-Marmot-Secret` header when a cluster secret is set
//! (401 otherwise). `GET /metrics` is Prometheus text when `[prometheus] enabled`.
//! `GET /health` is for load balancers: 200 when the node can serve writes, 503 with the
//! reason otherwise; it needs no secret (it tells only the node's own state).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use marmot_core::io::AdminCmd;
use serde_json::json;

use crate::auth::Secret;
use crate::cluster_status::ClusterStatus;
use crate::drain::DrainState;
use crate::engine::Engine;

/// What the handlers need.
pub struct AdminState {
    /// The node.
    pub engine: Engine,
    /// The cluster secret the header is checked against.
    pub secret: Secret,
    /// Whether `/metrics` is served (`[prometheus] enabled`).
    pub metrics_enabled: bool,
}

pub(crate) type Answer = (StatusCode, [(header::HeaderName, &'static str); 1], String);

pub(crate) fn json_answer(status: StatusCode, body: serde_json::Value) -> Answer {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string())
}

pub(crate) fn unauthorized() -> Answer {
    json_answer(
        StatusCode::UNAUTHORIZED,
        json!({"success": false, "message": "invalid cluster secret: send it in the X-Marmot-Secret header"}),
    )
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> Answer {
    json_answer(StatusCode::SERVICE_UNAVAILABLE, json!({"success": false, "message": e.to_string()}))
}

pub(crate) fn allowed(secret: &Secret, headers: &HeaderMap) -> bool {
    secret.admin_allowed(headers.get("x-marmot-secret").map(|v| v.as_bytes()))
}

/// The routes, ready to merge with the gRPC service.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/admin/cluster/members", get(members))
        .route("/admin/cluster/status", get(status))
        .route("/admin/cluster/remove/{node_id}", post(remove))
        .route("/admin/cluster/allow/{node_id}", post(allow))
        .route("/admin/cluster/drain", post(drain))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(state)
}

/// The node's view of its cluster, for a caller holding the secret.
async fn authorized_status(state: &AdminState, headers: &HeaderMap) -> Result<ClusterStatus, Answer> {
    if !allowed(&state.secret, headers) {
        return Err(unauthorized());
    }
    state.engine.status().await.map_err(unavailable)
}

/// The members answer of Marmot's operations guide.
fn members_answer(s: &ClusterStatus) -> serde_json::Value {
    let members: Vec<_> = s
        .members
        .iter()
        .map(|m| {
            let role = if m.sentinel { "sentinel" } else { "data" };
            json!({"NodeID": m.node_id, "Address": m.address, "Status": m.status, "Incarnation": m.incarnation, "Role": role})
        })
        .collect();
    json!({
        "members": members,
        "total_membership": s.total_membership,
        "alive_count": s.alive_count,
        "quorum_size": s.quorum_size,
        "local_node_id": s.local_node_id,
    })
}

async fn members(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Answer {
    match authorized_status(&state, &headers).await {
        Ok(s) => json_answer(StatusCode::OK, members_answer(&s)),
        Err(refused) => refused,
    }
}

/// Members (as `/admin/cluster/members`) plus whether this node is healthy (as
/// `/health`), the transactions it committed per second over the last seconds, its
/// replication lag behind each peer per database, its schema versions and the snapshots
/// it is fetching: the body of `GET /admin/cluster/status` and of the node RPC `Status`.
pub fn status_body(s: &ClusterStatus, writes_per_second: f64, drain: DrainState) -> serde_json::Value {
    let lag: Vec<_> = s
        .lag
        .iter()
        .map(|l| json!({"peer": l.peer, "database": l.database, "transactions": l.transactions, "behind_ms": l.behind_ms}))
        .collect();
    let fetches: Vec<_> = s
        .snapshot_fetches
        .iter()
        .map(|f| json!({"database": f.database, "donor": f.donor, "received": f.received, "total": f.total}))
        .collect();
    let mut body = members_answer(s);
    body["healthy"] = json!(unhealthy(s.local_state(), s, drain).is_none());
    body["state"] = json!(s.local_state());
    body["drain"] = json!(drain.as_str());
    body["lag"] = json!(lag);
    body["schema_versions"] = json!(s.schema_versions);
    body["snapshot_fetches"] = json!(fetches);
    body["writes_per_second"] = json!((writes_per_second * 10.0).round() / 10.0);
    if let Some(r) = &s.replica {
        body["replica"] = replica_body(r);
    }
    body
}

/// A replica's source and per-database lag, as `GET /admin/cluster/status` shows them.
fn replica_body(r: &marmot_core::replica::ReplicaStatus) -> serde_json::Value {
    let dbs: Vec<_> = r
        .databases
        .iter()
        .map(|d| {
            json!({"database": d.name, "state": d.state, "position": d.position, "source_head": d.head,
                   "lag_transactions": d.head.saturating_sub(d.position), "behind_ms": d.behind_ms})
        })
        .collect();
    json!({"source": r.source, "source_address": r.source_addr, "source_heard_ms_ago": r.heard_ms_ago,
           "failovers": r.failovers, "databases": dbs})
}

async fn status(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Answer {
    match authorized_status(&state, &headers).await {
        Ok(s) => json_answer(
            StatusCode::OK,
            status_body(&s, state.engine.metrics.writes_per_second(), state.engine.drain.state()),
        ),
        Err(refused) => refused,
    }
}

async fn membership_change(state: &AdminState, headers: &HeaderMap, id: &str, remove: bool) -> Answer {
    if !allowed(&state.secret, headers) {
        return unauthorized();
    }
    let Ok(id) = id.parse::<u64>() else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({"success": false, "message": format!("node id {id:?} is not a number")}),
        );
    };
    let cmd = if remove { AdminCmd::Remove(id) } else { AdminCmd::Allow(id) };
    match state.engine.admin(cmd).await {
        Err(e) => unavailable(e),
        Ok(Err(reason)) => json_answer(StatusCode::BAD_REQUEST, json!({"success": false, "message": reason})),
        Ok(Ok(())) if remove => match state.engine.status().await {
            Ok(s) => json_answer(
                StatusCode::OK,
                json!({
                    "success": true,
                    "message": format!("node {id} marked as REMOVED"),
                    "total_membership": s.total_membership,
                    "alive_count": s.alive_count,
                    "quorum_size": s.quorum_size,
                }),
            ),
            Err(e) => unavailable(e),
        },
        Ok(Ok(())) => json_answer(
            StatusCode::OK,
            json!({"success": true, "message": format!("node {id} allowed to rejoin cluster")}),
        ),
    }
}

async fn remove(State(state): State<Arc<AdminState>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    membership_change(&state, &headers, &id, true).await
}

async fn allow(State(state): State<Arc<AdminState>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    membership_change(&state, &headers, &id, false).await
}

#[derive(serde::Deserialize)]
struct DrainParams {
    timeout_seconds: Option<u64>,
}

/// Drain this node (see [`crate::drain`]); answers when it has left the cluster.
async fn drain(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    axum::extract::Query(p): axum::extract::Query<DrainParams>,
) -> Answer {
    if !allowed(&state.secret, &headers) {
        return unauthorized();
    }
    let timeout = std::time::Duration::from_secs(p.timeout_seconds.unwrap_or(30));
    let engine = &state.engine;
    let removed = match engine.status().await {
        Ok(s) => s.local_state() == "REMOVED",
        Err(e) => return json_answer(StatusCode::BAD_REQUEST, json!({"success": false, "message": e.to_string()})),
    };
    let leave = async { engine.admin(marmot_core::io::AdminCmd::Leave).await.unwrap_or_else(|e| Err(e.to_string())) };
    match crate::drain::drain(&engine.drain, engine.node_id, removed, timeout, leave).await {
        Ok(message) => json_answer(StatusCode::OK, json!({"success": true, "message": message})),
        Err(e) => json_answer(StatusCode::BAD_REQUEST, json!({"success": false, "message": e})),
    }
}

async fn metrics(State(state): State<Arc<AdminState>>) -> Answer {
    if !state.metrics_enabled {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "metrics are off: set [prometheus] enabled = true\n".into(),
        );
    }
    match state.engine.status().await {
        Ok(s) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.engine.metrics.render(&s))
        }
        Err(e) => unavailable(e),
    }
}

/// Why a node in state `local` cannot serve writes (`None`: it can): it must not be
/// draining, be ALIVE and see a quorum of ALIVE members, or a QUORUM write through it
/// would fail.
fn unhealthy(local: &str, status: &ClusterStatus, drain: DrainState) -> Option<String> {
    match (drain, local) {
        (DrainState::Draining, _) => {
            return Some("draining: finishing open transactions, then leaving the cluster".into())
        }
        (DrainState::Left, _) => {
            return Some(format!(
                "drained: left the cluster (`marmot cluster allow {}` on another node brings it back)",
                status.local_node_id
            ))
        }
        (DrainState::Serving, _) => {}
    }
    match local {
        "ALIVE" if status.alive_count >= status.quorum_size => None,
        "ALIVE" => Some(format!(
            "sees {} ALIVE of {} members and a quorum is {}: on the minority side of a partition, or too many \
             nodes are down",
            status.alive_count, status.total_membership, status.quorum_size
        )),
        "JOINING" => Some("joining the cluster: catching up with its peers".into()),
        "REMOVED" => Some("removed from the cluster".into()),
        other => Some(format!("this node is {other}")),
    }
}

async fn health(State(state): State<Arc<AdminState>>) -> Answer {
    let s = match state.engine.status().await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let local = s.local_state();
    let reason = unhealthy(local, &s, state.engine.drain.state());
    let code = if reason.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_answer(
        code,
        json!({
            "healthy": reason.is_none(),
            "node_id": s.local_node_id,
            "state": local,
            "alive_count": s.alive_count,
            "total_membership": s.total_membership,
            "quorum_size": s.quorum_size,
            "reason": reason,
        }),
    )
}
