//! The admin HTTP API and `/metrics`, served on the node port next to gRPC.
//!
//! `GET /admin/cluster/members`, `POST /admin/cluster/remove/{node_id}` and
//! `POST /admin/cluster/allow/{node_id}` answer with the JSON shapes of Marmot's
//! operations guide and need the `X-Marmot-Secret` header when a cluster secret is set
//! (401 otherwise). `GET /metrics` is Prometheus text when `[prometheus] enabled`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use marmot_core::io::AdminCmd;
use serde_json::json;

use crate::auth::Secret;
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

type Answer = (StatusCode, [(header::HeaderName, &'static str); 1], String);

fn json_answer(status: StatusCode, body: serde_json::Value) -> Answer {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string())
}

fn unauthorized() -> Answer {
    json_answer(
        StatusCode::UNAUTHORIZED,
        json!({"success": false, "message": "invalid cluster secret: send it in the X-Marmot-Secret header"}),
    )
}

fn unavailable(e: impl std::fmt::Display) -> Answer {
    json_answer(StatusCode::SERVICE_UNAVAILABLE, json!({"success": false, "message": e.to_string()}))
}

fn allowed(state: &AdminState, headers: &HeaderMap) -> bool {
    state.secret.admin_allowed(headers.get("x-marmot-secret").map(|v| v.as_bytes()))
}

/// The routes, ready to merge with the gRPC service.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/admin/cluster/members", get(members))
        .route("/admin/cluster/remove/{node_id}", post(remove))
        .route("/admin/cluster/allow/{node_id}", post(allow))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn members(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Answer {
    if !allowed(&state, &headers) {
        return unauthorized();
    }
    let s = match state.engine.status().await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let members: Vec<_> = s
        .members
        .iter()
        .map(|m| json!({"NodeID": m.node_id, "Address": m.address, "Status": m.status, "Incarnation": m.incarnation}))
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "members": members,
            "total_membership": s.total_membership,
            "alive_count": s.alive_count,
            "quorum_size": s.quorum_size,
            "local_node_id": s.local_node_id,
        }),
    )
}

async fn membership_change(state: &AdminState, headers: &HeaderMap, id: &str, remove: bool) -> Answer {
    if !allowed(state, headers) {
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
