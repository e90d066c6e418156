//! Stock MySQL clients against one real marmot node.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use marmot_e2e::{mariadb, python, start_mysql_node, start_node_with};

#[test]
fn mariadb_cli_creates_writes_reads_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) =
        mariadb(port, "root", None, None, "CREATE DATABASE shop; SHOW DATABASES; SELECT @@version_comment;");
    assert!(ok, "{err}");
    assert!(out.contains("shop") && out.contains("information_schema"), "{out}");
    assert!(out.contains("@@version_comment\nmarmot"), "variables are labelled as written: {out}");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some("shop"),
        "CREATE TABLE items (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, name VARCHAR(100) NOT NULL DEFAULT '',
           note TEXT COLLATE utf8mb4_unicode_ci, PRIMARY KEY (id), KEY by_name (name(50))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
         INSERT INTO items (id, name, note) VALUES (1, 'apple', 'it''s red'), (2, 'pear', \"double\\\"quoted\");
         INSERT INTO items (id, name) VALUES (2, 'pear2') ON DUPLICATE KEY UPDATE name = VALUES(name);
         INSERT IGNORE INTO items (id, name) VALUES (1, 'ignored');
         UPDATE items SET note = 'green' WHERE name = 'pear2';
         SELECT id, name, note FROM items ORDER BY id;
         SHOW TABLES; DESCRIBE items; SHOW INDEX FROM items;",
    );
    assert!(ok, "{err}");
    assert!(out.contains("1\tapple\tit's red\n2\tpear2\tgreen\n"), "{out}");
    assert!(out.contains("Tables_in_shop\nitems"), "{out}");
    assert!(out.contains("by_name"), "SHOW INDEX lists the inline KEY: {out}");
    assert!(
        out.contains("id\tbigint unsigned\tNO\tPRI\tNULL\tauto_increment"),
        "DESCRIBE shows the declared type: {out}"
    );
    assert!(out.contains("name\tvarchar(100)\tNO"), "{out}");
    // Generated ids (NULL, 0 or omitted) are compact: distinct, increasing, under 2^53.
    let (ok, ids_out, err) = mariadb(
        port,
        "root",
        None,
        Some("shop"),
        "INSERT INTO items (name) VALUES ('a'), ('b'); INSERT INTO items (id, name) VALUES (0, 'c'), (NULL, 'd');
         SELECT id FROM items WHERE id > 2 ORDER BY name;",
    );
    assert!(ok, "{err}");
    let ids: Vec<u64> = ids_out.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(ids.len(), 4, "{ids_out}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[3] < 1 << 53, "{ids:?}");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        None,
        "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_KEY, EXTRA FROM INFORMATION_SCHEMA.COLUMNS
           WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION;
         SELECT t.TABLE_NAME, t.ENGINE, count(c.COLUMN_NAME) AS cols FROM information_schema.TABLES t
           JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
           WHERE t.TABLE_SCHEMA = 'shop' GROUP BY t.TABLE_NAME, t.ENGINE;
         SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' ORDER BY INDEX_NAME;",
    );
    assert!(ok, "{err}");
    assert!(out.contains("id\tbigint unsigned\tbigint\tNO\tPRI\tauto_increment"), "{out}");
    assert!(out.contains("name\tvarchar(100)\tvarchar\tNO"), "{out}");
    assert!(out.contains("items\tInnoDB\t3"), "JOIN across INFORMATION_SCHEMA tables: {out}");
    assert!(out.contains("PRIMARY\tid") && out.contains("by_name\tname"), "{out}");
    let (ok, out, err) =
        mariadb(port, "root", None, Some("shop"), "TRUNCATE TABLE items; SELECT count(*) AS n FROM items;");
    assert!(ok && out.contains("n\n0"), "TRUNCATE empties the table: {out}{err}");
    // The rows are in the plain SQLite file, readable without marmot.
    assert!(dir.path().join("marmot-data/shop.db").exists());
}

/// The interactive mariadb CLI, driven through a pseudo-terminal: on connect it asks for
/// `@@version_comment`; `use db` sends SELECT DATABASE(), COM_INIT_DB, SHOW DATABASES and
/// SHOW TABLES (for completion).
const INTERACTIVE: &str = r#"
import os, pty, sys, time, select
port = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("mariadb", ["mariadb", "--protocol=TCP", "-h", "127.0.0.1", "-P", port, "-u", "root"])
out = b""
def read_until(token, timeout=20):
    global out
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            out += chunk
            if token in out:
                return True
    return False
