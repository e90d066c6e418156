//! mariadb-dump of a database, restored through the server into another database, and a
//! dump of every column type (with routines, triggers and events, as a full backup takes
//! it) restored on marmot and on a real MariaDB alike.

use std::io::Write;
use std::process::{Command, Stdio};

use marmot_e2e::mariadb_server::MariaDbServer;
use marmot_e2e::{mariadb, require_tool, start_mysql_node};

fn contents(port: u16, db: &str) -> String {
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some(db),
        "SELECT id, name, price, hex(data), created, note FROM items ORDER BY id;
         SELECT a, b, c FROM loose ORDER BY a;
         SHOW CREATE TABLE items; SHOW CREATE TABLE loose;",
    );
    assert!(ok, "{err}");
    out
}

/// Run `sql` (a dump) through the `mariadb` client into `db` on the server at `port`.
fn restore(port: u16, db: &str, sql: &[u8]) {
    let (ok, _, err) = mariadb(port, "root", None, None, &format!("CREATE DATABASE {db}"));
    assert!(ok, "{err}");
    let client = require_tool("mariadb", "apt-get install mariadb-client");
    let mut restore = Command::new(client)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root", db])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    let _ = restore.stdin.take().unwrap().write_all(sql);
    let done = restore.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "restore into {db} on port {port} failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// One column of each MySQL type, and rows of typical values, NULLs and edge values.
/// (Not BIT: mariadb-dump writes a BIT value as its raw bytes in a string, which MySQL
/// turns back into bits and marmot, which does not type what it stores, keeps as text.)
const EVERY_TYPE: &str = "CREATE TABLE ty (id INT PRIMARY KEY,
    ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, b BOOL, t1 TINYINT(1), u INT UNSIGNED,
    ubi BIGINT UNSIGNED, d82 DECIMAL(8,2), d104 DECIMAL(10,4), d0 DECIMAL(5), f FLOAT, db DOUBLE,
    dt DATE, dtm DATETIME, dtm3 DATETIME(3), ts TIMESTAMP NULL DEFAULT NULL, tm TIME, tm2 TIME(2), yr YEAR,
    vc VARCHAR(20), ch CHAR(5), tx TEXT, mt MEDIUMTEXT, bl BLOB, vb VARBINARY(8), en ENUM('a','b'),
    st SET('x','y','z'), js JSON);
  INSERT INTO ty VALUES
    (1, -5, 300, 70000, -2000000, 9000000000, TRUE, 0, 4000000000, 18000000000000000000,
     1.5, 37.12, 42, 1.1, 2.5,
     '2024-03-05', '2024-03-05 14:07:09', '2024-03-05 14:07:09.123', '2024-03-05 14:07:09', '14:07:09',
     '-01:02:03.25', 2024, 'abc', 'xy', 'some text', 'it''s \\ \"quoted\"', x'00ff', x'0102', 'b', 'x,z', '{\"a\": 1}'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, 127, -32768, -8388608, 2147483647, -9223372036854775807, FALSE, 1, 0, 0,
     -2, 4, -7, 0.333333, -0.5,
     '1000-01-01', '1999-12-31 23:59:59', '2024-03-05 00:00:00.5', '2030-01-01 00:00:00', '838:59:59',
     '00:00:00', 1901, '', 'z', '', 'émoji 🐹', x'', x'', 'a', '', '[]');";

/// The rows of `ty` as the `mariadb` client prints them (binary columns in hex).
fn every_type_rows(port: u16, db: &str) -> String {
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some(db),
        "SET NAMES utf8mb4; SELECT id, ti, si, mi, i, bi, b, t1, u, ubi, d82, d104, d0, f, db, dt, dtm, dtm3, ts, tm, tm2, yr, vc, ch,
           tx, mt, HEX(bl), HEX(vb), en, st, js FROM ty ORDER BY id",
    );
    assert!(ok, "reading {db} on port {port}: {err}");
    out
}

