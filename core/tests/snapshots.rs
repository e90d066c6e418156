//! Snapshot transfers: paced at the configured rate with progress reported, verified
//! before they are installed, restarted elsewhere when the donor goes silent, and used
//! by the periodic anti-entropy check on a live node that stays too far behind.

mod support;

use marmot_core::{Consistency, CoreConfig, Message, Observation};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

fn write_many(c: &mut Cluster, at: u64, keys: std::ops::Range<i64>) {
    for k in keys {
        let r = c.commit(at, vec![put("app", k, k * 10)], Q);
        assert!(committed(&r), "write {k}: {r:?}");
    }
}

fn assert_has(c: &Cluster, node: u64, keys: std::ops::Range<i64>) {
    for k in keys {
        assert_eq!(value(c, node, "app", k), Some(k * 10), "node {node}, key {k}");
    }
}

/// When node `n` installed its snapshots, and how big they were.
fn installs(c: &Cluster, n: u64) -> Vec<(u64, u64)> {
    c.observed
        .iter()
        .filter_map(|(t, id, o)| match o {
            Observation::SnapshotInstalled { bytes, .. } if *id == n => Some((*t, *bytes)),
            _ => None,
        })
        .collect()
}

/// A 3-node cluster with 40 rows where node 3 comes back on an empty disk.
fn empty_node_3(cfg: CoreConfig) -> Cluster {
    let mut c = Cluster::new(3, cfg);
    write_many(&mut c, 1, 0..40);
    c.crash(3);
    c.replace_disk(3);
    c
}

#[test]
fn a_paced_snapshot_arrives_at_the_configured_rate_with_progress() {
    let cfg = CoreConfig { snapshot_chunk: 500, snapshot_bytes_per_sec: 2_000, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    let start = c.now;
    c.run_for(1_500);
    let fetches = c.node(3).snapshot_fetches();
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    let f = &fetches[0];
    assert!(f.received > 0 && f.received < f.total, "{f:?}");
    c.run_for(30_000);
    let done = installs(&c, 3);
    assert_eq!(done.len(), 1, "{done:?}");
    let (at, bytes) = done[0];
    let expected = bytes * 1000 / 2_000;
    let took = at - start;
    assert!(took + 500 >= expected && took <= expected + 1_500, "{bytes} bytes at 2 kB/s took {took} ms");
    let progress: Vec<u64> = c
        .observed
        .iter()
        .filter_map(|(_, n, o)| match o {
            Observation::SnapshotProgress { received, total, .. } if *n == 3 && *total == bytes => Some(*received),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 5 && progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert!(c.node(3).snapshot_fetches().is_empty());
    assert_has(&c, 3, 0..40);
}

#[test]
fn an_unpaced_snapshot_arrives_at_once() {
    let cfg = CoreConfig { snapshot_chunk: 500, snapshot_bytes_per_sec: 0, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    let start = c.now;
    c.run_for(3_000);
    let done = installs(&c, 3);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].0 - start <= 1_500, "took {} ms", done[0].0 - start);
    assert_has(&c, 3, 0..40);
}

#[test]
fn a_corrupt_snapshot_is_refused_and_fetched_again() {
    let cfg = CoreConfig { snapshot_chunk: 500, anti_entropy_interval_ms: 5_000, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    let mut corrupted = 0;
    c.tamper = Some(Box::new(move |env| {
        if let Message::SnapshotChunk { data, offset, .. } = &mut env.msg {
            if *offset == 500 && corrupted < 1 && !data.is_empty() {
                data[7] ^= 0x55;
                corrupted += 1;
            }
        }
    }));
    c.run_for(30_000);
    assert!(c.seen(3, |o| matches!(o, Observation::StorageError(e) if e.contains("checksum"))) >= 1);
    assert_eq!(installs(&c, 3).len(), 1);
    assert_has(&c, 3, 0..40);
}

#[test]
fn a_fetch_from_a_donor_that_went_silent_is_given_up_and_taken_elsewhere() {
    let cfg = CoreConfig { snapshot_chunk: 500, snapshot_bytes_per_sec: 2_000, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    c.run_for(1_500);
    let donor = c.node(3).snapshot_fetches()[0].donor;
    c.crash(donor);
    c.run_for(60_000);
    let done: Vec<_> = c
        .observed
        .iter()
        .filter_map(|(_, n, o)| match o {
            Observation::SnapshotInstalled { donor, .. } if *n == 3 => Some(*donor),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_ne!(done[0], donor);
    assert_has(&c, 3, 0..40);
}

#[test]
fn a_live_node_that_stays_too_far_behind_is_repaired_by_the_anti_entropy_check() {
    let cfg = CoreConfig { delta_sync_threshold_txns: 10, anti_entropy_interval_ms: 5_000, ..CoreConfig::default() };
    let mut c = Cluster::new(3, cfg);
    c.partition(&[3], &[1, 2]);
    write_many(&mut c, 1, 0..30);
    c.heal();
    c.drop_kinds.insert("log_chunk");
    c.run_for(20_000);
    assert!(!installs(&c, 3).is_empty(), "never repaired");
    assert_has(&c, 3, 0..30);
}
