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
    // A replica's members may come from the command line, as in the seed.
    std::fs::write(dir.path().join("replica.toml"), "[replica]\nenabled = true\n").unwrap();
    let (code, _, err) = marmot(dir.path(), &["config", "check", "replica.toml"], &[]);
    assert_eq!(code, 2, "a replica with nothing to follow is refused: {err}");
    assert!(err.contains("replica.follow_addresses"), "{err}");
    let args = ["--follow-addresses=n1:8080,n2:8080", "config", "check", "replica.toml"];
    let (code, out, err) = marmot(dir.path(), &args, &[]);
    assert_eq!(code, 0, "{err}");
    let effective: toml::Value = toml::from_str(&out).unwrap_or_else(|e| panic!("not TOML ({e}): {out}"));
    let follow = effective["replica"]["follow_addresses"].as_array().expect("follow_addresses");
    assert_eq!(follow.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>(), ["n1:8080", "n2:8080"]);
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

#[test]
fn verify_agrees_while_writes_go_on_and_names_a_table_changed_behind_marmots_back() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let mut c = Cluster::start(3, SECRET, "");
    let dir = tempfile::tempdir().unwrap();
    let node = format!("127.0.0.1:{}", c.nodes[0].grpc);
    let secret = [("MARMOT_CLUSTER_SECRET", SECRET)];
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--node", &node];
        args.extend_from_slice(extra);
        marmot(dir.path(), &args, &secret)
    };
    let mut setup = String::from(
        "CREATE DATABASE v; CREATE TABLE v.a (id INT PRIMARY KEY, n INT); CREATE TABLE v.b (x TEXT);\
         CREATE DATABASE w; CREATE TABLE w.c (id INT PRIMARY KEY, s TEXT); INSERT INTO w.c VALUES (1, 'one');",
    );
    setup += &(0..200).map(|i| format!("INSERT INTO v.a VALUES ({i}, 0);")).collect::<String>();
    setup += &(0..10).map(|i| format!("INSERT INTO v.b VALUES ('row {i}');")).collect::<String>();
    query(c.nodes[0].mysql, None, &setup);
    marmot_e2e::eventually(
        c.nodes[2].mysql,
        Some("v"),
        "SELECT COUNT(*) FROM a",
        "COUNT(*)\n200\n",
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(1));

    // Writes through node 2 go on (updates of settled rows and new rows) during the check.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, port) = (stop.clone(), written.clone(), c.nodes[1].mysql);
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                query(
                    port,
                    Some("v"),
                    &format!("UPDATE a SET n = n + 1 WHERE id = {}; INSERT INTO a VALUES ({}, {i})", i % 200, 1000 + i),
                );
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    while written.load(Ordering::Relaxed) < 5 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, out, err) = verify(&[]);
    let during = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("all 3 tables agree on nodes 1, 2, 3"), "{out}");
    // The rows settled before the check are compared; only those written since are left out.
    let rows_of = |out: &str, table: &str| -> u64 {
        let line = out.lines().find(|l| l.split_whitespace().nth(1) == Some(table)).unwrap_or_else(|| panic!("{out}"));
        line.split_whitespace().nth(2).and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    };
    assert!(rows_of(&out, "a") >= 150 && rows_of(&out, "b") == 10 && rows_of(&out, "c") == 1, "{out}");
    assert!(during > 5, "the writer stalled during the check: {during} writes");

    // A program writing node 3's file directly (not through marmot) makes it differ (a
    // row the writer did not touch, and settled: older than the check's cutoff).
    assert!(written.load(Ordering::Relaxed) < 150, "the writer reached the row the test changes");
    std::thread::sleep(Duration::from_secs(1));
    let file = c.nodes[2].dir.join("data/v.db");
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(conn.execute("UPDATE a SET n = n + 1000 WHERE id = 199", []).unwrap(), 1);
    drop(conn);
    let (code, out, _) = verify(&[]);
    assert_eq!(code, 1, "{out}");
    let line = out.lines().find(|l| l.starts_with("v ") && l.contains(" a ")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("DIFFERS") && line.contains("node 3:"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("w ") && l.contains("same on all")), "{out}");
    assert!(out.contains("do NOT agree: 1 of 3 tables differ"), "{out}");
    // Only database w: it agrees.
    let (code, out, err) = verify(&["--database", "w"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("all 1 tables agree"), "{out}");
    let (code, out, _) = verify(&["--json", "--database", "v"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!((code, &v["agree"]), (1, &Value::Bool(false)), "{out}");
    // A member that is down cannot be checked: no agreement is claimed.
    c.nodes[2].kill9();
    let start = Instant::now();
    let out = loop {
        let (code, out, _) = verify(&["--database", "w"]);
        if out.contains("node 3 not checked") {
            assert_eq!(code, 1, "{out}");
            break out;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "node 3 still checked after it was killed: {out}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(!out.contains("tables agree"), "{out}");
    let (code, _, err) = marmot(dir.path(), &["verify", "--node", &node], &[("MARMOT_CLUSTER_SECRET", "wrong")]);
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
}

#[test]
fn drain_finishes_open_transactions_refuses_new_work_leaves_and_can_rejoin() {
    let c = Cluster::start(3, SECRET, "");
    let dir = tempfile::tempdir().unwrap();
    let secret = [("MARMOT_CLUSTER_SECRET", SECRET)];
    let node = |i: usize| format!("127.0.0.1:{}", c.nodes[i].grpc);
    query(c.nodes[0].mysql, None, "CREATE DATABASE dr; CREATE TABLE dr.t (id INT PRIMARY KEY, who TEXT)");
    marmot_e2e::eventually(
        c.nodes[2].mysql,
        None,
        "SHOW DATABASES LIKE 'dr'",
        "Database (dr)\ndr\n",
        Duration::from_secs(20),
    );

    // A client of node 3 has a transaction open when the drain starts; it commits 3 s later.
    let marker = dir.path().join("open");
    let script = format!(
        "import sys, time, pymysql\n\
         c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='root', database='dr')\n\
         cur = c.cursor()\n\
         cur.execute('BEGIN')\n\
         cur.execute(\"INSERT INTO t VALUES (1, 'open before the drain')\")\n\
         open({:?}, 'w').close()\n\
         time.sleep(3)\n\
         c.commit()\n\
         print('committed')\n",
        marker.display().to_string()
    );
    let port3 = c.nodes[2].mysql;
    let client = std::thread::spawn(move || marmot_e2e::python(port3, &script));
    let start = Instant::now();
    while !marker.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "the client never opened its transaction");
        std::thread::sleep(Duration::from_millis(20));
    }
    let drain = {
        let (bin, n3, d) = (marmot_binary(), node(2), dir.path().to_path_buf());
        std::thread::spawn(move || {
            Command::new(bin)
                .args(["cluster", "--node", &n3, "drain", "--timeout-seconds", "20"])
                .current_dir(d)
                .env("MARMOT_CLUSTER_SECRET", SECRET)
                .output()
                .expect("run marmot")
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // While it drains: new work gets 1053 (reconnect elsewhere), health says why.
    let (ok, _, err) = marmot_e2e::mariadb(port3, "root", None, Some("dr"), "SELECT COUNT(*) FROM t");
    assert!(!ok && err.contains("1053") && err.contains("draining"), "{err}");
    let (code, body) = c.nodes[2].http("GET", "/health", None);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    let (ok, out, err) = client.join().unwrap();
    assert!(ok && out.contains("committed"), "the open transaction was not let finish: {out}{err}");
    let out = drain.join().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("node 3 drained and left the cluster (1 transactions in flight finished"), "{stdout}");
    // It left: the others count two members, and write without it.
    let status = |i: usize| -> Value {
        let (_, out, _) = marmot(dir.path(), &["cluster", "--json", "--node", &node(i), "status"], &secret);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    };
    let v = status(0);
    assert_eq!((&v["total_membership"], &v["quorum_size"]), (&Value::from(2), &Value::from(2)), "{v}");
    assert!(v["members"].as_array().unwrap().iter().any(|m| m["NodeID"] == 3 && m["Status"] == "REMOVED"), "{v}");
    query(c.nodes[0].mysql, Some("dr"), "INSERT INTO t VALUES (2, 'without node 3')");
    assert_eq!(
        query(c.nodes[1].mysql, Some("dr"), "SELECT who FROM t ORDER BY id"),
        "who\nopen before the drain\nwithout node 3\n"
    );
    let (ok, _, err) = marmot_e2e::mariadb(port3, "root", None, None, "SELECT 1");
    assert!(!ok && err.contains("1053"), "{err}");
    let (code, body) = c.nodes[2].http("GET", "/health", None);
    assert!(code == 503 && body.contains("drained"), "{body}");
    let (code, _, err) = marmot(dir.path(), &["cluster", "--node", &node(2), "drain"], &secret);
    assert_eq!(code, 1, "draining twice");
    assert!(err.contains("already"), "{err}");

    // Allowed back from another node, it serves again and catches up.
    let (code, _, err) = marmot(dir.path(), &["cluster", "--node", &node(0), "allow", "3"], &secret);
    assert_eq!(code, 0, "{err}");
    let start = Instant::now();
    while c.nodes[2].http("GET", "/health", None).0 != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "node 3 never healthy again: {:?}",
            c.nodes[2].http("GET", "/health", None)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    marmot_e2e::eventually(port3, Some("dr"), "SELECT COUNT(*) FROM t", "COUNT(*)\n2\n", Duration::from_secs(30));
    query(port3, Some("dr"), "INSERT INTO t VALUES (3, 'through node 3 again')");
    marmot_e2e::eventually(
        c.nodes[0].mysql,
        Some("dr"),
        "SELECT COUNT(*) FROM t",
        "COUNT(*)\n3\n",
        Duration::from_secs(20),
    );
}
