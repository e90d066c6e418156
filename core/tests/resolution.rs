//! What participants do with a transaction whose coordinator went silent: they wait while
//! it is alive, ask their peers after the heartbeat timeout, commit on any "committed",
//! abort on its coordinator's word or once a removed coordinator's transaction is known
//! uncommitted everywhere, and never abort on a guess.

mod support;

use marmot_core::io::{AdminCmd, Reply};
use marmot_core::Consistency;
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

/// A 3-node cluster where node 1 coordinates a write that nodes 2 and 3 voted for and
/// node 1 never decided (its own prepare never became durable), then crashed.
fn in_doubt() -> Cluster {
    let mut c = Cluster::of(3);
    c.slow_disk.insert(1);
    c.write(1, vec![put("app", 1, 10)], Q);
    c.crash(1);
    c.slow_disk.clear();
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 1, "node {n} did not prepare");
    }
    c
}

#[test]
fn participants_never_abort_on_a_guess_and_abort_on_their_coordinators_word() {
    let mut c = in_doubt();
    c.run_for(9_000);
    assert_eq!(c.count_sent("status_query"), 0, "asked before the heartbeat timeout");
    c.run_for(10_000);
    assert!(c.count_sent("status_query") > 0, "never asked");
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 1, "node {n} gave up a transaction in doubt");
    }
    // Back, the coordinator knows nothing of it (it never decided): it can no longer commit.
    c.restart(1);
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
        assert_eq!(value(&c, n, "app", 1), None, "node {n}");
    }
    assert!(committed(&c.commit(2, vec![put("app", 1, 20)], Q)));
}

#[test]
fn the_transactions_of_a_removed_coordinator_are_aborted_once_nobody_committed_them() {
    let mut c = in_doubt();
    c.run_for(1_000);
    assert_eq!(c.admin(2, AdminCmd::Remove(1)), 2);
    c.run_for(1_000);
    let r = c.replies.get(&2).cloned();
    assert_eq!(r, Some(Reply::AdminOk));
    c.run_for(15_000);
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 0, "node {n} still holds the removed coordinator's intent");
        assert_eq!(value(&c, n, "app", 1), None, "node {n}");
    }
    assert!(committed(&c.commit(2, vec![put("app", 1, 20)], Q)));
}

#[test]
fn a_participant_that_missed_the_commit_learns_it_from_a_peer() {
    let mut c = Cluster::of(3);
    // Node 3 prepares and votes, then hears nothing more from node 1, and no log chunk
    // reaches anyone: only the status query can tell it.
    c.slow_disk.insert(1);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
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
fn a_coordinator_back_from_a_crash_after_committing_finishes_the_commit() {
    let mut c = Cluster::of(3);
    c.drop_kinds.extend(["commit", "log_chunk"]);
    c.write(1, vec![put("app", 1, 10)], Q);
    assert_eq!(value(&c, 1, "app", 1), Some(10), "the coordinator did not commit locally");
    c.crash(1);
    c.run_for(15_000);
    for n in 2..=3 {
        assert_eq!(c.node(n).intent_count(), 1, "node {n} gave up a committed transaction");
    }
    c.drop_kinds.clear();
    c.restart(1);
    c.run_for(5_000);
    for n in 2..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
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
