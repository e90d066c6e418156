//! Marmot processes on loopback form a cluster over gRPC: the seed's "Testing
//! Replication" flow with the mariadb CLI, on two and on three nodes.

use std::time::Duration;

use marmot_e2e::{eventually, query, Cluster};

/// Changes become visible on every other node within this bound.
const BOUND: Duration = Duration::from_secs(10);

fn replication_flow(n: usize) {
    let c = Cluster::start(n, "", "");
    let nodes = &c.nodes;
    // Schema made on node 1 reaches the others.
    query(nodes[0].mysql, None, "CREATE DATABASE shop");
    query(nodes[0].mysql, Some("shop"), "CREATE TABLE items (id INT PRIMARY KEY, name TEXT)");
    for node in &nodes[1..] {
        eventually(node.mysql, None, "SHOW DATABASES LIKE 'shop'", "Database (shop)\nshop\n", BOUND);
        eventually(node.mysql, Some("shop"), "SELECT count(*) FROM items", "count(*)\n0\n", BOUND);
    }
    // Insert on 1, update on 2, delete on 1.
    query(nodes[0].mysql, Some("shop"), "INSERT INTO items VALUES (1, 'apple')");
    for node in nodes {
        eventually(node.mysql, Some("shop"), "SELECT id, name FROM items", "id\tname\n1\tapple\n", BOUND);
    }
    let out = query(nodes[1].mysql, Some("shop"), "UPDATE items SET name = 'pear' WHERE id = 1; SELECT ROW_COUNT()");
    assert_eq!(out, "ROW_COUNT()\n1\n");
    for node in nodes {
        eventually(node.mysql, Some("shop"), "SELECT name FROM items WHERE id = 1", "name\npear\n", BOUND);
    }
    query(nodes[n - 1].mysql, Some("shop"), "INSERT INTO items VALUES (2, 'fig')");
    query(nodes[0].mysql, Some("shop"), "DELETE FROM items WHERE id = 1");
    for node in nodes {
        eventually(node.mysql, Some("shop"), "SELECT group_concat(name) AS names FROM items", "names\nfig\n", BOUND);
    }
    // Schema changes keep flowing: a column added on the last node is usable on node 1.
    query(nodes[n - 1].mysql, Some("shop"), "ALTER TABLE items ADD COLUMN price INT DEFAULT 0");
    eventually(nodes[0].mysql, Some("shop"), "SELECT count(*) FROM items WHERE price = 0", "count(*)\n1\n", BOUND);
    // Each node's copy is a plain SQLite file with the same rows.
    for node in nodes {
        let db = rusqlite::Connection::open(node.dir.join("data/shop.db")).unwrap();
        let names: String = db.query_row("SELECT group_concat(name) FROM items", [], |r| r.get(0)).unwrap();
        assert_eq!(names, "fig");
    }
}

#[test]
fn seed_replication_flow_on_two_nodes() {
    replication_flow(2);
}

#[test]
fn seed_replication_flow_on_three_nodes() {
    replication_flow(3);
}

#[test]
fn a_transaction_larger_than_a_grpc_message_replicates() {
    let c = Cluster::start(2, "", "");
    let (n1, n2) = (c.nodes[0].mysql, c.nodes[1].mysql);
    query(n1, None, "CREATE DATABASE big; USE big; CREATE TABLE blobs (id INT PRIMARY KEY, v LONGTEXT)");
    // 24 MiB in one row, 36 MiB in one transaction: more than one 16 MiB gRPC message.
    query(
        n1,
        Some("big"),
        "BEGIN; INSERT INTO blobs VALUES (1, REPEAT('x', 25165824)); INSERT INTO blobs VALUES (2, REPEAT('y', 12582912)); COMMIT",
    );
    eventually(
        n2,
        Some("big"),
        "SELECT id, length(v), substr(v, 1, 3) AS head FROM blobs ORDER BY id",
        "id\tlength(v)\thead\n1\t25165824\txxx\n2\t12582912\tyyy\n",
        Duration::from_secs(30),
    );
}
