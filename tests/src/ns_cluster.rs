//! A marmot cluster on [`Network`]: node i in namespace i at 10.77.0.(i+1) (MySQL 3306,
//! node port 8080), clients in the client namespace, and the faults a real host suffers:
//! kill -9 and restart, a pause (SIGSTOP/SIGCONT), a skewed wall clock (libfaketime), and
//! the network's cuts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::netns::Network;
use crate::{marmot_binary, Marmot};

const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// One node: its directory, its clock skew and its process while it runs.
pub struct NsNode {
    /// The running process (None while killed).
    pub process: Option<Marmot>,
    /// Config, data and log.
    pub dir: PathBuf,
    /// Seconds its wall clock is ahead (negative: behind).
    pub skew_s: i64,
    paused: bool,
}

/// The cluster; dropping it kills every node, then deletes the namespaces.
pub struct NsCluster {
    // Field order is drop order: processes first, then the namespaces they live in.
    /// The nodes, node 1 first.
    pub nodes: Vec<NsNode>,
    /// Their network.
    pub net: Network,
    dirs: Vec<tempfile::TempDir>,
}

impl NsCluster {
    /// Start `skews.len()` nodes, node i's wall clock `skews[i]` seconds off, joining
    /// through node 1; wait until node 1 takes a write.
    pub fn start(skews: &[i64]) -> NsCluster {
        Self::start_with(skews, "")
    }

    /// [`NsCluster::start`] with `extra` config lines (after the `[mysql]` section).
    pub fn start_with(skews: &[i64], extra: &str) -> NsCluster {
        let n = skews.len();
        let net = Network::create(n);
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().expect("tempdir")).collect();
        if skews.iter().any(|s| *s != 0) {
            assert!(Path::new(FAKETIME_LIB).exists(), "{FAKETIME_LIB} not found: apt-get install faketime");
        }
        let mut c = NsCluster { nodes: Vec::new(), net, dirs: Vec::new() };
        for (i, d) in dirs.iter().enumerate() {
            let seeds = if i == 0 { String::new() } else { format!("\"{}:8080\"", c.net.addr(0)) };
            std::fs::write(
                d.path().join("config.toml"),
                format!(
                    "node_id = {}\ndata_dir = \"data\"\n[cluster]\ngrpc_bind_address = \"{}\"\ngrpc_port = 8080\n\
                     seed_nodes = [{seeds}]\ngossip_interval_ms = 200\nsuspect_timeout_ms = 1500\ndead_timeout_ms = 3000\n\
                     [mysql]\nbind_address = \"0.0.0.0\"\nport = 3306\n{extra}",
                    i + 1,
                    c.net.addr(i)
                ),
            )
            .expect("config");
            c.nodes.push(NsNode { process: None, dir: d.path().to_path_buf(), skew_s: skews[i], paused: false });
            c.restart(i);
        }
        c.dirs = dirs;
        c.wait_until(0, "CREATE DATABASE IF NOT EXISTS ready", "", Duration::from_secs(30));
        c
    }

    /// Start node `i` again (or for the first time), and wait for its MySQL listener.
    pub fn restart(&mut self, i: usize) {
        let bin = marmot_binary();
        let ns = self.net.ns(i);
        let node = &mut self.nodes[i];
        assert!(node.process.is_none(), "node {} is running", i + 1);
        let args = ["netns", "exec", &ns, bin.to_str().expect("utf-8 path")];
        let skew = format!("{:+}s", node.skew_s);
        let env: Vec<(&str, &str)> = if node.skew_s == 0 {
            Vec::new()
        } else {
            vec![("LD_PRELOAD", FAKETIME_LIB), ("FAKETIME", &skew), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")]
        };
        let before = std::fs::read_to_string(node.dir.join(format!("marmot-{}.log", std::process::id())))
            .map(|l| l.matches("MySQL server listening").count())
            .unwrap_or(0);
        let m = Marmot::start_binary(Path::new("ip"), &node.dir, &args, &env, true);
        let start = Instant::now();
        while m.log().matches("MySQL server listening").count() <= before {
            assert!(start.elapsed() < Duration::from_secs(60), "node {} did not start; log:\n{}", i + 1, m.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        node.process = Some(m);
        node.paused = false;
    }

    /// Kill node `i` with SIGKILL.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut m) = self.nodes[i].process.take() {
            m.signal("KILL");
            let _ = m.wait_exit(Duration::from_secs(10));
        }
    }

    /// Stop node `i` (SIGSTOP: a long GC pause, a frozen VM).
    pub fn pause(&mut self, i: usize) {
        if let Some(m) = &self.nodes[i].process {
            m.signal("STOP");
            self.nodes[i].paused = true;
        }
    }

    /// Let a paused node `i` run again.
    pub fn resume(&mut self, i: usize) {
        if let (Some(m), true) = (&self.nodes[i].process, self.nodes[i].paused) {
            m.signal("CONT");
            self.nodes[i].paused = false;
        }
    }

    /// Every node running, unpaused, fully connected.
    pub fn heal_all(&mut self) {
        self.net.heal();
        for i in 0..self.nodes.len() {
            self.net.set_link(i, true);
            self.resume(i);
            if self.nodes[i].process.is_none() {
                self.restart(i);
            }
        }
    }

    /// Run `sql` on node `i` from the client namespace: (ok, stdout, stderr).
    pub fn sql(&self, i: usize, sql: &str) -> (bool, String, String) {
        let out = Network::command_in(&self.net.client_ns(), "mariadb")
            .args(["--protocol=TCP", "-h", &self.net.addr(i), "-P", "3306", "-u", "root", "--batch", "-N"])
            .args(["--connect-timeout=5", "-e", sql])
            .output()
            .expect("run mariadb (apt-get install mariadb-client)");
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    /// Retry `sql` on node `i` until it succeeds with output `want`; how long it took.
    pub fn wait_until(&self, i: usize, sql: &str, want: &str, within: Duration) -> Duration {
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
        for n in &mut self.nodes {
            if let Some(m) = &n.process {
                if n.paused {
                    m.signal("CONT");
                }
            }
            if std::thread::panicking() {
                if let Some(m) = &n.process {
                    let log = m.log();
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    eprintln!("{} log (last lines first):\n{}", n.dir.display(), tail.join("\n"));
                }
            }
            n.process = None;
        }
        if std::thread::panicking() {
            for d in self.dirs.drain(..) {
                eprintln!("kept node directory {}", d.keep().display());
            }
        }
    }
}
