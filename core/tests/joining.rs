//! When a joining node may call itself caught up. A node that started on an empty store
//! may have lost its disk; two such nodes must not vouch for each other while a member
//! that holds the data is out of reach (they would declare an empty database current,
//! win quorums together and overwrite what the cluster committed).

use std::collections::BTreeMap;

use marmot_core::membership::MemberDigest;
use marmot_core::{CoreConfig, Effect, Envelope, Hlc, Input, MemberState, Message, Node, Observation, RecoveredState};

/// Node 3 of {1, 2, 3}, started on an empty store.
fn empty_node_3() -> Node {
    let peers = vec![(1, "n1".to_string()), (2, "n2".to_string())];
    let mut node = Node::new(CoreConfig::default(), 3, "n3".into(), peers, 7, RecoveredState::default());
    let mut out = Vec::new();
    node.handle(0, Input::Start, &mut out);
    node
}

fn gossip(from: u64, state: MemberState, fresh: bool, head: u64) -> Input {
    let me = MemberDigest {
        id: from,
        addr: format!("n{from}"),
        state,
        incarnation: 1,
        admin_gen: 0,
        removed: false,
        sentinel: false,
        fresh,
    };
    let db = |v| BTreeMap::from([("app".to_string(), v)]);
    Input::Peer(Envelope {
        from,
        to: 3,
        clock: Hlc { wall: 10, logical: 0, node: from },
        msg: Message::Gossip { members: vec![me], heads: db(head), applied: BTreeMap::new(), schemas: db(0) },
    })
}

fn caught_up(node: &mut Node, now: u64, input: Input) -> bool {
    let mut out = Vec::new();
    node.handle(now, input, &mut out);
    out.iter().any(|e| matches!(e, Effect::Observe(Observation::CaughtUp)))
}

#[test]
fn a_peer_that_started_empty_cannot_vouch_while_a_member_with_data_is_unheard() {
    let mut n3 = empty_node_3();
    assert!(
        !caught_up(&mut n3, 10, gossip(2, MemberState::Joining, true, 0)),
        "two empty nodes vouched for each other"
    );
    // Node 1 (which holds the data) is heard: node 3 is level with it once it pulled
    // what node 1 has; with nothing to pull it is caught up at once.
    assert!(caught_up(&mut n3, 20, gossip(1, MemberState::Alive, false, 0)));
}

#[test]
fn a_joining_peer_that_restarted_with_its_data_vouches() {
    let mut n3 = empty_node_3();
    assert!(caught_up(&mut n3, 10, gossip(2, MemberState::Joining, false, 0)));
}

#[test]
fn a_new_cluster_of_empty_nodes_starts_once_every_member_is_heard() {
    let mut n3 = empty_node_3();
    assert!(!caught_up(&mut n3, 10, gossip(2, MemberState::Joining, true, 0)));
    assert!(caught_up(&mut n3, 20, gossip(1, MemberState::Joining, true, 0)));
}

/// The `fresh` flag a node gossips about itself.
fn gossiped_fresh(node: &mut Node, now: u64, input: Input) -> Vec<bool> {
    let mut out = Vec::new();
    node.handle(now, input, &mut out);
    out.iter()
        .filter_map(|e| match e {
            Effect::Send(Envelope { msg: Message::Gossip { members, .. }, .. }) => {
                members.iter().find(|d| d.id == 3).map(|d| d.fresh)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_node_on_an_empty_store_says_so_until_it_has_caught_up() {
    let peers = vec![(1, "n1".to_string()), (2, "n2".to_string())];
    let mut n3 = Node::new(CoreConfig::default(), 3, "n3".into(), peers.clone(), 7, RecoveredState::default());
    let said = gossiped_fresh(&mut n3, 0, Input::Start);
    assert!(!said.is_empty() && said.iter().all(|f| *f), "{said:?}");
    let said = gossiped_fresh(&mut n3, 10, gossip(1, MemberState::Alive, false, 0));
    assert!(!said.is_empty() && said.iter().all(|f| !*f), "caught up, it must say it is not fresh: {said:?}");
    // A node that ran before on this store is not fresh, even while joining.
    let before = RecoveredState { incarnation: 4, ..RecoveredState::default() };
    let mut again = Node::new(CoreConfig::default(), 3, "n3".into(), peers, 7, before);
    let said = gossiped_fresh(&mut again, 0, Input::Start);
    assert!(!said.is_empty() && said.iter().all(|f| !*f), "{said:?}");
}
