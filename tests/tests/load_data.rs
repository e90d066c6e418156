//! `LOAD DATA [LOCAL] INFILE` from the mariadb CLI on a 3-node cluster: CSV with quoting,
//! escapes, NULLs, a header skipped with `IGNORE 1 LINES` and a column list; server-side
//! files only from `secure_file_priv`; the rows reach every node.

use std::process::Command;
use std::time::Duration;

use marmot_e2e::{eventually, mariadb, require_tool, Cluster};

fn cli(port: u16, local_infile: bool, sql: &str) -> (bool, String) {
    let bin = require_tool("mariadb", "apt-get install mariadb-client");
    let out = Command::new(bin)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root", "--batch"])
        .arg(format!("--local-infile={}", local_infile as u8))
        .args(["-e", sql, "ld"])
        .output()
        .expect("run mariadb");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A cluster of `n` nodes configured with `extra` (`[mysql]` keys first), its MySQL
/// ports, after `schema` ran on node 1.
fn cluster_with(n: usize, extra: &str, schema: &str) -> (Cluster, Vec<u16>) {
    let c = Cluster::start(n, "", extra);
    let ports: Vec<u16> = c.nodes.iter().map(|n| n.mysql).collect();
    let (ok, _, err) = mariadb(ports[0], "root", None, None, schema);
    assert!(ok, "{err}");
    (c, ports)
}

#[test]
fn load_data_local_and_server_side_files_replicate_to_every_node() {
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("people.csv");
    std::fs::write(
        &csv,
        "id,name,note,score\n1,\"Ann, B\",\\N,1.5\n2,\"say \"\"hi\"\"\",NULL,2.25\n3,tab\\there,\"\",-3.25\n4,Dot\n",
    )
    .unwrap();
    std::fs::write(files.path().join("more.tsv"), "4\tDee\n5\t\\N\n").unwrap();
    let (_c, ports) = cluster_with(
        3,
        &format!("secure_file_priv = \"{}\"", files.path().display()),
        "CREATE DATABASE ld; CREATE TABLE ld.people (id INT PRIMARY KEY, name VARCHAR(100), note TEXT DEFAULT 'none', score DOUBLE)",
    );

    let load = format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE people FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' \
         LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, note, score)",
        csv.display()
    );
    let (ok, out) = cli(ports[0], false, &load);
    assert!(!ok, "without --local-infile the file must not be sent: {out}");
    let (ok, out) = cli(ports[0], true, &load);
    assert!(ok, "LOAD DATA LOCAL failed: {out}");

    let check = "SELECT id, replace(name, char(9), '<tab>') AS n, coalesce(note, '<null>') AS t, score AS s \
                 FROM ld.people ORDER BY id";
    // Row 4 is short: its missing fields take the column defaults.
    let want = "id\tn\tt\ts\n1\tAnn, B\t<null>\t1.5\n2\tsay \"hi\"\t<null>\t2.25\n3\ttab<tab>here\t\t-3.25\n4\tDot\tnone\tNULL\n";
    for p in &ports {
        eventually(*p, None, check, want, Duration::from_secs(20));
    }

    // A server-side file, through another node, with REPLACE and a column list.
    let (ok, out) = cli(ports[1], false, "LOAD DATA INFILE 'more.tsv' REPLACE INTO TABLE people (id, name)");
    assert!(ok, "server-side LOAD DATA failed: {out}");
    let count = "SELECT count(*) AS c, sum(name IS NULL) AS nulls FROM ld.people";
    for p in &ports {
        eventually(*p, None, count, "c\tnulls\n5\t1\n", Duration::from_secs(20));
    }
    // Nothing outside secure_file_priv.
    for outside in ["/etc/passwd", "../../../../etc/passwd"] {
        let (ok, out) = cli(ports[1], false, &format!("LOAD DATA INFILE '{outside}' INTO TABLE people"));
        assert!(!ok && out.contains("1290"), "{outside} must be refused with 1290: {out}");
    }
    let (ok, out) = cli(ports[2], false, "LOAD DATA INFILE 'missing.csv' INTO TABLE people");
    assert!(!ok && out.contains("not found"), "{out}");
}

