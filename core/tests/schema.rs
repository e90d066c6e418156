//! Schema changes as the protocol carries them: a DDL transaction bumps the database's
//! schema version on every node that applies it (by 2PC or from a log), a row change
//! captured against the old schema is a conflict, and a node behind on the schema pulls
//! from the peer that is ahead.

mod support;

use std::collections::BTreeMap;

use marmot_core::io::Reply;
use marmot_core::types::SCHEMA_TABLE;
use marmot_core::{Consistency, RowKey, WriteError};
use support::{committed, put, value, Cluster};

const Q: Option<Consistency> = Some(Consistency::Quorum);

fn ddl(db: &str, n: i64) -> marmot_core::RowChange {
    let mut r = put(db, n, n);
    r.table = SCHEMA_TABLE.into();
    r.key = RowKey(n.to_be_bytes().to_vec());
    r
}

fn at_schema(mut r: marmot_core::RowChange, v: u64) -> marmot_core::RowChange {
    r.schema_version = v;
    r
}

fn versions(c: &Cluster, n: u64) -> BTreeMap<String, u64> {
    c.node(n).schema_versions().clone()
}

#[test]
fn a_schema_change_moves_every_node_to_the_new_version_and_old_captures_conflict() {
    let mut c = Cluster::of(3);
    assert!(committed(&c.commit(1, vec![ddl("app", 1)], Q)));
    c.run_for(100);
    for n in 1..=3 {
        assert_eq!(versions(&c, n), BTreeMap::from([("app".to_string(), 1)]), "node {n}");
    }
    // Captured before the change: refused; after it: committed. Other databases are not
    // affected.
    assert_eq!(c.commit(2, vec![at_schema(put("app", 1, 1), 0)], Q), Reply::Failed(WriteError::Conflict));
    assert!(committed(&c.commit(2, vec![at_schema(put("app", 1, 2), 1)], Q)));
    assert!(committed(&c.commit(2, vec![put("other", 1, 3)], Q)));
    c.run_for(100);
    assert_eq!(value(&c, 3, "app", 1), Some(2));
}

#[test]
fn a_node_that_missed_a_schema_change_pulls_it_from_a_peer_that_has_it() {
    let mut c = Cluster::of(3);
    assert!(committed(&c.commit(1, vec![put("app", 5, 5)], Some(Consistency::All))));
    c.crash(3);
    assert!(committed(&c.commit(1, vec![ddl("app", 1)], Q)));
    c.restart(3);
    c.run_for(3_000);
    assert_eq!(versions(&c, 3).get("app"), Some(&1));
    assert!(committed(&c.commit(3, vec![at_schema(put("app", 1, 1), 1)], Q)));
    // Restarted again, it remembers the version.
    c.crash(3);
    c.restart(3);
    c.run_for(3_000);
    assert_eq!(versions(&c, 3).get("app"), Some(&1));
}

#[test]
fn a_schema_change_waits_for_row_writes_of_its_database_in_flight() {
    let mut c = Cluster::of(3);
    c.slow_disk.extend([1, 2, 3]);
    let row = c.write(1, vec![put("app", 1, 1)], Q);
    // Staged at node 1, its PREPARE waiting on node 2's disk.
    c.release_disk(1);
    c.drain();
    let change = c.write(2, vec![ddl("app", 1)], Q);
    assert_eq!(c.replies.get(&change), None, "the schema change did not wait");
    for n in 1..=3 {
        c.release_disk(n);
    }
    assert!(committed(&c.answer(row, 1_000).expect("an answer")));
    assert!(committed(&c.answer(change, 1_000).expect("an answer")));
}