assert read_until(b"]>"), out
os.write(fd, b"use inter;\n")
assert read_until(b"Database changed"), out
os.write(fd, b"select name from t;\n")
assert read_until(b"hello"), out
os.write(fd, b"quit\n")
os.waitpid(pid, 0)
assert b"marmot" in out, "the banner shows the server's version comment"
print("OK")
"#;

#[test]
fn mariadb_cli_interactive_session_via_pty() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, _, err) = mariadb(
        port,
        "root",
        None,
        None,
        "CREATE DATABASE inter; USE inter; CREATE TABLE t (name TEXT); INSERT INTO t VALUES ('hello');",
    );
    assert!(ok, "{err}");
    let (ok, out, err) = python(port, INTERACTIVE);
    assert!(ok && out.contains("OK"), "interactive mariadb:\n{out}\n{err}");
}

#[test]
fn errors_have_mysql_codes_and_the_connection_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, _, err) = mariadb(port, "root", None, None, "SELEC 1");
    assert!(!ok && err.contains("ERROR 1064"), "{err}");
    let (ok, _, err) = mariadb(port, "root", None, None, "SELECT * FROM t");
    assert!(!ok && err.contains("ERROR 1046"), "{err}");
    let (ok, _, err) = mariadb(port, "root", None, Some("nope"), "SELECT 1");
    assert!(!ok && err.contains("1049"), "{err}");
    mariadb(port, "root", None, None, "CREATE DATABASE d");
    let (ok, _, err) = mariadb(port, "root", None, None, "CREATE DATABASE d");
    assert!(!ok && err.contains("ERROR 1007"), "{err}");
    let (ok, _, err) = mariadb(port, "root", None, Some("d"), "SELECT * FROM missing");
    assert!(!ok && err.contains("ERROR 1146"), "{err}");
    // After an error in a multi-statement batch, the same connection still answers.
    let (ok, out, err) =
        mariadb(port, "root", None, Some("d"), "CREATE TABLE t (k INT PRIMARY KEY); INSERT INTO t VALUES (1);");
    assert!(ok, "{err}");
    let _ = out;
    let (ok, _, err) = mariadb(port, "root", None, Some("d"), "INSERT INTO t VALUES (1)");
    assert!(!ok && err.contains("ERROR 1062"), "{err}");
    let (ok, _, err) = mariadb(port, "root", None, Some("d"), "ALTER TABLE t ADD COLUMN k INT");
    assert!(!ok && err.contains("ERROR 1060") && err.contains("Duplicate column name 'k'"), "{err}");
    // MySQL's default collation: case-insensitive comparison; savepoints inside transactions.
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some("d"),
        "CREATE TABLE names (n VARCHAR(20) PRIMARY KEY, b VARBINARY(20));
         INSERT INTO names VALUES ('Alice', 'Alice');
         SELECT count(*) AS ci FROM names WHERE n = 'ALICE';
         SELECT count(*) AS bin FROM names WHERE b = 'ALICE';
         BEGIN; INSERT INTO names VALUES ('bob', NULL); SAVEPOINT s1; INSERT INTO names VALUES ('carol', NULL);
         ROLLBACK TO SAVEPOINT s1; COMMIT;
         SELECT group_concat(n) AS kept FROM names;",
    );
    assert!(ok, "{err}");
    assert!(out.contains("ci\n1") && out.contains("bin\n0"), "{out}");
    assert!(out.contains("kept\nAlice,bob"), "ROLLBACK TO SAVEPOINT undid only carol: {out}");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some("d"),
        "CREATE TABLE q (k INT PRIMARY KEY, v INT); INSERT INTO q VALUES (1, 1), (2, 2), (3, 3);
         DELETE FROM q ORDER BY k DESC LIMIT 1; UPDATE q SET v = 9 ORDER BY k LIMIT 1;
         SELECT group_concat(k || ':' || v ORDER BY k) AS rest FROM q;",
    );
    assert!(ok && out.contains("rest\n1:9,2:2"), "DELETE/UPDATE … ORDER BY … LIMIT: {out}{err}");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        None,
        "SELECT DATE_FORMAT('2009-10-04 22:23:00', '%W %M %Y') AS f, IF(1 > 0, 'yes', 'no') AS i,
                CONCAT_WS(',', 'a', NULL, 'b') AS c, SUBSTRING_INDEX('www.mysql.com', '.', -2) AS s",
    );
    assert!(ok && out.contains("Sunday October 2009\tyes\ta,b\tmysql.com"), "MySQL functions: {out}{err}");
    let (ok, _, err) = mariadb(port, "root", None, Some("d"), "DROP TABLE nope");
    assert!(!ok && err.contains("ERROR 1051"), "{err}");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        Some("d"),
        "INSERT INTO t VALUES (2), (3), (4); SELECT SQL_CALC_FOUND_ROWS k FROM t ORDER BY k LIMIT 2; SELECT FOUND_ROWS() AS total;",
    );
    assert!(ok && out.contains("total\n4"), "FOUND_ROWS counts past the LIMIT: {out}{err}");
    let (ok, out, _) = mariadb(port, "root", None, Some("d"), "SELECT count(*) AS n FROM t");
    assert!(ok && out.contains("n\n4"), "{out}");
}

