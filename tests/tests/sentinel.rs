//! Two data nodes and a sentinel (`[cluster] sentinel = true`) on real processes: the
//! sentinel serves no MySQL and its tables stay empty while it records every row's version,
//! and the cluster keeps committing QUORUM writes with either data node down; the node that
//! was down catches up when it returns.

use std::path::Path;
use std::time::{Duration, Instant};

use marmot_e2e::{eventually, query, ClusterNode, Marmot};
use serde_json::Value;

const SECRET: &str = "sentinel secret";

fn status(node: &ClusterNode) -> Value {
    let (code, body) = node.http("GET", "/admin/cluster/status", Some(SECRET));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn count(file: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(file).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn two_data_nodes_and_a_sentinel_survive_the_loss_of_either_data_node() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut n1 = ClusterNode::configure(dirs[0].path(), 1, None, "").with_secret(SECRET);
    n1.start();
    let mut n2 = ClusterNode::configure(dirs[1].path(), 2, Some(n1.grpc), "").with_secret(SECRET);
    n2.start();
    // The sentinel: same configuration plus `sentinel = true`; no MySQL listener to wait for.
    let s = ClusterNode::configure(dirs[2].path(), 3, Some(n1.grpc), "").with_secret(SECRET);
    let config = s.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace("[cluster]\n", "[cluster]\nsentinel = true\n");
    std::fs::write(&config, text).unwrap();
    let sentinel = Marmot::start_env(&s.dir, &[], &[("MARMOT_CLUSTER_SECRET", SECRET)], false);
    sentinel.wait_for_log("marmot node started", Duration::from_secs(60));

    let start = Instant::now();
    loop {
        let v = status(&n1);
        let sentinel_seen =
            v["members"].as_array().unwrap().iter().any(|m| m["NodeID"] == 3 && m["Role"] == "sentinel");
        if v["alive_count"] == 3 && sentinel_seen {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the sentinel never joined as one: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // It serves no MySQL.
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.mysql)).is_err(), "the sentinel listens for MySQL");
    assert!(sentinel.log().contains("sentinel"), "{}", sentinel.log());

    query(n1.mysql, None, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v TEXT)");
    let inserts: String = (0..50).map(|i| format!("INSERT INTO t VALUES ({i}, 'row {i}');")).collect();
    query(n1.mysql, Some("app"), &inserts);
    let within = Duration::from_secs(30);
    eventually(n2.mysql, Some("app"), "SELECT COUNT(*) FROM t", "COUNT(*)\n50\n", within);
    // The sentinel has the table (empty) and every row's version.
    let file = s.dir.join("data/app.db");
    let start = Instant::now();
    while count(&file, "SELECT COUNT(*) FROM __marmot_row_versions WHERE tbl = 't'") < 50 {
        assert!(start.elapsed() < within, "the sentinel never recorded the rows' versions");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(&file, "SELECT COUNT(*) FROM t"), 0, "the sentinel holds table data");

    // Either data node may go: the other commits QUORUM writes with the sentinel's vote.
    for (down, up) in [(1usize, 0usize), (0, 1)] {
        let nodes = [&mut n1, &mut n2];
        nodes[down].kill9();
        let port = nodes[up].mysql;
        let base = if down == 1 { 100 } else { 200 };
        let start = Instant::now();
        loop {
            let (ok, _, err) = marmot_e2e::mariadb(
                port,
                "root",
                None,
                Some("app"),
                &format!("INSERT INTO t VALUES ({base}, 'with node {} down')", down + 1),
            );
            if ok {
                break;
            }
            assert!(start.elapsed() < within, "no QUORUM write with node {} down: {err}", down + 1);
            std::thread::sleep(Duration::from_millis(200));
        }
        for i in 1..10 {
            query(port, Some("app"), &format!("INSERT INTO t VALUES ({}, 'with node {} down')", base + i, down + 1));
        }
        nodes[down].start();
        let want = if down == 1 { "COUNT(*)\n60\n" } else { "COUNT(*)\n70\n" };
        eventually(nodes[down].mysql, Some("app"), "SELECT COUNT(*) FROM t", want, within);
        eventually(nodes[up].mysql, Some("app"), "SELECT COUNT(*) FROM t", want, within);
    }
    assert_eq!(count(&file, "SELECT COUNT(*) FROM t"), 0, "the sentinel holds table data");
    assert_eq!(count(&file, "SELECT COUNT(*) FROM __marmot_row_versions WHERE tbl = 't'"), 70);
    // `marmot verify` compares the data nodes; the sentinel has no tables to compare. The node
    // restarted last may still be SUSPECT in n1's membership view for a moment, and verify
    // checks only the nodes it believes ALIVE, so ask again until both are in.
    let start = Instant::now();
    loop {
        let out = std::process::Command::new(marmot_e2e::marmot_binary())
            .args(["verify", "--node", &format!("127.0.0.1:{}", n1.grpc)])
            .env("MARMOT_CLUSTER_SECRET", SECRET)
            .output()
            .expect("run marmot verify");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.code() == Some(0) && text.contains("agree on nodes 1, 2") {
            break;
        }
        assert!(start.elapsed() < within && !text.contains("DIFFER"), "{text}{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(500));
    }
}
