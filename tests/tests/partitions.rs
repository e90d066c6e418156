//! Partitions on real processes: each node in its own network namespace with its own
//! address, cut apart by iptables DROP rules (needs root; fails, saying so, without it).

use std::path::Path;
use std::time::{Duration, Instant};

use marmot_e2e::netns::Network;
use marmot_e2e::{marmot_binary, Marmot};

struct NsCluster {
    // Field order is drop order: processes first, then the namespaces they live in.
    nodes: Vec<Marmot>,
    net: Network,
    _dirs: Vec<tempfile::TempDir>,
}

impl NsCluster {
    /// `n` nodes, node i at 10.77.0.(i+1) with its ports 3306 (MySQL) and 8080 (node port).
    fn start(n: usize) -> NsCluster {
        let net = Network::create(n);
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().expect("tempdir")).collect();
        let bin = marmot_binary();
        let mut nodes = Vec::new();
        for (i, d) in dirs.iter().enumerate() {
            let seeds = if i == 0 { String::new() } else { format!("\"{}:8080\"", net.addr(0)) };
            std::fs::write(
                d.path().join("config.toml"),
                format!(
                    "node_id = {}\ndata_dir = \"data\"\n[cluster]\ngrpc_bind_address = \"{}\"\ngrpc_port = 8080\n\
                     seed_nodes = [{seeds}]\ngossip_interval_ms = 200\nsuspect_timeout_ms = 1500\ndead_timeout_ms = 3000\n\
                     [mysql]\nbind_address = \"0.0.0.0\"\nport = 3306\n",
                    i + 1,
                    net.addr(i)
                ),
            )
            .expect("config");
            let args = ["netns", "exec", &net.ns(i), bin.to_str().expect("utf-8 path")];
            let node = Marmot::start_binary(Path::new("ip"), d.path(), &args, &[], false);
            node.wait_for_log("MySQL server listening", Duration::from_secs(60));
            nodes.push(node);
        }
        let c = NsCluster { nodes, net, _dirs: dirs };
        c.wait_until(0, "CREATE DATABASE IF NOT EXISTS ready", "", Duration::from_secs(30));
        c
    }

    /// Run `sql` on node `i` from the client namespace: (ok, stdout, stderr).
    fn sql(&self, i: usize, sql: &str) -> (bool, String, String) {
        let out = Network::command_in(&self.net.client_ns(), "mariadb")
            .args(["--protocol=TCP", "-h", &self.net.addr(i), "-P", "3306", "-u", "root", "--batch", "-N"])
            .args(["--connect-timeout=5", "-e", sql])
            .output()
            .expect("run mariadb (apt-get install mariadb-client)");
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    /// Retry `sql` on node `i` until it succeeds with output `want`.
    fn wait_until(&self, i: usize, sql: &str, want: &str, within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let (ok, out, err) = self.sql(i, sql);
            if ok && out == want {
                return start.elapsed();
            }
            assert!(start.elapsed() < within, "node {}: {sql} gave {out:?} {err} for {within:?}, want {want:?}", i + 1);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NsCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (i, n) in self.nodes.iter().enumerate() {
                let log = n.log();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!("node {} log (last lines first):\n{}", i + 1, tail.join("\n"));
            }
        }
    }
}

#[test]
fn the_majority_commits_while_the_minority_refuses_and_all_agree_after_heal() {
    let c = NsCluster::start(3);
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
