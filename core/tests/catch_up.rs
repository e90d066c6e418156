//! How a node that missed writes gets them: delta sync from peers' logs below the
//! thresholds, a snapshot above them or when it holds nothing, and a log whose disk was
//! lost renumbered so peers keep pulling from it.

mod support;

use marmot_core::{Consistency, CoreConfig, Observation};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);
const ONE: Option<Consistency> = Some(Consistency::One);

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

/// Everyone holds a row of `app`: a node that crashes after this is not empty (an empty
/// one starts from a snapshot whatever the thresholds).
fn seeded(cfg: CoreConfig) -> Cluster {
    let mut c = Cluster::new(3, cfg);
    assert!(committed(&c.commit(1, vec![put("app", 1000, 1)], Some(Consistency::All))));
    c
}

fn snapshots(c: &Cluster, node: u64) -> usize {
    c.seen(node, |o| matches!(o, Observation::SnapshotInstalled { .. }))
}

#[test]
fn a_node_back_from_a_crash_pulls_what_it_missed_from_the_logs_and_reports_progress() {
    let mut c = seeded(CoreConfig::default());
    c.crash(3);
    write_many(&mut c, 1, 0..250);
    c.restart(3);
    c.run_for(1_500);
    let lag = c.node(3).replication_lag(c.now);
    assert!(lag.iter().all(|l| l.transactions == 0), "{lag:?}");
    assert_has(&c, 3, 0..250);
    assert_eq!(snapshots(&c, 3), 0, "below the thresholds, the logs are enough");
    let progress: Vec<(u64, u64)> = c
        .observed
        .iter()
        .filter_map(|(_, n, o)| match o {
            Observation::CatchUpProgress { position, head, .. } if *n == 3 => Some((*position, *head)),
            _ => None,
        })
        .collect();
    // Pulled 64 at a time from each of node 1 and node 2 (251 entries each: the seed row
    // and 250 writes): reported when a batch crosses a hundred while at least 100 behind.
    assert_eq!(progress, vec![(128, 251), (128, 251)], "progress reported");
    assert!(c.seen(3, |o| matches!(o, Observation::CaughtUp)) >= 1);
}

#[test]
fn lag_is_reported_while_a_node_is_behind() {
    let mut c = seeded(CoreConfig::default());
    c.crash(3);
    write_many(&mut c, 1, 0..20);
    // Node 3 is back and hears the heads, but its pulls are lost for a while.
    c.drop_kinds.insert("log_chunk");
    c.restart(3);
    c.run_for(5_000);
    let lag = c.node(3).replication_lag(c.now);
    let from_1 = lag.iter().find(|l| l.peer == 1 && l.database == "app").expect("a lag for node 1's log");
    // (Its position in a log moves only by pulling it: the seed row came by 2PC.)
    assert_eq!(from_1.transactions, 21, "{lag:?}");
    assert!(from_1.behind_ms >= 3_000 && from_1.behind_ms <= 5_000, "{lag:?}");
    c.drop_kinds.clear();
    c.run_for(5_000);
    assert_has(&c, 3, 0..20);
    let lag = c.node(3).replication_lag(c.now);
    assert!(lag.iter().all(|l| l.transactions == 0 && l.behind_ms == 0), "{lag:?}");
}

fn thresholds(txns: u64) -> CoreConfig {
    CoreConfig { delta_sync_threshold_txns: txns, ..CoreConfig::default() }
}

#[test]
fn a_node_past_the_delta_threshold_takes_a_snapshot() {
    let mut c = seeded(thresholds(30));
    c.crash(3);
    write_many(&mut c, 1, 0..60);
    c.restart(3);
    c.run_for(3_000);
    assert_has(&c, 3, 0..60);
    assert!(snapshots(&c, 3) >= 1, "no snapshot past the threshold");
    // And it stays in step afterwards, by the logs.
    write_many(&mut c, 2, 60..70);
    c.run_for(1_000);
    assert_has(&c, 3, 0..70);
}

#[test]
fn a_node_at_the_delta_threshold_uses_the_logs() {
    let mut c = seeded(thresholds(30));
    c.crash(3);
    // 29 writes and the seed row: 30 behind, not more.
    write_many(&mut c, 1, 0..29);
    c.restart(3);
    c.run_for(3_000);
    assert_has(&c, 3, 0..29);
    assert_eq!(snapshots(&c, 3), 0);
}

#[test]
fn without_anti_entropy_no_snapshot_is_taken() {
    let mut c = seeded(CoreConfig { anti_entropy: false, ..thresholds(5) });
    c.crash(3);
    write_many(&mut c, 1, 0..40);
    c.restart(3);
    c.run_for(3_000);
    assert_has(&c, 3, 0..40);
    assert_eq!(snapshots(&c, 3), 0);
}

#[test]
fn a_node_behind_for_longer_than_the_time_threshold_takes_a_snapshot() {
    let mut c = seeded(CoreConfig { delta_sync_threshold_ms: 4_000, ..CoreConfig::default() });
    c.crash(3);
    write_many(&mut c, 1, 0..5);
    c.drop_kinds.insert("log_chunk");
    c.restart(3);
    c.run_for(3_900);
    assert_eq!(snapshots(&c, 3), 0, "a snapshot before the time threshold");
    // The unanswered pull expires after `catchup_timeout_ms` (3 s); the next one finds
    // the node behind for longer than the threshold.
    c.run_for(3_000);
    assert_has(&c, 3, 0..5);
    assert_eq!(snapshots(&c, 3), 1, "behind for 7 s with a 4 s threshold and no snapshot");
}

#[test]
fn a_node_back_with_an_empty_disk_starts_from_a_snapshot() {
    let mut c = Cluster::of(3);
    write_many(&mut c, 1, 0..10);
    c.crash(3);
    c.replace_disk(3);
    c.run_for(3_000);
    assert_has(&c, 3, 0..10);
    assert!(snapshots(&c, 3) >= 1);
    assert!(committed(&c.commit(3, vec![put("app", 100, 1)], Q)));
}

#[test]
fn a_log_that_lost_its_disk_goes_on_above_what_peers_applied() {
    let mut c = Cluster::of(3);
    write_many(&mut c, 1, 0..10);
    c.run_for(2_000);
    c.crash(1);
    c.replace_disk(1);
    c.run_for(5_000);
    assert_has(&c, 1, 0..10);
    // Node 1 writes alone; the others get its writes from its log only.
    c.partition(&[1], &[2, 3]);
    for k in 20..25 {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], ONE)));
    }
    c.heal();
    c.run_for(5_000);
    for n in 2..=3 {
        assert_has(&c, n, 20..25);
    }
}
