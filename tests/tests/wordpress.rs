//! WordPress 6.1 (Debian's package, served by `php -S`) on a 3-node cluster, each
//! instance talking to its own node, started by the README's
//! `examples/wordpress-cluster/run.sh up`: instance 1 installs, logs in and posts through
//! the REST API; instance 2 shows the post and posts back; a comment and an option change
//! replicate too. Any SQL statement marmot refuses WordPress logs as "WordPress database
//! error … for query …"; the test fails listing them.

use std::process::Command;

use std::io::Write;
use std::process::Stdio;

use marmot_e2e::{eventually, free_port, mariadb, marmot_binary, processes_mentioning, require_tool, workspace_root};

/// Runs `run.sh down` however the test ends.
struct Cluster {
    env: Vec<(String, String)>,
    dir: std::path::PathBuf,
}

impl Cluster {
    fn run(&self, cmd: &str) -> std::process::Output {
        Command::new(workspace_root().join("examples/wordpress-cluster/run.sh"))
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run examples/wordpress-cluster/run.sh")
    }

    fn logs(&self, prefix: &str) -> String {
        let mut out = String::new();
        let mut files: Vec<_> = walk(&self.dir)
            .into_iter()
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".log"))
            })
            .collect();
        files.sort();
        for f in files {
            out.push_str(&format!("--- {}\n{}\n", f.display(), std::fs::read_to_string(&f).unwrap_or_default()));
        }
        out
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.ends_with("wordpress") {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("down");
        // Nothing the test started may outlive it: not the nodes, not PHP's workers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut left = processes_mentioning(&self.dir);
        while !left.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
            left = processes_mentioning(&self.dir);
        }
        for (pid, _) in &left {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        if !left.is_empty() && !std::thread::panicking() {
            panic!("`run.sh down` left processes running: {left:#?}");
        }
    }
}

#[test]
fn wordpress_runs_on_three_nodes_and_content_replicates_between_instances() {
    require_tool("php", "apt-get install php-cli php-mysql wordpress");
    require_tool("/usr/share/wordpress/wp-settings.php", "apt-get install wordpress");
    require_tool("curl", "apt-get install curl");
    let python = require_tool("python3", "apt-get install python3");
    let dir = tempfile::tempdir().unwrap();
    let ports = |n: usize| (0..n).map(|_| free_port().to_string()).collect::<Vec<_>>();
    let (wp, mysql, grpc) = (ports(3), ports(3), ports(3));
    let cluster = Cluster {
        env: vec![
            ("MARMOT_WP_DIR".into(), dir.path().display().to_string()),
            ("MARMOT_WP_PORTS".into(), wp.join(" ")),
            ("MARMOT_WP_MYSQL_PORTS".into(), mysql.join(" ")),
            ("MARMOT_WP_GRPC_PORTS".into(), grpc.join(" ")),
            ("MARMOT_BIN".into(), marmot_binary().display().to_string()),
        ],
        dir: dir.path().to_path_buf(),
    };
    let up = cluster.run("up");
    assert!(
        up.status.success(),
        "run.sh up failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr),
        cluster.logs("marmot")
    );
    let flow = Command::new(python)
        .arg(workspace_root().join("tests/compat/wordpress_flow.py"))
        .arg(format!("http://127.0.0.1:{}", wp[0]))
        .arg(format!("http://127.0.0.1:{}", wp[1]))
        .output()
        .expect("run wordpress_flow.py");
    let php_logs = cluster.logs("wordpress-");
    let refused: Vec<&str> = php_logs.lines().filter(|l| l.contains("WordPress database error")).collect();
    assert!(refused.is_empty(), "marmot refused {} statements WordPress sent:\n{}", refused.len(), refused.join("\n"));
    assert!(
        flow.status.success(),
        "the WordPress flow failed:\n{}\n{}\nphp logs:\n{}\nmarmot logs:\n{}",
        String::from_utf8_lossy(&flow.stdout),
        String::from_utf8_lossy(&flow.stderr),
        php_logs.chars().rev().take(20_000).collect::<String>().chars().rev().collect::<String>(),
        cluster.logs("marmot").chars().rev().take(20_000).collect::<String>().chars().rev().collect::<String>()
    );
    assert!(String::from_utf8_lossy(&flow.stdout).contains("WORDPRESS FLOW OK"));
    let ports: Vec<u16> = mysql.iter().map(|p| p.parse().unwrap()).collect();
    dump_restores_through_another_node(ports[0], ports[1]);
}

/// mariadb-dump of the WordPress database from node 1, restored through node 2 into a new
/// database: every table has the same rows, on node 2 and (replicated) on node 1.
fn dump_restores_through_another_node(from: u16, to: u16) {
    let dump = require_tool("mariadb-dump", "apt-get install mariadb-client");
    let client = require_tool("mariadb", "apt-get install mariadb-client");
    let out = Command::new(dump)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &from.to_string(), "-u", "root", "wordpress"])
        .output()
        .expect("run mariadb-dump");
    assert!(out.status.success(), "mariadb-dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let (ok, _, err) = mariadb(to, "root", None, None, "CREATE DATABASE wordpress_copy");
    assert!(ok, "{err}");
    let mut restore = Command::new(client)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &to.to_string(), "-u", "root", "wordpress_copy"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    restore.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let restored = restore.wait_with_output().unwrap();
    assert!(
        restored.status.success(),
        "restoring the dump through node 2 failed: {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let (ok, tables, err) = mariadb(from, "root", None, Some("wordpress"), "SHOW TABLES");
    assert!(ok, "{err}");
    let tables: Vec<&str> = tables.lines().skip(1).collect();
    assert!(tables.len() >= 12, "WordPress tables: {tables:?}");
    for t in tables {
        let (ok, want, err) = mariadb(from, "root", None, None, &format!("SELECT * FROM wordpress.{t} ORDER BY 1"));
        assert!(ok, "{err}");
        let sql = format!("SELECT * FROM wordpress_copy.{t} ORDER BY 1");
        let (ok, got, err) = mariadb(to, "root", None, None, &sql);
        assert!(ok, "{err}");
        assert_eq!(got, want, "table {t} differs after the restore");
        // The restored copy replicates back to node 1.
        eventually(from, None, &sql, &want, std::time::Duration::from_secs(20));
    }
}
