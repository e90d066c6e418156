//! The commit protocol as a client sees it, on whole clusters of real nodes (model store,
//! instant network): what is answered, when, and what every node holds afterwards.

mod support;

use marmot_core::coordinator::InFlightSummary;
use marmot_core::io::Reply;
use marmot_core::participant::ParticipantSummary;
use marmot_core::{Consistency, Version, WriteError};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

fn not_enough(got: usize, needed: usize, consistency: &str) -> Reply {
    Reply::Failed(WriteError::NotEnoughAcks { got, needed, consistency: consistency.into() })
}

/// Staged here and sent, too few answers in time: the outcome is left to recovery.
fn in_doubt(staged: usize, needed: usize) -> Reply {
    Reply::Failed(WriteError::InDoubt { staged, refused: 0, needed })
}

#[test]
fn a_quorum_write_commits_and_reaches_every_node() {
    let mut c = Cluster::of(3);
    let r = c.commit(1, vec![put("app", 1, 10)], Q);
    assert!(committed(&r), "{r:?}");
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n} holds an intent after the commit");
    }
    assert_eq!(c.node(1).inflight_summary(), InFlightSummary::default());
}

#[test]
fn a_quorum_write_fails_at_the_prepare_timeout_without_a_majority_and_leaves_nothing() {
    let mut c = Cluster::of(3);
    c.crash(2);
    c.crash(3);
    let start = c.now;
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    c.run_for(1990);
    assert_eq!(c.replies.get(&req), None, "answered before the prepare timeout");
    // Then it asks the others to abort it; nobody answers that either.
    c.run_for(990);
    assert_eq!(c.replies.get(&req), None, "answered before the abort request gave up");
    assert_eq!(c.answer(req, 100), Some(in_doubt(1, 2)));
    assert!(c.now - start <= 3020, "answered at {} ms", c.now - start);
    assert_eq!(value(&c, 1, "app", 1), None);
    // Staged here, and the others may hold it too for all node 1 knows: it stays in
    // doubt until they answer — then they promise never to stage it, and it is aborted.
    assert_eq!(c.node(1).intent_count(), 1);
    c.restart(2);
    c.restart(3);
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), None, "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
}

#[test]
fn known_dead_members_are_not_asked_and_the_client_hears_at_once() {
    let mut c = Cluster::of(3);
    c.crash(2);
    c.crash(3);
    c.run_for(20_000);
    let prepares = c.count_sent("prepare");
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    assert_eq!(c.replies.get(&req), Some(&not_enough(1, 2, "QUORUM")));
    assert_eq!(c.count_sent("prepare"), prepares);
    // ONE still commits on the coordinator's word.
    assert!(committed(&c.commit(1, vec![put("app", 1, 11)], Some(Consistency::One))));
    // The others get it when they come back.
    c.restart(2);
    c.restart(3);
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(11), "node {n}");
    }
}

#[test]
fn all_needs_every_member_and_quorum_a_majority() {
    let mut c = Cluster::of(5);
    c.crash(5);
    // Four copies of five: committed by the quorum rule, and the client is told ALL fell short.
    let r = c.commit(1, vec![put("app", 1, 1)], Some(Consistency::All));
    assert_eq!(r, Reply::Failed(WriteError::CommitUnconfirmed { got: 4, needed: 5 }));
    assert_eq!(value(&c, 2, "app", 1), Some(1));
    c.crash(4);
    let r = c.commit(1, vec![put("app", 3, 2)], Q);
    assert!(committed(&r), "{r:?}");
    c.crash(3);
    // Node 2 takes the abort request: a definite failure.
    assert_eq!(c.commit(1, vec![put("app", 2, 3)], Q), not_enough(2, 3, "QUORUM"));
    assert_eq!(value(&c, 2, "app", 3), Some(2));
}

#[test]
fn the_client_is_answered_only_after_the_coordinator_made_the_commit_durable() {
    let mut c = Cluster::of(3);
    c.slow_disk.insert(1);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    c.run_for(1000);
    assert_eq!(c.replies.get(&req), None);
    // Nobody else is told to commit before the coordinator's own commit is durable.
    assert_eq!(c.count_sent("commit"), 0);
    assert_eq!(value(&c, 2, "app", 1), None);
    c.release_disk(1);
    assert!(committed(&c.answer(req, 100).expect("an answer")));
}

