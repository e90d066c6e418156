//! Operating a cluster: the cluster secret, the admin API and /metrics on the node port.

use std::time::{Duration, Instant};

use marmot_e2e::{eventually, mariadb, query, Cluster, ClusterNode};
use serde_json::Value;

const SECRET: &str = "correct horse battery staple";

fn json(node: &ClusterNode, method: &str, path: &str) -> (u16, Value) {
    let (status, body) = node.http(method, path, Some(SECRET));
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body:?}")))
}

/// `name{labels}` → value, from a Prometheus text exposition (checking every line).
fn parse_metrics(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix('#') {
            assert!(rest.starts_with(" HELP ") || rest.starts_with(" TYPE "), "bad comment line {line:?}");
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {line:?}"));
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()), "bad name in {line:?}");
        out.insert(name.to_string(), v);
    }
    out
}

fn members_in(node: &ClusterNode, status: &str) -> Vec<u64> {
    let (_, v) = json(node, "GET", "/admin/cluster/members");
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["Status"] == status)
        .map(|m| m["NodeID"].as_u64().unwrap())
        .collect()
}

fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "{what} did not happen within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn admin_api_needs_the_secret_and_manages_membership() {
    let c = Cluster::start(3, SECRET, "");
    let (n1, n2) = (&c.nodes[0], &c.nodes[1]);
    // No header, or a wrong one: 401.
    assert_eq!(n1.http("GET", "/admin/cluster/members", None).0, 401);
    assert_eq!(n1.http("GET", "/admin/cluster/members", Some("wrong")).0, 401);
    assert_eq!(n1.http("POST", "/admin/cluster/remove/2", Some("wrong")).0, 401);
    wait_until("all three ALIVE", Duration::from_secs(20), || members_in(n1, "ALIVE").len() == 3);
    let (status, v) = json(n1, "GET", "/admin/cluster/members");
    assert_eq!(status, 200);
    assert_eq!(v["total_membership"], 3);
    assert_eq!(v["alive_count"], 3);
    assert_eq!(v["quorum_size"], 2);
    assert_eq!(v["local_node_id"], 1);
    let m = &v["members"][1];
    assert_eq!(m["NodeID"], 2);
    assert_eq!(m["Address"], format!("127.0.0.1:{}", n2.grpc));
    assert!(m["Incarnation"].as_u64().is_some(), "{m}");
    // Removing the local node is refused.
    let (status, v) = json(n1, "POST", "/admin/cluster/remove/1");
    assert_eq!((status, &v["success"]), (400, &Value::Bool(false)), "{v}");
    // Remove node 3: quorum shrinks, the state spreads by gossip, writes go on.
    let (status, v) = json(n1, "POST", "/admin/cluster/remove/3");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "node 3 marked as REMOVED");
    assert_eq!(v["total_membership"], 2);
    assert_eq!(v["quorum_size"], 2);
    wait_until("node 2 sees node 3 REMOVED", Duration::from_secs(10), || members_in(n2, "REMOVED") == vec![3]);
    // The removed node learns it too (its gossip is answered with the news), so its
    // clients hear why their writes fail instead of waiting out a timeout.
    let n3 = &c.nodes[2];
    wait_until("node 3 knows it was removed", Duration::from_secs(10), || members_in(n3, "REMOVED") == vec![3]);
    let (ok, _, err) = mariadb(n3.mysql, "root", None, None, "CREATE DATABASE on_removed_node");
    assert!(!ok && err.contains("1290") && err.contains("removed"), "{err}");
    query(n1.mysql, None, "CREATE DATABASE after_removal");
    // Node 3 no longer receives writes.
    std::thread::sleep(Duration::from_secs(1));
    let (_, out, _) = mariadb(c.nodes[2].mysql, "root", None, None, "SHOW DATABASES LIKE 'after_removal'");
    assert_eq!(out, "", "a REMOVED node received a write");
    // Allow it back.
    let (status, v) = json(n1, "POST", "/admin/cluster/allow/3");
    assert_eq!(
        (status, &v["success"], &v["message"]),
        (200, &Value::Bool(true), &Value::from("node 3 allowed to rejoin cluster"))
    );
    wait_until("node 3 back", Duration::from_secs(20), || !members_in(n1, "REMOVED").contains(&3));
    eventually(
        c.nodes[2].mysql,
        None,
        "SHOW DATABASES LIKE 'after_removal'",
        "Database (after_removal)\nafter_removal\n",
        Duration::from_secs(20),
    );
}