#[test]
fn configured_users_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "[[mysql.users]]\nname = \"app\"\npassword = \"s3cret\"\n");
    let (ok, out, err) = mariadb(port, "app", Some("s3cret"), None, "SELECT USER() AS u");
    assert!(ok, "{err}");
    assert!(out.contains("app@"), "{out}");
    let (ok, _, err) = mariadb(port, "app", Some("wrong"), None, "SELECT 1");
    assert!(!ok && err.contains("1045"), "{err}");
    let (ok, _, err) = mariadb(port, "root", None, None, "SELECT 1");
    assert!(!ok && err.contains("1045"), "root is not accepted once users are configured: {err}");
}

const PYMYSQL: &str = r#"
import sys, pymysql
port = int(sys.argv[1])
c = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
cur = c.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS py")
c.select_db("py")
cur.execute("CREATE TABLE files (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), data LONGBLOB)")
raw = bytes([0xff, 0x00, 0xfe, 0x80, 0x27, 0x5c, 0x22]) + bytes(range(256))
cur.execute("INSERT INTO files (name, data) VALUES (%s, %s)", ("bin", raw))
first = cur.lastrowid
assert 0 < first < 2**53, first
cur.execute("SELECT id FROM files")
assert cur.fetchone()[0] == first, "lastrowid is the stored id"
cur.execute("SELECT LAST_INSERT_ID()")
assert cur.fetchone()[0] == first
# An explicit key is the insert id of its OK packet, but LAST_INSERT_ID() keeps the last
# generated one (as MySQL and MariaDB do).
cur.execute("INSERT INTO files (id, name) VALUES (5, 'explicit')")
assert cur.lastrowid == 5, cur.lastrowid
cur.execute("SELECT LAST_INSERT_ID()")
assert cur.fetchone()[0] == first, "explicit keys leave LAST_INSERT_ID() alone"
cur.execute("DELETE FROM files WHERE id = 5")
cur.execute("SELECT data FROM files WHERE name = %s", ("bin",))
got = cur.fetchone()[0]
assert isinstance(got, bytes), type(got)
assert got == raw, "blob round trip"
assert c.get_autocommit(), "server reports autocommit"
# A transaction sees its own writes, and ROLLBACK discards them.
c.autocommit(False)
cur.execute("INSERT INTO files (name) VALUES ('tmp')")
cur.execute("SELECT count(*) FROM files")
assert cur.fetchone()[0] == 2, "own write visible inside the transaction"
other = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database="py")
oc = other.cursor()
oc.execute("SELECT count(*) FROM files")
assert oc.fetchone()[0] == 1, "not visible to other sessions before COMMIT"
c.rollback()
cur.execute("SELECT count(*) FROM files")
assert cur.fetchone()[0] == 1, "rolled back"
cur.execute("INSERT INTO files (name) VALUES ('kept')")
c.commit()
oc.execute("SELECT name FROM files ORDER BY id")
assert [r[0] for r in oc.fetchall()] == ["bin", "kept"]
c.autocommit(True)
cur.execute("SELECT DATABASE(), CONNECTION_ID() > 0, 1.5, NULL")
assert cur.fetchone() == ("py", 1, 1.5, None)
try:
    cur.execute("INSERT INTO files (id, name) VALUES (%s, 'dup')", (first,))
    raise SystemExit("duplicate accepted")
except pymysql.err.IntegrityError as e:
    assert e.args[0] == 1062, e.args
