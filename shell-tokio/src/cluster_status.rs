//! A node's view of its cluster, as the admin API, `/metrics`, the dashboard and
//! `/health` show it: members, lag, snapshots in flight and schema versions.

use std::collections::BTreeMap;

use marmot_core::catchup::Lag;
use marmot_core::{Node, NodeId};

/// One member as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    /// Node id.
    pub node_id: NodeId,
    /// Advertised address.
    pub address: String,
    /// `ALIVE`, `SUSPECT`, `DEAD`, `JOINING` or `REMOVED`.
    pub status: &'static str,
    /// Its incarnation.
    pub incarnation: u64,
    /// A sentinel (votes, holds no table data).
    pub sentinel: bool,
}

/// The local view of the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterStatus {
    /// This node.
    pub local_node_id: NodeId,
    /// Every member known, sorted by id.
    pub members: Vec<MemberView>,
    /// Members that are not REMOVED.
    pub total_membership: usize,
    /// Members that are ALIVE.
    pub alive_count: usize,
    /// Acknowledgements a QUORUM write needs.
    pub quorum_size: usize,
    /// How far behind each peer's log this node is.
    pub lag: Vec<Lag>,
    /// Snapshots being fetched.
    pub snapshot_fetches: Vec<marmot_core::snapshot::FetchProgress>,
    /// This node's schema version per database.
    pub schema_versions: BTreeMap<String, u64>,
    /// Replica mode: the member followed and each database's lag (`None`: a member).
    pub replica: Option<marmot_core::replica::ReplicaStatus>,
}

impl ClusterStatus {
    /// This node's own state in its view (`UNKNOWN` if it is not listed).
    pub fn local_state(&self) -> &'static str {
        self.members.iter().find(|m| m.node_id == self.local_node_id).map_or("UNKNOWN", |m| m.status)
    }

    /// The view of `node` at `now`.
    pub fn of(node: &Node, now: u64) -> Self {
        let m = node.membership();
        ClusterStatus {
            local_node_id: node.id(),
            members: m
                .members()
                .map(|x| MemberView {
                    node_id: x.digest.id,
                    address: x.digest.addr.clone(),
                    status: x.state().as_str(),
                    incarnation: x.digest.incarnation,
                    sentinel: x.digest.sentinel,
                })
                .collect(),
            total_membership: m.total_membership(),
            alive_count: m.alive_count(),
            quorum_size: m.quorum(),
            lag: node.replication_lag(now),
            snapshot_fetches: node.snapshot_fetches(),
            schema_versions: node.schema_versions().clone(),
            replica: node.replica_status(now),
        }
    }
}
