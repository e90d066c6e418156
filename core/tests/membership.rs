//! Membership as operators and peers see it: failure detection at the configured
//! timeouts, refutation on return, operator removal that sticks across restarts until
//! allowed, and drains.

mod support;

use marmot_core::io::{AdminCmd, Reply};
use marmot_core::{Consistency, MemberState, Observation, WriteError};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

/// Runs in steps of 100 ms until node `at` sees `of` in `state`; the time it took.
fn time_until(c: &mut Cluster, at: u64, of: u64, state: MemberState, max_ms: u64) -> u64 {
    let start = c.now;
    while c.state_of(at, of) != Some(state) {
        assert!(c.now - start < max_ms, "node {at} never saw node {of} {state:?} (sees {:?})", c.state_of(at, of));
        c.run_for(100);
    }
    c.now - start
}

#[test]
fn a_silent_member_turns_suspect_then_dead_at_the_timeouts_and_alive_when_back() {
    let mut c = Cluster::of(3);
    c.crash(3);
    let suspect = time_until(&mut c, 1, 3, MemberState::Suspect, 20_000);
    // Strictly more than the timeout of silence (the crash fell on a gossip round, so
    // exactly 5 s of silence comes at a tick and is not yet enough).
    assert!((5_001..=6_200).contains(&suspect), "SUSPECT after {suspect} ms (suspect_timeout 5 s)");
    let dead = suspect + time_until(&mut c, 1, 3, MemberState::Dead, 20_000);
    assert!((10_001..=11_200).contains(&dead), "DEAD after {dead} ms (dead_timeout 10 s)");
    assert_eq!(c.state_of(1, 2), Some(MemberState::Alive), "a member that talks is never suspected");
    c.restart(3);
    let back = time_until(&mut c, 1, 3, MemberState::Alive, 10_000);
    assert!(back <= 3_000, "ALIVE again only after {back} ms");
    assert_eq!(c.state_of(3, 1), Some(MemberState::Alive));
    // Dead members still count toward the quorum size: 5 nodes, 2 dead, 3 needed.
    let mut c = Cluster::of(5);
    c.crash(4);
    c.crash(5);
    c.run_for(15_000);
    assert_eq!(c.state_of(1, 5), Some(MemberState::Dead));
    assert!(committed(&c.commit(1, vec![put("app", 1, 1)], Q)));
    c.crash(3);
    c.run_for(15_000);
    let r = c.commit(1, vec![put("app", 2, 1)], Q);
    assert_eq!(r, Reply::Failed(WriteError::NotEnoughAcks { got: 2, needed: 3, consistency: "QUORUM".into() }));
}

#[test]
fn a_removed_member_stays_removed_across_its_restarts_until_allowed() {
    let mut c = Cluster::of(3);
    let req = c.admin(1, AdminCmd::Remove(3));
    assert_eq!(c.replies.get(&req), Some(&Reply::AdminOk));
    c.run_for(3_000);
    for n in 1..=3 {
        assert_eq!(c.state_of(n, 3), Some(MemberState::Removed), "at node {n}");
    }
    // Removed: it coordinates nothing, and it is not counted (a majority of {1, 2} is 2).
    assert_eq!(c.commit(3, vec![put("app", 1, 1)], Q), Reply::Failed(WriteError::Removed));
    assert!(committed(&c.commit(1, vec![put("app", 2, 1)], Q)));
    assert_eq!(value(&c, 3, "app", 2), None, "a removed member was sent the write");
    c.crash(3);
    c.restart(3);
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(c.state_of(n, 3), Some(MemberState::Removed), "a restart revived node 3 at node {n}");
    }
    let req = c.admin(2, AdminCmd::Allow(3));
    assert_eq!(c.replies.get(&req), Some(&Reply::AdminOk));
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(c.state_of(n, 3), Some(MemberState::Alive), "node 3 not back at node {n}");
    }
    assert!(committed(&c.commit(3, vec![put("app", 3, 1)], Q)));
    c.run_for(3_000);
    assert_eq!(value(&c, 3, "app", 2), Some(1), "node 3 did not catch up after it was allowed back");
}

#[test]
fn a_drained_node_leaves_and_a_node_cannot_remove_itself() {
    let mut c = Cluster::of(3);
    let req = c.admin(1, AdminCmd::Remove(1));
    assert!(matches!(c.replies.get(&req), Some(Reply::AdminErr(_))), "{:?}", c.replies.get(&req));
    let req = c.admin(1, AdminCmd::Remove(9));
    assert!(matches!(c.replies.get(&req), Some(Reply::AdminErr(_))), "{:?}", c.replies.get(&req));
    let req = c.admin(3, AdminCmd::Leave);
    assert_eq!(c.replies.get(&req), Some(&Reply::AdminOk));
    c.run_for(2_000);
    for n in 1..=3 {
        assert_eq!(c.state_of(n, 3), Some(MemberState::Removed), "at node {n}");
    }
    assert_eq!(c.commit(3, vec![put("app", 1, 1)], Q), Reply::Failed(WriteError::Removed));
    c.admin(1, AdminCmd::Allow(3));
    c.run_for(5_000);
    assert_eq!(c.state_of(2, 3), Some(MemberState::Alive));
}