/// Big statements in bounded memory. A `LOAD DATA` outside a transaction commits every
/// `load_data_batch_rows` rows, so a file far past the transaction limit loads whole
/// (and a failure part way says how many rows were committed before it); inside a
/// transaction, and for any other statement (a locking read included), a transaction past
/// `max_transaction_rows` or `max_transaction_bytes` gets 1197 and leaves nothing behind.
#[test]
fn big_loads_commit_in_batches_and_oversized_transactions_get_1197() {
    let files = tempfile::tempdir().unwrap();
    let rows: String = (1..=10_000).map(|i| format!("{i},row {i}\n")).collect();
    let csv = files.path().join("big.csv");
    std::fs::write(&csv, &rows).unwrap();
    // Server-side: row 5,500 repeats row 1's key.
    let dup: String = (1..=10_000).map(|i| format!("{},row {i}\n", if i == 5_500 { 1 } else { i })).collect();
    std::fs::write(files.path().join("dup.csv"), dup).unwrap();
    let extra = format!(
        "secure_file_priv = \"{}\"\nload_data_batch_rows = 1000\n[transaction]\nmax_transaction_rows = 3000\n\
         max_transaction_bytes = 1000000\n",
        files.path().display()
    );
    let (_c, ports) = cluster_with(
        2,
        &extra,
        "CREATE DATABASE ld; CREATE TABLE ld.t (id INT PRIMARY KEY, v TEXT); CREATE TABLE ld.t2 (id INT PRIMARY KEY, v TEXT); \
         CREATE TABLE ld.t3 (id INT PRIMARY KEY, v TEXT)",
    );
    let load =
        |table: &str| format!("LOAD DATA LOCAL INFILE '{}' INTO TABLE {table} FIELDS TERMINATED BY ','", csv.display());
    let everywhere = |query: &str, want: &str| {
        for p in &ports {
            eventually(*p, Some("ld"), query, want, Duration::from_secs(20));
        }
    };

    let (ok, out) = cli(ports[0], true, &load("t"));
    assert!(ok, "a load past the transaction limit must commit in batches: {out}");
    everywhere("SELECT count(*) AS n, sum(id) AS s FROM t", "n\ts\n10000\t50005000\n");
    // In a transaction the load is one transaction: over the limit, refused whole.
    let (ok, out) = cli(ports[0], true, &format!("BEGIN; {}; COMMIT", load("t2")));
    assert!(!ok && out.contains("1197") && out.contains("max_transaction_rows"), "{out}");
    let (ok, out) = cli(ports[0], false, "INSERT INTO t2 SELECT * FROM t");
    assert!(!ok && out.contains("1197") && out.contains("max_transaction_rows = 3000"), "{out}");
    let (ok, out) = cli(ports[1], false, "INSERT INTO t2 SELECT * FROM t WHERE id <= 2500");
    assert!(ok, "{out}");
    let (ok, out) =
        cli(ports[1], false, "BEGIN; INSERT INTO t2 SELECT * FROM t WHERE id BETWEEN 2501 AND 5000; COMMIT");
    assert!(ok, "{out}");
    // Rows read FOR UPDATE join the transaction (as checks): the limit holds for them too.
    let (ok, out) = cli(ports[0], false, "BEGIN; SELECT count(*) FROM t WHERE id <= 2000 FOR UPDATE; ROLLBACK");
    assert!(ok, "{out}");
    let (ok, out) = cli(ports[0], false, "BEGIN; SELECT id FROM t WHERE id <= 5000 FOR UPDATE; COMMIT");
    assert!(!ok && out.contains("1197") && out.contains("max_transaction_rows = 3000"), "{out}");
    let (ok, out) = cli(ports[1], false, "INSERT INTO t2 VALUES (0, REPEAT('x', 2000000))");
    assert!(!ok && out.contains("1197") && out.contains("max_transaction_bytes"), "{out}");
    everywhere("SELECT count(*) AS n, max(id) AS m FROM t2", "n\tm\n5000\t5000\n");
    // A failure part way: the batches before it stay, and the error says so.
    let (ok, out) = cli(ports[0], false, "LOAD DATA INFILE 'dup.csv' INTO TABLE t3 FIELDS TERMINATED BY ','");
    assert!(!ok && out.contains("1062") && out.contains("5000 rows of this LOAD DATA were committed"), "{out}");
    everywhere("SELECT count(*) AS n FROM t3", "n\n5000\n");
}
