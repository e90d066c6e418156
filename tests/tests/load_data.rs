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
    let c = Cluster::start(3, "", &format!("secure_file_priv = \"{}\"", files.path().display()));
    let ports: Vec<u16> = c.nodes.iter().map(|n| n.mysql).collect();
    let (ok, _, err) = mariadb(
        ports[0],
        "root",
        None,
        None,
        "CREATE DATABASE ld; CREATE TABLE ld.people (id INT PRIMARY KEY, name VARCHAR(100), note TEXT DEFAULT 'none', score DOUBLE)",
    );
    assert!(ok, "{err}");

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
