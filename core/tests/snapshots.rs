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
    // Chunks much smaller than a tenth of the image, so progress is reported per tenth,
    // not per chunk.
    let cfg = CoreConfig { snapshot_chunk: 100, snapshot_bytes_per_sec: 2_000, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    let start = c.now;
    c.run_for(1_500);
    let fetches = c.node(3).snapshot_fetches();
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    let f = &fetches[0];
    assert!(f.received > 0 && f.received < f.total, "{f:?}");
    // Until the snapshot is in, node 3 is still joining and coordinates nothing.
    assert_eq!(c.state_of(3, 3), Some(marmot_core::MemberState::Joining));
    let r = c.commit(3, vec![put("app", 500, 1)], Q);
    assert_eq!(r, marmot_core::io::Reply::Failed(marmot_core::WriteError::Joining));
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
    // One report each time a chunk crosses a tenth of the image (not for the last one).
    let tenths = (1..bytes.div_ceil(100)).filter(|k| (k - 1) * 100 * 10 / bytes != k * 100 * 10 / bytes).count();
    assert_eq!(progress.len(), tenths, "{progress:?} of {bytes} bytes");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
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
    let requests = c.sent.iter().filter(|e| e.from == 3 && e.msg.kind() == "snapshot_request").count() as u64;
    assert_eq!(requests, done[0].1.div_ceil(500), "one request per 500-byte chunk of {} bytes", done[0].1);
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
    let crashed_at = c.now;
    c.run_for(60_000);
    // Given up after 2 × catchup_timeout (6 s) without a chunk, then asked elsewhere.
    let elsewhere = c
        .sent
        .iter()
        .zip(&c.sent_ms)
        .find(|(e, t)| **t > crashed_at && e.from == 3 && e.to != donor && e.msg.kind() == "snapshot_request")
        .map(|(_, t)| t - crashed_at)
        .expect("never asked another donor");
    assert!((5_000..=8_000).contains(&elsewhere), "asked another donor {elsewhere} ms after the first went silent");
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
    let healed = c.now;
    c.run_for(20_000);
    let done = installs(&c, 3);
    assert!(!done.is_empty(), "never repaired");
    // Two checks 5 s apart must both find it too far behind: not before the second.
    assert!(done[0].0 - healed >= 5_000, "repaired {} ms after the lag began", done[0].0 - healed);
    assert_has(&c, 3, 0..30);
}

#[test]
fn after_a_snapshot_the_logs_are_pulled_at_once_for_what_came_since() {
    let cfg = CoreConfig { snapshot_chunk: 500, snapshot_bytes_per_sec: 2_000, ..CoreConfig::default() };
    let mut c = empty_node_3(cfg);
    c.run_for(1_000);
    // Written while the snapshot is on its way (node 3 is joining: no votes asked).
    write_many(&mut c, 1, 40..45);
    c.run_for(30_000);
    let (at, _) = installs(&c, 3)[0];
    let applied_then = c.persisted.iter().any(|(t, n, k)| *t == at && *n == 3 && *k == "apply_log");
    assert!(applied_then, "the writes made during the transfer were not pulled when it ended");
    assert_has(&c, 3, 0..45);
}

#[test]
fn a_joining_node_takes_its_snapshot_from_a_joining_peer_that_holds_the_data() {
    // Node 1 is down; node 2 restarts on its disk (joining: the only other member that
    // could vouch for it started empty); node 3 comes back on an empty disk. Node 2 is
    // the only donor there is, and it is joining too: a node that is itself joining may
    // use it (nothing better can vouch), so node 3 gets the rows instead of waiting for
    // node 1.
    let mut c = Cluster::new(3, CoreConfig::default());
    write_many(&mut c, 1, 0..40);
    c.crash(1);
    c.crash(2);
    c.crash(3);
    c.restart(2);
    c.replace_disk(3);
    c.run_for(5_000);
    assert!(!installs(&c, 3).is_empty(), "node 3 installed no snapshot");
    assert_has(&c, 3, 0..40);
}

/// The snapshot ids node 1 served to `to`.
fn served_ids(c: &Cluster, to: u64) -> std::collections::BTreeSet<u64> {
    c.sent_between(1, to, "snapshot_chunk")
        .into_iter()
        .filter_map(|m| match m {
            Message::SnapshotChunk { snapshot, .. } => Some(*snapshot),
            _ => None,
        })
        .collect()
}

/// Nodes 2 and 3 come back on empty disks 2 s apart (they join, and ask node 1 for
/// snapshots, together); node 1 alone holds the data.
fn two_empty_nodes(cfg: CoreConfig) -> Cluster {
    let mut c = Cluster::new(3, cfg);
    write_many(&mut c, 1, 0..40);
    for n in [2, 3] {
        c.crash(n);
        c.replace_disk(n);
    }
    for n in [2, 3] {
        c.restart(n);
        c.run_for(2_000);
    }
    c.run_for(3_000);
    c
}

#[test]
fn nodes_starting_together_share_one_snapshot_within_the_cache_ttl() {
    let c = two_empty_nodes(CoreConfig { snapshot_chunk: 500, snapshot_reuse_ms: 30_000, ..CoreConfig::default() });
    let (to2, to3) = (served_ids(&c, 2), served_ids(&c, 3));
    assert_eq!((to2.len(), to3.len()), (1, 1), "one snapshot each: {to2:?} {to3:?}");
    assert_eq!(to2, to3, "the second request reused the first snapshot");
    assert_has(&c, 2, 0..40);
    assert_has(&c, 3, 0..40);

    // With the cache off, each gets a snapshot of its own.
    let c = two_empty_nodes(CoreConfig { snapshot_chunk: 500, snapshot_reuse_ms: 0, ..CoreConfig::default() });
    let (to2, to3) = (served_ids(&c, 2), served_ids(&c, 3));
    assert_eq!((to2.len(), to3.len()), (1, 1), "{to2:?} {to3:?}");
    assert_ne!(to2, to3);
    assert_has(&c, 3, 0..40);
}
