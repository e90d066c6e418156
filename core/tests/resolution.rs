//! What members do with a transaction whose coordinator went silent: they wait while it
//! is alive, ask every member after the heartbeat timeout (fencing those that hold
//! nothing), and decide by the voting rule — committed once enough others staged it,
//! aborted once enough refused it — so a coordinator that never comes back leaves nothing
//! in doubt.

mod support;

use marmot_core::io::{AdminCmd, Reply};
use marmot_core::Consistency;
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

/// A 3-node cluster where node 1 coordinates a write that nodes 2 and 3 staged and voted
/// for, and crashed before its own commit was durable: committed by the rule, though
/// nobody was told.
fn staged_by_all_then_coordinator_crashed() -> Cluster {
    let mut c = Cluster::of(3);
    c.slow_disk.insert(1);
    c.write(1, vec![put("app", 1, 10)], Q);
    c.release_disk(1);
    c.slow_disk.insert(1);
    c.drain();
    assert_eq!(c.node(1).inflight_summary().deciding, 1);
    c.crash(1);
    c.slow_disk.clear();
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 1, "node {n} did not stage it");
    }
    c
}

#[test]
fn members_wait_for_a_live_coordinator_then_commit_what_enough_of_them_staged() {
    let mut c = staged_by_all_then_coordinator_crashed();
    c.run_for(9_000);
    assert_eq!(c.count_sent("status_query"), 0, "asked before the heartbeat timeout");
    c.run_for(10_000);
    assert!(c.count_sent("status_query") > 0, "never asked");
    for n in 2..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
    // Back with its disk, the coordinator finds its stage and learns the outcome.
    c.restart(1);
    c.run_for(5_000);
    assert_eq!(value(&c, 1, "app", 1), Some(10));
    assert_eq!(c.node(1).intent_count(), 0);
    assert!(committed(&c.commit(2, vec![put("app", 2, 20)], Q)));
}

#[test]
fn a_transaction_staged_only_by_its_coordinator_is_aborted_by_fencing_the_others() {
    let mut c = Cluster::of(3);
    c.drop_kinds.insert("prepare");
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    assert_eq!(c.node(1).intent_count(), 1);
    c.crash(1);
    assert_eq!(c.replies.get(&req), None);
    c.drop_kinds.clear();
    // Back, it cannot abort on its own word (others might have staged it): it asks, the
    // others promise never to stage it, and that aborts it.
    c.restart(1);
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
        assert_eq!(value(&c, n, "app", 1), None, "node {n}");
    }
    assert!(committed(&c.commit(2, vec![put("app", 1, 20)], Q)));
}

#[test]
fn the_transactions_of_a_removed_coordinator_are_decided_by_the_members_left() {
    let mut c = staged_by_all_then_coordinator_crashed();
    c.run_for(1_000);
    assert_eq!(c.admin(2, AdminCmd::Remove(1)), 2);
    c.run_for(1_000);
    let r = c.replies.get(&2).cloned();
    assert_eq!(r, Some(Reply::AdminOk));
    c.run_for(15_000);
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 0, "node {n} still holds the removed coordinator's intent");
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
    }
    assert!(committed(&c.commit(2, vec![put("app", 2, 20)], Q)));
}

#[test]
fn a_participant_that_missed_the_commit_learns_it_from_a_peer() {
    let mut c = Cluster::of(3);
    // Node 3 stages and votes, then hears nothing more from node 1, and no log chunk
    // reaches anyone: only the status query can tell it.
    c.slow_disk.insert(1);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    c.release_disk(1);
    c.slow_disk.insert(1);
    c.drain();
    c.cut.insert((1, 3));
    c.drop_kinds.insert("log_chunk");
    c.release_disk(1);
    assert!(committed(&c.answer(req, 1_000).expect("an answer")));
    c.run_for(9_000);
    assert_eq!(value(&c, 3, "app", 1), None);
    assert_eq!(c.node(3).intent_count(), 1);
    c.run_for(4_000);
    assert_eq!(value(&c, 3, "app", 1), Some(10));
    assert_eq!(c.node(3).intent_count(), 0);
}

#[test]
fn members_finish_a_commit_whose_coordinator_crashed_after_answering() {
    let mut c = Cluster::of(3);
    c.drop_kinds.extend(["commit", "log_chunk"]);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    assert!(committed(&c.answer(req, 100).expect("an answer")));
    c.crash(1);
    c.run_for(15_000);
    for n in 2..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
    c.drop_kinds.clear();
    c.restart(1);
    c.run_for(5_000);
    assert_eq!(value(&c, 1, "app", 1), Some(10));
}

#[test]
fn a_live_coordinator_slow_to_commit_keeps_its_participants_waiting_quietly() {
    let mut c = Cluster::of(3);
    c.slow_disk.insert(1);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    // Node 1's prepare becomes durable and it decides; its commit write hangs.
    c.release_disk(1);
    c.slow_disk.insert(1);
    c.drain();
    assert_eq!(c.node(1).inflight_summary().deciding, 1);
    c.run_for(25_000);
    assert_eq!(c.count_sent("status_query"), 0, "participants of a live coordinator asked around");
    c.release_disk(1);
    assert!(committed(&c.answer(req, 1_000).expect("an answer")));
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
    }
}
