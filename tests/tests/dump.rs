//! mariadb-dump of a database, restored through the server into another database.

use std::io::Write;
use std::process::{Command, Stdio};

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
