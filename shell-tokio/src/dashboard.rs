//! The live dashboard at `/cluster` on the node port.
//!
//! The page (HTML, CSS and script compiled into the binary: nothing is fetched from
//! elsewhere) asks for the cluster secret, keeps it in the browser tab's session storage
//! and polls `GET /admin/cluster/overview` once a second with it in `X-Marmot-Secret`.
//! The overview is gathered here rather than in the browser because only the node can
//! reach its peers (their node ports may be private, use TLS or refuse strangers): it is
//! this node's view of the membership, every peer's own status asked over the node RPC
//! `Status`, and the membership changes this node saw recently.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use marmot_core::NodeId;
use serde::Serialize;
use serde_json::json;

use crate::admin::{allowed, json_answer, status_body, unauthorized, unavailable, Answer};
use crate::auth::Secret;
use crate::engine::{wall_ms, ClusterStatus, Engine};
use crate::peers::Peers;
use crate::transport;

/// The page, served as is.
const PAGE: &str = include_str!("dashboard.html");
/// Membership changes kept for the page.
const EVENTS_KEPT: usize = 100;
/// How long the overview waits for a peer's status.
const PEER_TIMEOUT: Duration = Duration::from_millis(800);

/// One member changing state in this node's view.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Event {
    /// When this node noticed (wall clock, ms since the epoch).
    pub at_ms: u64,
    /// The member.
    pub node_id: NodeId,
    /// Its state before (`None`: not a member before).
    pub from: Option<&'static str>,
    /// Its state now.
    pub to: &'static str,
}

/// The recent membership changes, found by comparing successive views of the membership.
#[derive(Default)]
pub struct Events {
    inner: Mutex<EventLog>,
}

#[derive(Default)]
struct EventLog {
    /// The states seen last; `None` before the first look.
    last: Option<BTreeMap<NodeId, &'static str>>,
    recent: VecDeque<Event>,
}

impl Events {
    /// Record what changed since the last view, seen at `at_ms`. The first view records
    /// nothing: a node starting up has no history to show.
    pub fn observe(&self, status: &ClusterStatus, at_ms: u64) {
        let now: BTreeMap<NodeId, &'static str> = status.members.iter().map(|m| (m.node_id, m.status)).collect();
        let mut log = self.inner.lock().expect("events");
        if let Some(last) = &log.last {
            let changes: Vec<Event> = now
                .iter()
                .filter(|(id, state)| last.get(id) != Some(state))
                .map(|(id, state)| Event { at_ms, node_id: *id, from: last.get(id).copied(), to: state })
                .collect();
            for e in changes {
                tracing::info!(node_id = e.node_id, from = e.from.unwrap_or("-"), to = e.to, "member changed state");
                if log.recent.len() == EVENTS_KEPT {
                    log.recent.pop_front();
                }
                log.recent.push_back(e);
            }
        }
        log.last = Some(now);
    }

    /// The changes kept, oldest first.
    pub fn recent(&self) -> Vec<Event> {
        self.inner.lock().expect("events").recent.iter().cloned().collect()
    }
}

/// What the dashboard's handlers need.
pub struct DashboardState {
    /// The node.
    pub engine: Engine,
    /// The cluster secret the overview is behind.
    pub secret: Secret,
    /// Calls to peers.
    pub peers: Arc<Peers>,
    /// Membership changes this node saw.
    pub events: Arc<Events>,
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
            "events": state.events.recent(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MemberView;

    fn view(states: &[(NodeId, &'static str)]) -> ClusterStatus {
        ClusterStatus {
            local_node_id: 1,
            members: states
                .iter()
                .map(|(id, s)| MemberView {
                    node_id: *id,
                    address: format!("n{id}"),
                    status: s,
                    incarnation: 0,
                    sentinel: false,
                })
                .collect(),
            total_membership: states.len(),
            alive_count: 0,
            quorum_size: 0,
            lag: Vec::new(),
            snapshot_fetches: Vec::new(),
            schema_versions: BTreeMap::new(),
        }
    }

    #[test]
    fn events_are_the_changes_between_views_oldest_first_and_bounded() {
        let events = Events::default();
        events.observe(&view(&[(1, "ALIVE"), (2, "ALIVE")]), 10);
        assert_eq!(events.recent(), vec![], "the first view has no history");
        events.observe(&view(&[(1, "ALIVE"), (2, "SUSPECT"), (3, "JOINING")]), 20);
        events.observe(&view(&[(1, "ALIVE"), (2, "SUSPECT"), (3, "JOINING")]), 30);
        events.observe(&view(&[(1, "ALIVE"), (2, "DEAD"), (3, "ALIVE")]), 40);
        let seen: Vec<_> = events.recent().into_iter().map(|e| (e.at_ms, e.node_id, e.from, e.to)).collect();
        assert_eq!(
            seen,
            vec![
                (20, 2, Some("ALIVE"), "SUSPECT"),
                (20, 3, None, "JOINING"),
                (40, 2, Some("SUSPECT"), "DEAD"),
                (40, 3, Some("JOINING"), "ALIVE"),
            ]
        );
        for i in 0..EVENTS_KEPT as u64 {
            let state = if i % 2 == 0 { "SUSPECT" } else { "ALIVE" };
            events.observe(&view(&[(1, "ALIVE"), (2, state)]), 100 + i);
        }
        let recent = events.recent();
        assert_eq!(recent.len(), EVENTS_KEPT);
        assert_eq!(recent.last().map(|e| e.at_ms), Some(100 + EVENTS_KEPT as u64 - 1));
    }
}
