//! Marmot processes on loopback form a cluster over gRPC: the seed's "Testing
//! Replication" flow with the mariadb CLI, on two and on three nodes.

use std::time::Duration;

use marmot_e2e::{eventually, mariadb, query, Cluster};

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

/// `(type, name, sql)` of every user object in a node's copy of `db`, read straight
/// from its SQLite file.
fn schema_of(node: &marmot_e2e::ClusterNode, db: &str) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(node.dir.join(format!("data/{db}.db"))).unwrap();
    let mut st = c
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE '%marmot%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn same_schema_everywhere(c: &Cluster, db: &str) -> Vec<(String, String, String)> {
    let start = std::time::Instant::now();
    loop {
        let schemas: Vec<_> = c.nodes.iter().map(|n| schema_of(n, db)).collect();
        if schemas.iter().all(|s| *s == schemas[0]) {
            return schemas[0].clone();
        }
        assert!(start.elapsed() < BOUND, "schemas differ: {schemas:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run DDL, retrying while another schema change holds the database (1213).
fn ddl_with_retry(port: u16, db: &str, sql: &str) {
    for _ in 0..100 {
        let (ok, _, err) = marmot_e2e::mariadb(port, "root", None, Some(db), sql);
        if ok {
            return;
        }
        assert!(err.contains("1213"), "{sql}: {err}");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{sql} kept conflicting");
}

#[test]
fn schema_changes_from_any_node_reach_every_node_and_concurrent_ones_agree() {
    let c = Cluster::start(3, "", "");
    let port = |i: usize| c.nodes[i].mysql;
    query(port(0), None, "CREATE DATABASE s");
    eventually(port(2), None, "SHOW DATABASES LIKE 's'", "Database (s)\ns\n", BOUND);
    query(port(1), Some("s"), "CREATE TABLE a (id INT PRIMARY KEY, x VARCHAR(20))");
    eventually(port(2), Some("s"), "SELECT count(*) FROM a", "count(*)\n0\n", BOUND);
    query(port(2), Some("s"), "ALTER TABLE a ADD COLUMN y INT DEFAULT 7");
    query(port(0), Some("s"), "CREATE INDEX ax ON a (x)");
    query(port(1), Some("s"), "CREATE TABLE b (id INT PRIMARY KEY)");
    query(port(2), Some("s"), "DROP TABLE b");
    let schema = same_schema_everywhere(&c, "s");
    let names: Vec<&str> = schema.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names, ["ax", "a"], "{schema:#?}");
    assert!(schema[1].2.contains("y INT DEFAULT 7") || schema[1].2.contains("\"y\""), "{schema:#?}");
    query(port(0), Some("s"), "INSERT INTO a (id, x) VALUES (1, 'one')");
    eventually(port(1), Some("s"), "SELECT id, x, y FROM a", "id\tx\ty\n1\tone\t7\n", BOUND);
    // Two nodes add columns to one table at the same time: one waits for the other's
    // lock (no error reaches the client), and every node ends with the same columns.
    let (p1, p2) = (port(1), port(2));
    let t1 = std::thread::spawn(move || {
        (0..6).for_each(|i| {
            query(p1, Some("s"), &format!("ALTER TABLE a ADD COLUMN p{i} INT"));
        })
    });
    let t2 = std::thread::spawn(move || {
        (0..6).for_each(|i| {
            query(p2, Some("s"), &format!("ALTER TABLE a ADD COLUMN q{i} INT"));
        })
    });
    // Row writes keep going meanwhile.
    for i in 2..40 {
        ddl_with_retry(port(0), "s", &format!("INSERT INTO a (id, x) VALUES ({i}, 'r')"));
    }
    t1.join().unwrap();
    t2.join().unwrap();
    let schema = same_schema_everywhere(&c, "s");
    for col in ["p0", "p5", "q0", "q5"] {
        assert!(schema[1].2.contains(col), "column {col} missing: {schema:#?}");
    }
    // Every node reports the same schema version, bumped once per schema change (18 so far:
    // CREATE DATABASE, 2 CREATE TABLE, CREATE INDEX, DROP TABLE and 13 ALTERs).
    for n in &c.nodes {
        let (_, metrics) = n.http("GET", "/metrics", None);
        let line = metrics.lines().find(|l| l.starts_with("marmot_schema_version{database=\"s\"}"));
        assert_eq!(line, Some("marmot_schema_version{database=\"s\"} 18"), "{metrics}");
    }
    for n in &c.nodes {
        eventually(n.mysql, Some("s"), "SELECT count(*) FROM a", "count(*)\n39\n", BOUND);
    }
    // RENAME and TRUNCATE replicate; ALTER DATABASE (charset only) is accepted.
    query(port(0), Some("s"), "RENAME TABLE a TO a2");
    query(port(1), Some("s"), "TRUNCATE TABLE a2");
    query(port(2), None, "ALTER DATABASE s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    for n in &c.nodes {
        eventually(n.mysql, Some("s"), "SELECT count(*) FROM a2", "count(*)\n0\n", BOUND);
    }
    // The MySQL column types moved with the table.
    let cols = query(port(2), Some("s"), "SHOW COLUMNS FROM a2");
    assert!(cols.to_ascii_lowercase().contains("varchar(20)"), "{cols}");
    let (ok, _, err) = mariadb(port(2), "root", None, None, "ALTER DATABASE nope CHARACTER SET utf8mb4");
    assert!(!ok && err.contains("1049"), "{err}");
    // DROP DATABASE on one node removes it everywhere; CREATE DATABASE brings it back empty.
    query(port(1), None, "DROP DATABASE s");
    for n in &c.nodes {
        eventually(n.mysql, None, "SHOW DATABASES LIKE 's'", "", BOUND);
    }
    let (ok, _, err) = mariadb(port(2), "root", None, Some("s"), "SELECT 1");
    assert!(!ok && err.contains("1049"), "a dropped database is still usable: {err}");
    query(port(2), None, "CREATE DATABASE s");
    eventually(port(0), Some("s"), "SHOW TABLES", "", BOUND);
    query(port(0), Some("s"), "CREATE TABLE a (id INT PRIMARY KEY, v TEXT); INSERT INTO a VALUES (1, 'again')");
    eventually(port(1), Some("s"), "SELECT * FROM a", "id\tv\n1\tagain\n", BOUND);
}
