//! Logs that break: a peer's log collected past what a node needs (a gap, repaired by a
//! snapshot), a log that lost its disk (its floor raised, again after a second loss), a
//! failed apply retried at once, and snapshots that reset one database's positions only.

mod support;

use marmot_core::{Consistency, CoreConfig, Message, Observation};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);
const ONE: Option<Consistency> = Some(Consistency::One);

fn write_many(c: &mut Cluster, db: &str, at: u64, keys: std::ops::Range<i64>) {
    for k in keys {
        let r = c.commit(at, vec![put(db, k, k * 10)], Q);
        assert!(committed(&r), "write {k}: {r:?}");
    }
}

fn assert_has(c: &Cluster, node: u64, db: &str, keys: std::ops::Range<i64>) {
    for k in keys {
        assert_eq!(value(c, node, db, k), Some(k * 10), "node {node}, {db} key {k}");
    }
}

fn floor_raises(c: &Cluster, node: u64) -> usize {
    c.persisted.iter().filter(|(_, n, kind)| *n == node && *kind == "raise_log_floor").count()
}

/// Node 1 loses its disk and comes back; then, cut off from the others, it writes alone:
/// they can get those writes from its log only.
fn lose_node_1s_disk_and_write_alone(c: &mut Cluster, keys: std::ops::Range<i64>) {
    c.crash(1);
    c.replace_disk(1);
    c.run_for(5_000);
    c.partition(&[1], &[2, 3]);
    for k in keys.clone() {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], ONE)));
    }
    c.heal();
    c.run_for(5_000);
    for n in 2..=3 {
        assert_has(c, n, "app", keys.clone());
    }
}

#[test]
fn a_log_that_lost_its_disk_twice_is_raised_each_time_and_only_then() {
    let mut c = Cluster::of(3);
    write_many(&mut c, "app", 1, 0..10);
    c.run_for(5_000);
    assert_eq!(floor_raises(&c, 1), 0, "a healthy log's floor was raised");
    lose_node_1s_disk_and_write_alone(&mut c, 20..25);
    let first = floor_raises(&c, 1);
    assert!(first >= 1);
    c.run_for(5_000);
    assert_eq!(floor_raises(&c, 1), first, "raised again with nothing lost");
    lose_node_1s_disk_and_write_alone(&mut c, 30..35);
    assert!(floor_raises(&c, 1) > first, "the second loss was not handled");
}

#[test]
fn a_failed_apply_of_pulled_entries_is_pulled_again_once_the_disk_works() {
    let mut c = Cluster::of(3);
    assert!(committed(&c.commit(1, vec![put("app", 1000, 1)], Some(Consistency::All))));
    c.crash(3);
    write_many(&mut c, "app", 1, 0..20);
    c.failing_disk.insert(3);
    c.restart(3);
    c.run_for(500);
    assert_eq!(value(&c, 3, "app", 0), None);
    c.failing_disk.clear();
    // Pulled again on the next gossip (1 s), not after the 3 s catch-up timeout.
    c.run_for(1_000);
    assert_has(&c, 3, "app", 0..20);
}

#[test]
fn a_gap_left_by_a_collected_log_is_repaired_by_a_snapshot() {
    let cfg = CoreConfig {
        gc_interval_ms: 500,
        gc_min_retention_ms: 0,
        gc_max_retention_ms: 2_000,
        anti_entropy_interval_ms: 3_000,
        ..CoreConfig::default()
    };
    let mut c = Cluster::new(3, cfg);
    write_many(&mut c, "app", 1, 0..5);
    c.run_for(3_000);
    c.crash(3);
    write_many(&mut c, "app", 1, 5..20);
    c.run_for(6_000);
    c.restart(3);
    c.run_for(15_000);
    assert!(c.seen(3, |o| matches!(o, Observation::LogGap { .. })) >= 1, "no gap: the test did not collect the log");
    assert!(c.seen(3, |o| matches!(o, Observation::SnapshotInstalled { .. })) >= 1);
    assert_has(&c, 3, "app", 0..20);
    // The gap is closed: node 3 follows node 1's log again.
    c.partition(&[2], &[1, 3]);
    for k in 40..43 {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], ONE)));
    }
    c.run_for(3_000);
    assert_has(&c, 3, "app", 40..43);
}

#[test]
fn an_empty_node_takes_a_snapshot_of_every_database() {
    let mut c = Cluster::of(3);
    write_many(&mut c, "app", 1, 0..5);
    write_many(&mut c, "other", 2, 0..5);
    c.crash(3);
    c.replace_disk(3);
    c.run_for(5_000);
    assert_has(&c, 3, "app", 0..5);
    assert_has(&c, 3, "other", 0..5);
    for db in ["app", "other"] {
        let n = c.seen(3, |o| matches!(o, Observation::SnapshotInstalled { database, .. } if database == db));
        assert_eq!(n, 1, "{db}");
    }
}

#[test]
fn a_snapshot_of_one_database_leaves_the_others_where_they_were() {
    let mut c = Cluster::new(3, CoreConfig { delta_sync_threshold_txns: 30, ..CoreConfig::default() });
    write_many(&mut c, "app", 1, 0..3);
    write_many(&mut c, "other", 1, 0..3);
    c.run_for(3_000);
    c.crash(3);
    write_many(&mut c, "app", 1, 3..60);
    write_many(&mut c, "other", 1, 3..8);
    let pulls_from_start = |c: &Cluster| {
        c.sent
            .iter()
            .filter(|e| {
                e.from == 3 && matches!(&e.msg, Message::PullLog { database, after: 0, .. } if database == "other")
            })
            .count()
    };
    let before = pulls_from_start(&c);
    c.restart(3);
    c.run_for(5_000);
    assert_eq!(c.seen(3, |o| matches!(o, Observation::SnapshotInstalled { database, .. } if database == "app")), 1);
    assert_eq!(pulls_from_start(&c), before, "node 3 pulled `other` from the start again after a snapshot of `app`");
    assert_has(&c, 3, "app", 0..60);
    assert_has(&c, 3, "other", 0..8);
}

