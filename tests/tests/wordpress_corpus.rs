//! The WordPress 6.1 compatibility corpus: every protocol command WordPress sent to a real
//! MariaDB during install, login, a REST post and reading it back, replayed per
//! connection and in order against marmot and against a real MariaDB server started
//! here. Every statement MariaDB accepts must be accepted, and every result set must
//! carry the columns MariaDB's does (WordPress reads rows by column name).

use std::process::Command;

use marmot_e2e::mariadb_server::MariaDbServer;
use marmot_e2e::{mariadb, require_tool, start_mysql_node, workspace_root};

/// One replayed command's outcome (a line of replay.py's output).
#[derive(Debug)]
struct Outcome {
    step: String,
    ok: bool,
    error: String,
    columns: Option<Vec<String>>,
}

fn replay(port: u16) -> Vec<Outcome> {
    let root = workspace_root();
    let py = root.join("target/e2e-venv/bin/python");
    let py = require_tool(py.to_str().expect("utf-8"), "./scripts/test-all.sh (creates target/e2e-venv with PyMySQL)");
    let out = Command::new(py)
        .arg(root.join("tests/compat/replay.py"))
        .arg(root.join("tests/compat/wordpress-6.1-install.jsonl"))
        .arg(port.to_string())
        .arg("wordpress")
        .output()
        .expect("run replay.py");
    assert!(out.status.success(), "replay.py failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("replay output is JSON");
            Outcome {
                step: v["step"].as_str().unwrap_or_default().to_string(),
                ok: v["ok"].as_bool().unwrap_or(false),
                error: v["error"].to_string(),
                columns: v["columns"]
                    .as_array()
                    .map(|a| a.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect()),
            }
        })
        .collect()
}

#[test]
fn wordpress_install_corpus_is_accepted_like_mariadb_accepts_it() {
    let corpus = std::fs::read_to_string(workspace_root().join("tests/compat/wordpress-6.1-install.jsonl")).unwrap();
    let commands: Vec<serde_json::Value> = corpus.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let maria = MariaDbServer::start(dir.path());
    let mdir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(mdir.path(), "");
    for p in [maria.port, port] {
        let (ok, _, err) = mariadb(p, "root", None, None, "CREATE DATABASE wordpress");
        assert!(ok, "{err}");
    }
    let want = replay(maria.port);
    let got = replay(port);
    assert_eq!(want.len(), commands.len(), "the MariaDB replay stopped early");
    assert_eq!(got.len(), commands.len(), "the marmot replay stopped early");
    let accepted = want.iter().filter(|o| o.ok).count();
    assert!(accepted > 900, "MariaDB accepted only {accepted} commands: the replay itself is broken");
    let mut failures = Vec::new();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let sql = commands[i]["arg"].as_str().unwrap_or_default();
        let sql: String = sql.chars().take(300).collect();
        let code = |o: &Outcome| o.error.split(',').next().unwrap_or_default().trim_start_matches('[').to_string();
        if !w.ok && (g.ok || code(w) != code(g)) {
            // WordPress decides what to do from errors too ("not installed yet": 1146).
            failures.push(format!(
                "#{i} ({}) must fail like MariaDB's {}: {sql}\n    marmot: {}",
                g.step, w.error, g.error
            ));
        } else if w.ok && !g.ok {
            failures.push(format!("#{i} ({}) refused: {sql}\n    marmot: {}", g.step, g.error));
        } else if w.ok && w.columns != g.columns {
            failures.push(format!(
                "#{i} ({}) columns differ: {sql}\n    MariaDB: {:?}\n    marmot:  {:?}",
                g.step, w.columns, g.columns
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} commands differ from MariaDB:\n{}",
        failures.len(),
        commands.len(),
        failures.join("\n")
    );

    // A JDBC client browsing the WordPress schema (what DBeaver and MySQL Workbench do)
    // sees the same tables, columns, types, indexes and keys on both.
    let want = jdbc_metadata(maria.port);
    let got = jdbc_metadata(port);
    assert!(want.iter().filter(|l| l.starts_with("column ")).count() > 80, "MariaDB's metadata: {want:?}");
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "JDBC DatabaseMetaData differs from MariaDB's.\nonly MariaDB:\n{}\nonly marmot:\n{}",
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
        extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
    println!("JDBC DatabaseMetaData: {} facts, the same on MariaDB and marmot", want.len());
}

/// What `tests/compat/Metadata.java` (JDBC DatabaseMetaData through Debian's
/// libmariadb-java) sees of the `wordpress` database on `port`.
fn jdbc_metadata(port: u16) -> Vec<String> {
    let java = require_tool("java", "apt-get install default-jdk-headless");
    let jar = "/usr/share/java/mariadb-java-client.jar";
    require_tool(jar, "apt-get install libmariadb-java");
    let out = Command::new(java)
        .args(["-cp", jar])
        .arg(workspace_root().join("tests/compat/Metadata.java"))
        .arg(port.to_string())
        .arg("wordpress")
        .output()
        .expect("run java");
    assert!(
        out.status.success(),
        "Metadata.java against port {port} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}
