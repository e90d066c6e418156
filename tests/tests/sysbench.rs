//! sysbench against one marmot node: short runs, 16 threads, both prepared-statement
//! modes, and not a single error.

use std::process::Command;

use marmot_e2e::{mariadb, require_tool, start_mysql_node};

fn sysbench(port: u16, args: &[&str]) -> (bool, String) {
    let bin = require_tool("sysbench", "apt-get install sysbench");
    let out = Command::new(bin)
        .args([
            "--db-driver=mysql",
            "--mysql-host=127.0.0.1",
            &format!("--mysql-port={port}"),
            "--mysql-user=root",
            "--mysql-db=sbtest",
            "--tables=1",
            "--table-size=1000",
        ])
        .args(args)
        .output()
        .expect("run sysbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn field(report: &str, name: &str) -> f64 {
    report
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the sysbench report:\n{report}"))
}

#[test]
fn sysbench_oltp_workloads_run_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, _, err) = mariadb(port, "root", None, None, "CREATE DATABASE sbtest");
    assert!(ok, "{err}");
    let (ok, out) = sysbench(port, &["oltp_read_write", "prepare"]);
    assert!(ok, "prepare failed:\n{out}");
    for mode in ["auto", "disable"] {
        for test in ["oltp_point_select", "oltp_insert", "oltp_read_write"] {
            let (ok, out) = sysbench(port, &[test, "run", "--threads=16", "--time=2", &format!("--db-ps-mode={mode}")]);
            assert!(ok, "{test} ({mode}) failed:\n{out}");
            let txns = field(&out, "transactions:");
            assert!(txns > 0.0, "{test} ({mode}) made no progress:\n{out}");
            // sysbench retries deadlocks (1213) and counts them as "ignored errors";
            // anything else is fatal and fails the run above. Only oltp_read_write has
            // any: it updates, deletes and re-inserts rows of sysbench's hot set (its
            // default "special" distribution puts most draws on a few of the 1,000 rows)
            // in random order, so two transactions can each hold a row the other wants.
            // InnoDB deadlocks there too: MariaDB on this machine, same command, 11-13 %
            // of transactions. marmot's transactions last longer, so they overlap more:
            // about 28 %. Without row locks (first-committer-wins alone) it was 166 %; a
            // rate back there fails here.
            let retried = field(&out, "ignored errors:");
            let bound = if test == "oltp_read_write" { 0.5 } else { 0.05 };
            assert!(
                retried <= txns * bound,
                "{test} ({mode}): {retried} retried deadlocks in {txns} transactions:\n{out}"
            );
        }
    }
}