#[test]
fn an_unanswered_pull_is_repeated_only_after_the_catch_up_timeout() {
    let mut c = Cluster::of(3);
    assert!(committed(&c.commit(1, vec![put("app", 1000, 1)], Some(Consistency::All))));
    c.crash(3);
    write_many(&mut c, "app", 1, 0..5);
    c.drop_kinds.insert("log_chunk");
    c.restart(3);
    let pulls = |c: &Cluster| c.sent_between(3, 1, "pull_log").len();
    c.run_for(2_500);
    assert_eq!(pulls(&c), 1, "pulled again before the 3 s catch-up timeout");
    c.run_for(2_000);
    assert_eq!(pulls(&c), 2, "not pulled again after the catch-up timeout");
    c.drop_kinds.clear();
    c.run_for(3_000);
    assert_has(&c, 3, "app", 0..5);
}

#[test]
fn a_log_is_raised_again_when_a_peer_later_reports_more_of_its_previous_life() {
    let mut c = Cluster::of(3);
    write_many(&mut c, "app", 1, 0..10);
    c.run_for(3_000);
    c.crash(2);
    write_many(&mut c, "app", 1, 10..40);
    c.run_for(3_000);
    // Node 3 applied node 1's log up to 40, node 2 up to 10; node 1 then loses its disk
    // (its new log, renumbered above 10, stays below 40 for a while).
    c.crash(3);
    c.crash(1);
    c.replace_disk(1);
    c.restart(2);
    c.run_for(5_000);
    let first = c.persisted.iter().filter(|(_, n, k)| *n == 1 && *k == "raise_log_floor").count();
    assert!(first >= 1, "node 2's report did not raise node 1's log floor");
    c.restart(3);
    c.run_for(5_000);
    // Node 1 writes alone, and only its log reaches node 3 (node 2 is cut off).
    c.partition(&[2], &[1, 3]);
    c.partition(&[1], &[3]);
    for k in 20..26 {
        assert!(committed(&c.commit(1, vec![put("app", k, k * 10)], ONE)));
    }
    c.heal();
    c.partition(&[2], &[1, 3]);
    c.run_for(5_000);
    assert_has(&c, 3, "app", 20..26);
}

#[test]
fn a_live_node_facing_a_gap_is_repaired_by_the_anti_entropy_check() {
    let cfg = CoreConfig {
        gc_interval_ms: 500,
        gc_min_retention_ms: 0,
        gc_max_retention_ms: 2_000,
        anti_entropy_interval_ms: 3_000,
        ..CoreConfig::default()
    };
    let mut c = Cluster::new(3, cfg);
    write_many(&mut c, "app", 1, 0..5);
    c.run_for(3_000);
    // Node 3 stays up but hears nothing while the others write and collect their logs.
    c.partition(&[3], &[1, 2]);
    write_many(&mut c, "app", 1, 5..20);
    c.run_for(6_000);
    // The first snapshot that repairs the gap arrives corrupt: refused, and the gap
    // stays open until the anti-entropy check fetches one again, from another donor.
    let mut corrupted = None;
    c.tamper = Some(Box::new(move |env| {
        if let Message::SnapshotChunk { data, .. } = &mut env.msg {
            if corrupted.is_none() && !data.is_empty() {
                data[0] ^= 0x55;
                corrupted = Some(env.from);
            }
        }
    }));
    c.heal();
    c.run_for(15_000);
    assert!(c.seen(3, |o| matches!(o, Observation::LogGap { .. })) >= 1, "no gap: the test did not collect the log");
    assert!(c.seen(3, |o| matches!(o, Observation::StorageError(e) if e.contains("checksum"))) >= 1);
    let donors: Vec<u64> = c
        .observed
        .iter()
        .filter_map(|(_, n, o)| match o {
            Observation::SnapshotInstalled { donor, .. } if *n == 3 => Some(*donor),
            _ => None,
        })
        .collect();
    assert_eq!(donors.len(), 1, "the gap was never repaired: {donors:?}");
    let first = c.sent.iter().find(|e| e.from == 3 && e.msg.kind() == "snapshot_request").map(|e| e.to);
    assert_ne!(Some(donors[0]), first, "asked the donor of the corrupt snapshot again");
    assert_has(&c, 3, "app", 0..20);
}

#[test]
fn a_database_created_while_a_node_was_down_comes_to_it_by_snapshot() {
    let mut c = Cluster::of(3);
    write_many(&mut c, "app", 1, 0..5);
    c.run_for(3_000);
    c.crash(3);
    write_many(&mut c, "other", 1, 0..5);
    c.restart(3);
    c.run_for(5_000);
    assert_has(&c, 3, "other", 0..5);
    let other = c.seen(3, |o| matches!(o, Observation::SnapshotInstalled { database, .. } if database == "other"));
    let app = c.seen(3, |o| matches!(o, Observation::SnapshotInstalled { database, .. } if database == "app"));
    assert_eq!((app, other), (0, 1), "snapshots of (app, other): app was level, other new to node 3");
}
