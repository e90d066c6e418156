//! A cluster across slow links: each node advertises a delaying proxy in front of its
//! node port (`[cluster] advertise_address`), so every round trip between two nodes
//! costs the proxies' delay, and a proxy can hold a node's traffic as a partition does.

use std::time::Duration;

use marmot_e2e::netproxy::DelayProxy;
use marmot_e2e::{eventually, python, query, ClusterNode};

/// One-way delay of each proxy: a round trip to a node through its proxy takes 2 × this.
const ONE_WAY_MS: u64 = 10;

struct SlowCluster {
    nodes: Vec<ClusterNode>,
    proxies: Vec<DelayProxy>,
    _dirs: Vec<tempfile::TempDir>,
}

/// `n` nodes, node i reached by its peers only through proxy i (node 1's proxy is the
/// others' seed).
fn slow_cluster(n: usize) -> SlowCluster {
    let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let (mut nodes, mut proxies) = (Vec::<ClusterNode>::new(), Vec::<DelayProxy>::new());
    for (i, d) in dirs.iter().enumerate() {
        let seed = proxies.first().map(|p| p.port);
        let mut node = ClusterNode::configure(d.path(), i as u64 + 1, seed, "");
        let proxy = DelayProxy::start(node.grpc, ONE_WAY_MS, 0, i as u64 + 1);
        node.advertise(proxy.port);
        node.start();
        nodes.push(node);
        proxies.push(proxy);
    }
    let c = SlowCluster { nodes, proxies, _dirs: dirs };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = c.nodes[0].http("GET", "/admin/cluster/members", None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if code == 200 && v["alive_count"].as_u64() == Some(n as u64) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the nodes never all saw each other: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    c
}

impl Drop for SlowCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill9();
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                eprintln!(
                    "node log {}:\n{}",
                    n.dir.display(),
                    n.log().lines().rev().take(40).collect::<Vec<_>>().join("\n")
                );
            }
        }
    }
}

#[test]
fn peers_reach_each_node_at_its_advertised_address_and_pay_its_round_trip() {
    let c = slow_cluster(3);
    // Every node is known by its proxy's address, not its bind address.
    let (_, body) = c.nodes[1].http("GET", "/admin/cluster/members", None);
    let v: serde_json::Value = serde_json::from_str(&body).expect("members JSON");
    let mut addresses: Vec<(u64, String)> = v["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| (m["NodeID"].as_u64().unwrap_or(0), m["Address"].as_str().unwrap_or("").to_string()))
        .collect();
    addresses.sort();
    let want: Vec<(u64, String)> =
        c.proxies.iter().enumerate().map(|(i, p)| (i as u64 + 1, format!("127.0.0.1:{}", p.port))).collect();
    assert_eq!(addresses, want, "members as node 2 knows them");

    // A QUORUM write on node 1 needs another node's vote: at least one round trip
    // through that node's proxy.
    let (ok, out, err) = python(
        c.nodes[0].mysql,
        r#"
import sys, time, pymysql
c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="root", autocommit=True)
cur = c.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS slow")
cur.execute("CREATE TABLE IF NOT EXISTS slow.t (id INT PRIMARY KEY, v TEXT)")
took = []
for i in range(20):
    t = time.monotonic()
    cur.execute("INSERT INTO slow.t VALUES (%s, 'x')", (i,))
    took.append(time.monotonic() - t)
took.sort()
print(round(took[len(took) // 2] * 1000, 1))
"#,
    );
    assert!(ok, "{out}{err}");
    let p50: f64 = out.trim().parse().expect("median ms");
    eprintln!("single-row QUORUM insert through {ONE_WAY_MS} ms proxies: P50 {p50} ms");
    assert!(p50 >= (2 * ONE_WAY_MS) as f64, "a QUORUM commit took {p50} ms, less than one round trip to a peer");
    for n in &c.nodes[1..] {
        eventually(n.mysql, None, "SELECT COUNT(*) FROM slow.t", "COUNT(*)\n20\n", Duration::from_secs(20));
    }
    assert!(c.proxies.iter().all(|p| p.bytes() > 0), "every node was reached through its proxy");
}

#[test]
fn a_stalled_node_misses_writes_and_catches_up_when_its_link_comes_back() {
    let c = slow_cluster(3);
    let first = &c.nodes[0];
    query(first.mysql, None, "CREATE DATABASE IF NOT EXISTS held; CREATE TABLE held.t (id INT PRIMARY KEY)");
    eventually(c.nodes[2].mysql, None, "SELECT COUNT(*) FROM held.t", "COUNT(*)\n0\n", Duration::from_secs(20));
    // Everything sent to node 3 is held (a one-way cut): nodes 1 and 2 are still a quorum.
    c.proxies[2].stall();
    for i in 0..10 {
        query(first.mysql, None, &format!("INSERT INTO held.t VALUES ({i})"));
    }
    eventually(c.nodes[1].mysql, None, "SELECT COUNT(*) FROM held.t", "COUNT(*)\n10\n", Duration::from_secs(20));
    let seen = query(c.nodes[2].mysql, None, "SELECT COUNT(*) FROM held.t");
    assert_eq!(seen, "COUNT(*)\n0\n", "node 3 saw writes while cut off");
    c.proxies[2].resume();
    eventually(c.nodes[2].mysql, None, "SELECT COUNT(*) FROM held.t", "COUNT(*)\n10\n", Duration::from_secs(30));
}
