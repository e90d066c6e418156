//! The example scripts start a local three-node cluster on the seed's ports, and the stop
//! script stops exactly the processes they started.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use marmot_e2e::{eventually, marmot_binary, query, workspace_root};

fn script(name: &str, args: &[&str], base: &Path) -> String {
    let out = Command::new("bash")
        .arg(workspace_root().join("examples").join(name))
        .args(args)
        .env("MARMOT_EXAMPLE_DIR", base)
        .env("MARMOT_BIN", marmot_binary())
        .output()
        .expect("run bash");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{name} {args:?} failed:\n{text}");
    text
}

/// Stops the example nodes even when the test fails.
struct Stop<'a>(&'a Path);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join("examples/stop-cluster.sh"))
            .env("MARMOT_EXAMPLE_DIR", self.0)
            .output();
    }
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

#[test]
fn example_scripts_run_a_three_node_cluster_and_stop_only_it() {
    let base = tempfile::tempdir().unwrap();
    let base = base.path();
    let _stop = Stop(base);
    // A process that merely looks like marmot must survive the stop script.
    let mut decoy = Command::new("bash").args(["-c", "exec -a marmot-decoy sleep 60"]).spawn().unwrap();
    assert!(script("start-seed.sh", &[], base).contains("MySQL on 127.0.0.1:3307"));
    script("join-cluster.sh", &["2", "localhost:8081"], base);
    script("join-cluster.sh", &["3", "localhost:8081"], base);
    let usage = Command::new("bash").arg(workspace_root().join("examples/join-cluster.sh")).output().unwrap();
    assert!(!usage.status.success() && String::from_utf8_lossy(&usage.stderr).contains("usage"));
    // The seed's "Testing Replication" steps.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !marmot_e2e::mariadb(3307, "root", None, None, "CREATE DATABASE IF NOT EXISTS demo").0 {
        assert!(std::time::Instant::now() < deadline, "the example cluster never accepted a write");
        std::thread::sleep(Duration::from_millis(200));
    }
    query(3307, Some("demo"), "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(100))");
    query(3307, Some("demo"), "INSERT INTO users VALUES (1, 'alice')");
    eventually(3309, Some("demo"), "SELECT name FROM users", "name\nalice\n", Duration::from_secs(10));
    // A QUORUM write is answered once two of three nodes hold it: node 2 may apply it a
    // moment later, and the next step writes there.
    eventually(3308, Some("demo"), "SELECT name FROM users", "name\nalice\n", Duration::from_secs(10));
    query(3308, Some("demo"), "UPDATE users SET name = 'bob' WHERE id = 1");
    eventually(3307, Some("demo"), "SELECT name FROM users", "name\nbob\n", Duration::from_secs(10));
    let pids: Vec<String> = (1..=3)
        .map(|n| std::fs::read_to_string(base.join(format!("node-{n}/marmot.pid"))).unwrap().trim().to_string())
        .collect();
    assert!(pids.iter().all(|p| alive(p)));
    let out = script("stop-cluster.sh", &[], base);
    assert_eq!(out.matches("stopped node-").count(), 3, "{out}");
    assert!(pids.iter().all(|p| !alive(p)), "a node survived the stop script");
    assert!(decoy.try_wait().unwrap().is_none(), "the stop script killed a process it did not start");
    let _ = decoy.kill();
    let _ = decoy.wait();
    // The data stays until --clean.
    assert!(base.join("node-1/data/demo.db").exists());
    script("stop-cluster.sh", &["--clean"], base);
    assert!(!base.exists());
}
