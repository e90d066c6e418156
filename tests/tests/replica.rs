//! Read-only replicas on real processes: a 3-node cluster and two replicas, one of all
//! databases knowing only node 1, one of `shop*` knowing nodes 2 and 3 (with the secret
//! in `[replica] secret`). Writes on the cluster are read on the replicas; a write or DDL
//! on a replica gets MySQL's read-only error 1290; node 1 is killed and the replica that
//! followed it moves to another member; a database created later appears on the replicas
//! that want it, and only there.

use std::time::Duration;

use std::time::Instant;

use marmot_e2e::{mariadb, query, Cluster, ClusterNode};
use serde_json::Value;

const SECRET: &str = "replica secret";
const T: Duration = Duration::from_secs(30);

fn replica(dir: &std::path::Path, id: u64, follow: &[u16], extra: &str) -> ClusterNode {
    let follow: Vec<String> = follow.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    let cfg = format!(
        "[replica]\nenabled = true\nfollow_addresses = [{}]\nfailover_timeout_seconds = 3\nreconnect_interval_seconds = 1\n\
         reconnect_max_backoff_seconds = 2\ndatabase_discovery_interval_seconds = 1\ndiscovery_interval_seconds = 1\n{extra}",
        follow.join(", ")
    );
    ClusterNode::configure(dir, id, None, &cfg)
}

