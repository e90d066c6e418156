//! Partitions on real processes: each node in its own network namespace with its own
//! address, cut apart by iptables DROP rules (needs root; fails, saying so, without it).

use std::time::Duration;

use marmot_e2e::ns_cluster::NsCluster;

#[test]
fn the_majority_commits_while_the_minority_refuses_and_all_agree_after_heal() {
    let c = NsCluster::start(&[0, 0, 0]);
    c.wait_until(
        0,
        "CREATE DATABASE IF NOT EXISTS p; CREATE TABLE IF NOT EXISTS p.t (id INT PRIMARY KEY, side TEXT)",
        "",
        Duration::from_secs(30),
    );
    c.wait_until(2, "SELECT COUNT(*) FROM p.t", "0", Duration::from_secs(30));

    // Node 3 alone on one side: nodes 1 and 2 still form a quorum.
    c.net.partition(&[2]);
    for i in 0..5 {
        let (ok, _, err) = c.sql(0, &format!("INSERT INTO p.t VALUES ({i}, 'majority')"));
        assert!(ok, "the majority side refused a write: {err}");
    }
    c.wait_until(1, "SELECT COUNT(*) FROM p.t", "5", Duration::from_secs(20));
    // The minority cannot gather a quorum: its write fails (it must not be acknowledged).
    let (ok, _, err) = c.sql(2, "INSERT INTO p.t VALUES (100, 'minority')");
    assert!(!ok, "node 3 acknowledged a QUORUM write while cut off from both peers");
    eprintln!("minority write refused: {err}");
    assert_eq!(c.sql(2, "SELECT COUNT(*) FROM p.t WHERE side = 'majority'").1, "0", "node 3 saw the majority's writes");

    c.net.heal();
    let took = c.wait_until(2, "SELECT COUNT(*) FROM p.t WHERE side = 'majority'", "5", Duration::from_secs(60));
    eprintln!("node 3 had the majority's writes {took:?} after heal");
    // Every node ends with the same rows: the majority's five, and not the refused one.
    let want = (0..5).map(|i| format!("{i}\tmajority")).collect::<Vec<_>>().join("\n");
    for i in 0..3 {
        c.wait_until(i, "SELECT id, side FROM p.t ORDER BY id", &want, Duration::from_secs(30));
    }
}