#[test]
fn metrics_are_prometheus_text_and_move_with_traffic() {
    let c = Cluster::start(2, SECRET, "");
    let n1 = &c.nodes[0];
    let (status, text) = n1.http("GET", "/metrics", None);
    assert_eq!(status, 200, "{text}");
    let before = parse_metrics(&text);
    for name in [
        "marmot_transactions_total{result=\"committed\"}",
        "marmot_prepare_latency_seconds_count",
        "marmot_commit_latency_seconds_bucket{le=\"+Inf\"}",
        "marmot_members{state=\"ALIVE\"}",
        "marmot_bytes_sent_total",
        "marmot_mysql_connections",
        "marmot_statements_total{kind=\"insert\"}",
    ] {
        assert!(before.contains_key(name), "{name} missing from /metrics:\n{text}");
    }
    query(n1.mysql, None, "CREATE DATABASE m; USE m; CREATE TABLE t (id INT PRIMARY KEY)");
    for i in 0..5 {
        query(n1.mysql, Some("m"), &format!("INSERT INTO t VALUES ({i})"));
    }
    let after = parse_metrics(&n1.http("GET", "/metrics", None).1);
    let grew = |name: &str, by: f64| {
        assert!(after[name] >= before[name] + by, "{name}: {} → {}", before[name], after[name]);
    };
    grew("marmot_transactions_total{result=\"committed\"}", 7.0);
    grew("marmot_commit_latency_seconds_count", 7.0);
    grew("marmot_prepare_latency_seconds_count", 7.0);
    grew("marmot_statements_total{kind=\"insert\"}", 5.0);
    grew("marmot_bytes_sent_total", 100.0);
    grew("marmot_bytes_received_total", 100.0);
    grew("marmot_mysql_connections_total", 6.0);
    assert_eq!(after["marmot_members{state=\"ALIVE\"}"], 2.0);
    let metrics_off = "[prometheus]\nenabled = false\n";
    let off = Cluster::start(1, "", metrics_off);
    assert_eq!(off.nodes[0].http("GET", "/metrics", None).0, 404);
}

#[test]
fn nodes_with_different_secrets_never_exchange_data() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut a = ClusterNode::configure(dirs[0].path(), 1, None, "").with_secret("alpha");
    a.start();
    let mut b = ClusterNode::configure(dirs[1].path(), 2, Some(a.grpc), "").with_secret("beta");
    b.start();
    query(a.mysql, None, "CREATE DATABASE only_a; USE only_a; CREATE TABLE t (x INT); INSERT INTO t VALUES (1)");
    query(b.mysql, None, "CREATE DATABASE only_b");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(query(b.mysql, None, "SHOW DATABASES LIKE 'only_a'"), "");
    assert_eq!(query(a.mysql, None, "SHOW DATABASES LIKE 'only_b'"), "");
    assert!(a.log().contains("invalid cluster secret"), "node 1 did not log the refusal:\n{}", a.log());
    assert!(b.log().contains("invalid cluster secret"), "node 2 did not log the refusal:\n{}", b.log());
    // Each sees only itself.
    for (n, secret) in [(&a, "alpha"), (&b, "beta")] {
        let (status, body) = n.http("GET", "/admin/cluster/members", Some(secret));
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["members"].as_array().unwrap().len(), 1, "{v}");
        // The other node's secret does not open this node's admin API.
        let other = if secret == "alpha" { "beta" } else { "alpha" };
        assert_eq!(n.http("GET", "/admin/cluster/members", Some(other)).0, 401);
    }
}

/// `GET /health` (no secret needed, for load balancers): 200 while the node is ALIVE
/// and sees a quorum; 503 with the reason when it does not (the survivor of a 3-node
/// cluster with two nodes killed), and 200 again once a peer is back.
#[test]
fn health_is_200_with_a_quorum_and_503_with_the_reason_without() {
    let mut c = Cluster::start(3, SECRET, "");
    let health = |node: &ClusterNode| {
        let (status, body) = node.http("GET", "/health", None);
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("/health: {e}: {body:?}"));
        (status, v)
    };
    wait_until("all three ALIVE", Duration::from_secs(20), || members_in(&c.nodes[0], "ALIVE").len() == 3);
    for node in &c.nodes {
        let (status, v) = health(node);
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            (&v["healthy"], &v["state"], &v["quorum_size"]),
            (&Value::Bool(true), &Value::from("ALIVE"), &Value::from(2))
        );
        assert!(v["reason"].is_null(), "{v}");
    }
    c.nodes[1].kill9();
    c.nodes[2].kill9();
    wait_until("node 1 to report no quorum", Duration::from_secs(30), || health(&c.nodes[0]).0 == 503);
    let (_, v) = health(&c.nodes[0]);
    assert_eq!(v["healthy"], false);
    assert!(v["reason"].as_str().unwrap_or("").contains("minority side of a partition"), "{v}");
    c.nodes[1].start();
    wait_until("node 1 healthy again", Duration::from_secs(40), || health(&c.nodes[0]).0 == 200);
}
