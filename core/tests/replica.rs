//! Read-only replicas in the core: a replica follows one member's log, takes no writes,
//! counts in no quorum, and keeps reading a source whose log was renumbered after a lost
//! disk.

mod support;

use marmot_core::{Consistency, CoreConfig, ReplicaConfig, WriteError};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);
const ONE: Option<Consistency> = Some(Consistency::One);

/// Members 1–3 and replica 4 (following node 1 first).
fn cluster() -> Cluster {
    Cluster::with(4, |id| CoreConfig {
        replica: (id == 4).then(|| ReplicaConfig { database_discovery_interval_ms: 1000, ..ReplicaConfig::default() }),
        ..CoreConfig::default()
    })
}

fn assert_has(c: &Cluster, node: u64, keys: std::ops::Range<i64>) {
    for k in keys {
        assert_eq!(value(c, node, "app", k), Some(k * 10), "node {node}, key {k}");
    }
}

/// Node 1, cut off from the other members (not from the replica), commits `keys` at ONE.
fn node1_writes_alone(c: &mut Cluster, keys: std::ops::Range<i64>) {
    c.partition(&[1], &[2, 3]);
    for k in keys {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], ONE)));
    }
    c.run_for(3_000);
}

#[test]
fn a_replica_follows_refuses_writes_and_is_in_no_quorum() {
    let mut c = cluster();
    for n in 1..=3 {
        assert_eq!(c.node(n).membership().total_membership(), 3, "node {n} counts only the members");
    }
    for k in 0..10 {
        assert!(committed(&c.commit(1 + (k as u64 % 3), vec![put("app", k, k * 10)], Q)));
    }
    c.run_for(2_000);
    assert_has(&c, 4, 0..10);
    let r = c.commit(4, vec![put("app", 99, 1)], Q);
    assert!(matches!(r, marmot_core::io::Reply::Failed(WriteError::ReadOnly { node: 4 })), "{r:?}");
    assert_eq!(value(&c, 4, "app", 99), None);
    // With the replica cut off, the members still commit at ALL.
    c.partition(&[4], &[1, 2, 3]);
    assert!(committed(&c.commit(2, vec![put("app", 10, 100)], Some(Consistency::All))));
    c.heal();
    c.run_for(5_000);
    assert_has(&c, 4, 0..11);
}

/// A source that lost its disk starts its log again; the replica's long poll says how far
/// it had read, so the source's new entries are numbered above that, and the replica
/// takes them (without the floor it would skip them as entries it already had). The
/// members read less of node 1's log than the replica did, so only the replica's word
/// raises the floor far enough.
#[test]
fn a_replica_reads_on_past_a_source_whose_disk_was_lost() {
    let mut c = cluster();
    for k in 0..10 {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], Q)));
    }
    c.run_for(2_000);
    assert_has(&c, 4, 0..10);
    // ONE writes on node 1 cut off from the members: only the replica reads them.
    node1_writes_alone(&mut c, 10..15);
    assert_has(&c, 4, 10..15);
    c.crash(1);
    c.heal();
    c.replace_disk(1);
    c.run_for(5_000);
    assert_has(&c, 1, 0..10);
    // Its log is the only way to these writes.
    node1_writes_alone(&mut c, 20..25);
    assert_has(&c, 4, 20..25);
}

/// Members 1–3 with 40 rows, and replica 4 (following node 1) that fetches its snapshot
/// at 400 bytes/s, with `initial_sync_timeout_ms` as given.
fn slow_replica(timeout_ms: u64) -> Cluster {
    let mut c = Cluster::with(4, |id| CoreConfig {
        replica: (id == 4).then(|| ReplicaConfig {
            database_discovery_interval_ms: 1000,
            initial_sync_timeout_ms: timeout_ms,
            ..ReplicaConfig::default()
        }),
        snapshot_chunk: 100,
        snapshot_bytes_per_sec: if id == 4 { 400 } else { 0 },
        ..CoreConfig::default()
    });
    c.partition(&[4], &[1, 2, 3]);
    for k in 0..40 {
        assert!(committed(&c.commit(1 + (k as u64 % 3), vec![put("app", k, k * 10)], Q)));
    }
    c.heal();
    c
}

fn timed_out(c: &Cluster) -> Vec<(String, u64)> {
    let timeouts = c.observed.iter().filter_map(|(_, id, o)| match o {
        marmot_core::Observation::ReplicaSyncTimedOut { database, source } if *id == 4 => {
            Some((database.clone(), *source))
        }
        _ => None,
    });
    timeouts.collect()
}

#[test]
fn a_snapshot_not_installed_within_the_initial_sync_timeout_is_taken_from_another_member() {
    let mut c = slow_replica(3_000);
    // Reconnected after the partition, the replica begins its fetch about 6 s in.
    c.run_for(10_000);
    let timeouts = timed_out(&c);
    assert_eq!(timeouts.first(), Some(&("app".to_string(), 1)), "the fetch from node 1 was dropped after 3 s");
    let moved =
        |o: &marmot_core::Observation| matches!(o, marmot_core::Observation::ReplicaSource { from: Some(1), to: 2 });
    assert_eq!(c.seen(4, moved), 1, "and node 2 followed instead");
    assert_eq!(value(&c, 4, "app", 0), None, "nothing installed from a dropped fetch");

    // Given the time, the same slow fetch completes from the first source.
    let mut c = slow_replica(120_000);
    c.run_for(60_000);
    assert!(timed_out(&c).is_empty());
    assert_eq!(c.node(4).replica_status(c.now).map(|s| s.source), Some(1));
    assert_has(&c, 4, 0..40);
}
