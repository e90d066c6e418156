//! WordPress 6.1 (Debian's package, served by `php -S`) on a 3-node cluster, each
//! instance talking to its own node, started by the README's
//! `examples/wordpress-cluster/run.sh up`: instance 1 installs, logs in and posts through
//! the REST API; instance 2 shows the post and posts back; a comment and an option change
//! replicate too. Any SQL statement marmot refuses WordPress logs as "WordPress database
//! error … for query …"; the test fails listing them.

use std::process::Command;

use marmot_e2e::{free_port, marmot_binary, require_tool, workspace_root};

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
}