/// The rows `sql` returns on `port`, without the header line.
fn rows_of(port: u16, db: Option<&str>, sql: &str) -> String {
    query(port, db, sql).lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// Wait until `sql` on `port` returns `want` (rows without the header); how long it took.
fn eventually(port: u16, db: Option<&str>, sql: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (ok, out, err) = mariadb(port, "root", None, db, sql);
        let got = out.lines().skip(1).collect::<Vec<_>>().join("\n");
        if ok && got == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{sql} on port {port}: got {got:?} {err}, want {want:?} within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(node: &ClusterNode) -> Value {
    let (code, body) = node.http("GET", "/admin/cluster/status", Some(SECRET));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("status JSON")
}

#[test]
fn replicas_follow_the_cluster_refuse_writes_and_fail_over() {
    let mut c = Cluster::start(3, SECRET, "");
    let n1 = c.nodes[0].mysql;
    query(n1, None, "CREATE DATABASE shop");
    query(n1, Some("shop"), "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2))");
    query(n1, Some("shop"), "INSERT INTO items VALUES (1, 'tea', 3.50), (2, 'cake', 2.00), (3, NULL, 0.10)");
    query(n1, None, "CREATE DATABASE audit");
    query(n1, Some("audit"), "CREATE TABLE events (id INT PRIMARY KEY, what TEXT)");
    query(n1, Some("audit"), "INSERT INTO events VALUES (1, 'opened')");

    let (d_all, d_shop) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Replica 11 knows only node 1 and signs with the cluster secret from the environment;
    // replica 12 knows nodes 2 and 3, replicates shop* only, and has the secret in its file.
    let mut all = replica(d_all.path(), 11, &[c.nodes[0].grpc], "").with_secret(SECRET);
    let shop_cfg = format!("replicate_databases = [\"shop*\"]\nsecret = \"{SECRET}\"\n");
    let mut shop = replica(d_shop.path(), 12, &[c.nodes[1].grpc, c.nodes[2].grpc], &shop_cfg);
    all.start();
    shop.start();

    let rows = "SELECT id, IFNULL(name, 'NULL'), price FROM items ORDER BY id";
    let want = "1\ttea\t3.50\n2\tcake\t2.00\n3\tNULL\t0.10";
    for r in [&all, &shop] {
        eventually(r.mysql, Some("shop"), rows, want, T);
    }
    eventually(all.mysql, Some("audit"), "SELECT what FROM events", "opened", T);
    assert_eq!(rows_of(shop.mysql, None, "SHOW DATABASES LIKE 'audit'"), "", "the shop* replica has no audit");
    // The replica's file is a plain SQLite database local programs may read.
    let file = d_all.path().join("data").join("shop.db");
    let conn = rusqlite::Connection::open(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let n: i64 = conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0)).expect("read the replica's file");
    assert_eq!(n, 3);

    // Writes on any member reach both replicas, in order.
    let n2 = c.nodes[1].mysql;
    query(n2, Some("shop"), "UPDATE items SET price = price + 1 WHERE id = 1");
    query(n2, Some("shop"), "DELETE FROM items WHERE id = 3");
    query(n2, Some("shop"), "INSERT INTO items VALUES (4, 'pie', 4.25)");
    let want = "1\ttea\t4.50\n2\tcake\t2.00\n4\tpie\t4.25";
    for r in [&all, &shop] {
        let took = eventually(r.mysql, Some("shop"), rows, want, T);
        eprintln!("replica on port {} level after {took:?}", r.mysql);
    }

    // A replica refuses every write and DDL with MySQL's read-only error, and its data
    // stays as it was.
    for sql in [
        "INSERT INTO items VALUES (9, 'x', 1)",
        "UPDATE items SET price = 0",
        "DELETE FROM items",
        "CREATE TABLE t2 (a INT)",
        "DROP TABLE items",
        "ALTER TABLE items ADD COLUMN z INT",
        "TRUNCATE TABLE items",
        "CREATE DATABASE nope",
    ] {
        let (ok, _, err) = mariadb(all.mysql, "root", None, Some("shop"), sql);
        assert!(!ok && err.contains("ERROR 1290") && err.contains("read-only"), "{sql}: {err}");
    }
    assert_eq!(rows_of(all.mysql, Some("shop"), rows), want);
    assert_eq!(rows_of(all.mysql, None, "SHOW DATABASES LIKE 'nope'"), "");

    // Status and metrics name the source and the lag.
    let s = status(&all);
    assert_eq!(s["replica"]["source"], 1, "{s}");
    let dbs = s["replica"]["databases"].as_array().expect("databases").clone();
    assert!(dbs.iter().any(|d| d["database"] == "shop" && d["state"] == "following"), "{s}");
    let (_, metrics) = all.http("GET", "/metrics", None);
    assert!(metrics.contains("marmot_replica_source 1"), "{metrics}");
    assert!(metrics.contains("marmot_replica_lag_transactions{database=\"shop\"}"), "{metrics}");

    // Node 1, the only address replica 11 was given, dies: it follows another member.
    c.nodes[0].kill9();
    query(n2, Some("shop"), "INSERT INTO items VALUES (5, 'scone', 1.75)");
    let want = "1\ttea\t4.50\n2\tcake\t2.00\n4\tpie\t4.25\n5\tscone\t1.75";
    let took = eventually(all.mysql, Some("shop"), rows, want, T);
    eprintln!("replica 11 failed over and caught up {took:?} after the write");
    let s = status(&all);
    assert_ne!(s["replica"]["source"], 1, "{s}");
    assert!(s["replica"]["failovers"].as_u64() >= Some(1), "{s}");
    assert!(all.log().contains("replica follows a member"), "the failover is logged");

    // A database created later appears where the filter wants it.
    let n3 = c.nodes[2].mysql;
    query(n3, None, "CREATE DATABASE shop_eu");
    query(n3, Some("shop_eu"), "CREATE TABLE stock (sku INT PRIMARY KEY, qty INT)");
    query(n3, Some("shop_eu"), "INSERT INTO stock VALUES (7, 70)");
    query(n3, None, "CREATE DATABASE billing");
    query(n3, Some("billing"), "CREATE TABLE bills (id INT PRIMARY KEY)");
    query(n3, Some("billing"), "INSERT INTO bills VALUES (1)");
    for r in [&all, &shop] {
        eventually(r.mysql, Some("shop_eu"), "SELECT qty FROM stock", "70", T);
    }
    eventually(all.mysql, Some("billing"), "SELECT count(*) FROM bills", "1", T);
    assert_eq!(rows_of(shop.mysql, None, "SHOW DATABASES LIKE 'billing'"), "");

    // Node 1 comes back; nothing the replicas show was lost or doubled.
    c.nodes[0].start();
    query(n2, Some("shop"), "INSERT INTO items VALUES (6, 'bun', 0.80)");
    for r in [&all, &shop] {
        eventually(r.mysql, Some("shop"), "SELECT count(*), SUM(price) FROM items", "5\t13.30", T);
    }
    all.kill9();
    shop.kill9();
}