cur.execute("SELECT 1")
print("OK")
"#;

#[test]
fn pymysql_blobs_transactions_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) = python(port, PYMYSQL);
    assert!(ok && out.contains("OK"), "PyMySQL script failed:\n{out}\n{err}");
}

const CONNECTOR: &str = r#"
import sys, datetime, mysql.connector
port = int(sys.argv[1])
c = mysql.connector.connect(host="127.0.0.1", port=port, user="root", password="", use_pure=True, autocommit=False)
cur = c.cursor()
cur.execute("SELECT @@session.autocommit")
assert cur.fetchone()[0] == 0, "autocommit off is visible"
cur.execute("CREATE DATABASE IF NOT EXISTS cx")
c.database = "cx"
cur.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), score DOUBLE, n BIGINT, at DATETIME, raw BLOB)")
pc = c.cursor(prepared=True)
pc.execute("INSERT INTO t (name, score, n, at, raw) VALUES (%s, %s, %s, %s, %s)",
           ("a", 1.5, 2**40, datetime.datetime(2026, 1, 2, 3, 4, 5), b"\xff\x00x"))
c.commit()
pc.execute("SELECT name, score, n, at, raw FROM t WHERE name = %s", ("a",))
row = pc.fetchone()
assert row[0] == "a" and row[1] == 1.5 and row[2] == 2**40, row
assert str(row[3]).startswith("2026-01-02 03:04:05"), row
assert bytes(row[4]) == b"\xff\x00x", row
# File-like parameters travel ahead of the execute in COM_STMT_SEND_LONG_DATA pieces
# (8 KiB each): the row must carry them whole, and a reset statement must not keep them.
import io
big = bytes(range(256)) * 1000 + b"\xff"
text = "long text é " * 5000
pc.execute("INSERT INTO t (name, raw) VALUES (%s, %s)", ("long", io.BytesIO(big)))
pc.execute("INSERT INTO t (name, raw) VALUES (%s, %s)", ("text", io.BytesIO(text.encode())))
c.commit()
pc.execute("SELECT raw FROM t WHERE name = %s", ("long",))
got = bytes(pc.fetchone()[0])
assert got == big, f"long data lost or cut: {len(got)} of {len(big)} bytes"
pc.execute("SELECT length(raw) FROM t WHERE name = %s", ("text",))
assert pc.fetchone()[0] == len(text.encode()), "long text lost or cut"
pc.execute("INSERT INTO t (name) VALUES (%s)", ("rolled back",))
c.rollback()
pc.execute("SELECT count(*) FROM t WHERE name = 'rolled back'")
assert pc.fetchone()[0] == 0, "rollback discarded the second insert"
print("OK")
"#;

const CHANGE_USER: &str = r#"
import sys, mysql.connector
port = int(sys.argv[1])
c = mysql.connector.connect(host="127.0.0.1", port=port, user="app", password="a-pw", use_pure=True)
c.cmd_change_user(username="ops", password="o-pw")
cur = c.cursor()
cur.execute("SELECT USER()")
assert cur.fetchone()[0].startswith("ops@"), "switched user"
try:
    c.cmd_change_user(username="ops", password="wrong")
    raise SystemExit("wrong password accepted")
except mysql.connector.Error as e:
    assert e.errno == 1045, e
print("OK")
"#;

#[test]
fn change_user_reauthenticates() {
    let dir = tempfile::tempdir().unwrap();
    let users =
        "[[mysql.users]]\nname = \"app\"\npassword = \"a-pw\"\n[[mysql.users]]\nname = \"ops\"\npassword = \"o-pw\"\n";
    let (_m, port) = start_mysql_node(dir.path(), users);
    let (ok, out, err) = python(port, CHANGE_USER);
    assert!(ok && out.contains("OK"), "COM_CHANGE_USER:\n{out}\n{err}");
}

#[test]
fn mysql_connector_pure_prepared_and_autocommit_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) = python(port, CONNECTOR);
    assert!(ok && out.contains("OK"), "mysql-connector-python script failed:\n{out}\n{err}");
}

