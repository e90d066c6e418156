//! The `marmot` command line against real processes: `config check`, and `cluster
//! status | remove | allow` through a node's admin API, with the exit codes scripts use
//! (0 done, 1 the node refused or could not be reached, 2 usage or configuration).

use std::process::Command;
use std::time::{Duration, Instant};

use marmot_e2e::{marmot_binary, query, Cluster};
use serde_json::Value;

const SECRET: &str = "correct horse battery staple";

/// Run `marmot ARGS` in `dir` with `env`: (exit code, stdout, stderr).
fn marmot(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(marmot_binary())
        .args(args)
        .current_dir(dir)
        .env_remove("MARMOT_CLUSTER_SECRET")
        .envs(env.iter().copied())
        .output()
        .expect("run marmot");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn config_check_prints_the_effective_values_or_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.toml"),
        "node_id = 4\n[cluster]\ncluster_secret = \"hush\"\n[transaction]\nmax_transaction_rows = 7\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[mysql]\nprot = 3306\n").unwrap();
    let (code, out, err) = marmot(dir.path(), &["config", "check", "good.toml"], &[]);
    assert_eq!(code, 0, "{err}");
    let effective: toml::Value = toml::from_str(&out).unwrap_or_else(|e| panic!("not TOML ({e}): {out}"));
    assert_eq!(effective["node_id"].as_integer(), Some(4));
    assert_eq!(effective["transaction"]["max_transaction_rows"].as_integer(), Some(7));
    // Defaults are shown, the secret is not.
    assert_eq!(effective["mysql"]["port"].as_integer(), Some(3306));
    assert_eq!(effective["cluster"]["cluster_secret"].as_str(), Some("<set>"));
    assert!(!out.contains("hush"), "{out}");
    let (code, _, err) = marmot(dir.path(), &["config", "check", "bad.toml"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("prot"), "the error names the key: {err}");
    let (code, _, err) = marmot(dir.path(), &["config", "frobnicate"], &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn cluster_commands_show_and_change_membership_through_any_node() {
    let c = Cluster::start(3, SECRET, "");
    let dir = tempfile::tempdir().unwrap();
    let node = format!("127.0.0.1:{}", c.nodes[0].grpc);
    let secret = [("MARMOT_CLUSTER_SECRET", SECRET)];
    let status = |json: bool| {
        let mut args = vec!["cluster", "--node", &node, "status"];
        if json {
            args.insert(1, "--json");
        }
        marmot(dir.path(), &args, &secret)
    };
    let start = Instant::now();
    let v: Value = loop {
        let (code, out, err) = status(true);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        if v["alive_count"] == 3 {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "three ALIVE members never shown: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        (&v["quorum_size"], &v["local_node_id"], &v["healthy"]),
        (&Value::from(2), &Value::from(1), &Value::Bool(true))
    );
    assert_eq!(v["members"].as_array().map(Vec::len), Some(3), "{v}");
    // Writes through node 1 show in its writes/s within the sampling window.
    query(c.nodes[0].mysql, None, "CREATE DATABASE w; CREATE TABLE w.t (id INT PRIMARY KEY)");
    for i in 0..20 {
        query(c.nodes[0].mysql, Some("w"), &format!("INSERT INTO t VALUES ({i})"));
    }
    let start = Instant::now();
    while serde_json::from_str::<Value>(&status(true).1).map_or(0.0, |v| v["writes_per_second"].as_f64().unwrap_or(0.0))
        <= 0.0
    {
        assert!(start.elapsed() < Duration::from_secs(10), "writes/s stayed 0 after 22 commits");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, table, _) = status(false);
    assert_eq!(code, 0);
    assert!(table.contains("writes/s"), "{table}");
    assert!(table.contains("sees 3 of 3 members ALIVE") && table.matches("ALIVE").count() >= 4, "{table}");

    let (code, out, err) = marmot(dir.path(), &["cluster", "--node", &node, "remove", "3"], &secret);
    assert_eq!((code, out.trim()), (0, "node 3 marked as REMOVED"), "{err}");
    let (_, table, _) = status(false);
    assert!(table.contains("REMOVED"), "{table}");
    let (code, out, err) = marmot(dir.path(), &["cluster", "--node", &node, "allow", "3"], &secret);
    assert_eq!((code, out.trim()), (0, "node 3 allowed to rejoin cluster"), "{err}");
    // Refusals and failures: exit 1 with the node's reason.
    let (code, _, err) = marmot(dir.path(), &["cluster", "--node", &node, "remove", "1"], &secret);
    assert_eq!(code, 1);
    assert!(err.contains("400"), "{err}");
    let (code, _, err) =
        marmot(dir.path(), &["cluster", "--node", &node, "status"], &[("MARMOT_CLUSTER_SECRET", "wrong")]);
    assert_eq!(code, 1);
    assert!(err.contains("401") && err.contains("X-Marmot-Secret"), "{err}");
    let (code, _, err) = marmot(dir.path(), &["cluster", "--node", "127.0.0.1:1", "status"], &secret);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach"), "{err}");
}
