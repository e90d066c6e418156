//! Read-only replica mode in the host (`[replica] enabled = true`): its configuration,
//! checked and turned into the core's, and the members it may follow, found by address.
//! What a replica does is the core's ([`marmot_core::replica`]).

use marmot_core::{NodeId, ReplicaConfig};

use crate::config::Config;
use crate::transport::{self, LinkConfig, Signer};

/// Why a replica's configuration is refused: the key, and what is wrong with it.
pub fn check(c: &Config) -> Result<(), (String, String)> {
    let r = &c.replica;
    if !r.enabled {
        return Ok(());
    }
    let bad = |key: &str, why: &str| Err((format!("replica.{key}"), why.to_string()));
    if r.follow_addresses.iter().all(|a| a.trim().is_empty()) {
        return bad("follow_addresses", "a replica needs at least one cluster member to follow (HOST:PORT)");
    }
    for (i, p) in r.replicate_databases.iter().enumerate() {
        if let Err(e) = globset::Glob::new(p) {
            return Err((format!("replica.replicate_databases[{i}]"), format!("{p:?} is not a glob: {e}")));
        }
    }
    if r.snapshot_concurrency == 0 {
        return bad("snapshot_concurrency", "must be at least 1");
    }
    if r.initial_sync_timeout_minutes == 0 {
        return bad("initial_sync_timeout_minutes", "must be at least 1");
    }
    if r.failover_timeout_seconds == 0 {
        return bad("failover_timeout_seconds", "must be at least 1");
    }
    if c.cluster.sentinel {
        return Err(("cluster.sentinel".into(), "a node is a sentinel or a replica, not both".into()));
    }
    if c.publisher.enabled {
        return Err((
            "publisher.enabled".into(),
            "a replica publishes nothing: run the publisher on the cluster's members".into(),
        ));
    }
    Ok(())
}

/// The core's replica settings (`None`: this node is a member).
pub fn core_config(c: &Config) -> Option<ReplicaConfig> {
    let r = &c.replica;
    r.enabled.then(|| ReplicaConfig {
        databases: r.replicate_databases.clone(),
        discovery_interval_ms: r.discovery_interval_seconds.max(1) * 1000,
        database_discovery_interval_ms: r.database_discovery_interval_seconds.max(1) * 1000,
        failover_timeout_ms: r.failover_timeout_seconds * 1000,
        reconnect_interval_ms: r.reconnect_interval_seconds.max(1) * 1000,
        reconnect_max_backoff_ms: r.reconnect_max_backoff_seconds.max(r.reconnect_interval_seconds).max(1) * 1000,
        snapshot_concurrency: r.snapshot_concurrency as usize,
        initial_sync_timeout_ms: r.initial_sync_timeout_minutes.saturating_mul(60_000),
    })
}

/// The secret a replica signs its calls with: `[replica] secret`, else the cluster's.
pub fn secret(c: &Config) -> &str {
    if c.replica.enabled && !c.replica.secret.is_empty() {
        &c.replica.secret
    } else {
        &c.cluster.cluster_secret
    }
}

/// The members at `follow_addresses` that answer, by id, in the configured order. Waits
/// (with the reconnect backoff) until at least one does: a replica with no source has
/// nothing to serve.
pub async fn sources(c: &Config, signer: &Signer, my_addr: &str, link: &LinkConfig) -> Vec<(NodeId, String)> {
    let r = &c.replica;
    let mut wait = std::time::Duration::from_secs(r.reconnect_interval_seconds.max(1));
    let max = std::time::Duration::from_secs(r.reconnect_max_backoff_seconds.max(1));
    loop {
        let mut found = Vec::new();
        for addr in r.follow_addresses.iter().filter(|a| !a.trim().is_empty()) {
            match transport::hello(addr, signer.clone(), my_addr, link).await {
                Ok((id, advertised)) => {
                    tracing::info!(address = %addr, node_id = id, "replica reached a cluster member");
                    found.push((id, advertised));
                }
                Err(e) => tracing::warn!(address = %addr, error = %e, "replica cannot reach a cluster member"),
            }
        }
        if !found.is_empty() {
            return found;
        }
        tracing::warn!(retry_in_ms = wait.as_millis() as u64, "no cluster member to follow answered");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(max);
    }
}