#[test]
fn malformed_packets_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (m, port) = start_mysql_node(dir.path(), "");
    for garbage in
        [&b"\x01\x00\x00\x01\xff"[..], &b"\xff\xff\xff\x00garbage"[..], &b"\x05\x00\x00\x01\x00\x00\x00\x00"[..]]
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut hello = [0u8; 256];
        let n = s.read(&mut hello).unwrap();
        assert!(n > 4 && hello[4] == 10, "handshake v10");
        s.write_all(garbage).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    let (ok, out, err) = mariadb(port, "root", None, None, "SELECT 42 AS answer");
    assert!(ok && out.contains("42"), "server still serves after malformed input: {err}");
    assert!(!m.log().contains("panicked"), "{}", m.log());
}

#[test]
fn multi_row_inserts_multi_table_statements_and_like_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        None,
        "CREATE DATABASE w; USE w;
         CREATE TABLE wp_options (option_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
           option_name VARCHAR(191) NOT NULL, option_value LONGTEXT, autoload VARCHAR(20) NOT NULL DEFAULT 'yes',
           UNIQUE KEY option_name (option_name));
         INSERT INTO wp_options (option_name, option_value) VALUES ('_transient_a', '1'), ('_transient_timeout_a', '2'),
           ('_transient_b', '3'), ('keep', '4'), ('under_score', '5'), ('underXscore', '6');
         SELECT count(*) AS n FROM wp_options;
         DELETE a, b FROM wp_options a, wp_options b WHERE a.option_name LIKE '\\_transient\\_%'
           AND a.option_name NOT LIKE '\\_transient\\_timeout\\_%'
           AND b.option_name = CONCAT('_transient_timeout_', SUBSTRING(a.option_name, 12));
         SELECT ROW_COUNT() AS deleted;
         SELECT group_concat(option_name ORDER BY option_name) AS left_over FROM wp_options;
         SELECT option_name FROM wp_options WHERE option_name LIKE 'under\\_score';
         CREATE TABLE prices (id INT PRIMARY KEY, amount INT);
         CREATE TABLE items (id INT PRIMARY KEY, price INT);
         INSERT INTO prices VALUES (1, 10), (3, 30); INSERT INTO items VALUES (1, 0), (2, 0), (3, 0);
         UPDATE items i JOIN prices p ON p.id = i.id SET i.price = p.amount WHERE p.amount > 15;
         SELECT ROW_COUNT() AS updated;
         DELETE items FROM items LEFT JOIN prices ON prices.id = items.id WHERE prices.id IS NULL;
         SELECT group_concat(CONCAT(id, ':', price) ORDER BY id) AS items FROM items;",
    );
    assert!(ok, "{err}");
    assert!(out.contains("n\n6\n"), "every row of a multi-row insert is kept: {out}");
    assert!(out.contains("deleted\n2\n"), "{out}");
    assert!(out.contains("left_over\n_transient_b,keep,under_score,underXscore\n"), "{out}");
    assert!(out.contains("option_name\nunder_score\n"), "backslash escapes LIKE's _: {out}");
    assert!(out.contains("updated\n1\n") && out.contains("items\n1:0,3:30\n"), "{out}");
    let (ok, _, err) = mariadb(port, "root", None, Some("w"), "UPDATE items JOIN prices ON 1 SET prices.amount = 1");
    assert!(!ok && err.contains("1235"), "unsupported multi-table forms are refused clearly: {err}");
}

#[test]
fn unix_socket_and_autocommit_switch_commit() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("mysql.sock");
    let (_m, port) = start_mysql_node(dir.path(), &format!("unix_socket = \"{}\"\n", sock.display()));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).expect("socket exists").permissions());
    assert_eq!(mode & 0o777, 0o660, "unix_socket_perm default");
    let client = marmot_e2e::require_tool("mariadb", "apt-get install mariadb-client");
    let out = std::process::Command::new(client)
        .args(["--socket", sock.to_str().unwrap(), "-u", "root", "--batch", "-e"])
        .arg(
            "CREATE DATABASE s; USE s; CREATE TABLE t (id INT PRIMARY KEY);
             SET autocommit = 0; INSERT INTO t VALUES (1); SET autocommit = 1; SELECT @@autocommit;",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The CLI has disconnected: the row is there only if SET autocommit = 1 committed it.
    let (ok, rows, err) = mariadb(port, "root", None, Some("s"), "SELECT id FROM t");
    assert!(ok, "{err}");
    assert_eq!(rows, "id\n1\n");
}