#[test]
fn a_one_way_cut_raises_suspicion_and_healing_clears_it_for_good() {
    let mut c = Cluster::of(3);
    c.cut.insert((3, 1));
    c.run_for(10_000);
    // Node 1 hears node 3 only through node 2's gossip: it suspects it (node 3 refutes,
    // through node 2, as SWIM does).
    assert!(c.seen(1, |o| matches!(o, Observation::MemberChanged { id: 3, to: MemberState::Suspect, .. })) >= 1);
    c.heal();
    c.run_for(3_000);
    let changes = c.seen(1, |o| matches!(o, Observation::MemberChanged { .. }));
    c.run_for(20_000);
    assert_eq!(c.seen(1, |o| matches!(o, Observation::MemberChanged { .. })), changes, "flapping after the heal");
    for n in 1..=3 {
        for m in 1..=3 {
            assert_eq!(c.state_of(n, m), Some(MemberState::Alive), "node {n} sees {m}");
        }
    }
}

#[test]
fn states_are_named_as_the_admin_api_shows_them_and_counted() {
    let names: Vec<&str> =
        [MemberState::Joining, MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Removed]
            .iter()
            .map(|s| s.as_str())
            .collect();
    assert_eq!(names, ["JOINING", "ALIVE", "SUSPECT", "DEAD", "REMOVED"]);
    let mut c = Cluster::of(3);
    assert_eq!(c.node(2).membership().me(), 2);
    assert_eq!(c.node(1).membership().alive_count(), 3);
    c.crash(3);
    c.run_for(7_000);
    assert_eq!(c.node(1).membership().alive_count(), 2);
}

#[test]
fn a_steady_cluster_writes_no_membership_and_a_refutation_is_written() {
    let mut c = Cluster::of(3);
    c.run_for(2_000);
    let writes = |c: &Cluster| c.persisted.iter().filter(|(_, _, k)| *k == "membership").count();
    let before = writes(&c);
    c.run_for(30_000);
    assert_eq!(writes(&c), before, "membership written with nothing changed");
    // Node 3 is suspected (it cannot reach node 1) and refutes with a new incarnation,
    // which it must keep across a restart.
    c.cut.insert((3, 1));
    c.run_for(10_000);
    c.heal();
    c.run_for(2_000);
    let now = c.node(3).membership().local().digest.incarnation;
    assert!(now > 1, "never refuted");
    let stored = c.stores[&3].membership.as_ref().map(|(inc, _)| *inc);
    assert_eq!(stored, Some(now), "the refuting incarnation was not written");
}

#[test]
fn a_removal_and_an_allow_at_the_same_time_settle_on_removed_everywhere() {
    let mut c = Cluster::of(3);
    c.partition(&[1], &[2]);
    c.admin(1, AdminCmd::Remove(3));
    c.admin(2, AdminCmd::Allow(3));
    c.heal();
    c.run_for(5_000);
    for n in 1..=3 {
        assert_eq!(c.state_of(n, 3), Some(MemberState::Removed), "at node {n}");
    }
}

#[test]
fn an_allowed_member_is_suspect_until_it_is_heard() {
    let mut c = Cluster::of(3);
    c.crash(3);
    c.admin(1, AdminCmd::Remove(3));
    c.run_for(1_000);
    c.admin(1, AdminCmd::Allow(3));
    assert_eq!(c.state_of(1, 3), Some(MemberState::Suspect));
    c.restart(3);
    c.run_for(3_000);
    assert_eq!(c.state_of(1, 3), Some(MemberState::Alive));
}

#[test]
fn a_member_back_at_a_new_address_or_role_is_known_by_it() {
    let mut c = Cluster::of(3);
    assert!(!c.node(1).membership().is_sentinel(3));
    c.crash(3);
    c.restart_as(3, "n3-moved", marmot_core::CoreConfig { sentinel: true, ..Default::default() });
    c.run_for(3_000);
    for n in 1..=2 {
        let m = c.node(n).membership().get(3).expect("a member");
        assert_eq!(m.digest.addr, "n3-moved", "at node {n}");
        assert!(c.node(n).membership().is_sentinel(3), "node {n} does not know node 3 is a sentinel");
    }
}