#[test]
fn a_full_dump_of_every_type_restores_the_same_rows_on_marmot_and_on_mariadb() {
    let dump = require_tool("mariadb-dump", "apt-get install mariadb-client");
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let mdir = tempfile::tempdir().unwrap();
    let maria = MariaDbServer::start(mdir.path());
    let (ok, _, err) = mariadb(port, "root", None, None, &format!("CREATE DATABASE src; USE src; {EVERY_TYPE}"));
    assert!(ok, "{err}");
    let out = Command::new(dump)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
        .args(["--single-transaction", "--routines", "--triggers", "--events", "src"])
        .output()
        .expect("run mariadb-dump");
    assert!(out.status.success(), "mariadb-dump failed: {}", String::from_utf8_lossy(&out.stderr));
    restore(port, "restored", &out.stdout);
    restore(maria.port, "restored", &out.stdout);
    let original = every_type_rows(port, "src");
    assert_eq!(original.lines().count(), 4, "{original}");
    assert_eq!(every_type_rows(port, "restored"), original, "restored on marmot");
    assert_eq!(every_type_rows(maria.port, "restored"), original, "restored on MariaDB");
    // And the same rows inserted into MariaDB directly read back the same: the dump kept
    // the values MySQL gives them.
    let (ok, _, err) = mariadb(
        maria.port,
        "root",
        None,
        None,
        &format!("SET NAMES utf8mb4; CREATE DATABASE direct CHARACTER SET utf8mb4; USE direct; {EVERY_TYPE}"),
    );
    assert!(ok, "{err}");
    assert_eq!(every_type_rows(maria.port, "direct"), original, "inserted into MariaDB");
}

#[test]
fn mariadb_dump_restores_row_for_row_into_another_database() {
    let dump = require_tool("mariadb-dump", "apt-get install mariadb-client");
    let client = require_tool("mariadb", "apt-get install mariadb-client");
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let mut setup = String::from(
        "CREATE DATABASE shop; USE shop;
         CREATE TABLE items (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, name VARCHAR(191) NOT NULL DEFAULT '',
           price DECIMAL(10,2), data BLOB, created DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', note TEXT,
           PRIMARY KEY (id), KEY by_name (name(20)), UNIQUE KEY uq (name, price)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
         CREATE TABLE loose (a INT, b TEXT, c INT DEFAULT (3+5));
         INSERT INTO loose (a, b) VALUES (1, 'q'), (2, NULL), (3, 'tab\\there');
         INSERT INTO items (name, price, data, created, note) VALUES
           ('quote''s \\\\ back', 1.5, x'00ff10275c', '2024-02-29 12:00:00', 'émoji 🐹'),
           ('nulls', NULL, NULL, '2020-01-01 00:00:00', NULL);",
    );
    // Enough rows that mariadb-dump splits its extended INSERTs.
    for chunk in 0..4 {
        let values: Vec<String> = (0..250)
            .map(|i| format!("('row {chunk}-{i}', {i}.25, x'{:02x}00', NOW(), repeat('x', {i}))", i % 256))
            .collect();
        setup.push_str(&format!("INSERT INTO items (name, price, data, created, note) VALUES {};", values.join(",")));
    }
    let (ok, _, err) = mariadb(port, "root", None, None, &setup);
    assert!(ok, "{err}");

    let out = Command::new(dump)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root", "--net-buffer-length=16384"])
        // The standard online backup: one consistent read transaction.
        .arg("--single-transaction")
        .arg("shop")
        .output()
        .expect("run mariadb-dump");
    assert!(out.status.success(), "mariadb-dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CREATE TABLE `items`") && text.contains("KEY `by_name`"), "MySQL syntax: {text:.2000}");
    assert!(text.matches("INSERT INTO `items`").count() > 1, "extended INSERTs were split");

    let (ok, _, err) = mariadb(port, "root", None, None, "CREATE DATABASE restored");
    assert!(ok, "{err}");
    let mut restore = Command::new(client)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root", "restored"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    let _ = restore.stdin.take().unwrap().write_all(&out.stdout);
    let done = restore.wait_with_output().unwrap();
    assert!(done.status.success(), "restore failed: {}", String::from_utf8_lossy(&done.stderr));

    let (original, copy) = (contents(port, "shop"), contents(port, "restored"));
    assert!(original.lines().count() > 1000, "{original:.500}");
    for (i, (a, b)) in original.lines().zip(copy.lines()).enumerate() {
        assert_eq!(a, b, "line {i} differs after restore");
    }
    assert_eq!(original.lines().count(), copy.lines().count());
    // DECIMAL(10,2) prints with its scale, as MySQL prints it.
    assert!(original.contains("quote's \\\\ back\t1.50\t00FF10275C"), "{original:.400}");
}
