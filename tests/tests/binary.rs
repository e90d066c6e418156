//! The `marmot` binary as a user starts it.

use std::time::Duration;

use marmot_e2e::{marmot_binary, start_node_with, Marmot};

const T: Duration = Duration::from_secs(30);

fn node_id(log: &str) -> String {
    let line = log.lines().find(|l| l.contains("marmot node started")).expect("start line");
    line.split("node_id=").nth(1).expect("node_id field").split_whitespace().next().expect("value").to_string()
}

#[test]
fn default_start_creates_wal_files_keeps_identity_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // Defaults everywhere except the listener, which tests keep on loopback.
    let (mut m, _) = start_node_with(dir.path(), "", "");
    let first = node_id(&m.log());
    assert!(m.terminate(T).success(), "exit status after SIGTERM; log:\n{}", m.log());
    assert!(m.log().contains("marmot node stopped"));
    let system = dir.path().join("marmot-data/__marmot_system.db");
    assert!(system.exists(), "data lands in ./marmot-data by default");
    let mode: String = rusqlite_free_journal_mode(&system);
    assert_eq!(mode, "wal");

    let (mut again, _) = start_node_with(dir.path(), "", "");
    assert_eq!(node_id(&again.log()), first, "a generated node id is kept across restarts");
    assert!(again.terminate(T).success());
}

/// Read the journal mode from the file header (bytes 18-19 are 2 in WAL mode), without
/// linking SQLite into the end-to-end tests.
fn rusqlite_free_journal_mode(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if bytes.len() > 19 && bytes[18] == 2 && bytes[19] == 2 {
        "wal".into()
    } else {
        format!("not wal (header bytes {:?})", bytes.get(18..20))
    }
}

#[test]
fn config_file_sets_node_id_and_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, _) = start_node_with(dir.path(), "node_id = 7\ndata_dir = \"elsewhere\"", "");
    assert_eq!(node_id(&m.log()), "7");
    assert!(dir.path().join("elsewhere/__marmot_system.db").exists());
    assert!(m.terminate(T).success());
}

#[test]
fn bad_config_and_arguments_fail_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "node_id = \"seven\"\n").unwrap();
    let mut m = Marmot::start(dir.path(), &["--config", "bad.toml"]);
    let st = m.wait_exit(T);
    assert_eq!(st.code(), Some(2));
    assert!(m.log().contains("node_id"), "error names the key: {}", m.log());

    for (text, key) in [
        ("[mysql]\nprot = 3306\n", "prot"),
        ("[replication]\ngc_min_retention_hours = 0\n", "replication.gc_min_retention_hours"),
        ("[replication]\ndefault_write_consistency = \"SOME\"\n", "replication.default_write_consistency"),
        ("[replication]\nconflict_rule = \"random\"\n", "replication.conflict_rule"),
        ("[replica]\nenabled = true\n", "replica.follow_addresses"),
        (
            "[replica]\nenabled = true\nfollow_addresses = [\"127.0.0.1:1\"]\nreplicate_databases = [\"a[\"]\n",
            "replica.replicate_databases[0]",
        ),
        // Parsed but not acted on: refused rather than silently ignored.
        ("[publisher]\nenabled = true\n", "publisher.enabled"),
        ("[connection_pool]\npool_size = 16\n", "connection_pool.pool_size"),
    ] {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let mut m = Marmot::start(dir.path(), &["--config=bad.toml"]);
        assert_eq!(m.wait_exit(T).code(), Some(2), "{text}");
        assert!(m.log().contains(key), "error names {key}: {}", m.log());
    }

    let mut m = Marmot::start(dir.path(), &["--frobnicate"]);
    assert_eq!(m.wait_exit(T).code(), Some(2));
    assert!(m.log().contains("--frobnicate"));

    let help = std::process::Command::new(marmot_binary()).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
}
