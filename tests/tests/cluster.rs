//! Three marmot processes on loopback form a cluster over gRPC.

use std::time::{Duration, Instant};

use marmot_e2e::{mariadb, ClusterNode};

fn query(port: u16, db: Option<&str>, sql: &str) -> String {
    let (ok, out, err) = mariadb(port, "root", None, db, sql);
    assert!(ok, "{sql}: {err}");
    out
}

/// Retry `sql` on `port` until its output is `want` (writes may race a node's join).
fn eventually(port: u16, db: Option<&str>, sql: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, out, err) = mariadb(port, "root", None, db, sql);
        if ok && out == want {
            return;
        }
        assert!(Instant::now() < deadline, "{sql} on port {port}: got {out:?} {err}, want {want:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rows_written_on_any_node_reach_every_node() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut seed = ClusterNode::configure(dirs[0].path(), 1, None, "");
    seed.start();
    let mut nodes = vec![seed];
    for (i, d) in dirs.iter().enumerate().skip(1) {
        let mut n = ClusterNode::configure(d.path(), i as u64 + 1, Some(nodes[0].grpc), "");
        n.start();
        nodes.push(n);
    }
    // A joining node refuses writes until it has caught up; the seed answers once it
    // sees a quorum of its members.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, _, err) = mariadb(nodes[0].mysql, "root", None, None, "CREATE DATABASE shop");
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the cluster never accepted a write: {err}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Schema changes made on one node reach the others.
    query(nodes[0].mysql, Some("shop"), "CREATE TABLE items (id INT PRIMARY KEY, name TEXT)");
    for n in &nodes[1..] {
        eventually(n.mysql, None, "SHOW DATABASES LIKE 'shop'", "Database (shop)\nshop\n");
        eventually(n.mysql, Some("shop"), "SELECT count(*) FROM items", "count(*)\n0\n");
    }
    query(nodes[0].mysql, Some("shop"), "INSERT INTO items VALUES (1, 'apple')");
    for n in &nodes {
        eventually(n.mysql, Some("shop"), "SELECT id, name FROM items", "id\tname\n1\tapple\n");
    }
    eventually(
        nodes[1].mysql,
        Some("shop"),
        "UPDATE items SET name = 'pear' WHERE id = 1; SELECT ROW_COUNT()",
        "ROW_COUNT()\n1\n",
    );
    for n in &nodes {
        eventually(n.mysql, Some("shop"), "SELECT name FROM items WHERE id = 1", "name\npear\n");
    }
    query(nodes[2].mysql, Some("shop"), "INSERT INTO items VALUES (2, 'fig')");
    query(nodes[0].mysql, Some("shop"), "DELETE FROM items WHERE id = 1");
    for n in &nodes {
        eventually(n.mysql, Some("shop"), "SELECT group_concat(name) AS names FROM items", "names\nfig\n");
    }
    // Each node's copy is a plain SQLite file with the same rows.
    for n in &nodes {
        let c = rusqlite::Connection::open(n.dir.join("data/shop.db")).unwrap();
        let names: String = c.query_row("SELECT group_concat(name) FROM items", [], |r| r.get(0)).unwrap();
        assert_eq!(names, "fig");
    }
}
