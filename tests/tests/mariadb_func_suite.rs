//! MariaDB's own function tests (`main/func_*.test` from Debian's `mariadb-test` package),
//! run with MariaDB's own runner against a real MariaDB started here and against marmot.
//!
//! Each run is compared with the suite's expected `.result` statement by statement (see
//! `marmot_e2e::mysqltest_results`), and the per-file counts are printed side by side. The
//! suite is third-party: nobody here chose its statements. The test fails when marmot
//! reproduces fewer statements than [`MARMOT_FLOOR`] (a regression), when the MariaDB baseline
//! is implausibly low (the harness broke), or when marmot stops answering.

use std::path::{Path, PathBuf};
use std::process::Command;

use marmot_e2e::mariadb_server::MariaDbServer;
use marmot_e2e::mysqltest_results::matching_statements;
use marmot_e2e::{mariadb, require_tool, start_mysql_node};

/// Where Debian's `mariadb-test` package puts the suite.
const SUITE: &str = "/usr/share/mysql/mysql-test";

/// Statements of the func_* files whose output marmot reproduces exactly, as last measured
/// (a little below, so the floor catches regressions rather than noise in timing tests).
const MARMOT_FLOOR: usize = 6600;

/// Run `file` on the server at `port` with `mariadb-test`, recording what it prints (going on
/// past unexpected errors, so one unsupported statement does not hide the rest of the file).
fn run(runner: &Path, file: &Path, port: u16, work: &Path) -> String {
    let (ok, _, err) = mariadb(port, "root", None, None, "DROP DATABASE IF EXISTS test; CREATE DATABASE test");
    assert!(ok, "resetting database test on port {port}: {err}");
    let out = work.join("out.result");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("log"));
    let vardir = work.join("var");
    std::fs::create_dir_all(vardir.join("tmp")).expect("vardir");
    let status = Command::new("timeout")
        .arg("120")
        .arg(runner)
        .args(["--protocol=tcp", "--host=127.0.0.1", "--user=root", "--database=test", "--sleep=0"])
        .args(["--continue-on-error", "--record", "--silent"])
        .arg(format!("--port={port}"))
        .arg(format!("--tmpdir={}", vardir.join("tmp").display()))
        .arg(format!("--result-file={}", out.display()))
        .arg(format!("--test-file={}", file.display()))
        .env("MYSQLTEST_VARDIR", &vardir)
        .current_dir(SUITE)
        .output()
        .expect("run mariadb-test");
    let _ = status;
    // A file that stops early (`--die`, a lost connection) leaves what it printed so far in
    // the `.log` beside the result it did not write.
    if out.exists() {
        read_lossy(&out)
    } else {
        read_lossy(&out.with_extension("log"))
    }
}

/// A result file's text (some tests print latin1 or binary strings: compared as bytes, shown
/// lossily on both sides alike).
fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

#[test]
fn marmot_reproduces_mariadb_function_tests() {
    let runner = require_tool("mariadb-test", "apt-get install mariadb-test");
    let main = PathBuf::from(SUITE).join("main");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&main)
        .unwrap_or_else(|e| panic!("{}: {e} (apt-get install mariadb-test)", main.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("func_") && name.ends_with(".test") && p.with_extension("result").exists()
        })
        .collect();
    files.sort();
    assert!(files.len() >= 30, "expected MariaDB's func_*.test files in {}", main.display());

    let dir = tempfile::tempdir().unwrap();
    let maria = MariaDbServer::start(dir.path());
    let mdir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(mdir.path(), "");
    // The two servers run the suite side by side (each with its own scratch directory): the
    // scores are per server, and the wall time halves on two cores.
    let scores = |port: u16| {
        let work = tempfile::tempdir().unwrap();
        files
            .iter()
            .map(|file| {
                let expected = read_lossy(&file.with_extension("result"));
                matching_statements(&expected, &run(&runner, file, port, work.path()))
            })
            .collect::<Vec<_>>()
    };
    let (maria_scores, marmot_scores) = std::thread::scope(|s| {
        let maria_side = s.spawn(|| scores(maria.port));
        let marmot_scores = scores(port);
        (maria_side.join().expect("the MariaDB run panicked"), marmot_scores)
    });

    let (mut total, mut on_maria, mut on_marmot) = (0, 0, 0);
    let mut report = format!("{:<28} {:>10} {:>8} {:>8}\n", "file", "statements", "MariaDB", "marmot");
    for ((file, (m, n)), (k, _)) in files.iter().zip(maria_scores).zip(marmot_scores) {
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        report += &format!("{name:<28} {n:>10} {m:>8} {k:>8}\n");
        (total, on_maria, on_marmot) = (total + n, on_maria + m, on_marmot + k);
    }
    let pct = |x: usize| 100.0 * x as f64 / total.max(1) as f64;
    report += &format!(
        "{:<28} {total:>10} {on_maria:>8} {on_marmot:>8}   (MariaDB {:.1} %, marmot {:.1} %)\n",
        "all",
        pct(on_maria),
        pct(on_marmot)
    );
    println!("{report}");
    let (alive, _, err) = mariadb(port, "root", None, None, "SELECT 1");
    assert!(alive, "marmot stopped answering after the suite: {err}\n{report}");
    assert!(pct(on_maria) > 80.0, "the MariaDB baseline is too low: the harness is broken\n{report}");
    assert!(on_marmot >= MARMOT_FLOOR, "marmot reproduces fewer statements than before ({MARMOT_FLOOR})\n{report}");
}