#[test]
fn a_local_writer_holding_the_lock_makes_statements_fail_with_1205() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_node_with(dir.path(), "[transaction]\nlock_wait_timeout_seconds = 1\n", "");
    let (ok, _, err) =
        mariadb(port, "root", None, None, "CREATE DATABASE shop; USE shop; CREATE TABLE t (id INT PRIMARY KEY)");
    assert!(ok, "{err}");
    // A program on the node opens the database file and keeps a write transaction open.
    let local = rusqlite::Connection::open(dir.path().join("marmot-data/shop.db")).unwrap();
    local.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let (ok, _, err) = mariadb(port, "root", None, Some("shop"), "INSERT INTO t VALUES (1)");
    let waited = started.elapsed();
    assert!(!ok && err.contains("1205") && err.contains("Lock wait timeout"), "{err}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(10), "waited {waited:?}");
    local.execute_batch("ROLLBACK").unwrap();
    let (ok, out, err) = mariadb(port, "root", None, Some("shop"), "INSERT INTO t VALUES (1); SELECT count(*) FROM t");
    assert!(ok && out.ends_with("1\n"), "{out} {err}");
}

#[test]
fn statements_name_tables_in_other_databases() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) = mariadb(
        port,
        "root",
        None,
        None,
        "CREATE DATABASE a; CREATE DATABASE b;
         CREATE TABLE a.t (id INT PRIMARY KEY, v TEXT); CREATE TABLE b.u (id INT PRIMARY KEY, v TEXT);
         INSERT INTO a.t VALUES (1, 'x'), (2, 'y');
         INSERT INTO b.u SELECT id, upper(v) FROM a.t WHERE id = 2;
         UPDATE a.t SET v = 'z' WHERE id = 1;
         SELECT a.t.id, a.t.v, b.u.v AS w FROM a.t JOIN b.u ON a.t.id = b.u.id;
         USE a; SELECT group_concat(v ORDER BY id) AS vs FROM t; DELETE FROM b.u WHERE id = 2;
         SELECT count(*) AS left_in_b FROM b.u; DESCRIBE b.u;",
    );
    assert!(ok, "{err}");
    assert!(out.contains("id\tv\tw\n2\ty\tY\n"), "{out}");
    assert!(out.contains("vs\nz,y\n") && out.contains("left_in_b\n0\n"), "{out}");
    assert!(out.contains("id\tint\tNO\tPRI"), "DESCRIBE db.table: {out}");
    // Each database stays its own SQLite file.
    let b = rusqlite::Connection::open(dir.path().join("marmot-data/b.db")).unwrap();
    let tables: i64 = b.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'u'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1);
}

/// Results bigger than one batch (1,000 rows) are streamed to the client as SQLite
/// produces them: every row arrives, in order, through the text and the binary protocol,
/// after other results of a multi-statement query, and FOUND_ROWS() counts them.
#[test]
fn big_results_stream_whole_through_both_protocols() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let script = r#"
import sys, pymysql, mysql.connector
port = int(sys.argv[1])
c = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True,
                    client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
cur = c.cursor()
cur.execute("CREATE DATABASE big")
cur.execute("USE big")
cur.execute("CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(40), x DOUBLE)")
cur.execute("INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) "
            "SELECT i, printf('row-%06d', i), CASE WHEN i > 1500 THEN i / 2.0 END FROM n")
cur.execute("SELECT id, pad, x FROM t ORDER BY id")
rows = cur.fetchall()
assert len(rows) == 25000 and rows[0] == (1, "row-000001", None) and rows[-1] == (25000, "row-025000", 12500.0), rows[-1]
assert all(r[0] == i + 1 for i, r in enumerate(rows)), "rows out of order or missing"
cur.execute("SELECT FOUND_ROWS()")
assert cur.fetchone()[0] == 25000
# A multi-statement query whose last statement is the big read.
cur.execute("SELECT 1; SELECT id FROM t WHERE id > 20000")
assert cur.fetchall() == ((1,),)
assert cur.nextset() and len(cur.fetchall()) == 5000
# The binary protocol (prepared statement).
cx = mysql.connector.connect(host="127.0.0.1", port=port, user="root", database="big", use_pure=True)
pc = cx.cursor(prepared=True)
pc.execute("SELECT id, pad FROM t WHERE id <= %s ORDER BY id", (12345,))
got = pc.fetchall()
assert len(got) == 12345 and got[-1][0] == 12345 and got[-1][1] == "row-012345", got[-1]
print("OK")
"#;
    let (ok, out, err) = python(port, script);
    assert!(ok && out.contains("OK"), "{out}\n{err}");
}