#[test]
fn phases_are_reported_while_a_transaction_is_in_flight() {
    let mut c = Cluster::of(3);
    c.slow_disk.extend([1, 2, 3]);
    c.write(1, vec![put("app", 1, 10)], Q);
    let s = c.node(1).inflight_summary();
    assert_eq!((s.preparing, s.deciding, s.committing), (1, 0, 0));
    // The coordinator stages first: nobody else is asked before that is durable.
    assert_eq!(c.node(2).participant_summary(), ParticipantSummary::default());
    c.release_disk(1);
    c.slow_disk.insert(1);
    c.drain();
    assert_eq!(c.node(2).participant_summary(), ParticipantSummary { voting: 1, voted: 0, committing: 0 });
    // Node 2's stage is durable: with node 1's own that is a quorum, committed; the
    // coordinator's commit waits on its disk.
    c.release_disk(2);
    c.slow_disk.insert(2);
    c.drain();
    let s = c.node(1).inflight_summary();
    assert_eq!((s.preparing, s.deciding, s.committing), (0, 1, 0), "{s:?}");
    assert!(c.node(1).commit_targets().is_empty());
    c.release_disk(1);
    c.drain();
    // The client is answered; COMMIT is out and not confirmed yet.
    let s = c.node(1).inflight_summary();
    assert_eq!((s.preparing, s.deciding, s.committing), (0, 0, 1), "{s:?}");
    assert_eq!(c.node(1).commit_targets(), vec![2, 3]);
    assert_eq!(c.node(2).participant_summary(), ParticipantSummary { voting: 0, voted: 0, committing: 1 });
    // (Node 3 learned the outcome before its own vote was durable.)
    assert_eq!(c.node(3).participant_summary(), ParticipantSummary { voting: 0, voted: 0, committing: 1 });
    c.release_disk(2);
    c.release_disk(3);
    c.run_for(100);
    assert_eq!(c.node(1).inflight_summary(), InFlightSummary::default());
    for n in 1..=3 {
        assert_eq!(c.node(n).participant_summary(), ParticipantSummary::default(), "node {n}");
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
    }
}

#[test]
fn a_lost_commit_is_resent_until_every_participant_confirms() {
    let mut c = Cluster::of(3);
    // (Catch-up would bring the row too: keep it out of this test.)
    c.drop_kinds.extend(["commit", "log_chunk"]);
    let req = c.write(1, vec![put("app", 1, 10)], Q);
    let start = c.now;
    let r = c.answer(req, 5_000).expect("an answer");
    // One round trip: answered once a quorum staged it, before any COMMIT is confirmed.
    assert!(committed(&r), "{r:?}");
    assert!(c.now - start <= 20, "answered at {} ms", c.now - start);
    assert_eq!(value(&c, 2, "app", 1), None);
    c.drop_kinds.clear();
    c.run_for(1_500);
    for n in 2..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
    // Confirmed: the resending stops.
    let commits = c.count_sent("commit");
    c.run_for(5_000);
    assert_eq!(c.count_sent("commit"), commits);
}

#[test]
fn commits_to_a_silent_participant_stop_after_the_heartbeat_timeout() {
    let mut c = Cluster::of(3);
    c.drop_kinds.insert("commit_ack");
    let r = c.commit(1, vec![put("app", 1, 10)], Q);
    assert!(committed(&r), "{r:?}");
    // The participants committed; only their confirmations were lost.
    for n in 2..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
    }
    c.run_for(3_000);
    let resent = c.count_sent("commit");
    c.run_for(3_000);
    assert!(c.count_sent("commit") > resent, "no COMMIT resent while unconfirmed");
    c.run_for(10_000);
    let resent = c.count_sent("commit");
    c.run_for(5_000);
    assert_eq!(c.count_sent("commit"), resent, "COMMIT resent forever");
}

#[test]
fn a_committed_quorum_write_confirmed_by_a_majority_is_answered_even_if_one_is_silent() {
    let mut c = Cluster::of(3);
    c.cut.insert((1, 3));
    let r = c.commit(1, vec![put("app", 1, 10)], Q);
    assert!(committed(&r), "{r:?}");
    assert_eq!(value(&c, 3, "app", 1), None);
    c.heal();
    c.run_for(2_000);
    assert_eq!(value(&c, 3, "app", 1), Some(10));
    assert_eq!(c.node(3).intent_count(), 0);
}

