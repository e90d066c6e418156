//! The live dashboard at `/cluster` on the node port.
//!
//! The page (HTML, CSS and script compiled into the binary: nothing is fetched from
//! elsewhere) asks for the cluster secret, keeps it in the browser tab's session storage
//! and polls `GET /admin/cluster/overview` once a second with it in `X-Marmot-Secret`.
//! The overview is gathered here rather than in the browser because only the node can
//! reach its peers (their node ports may be private, use TLS or refuse strangers): it is
//! this node's view of the membership, every peer's own status asked over the node RPC
//! `Status`, and the membership changes this node saw recently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use marmot_core::NodeId;
use serde_json::json;

use crate::admin::{allowed, json_answer, status_body, unauthorized, unavailable, Answer};
use crate::auth::Secret;
use crate::engine::{wall_ms, Engine};
use crate::peers::Peers;
use crate::transport;

/// The page, served as is.
const PAGE: &str = include_str!("dashboard.html");
/// How long the overview waits for a peer's status.
const PEER_TIMEOUT: Duration = Duration::from_millis(800);

/// What the dashboard's handlers need.
pub struct DashboardState {
    /// The node.
    pub engine: Engine,
    /// The cluster secret the overview is behind.
    pub secret: Secret,
    /// Calls to peers.
    pub peers: Arc<Peers>,
}

/// The page and its data.
pub fn router(state: Arc<DashboardState>) -> Router {
    Router::new().route("/cluster", get(page)).route("/admin/cluster/overview", get(overview)).with_state(state)
}

async fn page() -> (StatusCode, [(header::HeaderName, &'static str); 1], &'static str) {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

/// This node's view of the members, each member's own status (or why it could not be
/// had), and the recent membership changes.
async fn overview(State(state): State<Arc<DashboardState>>, headers: HeaderMap) -> Answer {
    if !allowed(&state.secret, &headers) {
        return unauthorized();
    }
    let local = match state.engine.status().await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let mut asks = tokio::task::JoinSet::new();
    for m in local.members.iter().filter(|m| m.node_id != local.local_node_id && m.status != "REMOVED") {
        let (id, signer) = (m.node_id, state.peers.signer.clone());
        let channel = state.peers.channel(&m.address);
        asks.spawn(async move {
            let answer = match channel {
                Ok(c) => transport::peer_status(c, signer, PEER_TIMEOUT).await,
                Err(e) => Err(e),
            };
            (id, answer)
        });
    }
    let mut answers: BTreeMap<NodeId, Result<serde_json::Value, String>> = BTreeMap::new();
    answers.insert(
        local.local_node_id,
        Ok(status_body(&local, state.engine.metrics.writes_per_second(), state.engine.drain.state())),
    );
    while let Some(Ok((id, answer))) = asks.join_next().await {
        answers.insert(id, answer);
    }
    let nodes: Vec<_> = local
        .members
        .iter()
        .map(|m| {
            let (status, error) = match answers.remove(&m.node_id) {
                Some(Ok(s)) => (s, None),
                Some(Err(e)) => (serde_json::Value::Null, Some(e)),
                None => (serde_json::Value::Null, Some(format!("not asked: {}", m.status))),
            };
            json!({
                "node_id": m.node_id,
                "address": m.address,
                "state": m.status,
                "incarnation": m.incarnation,
                "role": if m.sentinel { "sentinel" } else { "data" },
                "status": status,
                "error": error,
            })
        })
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "local_node_id": local.local_node_id,
            "time_ms": wall_ms(),
            "alive_count": local.alive_count,
            "total_membership": local.total_membership,
            "quorum_size": local.quorum_size,
            "nodes": nodes,
            "events": state.engine.member_events.recent(),
        }),
    )
}