#[test]
fn a_write_waits_for_a_row_another_transaction_holds_here_then_sees_what_committed() {
    let mut c = Cluster::of(3);
    c.slow_disk.extend([1, 2, 3]);
    let first = c.write(1, vec![put("app", 1, 10)], Q);
    c.release_disk(1);
    c.drain();
    // The first is staged at node 1 and its PREPARE waits on node 2's disk: node 2's own
    // write of the row waits for it there, before anything is sent.
    let prepares = c.count_sent("prepare");
    let second = c.write(2, vec![put("app", 1, 20)], Q);
    assert_eq!(c.replies.get(&second), None);
    for n in 1..=3 {
        c.release_disk(n);
    }
    assert!(committed(&c.answer(first, 1000).expect("an answer")));
    // Then it stages over the committed row — which it never read: stale, a conflict.
    assert_eq!(c.answer(second, 1000), Some(Reply::Failed(WriteError::Conflict)));
    assert_eq!(c.count_sent("prepare"), prepares, "the second went further than its own stage");
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(10), "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
}

#[test]
fn a_write_waiting_for_a_row_gives_up_after_half_the_prepare_timeout() {
    let mut c = Cluster::of(3);
    c.slow_disk.extend([2, 3]);
    let first = c.write(1, vec![put("app", 1, 10)], Q);
    c.drain();
    assert_eq!(c.node(2).intent_count(), 1);
    let start = c.now;
    let second = c.write(2, vec![put("app", 1, 20)], Q);
    c.run_for(900);
    assert_eq!(c.replies.get(&second), None, "gave up early");
    assert_eq!(c.answer(second, 300), Some(Reply::Failed(WriteError::Conflict)));
    assert!(c.now - start >= 1000, "gave up at {} ms", c.now - start);
    c.release_disk(2);
    c.release_disk(3);
    assert!(committed(&c.answer(first, 1000).expect("an answer")));
}

#[test]
fn a_write_over_a_row_changed_since_it_was_read_is_a_conflict() {
    let mut c = Cluster::of(3);
    let Reply::Committed { txn_id } = c.commit(1, vec![put("app", 1, 10)], Q) else { panic!("not committed") };
    c.run_for(100);
    // Read before that commit (row absent): stale under first-committer-wins.
    let stale = c.commit(2, vec![put("app", 1, 20)], Q);
    assert_eq!(stale, Reply::Failed(WriteError::Conflict));
    for n in 1..=3 {
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
    let mut fresh = put("app", 1, 30);
    fresh.read_version = Some(Version(txn_id));
    assert!(committed(&c.commit(2, vec![fresh], Q)));
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), Some(30), "node {n}");
    }
    // Last-writer-wins for ONE: no check.
    assert!(committed(&c.commit(3, vec![put("app", 1, 40)], Some(Consistency::One))));
}

#[test]
fn a_failed_local_prepare_is_reported_and_releases_every_node() {
    let mut c = Cluster::of(3);
    c.failing_disk.insert(1);
    let r = c.commit(1, vec![put("app", 1, 10)], Q);
    let Reply::Failed(WriteError::Storage(e)) = &r else { panic!("{r:?}") };
    assert!(e.contains("disk full"), "{e}");
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(value(&c, n, "app", 1), None, "node {n}");
        assert_eq!(c.node(n).intent_count(), 0, "node {n}");
    }
    c.failing_disk.clear();
    assert!(committed(&c.commit(1, vec![put("app", 1, 11)], Q)));
}

#[test]
fn a_participant_with_a_failing_disk_votes_no_and_a_majority_still_commits() {
    let mut c = Cluster::of(3);
    c.failing_disk.insert(3);
    assert!(committed(&c.commit(1, vec![put("app", 1, 10)], Q)));
    assert_eq!(c.node(3).intent_count(), 0);
    c.failing_disk.insert(2);
    // A failed disk is no promise: the write stays in doubt until node 2 or 3 can answer.
    assert_eq!(c.commit(1, vec![put("app", 2, 10)], Q), in_doubt(1, 2));
}

#[test]
fn an_empty_write_is_refused() {
    let mut c = Cluster::of(3);
    assert_eq!(c.commit(1, vec![], Q), Reply::Failed(WriteError::Empty));
}
