//! Statement execution in process: a real engine over real SQLite files in a temporary
//! directory, sessions driven directly, no sockets and no client. The wire protocol is
//! tested with real clients in `tests/`; these pin down what a session does.

use std::sync::Arc;
use std::time::Duration;

use marmot_core::Value;

use super::Session;
use crate::engine::{Engine, Network};
use crate::ids::IdMode;
use crate::mysql::proto::status;
use crate::mysql::results::Outcome;
use crate::mysql::row_locks::RowLocks;
use crate::mysql::session_functions::writer_setup;
use crate::mysql::stmt_cache::StatementCache;

/// A node alone, and a way to open sessions on it.
struct Node {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    cache: Arc<StatementCache>,
    locks: Arc<RowLocks>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start() -> Node {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _thread) = rt.block_on(async {
            Engine::start_with(
                marmot_store::Location::Dir(dir.path().to_path_buf()),
                marmot_store::Synchronous::Normal,
                1,
                marmot_core::CoreConfig::default(),
                1,
                IdMode::Compact,
                Network::default(),
                Some(writer_setup()),
            )
            .expect("engine")
        });
        let engine = engine.with_lock_wait(Duration::from_secs(1));
        Node { rt, engine, cache: Arc::new(StatementCache::new(100)), locks: Arc::default(), _dir: dir }
    }

    fn session(&self, conn_id: u32) -> Session {
        Session::new(self.engine.clone(), self.cache.clone(), self.locks.clone(), "root".into(), conn_id)
    }

    /// Run `sql` (one or more statements) in `s`; the outcome of each.
    fn run(&self, s: &mut Session, sql: &str) -> Vec<Outcome> {
        self.rt.block_on(s.query(sql))
    }

    /// Run `sql`, which must succeed; the rows of its last statement as text.
    fn rows(&self, s: &mut Session, sql: &str) -> Vec<Vec<String>> {
        let out = self.run(s, sql);
        if let Some(Outcome::Error(e)) = out.iter().find(|o| matches!(o, Outcome::Error(_))) {
            panic!("{sql}: {} {}", e.code, e.msg);
        }
        match out.last() {
            Some(Outcome::Rows { rows, .. }) => rows.iter().map(|r| r.iter().map(show).collect()).collect(),
            _ => Vec::new(),
        }
    }

    /// The MySQL error code `sql` ends with (0: none).
    fn code(&self, s: &mut Session, sql: &str) -> u16 {
        self.run(s, sql)
            .iter()
            .find_map(|o| match o {
                Outcome::Error(e) => Some(e.code),
                _ => None,
            })
            .unwrap_or(0)
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn ids(rows: Vec<Vec<String>>) -> Vec<String> {
    rows.into_iter().map(|r| r[0].clone()).collect()
}

#[test]
fn a_transaction_sees_its_own_writes_and_others_see_them_only_after_commit() {
    let n = Node::start();
    let (mut a, mut b) = (n.session(1), n.session(2));
    n.rows(&mut a, "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v TEXT)");
    n.rows(&mut b, "USE d");
    n.rows(&mut a, "BEGIN; INSERT INTO t VALUES (1, 'x'), (2, 'y'); UPDATE t SET v = 'z' WHERE id = 2");
    assert_ne!(a.status_flags() & status::IN_TRANS, 0, "BEGIN opens a transaction");
    assert_eq!(n.rows(&mut a, "SELECT id, v FROM t ORDER BY id"), vec![vec!["1", "x"], vec!["2", "z"]]);
    assert!(n.rows(&mut b, "SELECT id FROM t").is_empty(), "uncommitted rows seen by another session");
    n.rows(&mut a, "COMMIT");
    assert_eq!(a.status_flags() & status::IN_TRANS, 0);
    assert_eq!(ids(n.rows(&mut b, "SELECT id FROM t ORDER BY id")), vec!["1", "2"]);
    // ROLLBACK discards, and the row is free again.
    n.rows(&mut a, "BEGIN; DELETE FROM t WHERE id = 1; ROLLBACK");
    assert_eq!(ids(n.rows(&mut b, "SELECT id FROM t ORDER BY id")), vec!["1", "2"]);
    n.rows(&mut b, "UPDATE t SET v = 'b' WHERE id = 1");
    assert_eq!(n.rows(&mut a, "SELECT v FROM t WHERE id = 1"), vec![vec!["b"]]);
}

#[test]
fn savepoints_roll_back_part_of_a_transaction() {
    let n = Node::start();
    let mut a = n.session(1);
    n.rows(&mut a, "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY)");
    n.rows(&mut a, "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s1; INSERT INTO t VALUES (2); SAVEPOINT s2");
    n.rows(&mut a, "INSERT INTO t VALUES (3); ROLLBACK TO SAVEPOINT s1");
    assert_eq!(ids(n.rows(&mut a, "SELECT id FROM t ORDER BY id")), vec!["1"]);
    // s1 stays, s2 (later) went.
    assert_eq!(n.code(&mut a, "ROLLBACK TO SAVEPOINT s2"), 1305);
    n.rows(&mut a, "INSERT INTO t VALUES (4); RELEASE SAVEPOINT s1; COMMIT");
    assert_eq!(ids(n.rows(&mut a, "SELECT id FROM t ORDER BY id")), vec!["1", "4"]);
}

#[test]
fn with_autocommit_off_writes_wait_for_commit() {
    let n = Node::start();
    let (mut a, mut b) = (n.session(1), n.session(2));
    n.rows(&mut a, "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY)");
    n.rows(&mut b, "USE d");
    n.rows(&mut a, "SET autocommit = 0; INSERT INTO t VALUES (1)");
    assert_eq!(a.status_flags() & status::AUTOCOMMIT, 0);
    assert!(n.rows(&mut b, "SELECT id FROM t").is_empty());
    // Switching autocommit back on commits the open transaction, as in MySQL.
    n.rows(&mut a, "SET autocommit = 1");
    assert_eq!(ids(n.rows(&mut b, "SELECT id FROM t")), vec!["1"]);
}

#[test]
fn failures_are_mysql_errors_and_leave_nothing_behind() {
    let n = Node::start();
    let mut a = n.session(1);
    assert_eq!(n.code(&mut a, "SELECT * FROM t"), 1046, "no database selected");
    n.rows(&mut a, "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)");
    assert_eq!(n.code(&mut a, "SELEC 1"), 1064);
    assert_eq!(n.code(&mut a, "SELECT * FROM nope"), 1146);
    assert_eq!(n.code(&mut a, "CREATE TABLE t (x INT)"), 1050);
    assert_eq!(n.code(&mut a, "INSERT INTO t VALUES (1, NULL)"), 1048);
    assert_eq!(n.code(&mut a, "USE nope"), 1049);
    // A statement that fails half-way changes nothing: the second row is a duplicate.
    n.rows(&mut a, "INSERT INTO t VALUES (1, 1)");
    assert_eq!(n.code(&mut a, "INSERT INTO t VALUES (2, 2), (1, 3)"), 1062);
    assert_eq!(ids(n.rows(&mut a, "SELECT id FROM t ORDER BY id")), vec!["1"]);
    // marmot's own tables are closed to clients.
    assert_eq!(n.code(&mut a, "SELECT * FROM __marmot_log"), 1142);
}

#[test]
fn a_savepoint_belongs_to_its_transaction() {
    let n = Node::start();
    let mut a = n.session(1);
    n.rows(&mut a, "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY)");
    // With autocommit, a savepoint ends with the statement that set it (MySQL: 1305 after).
    n.rows(&mut a, "SAVEPOINT s");
    assert_eq!(a.status_flags() & status::IN_TRANS, 0);
    assert_eq!(n.code(&mut a, "ROLLBACK TO SAVEPOINT s"), 1305);
    // Without autocommit, SAVEPOINT opens the transaction it belongs to.
    n.rows(&mut a, "SET autocommit = 0; SAVEPOINT s; INSERT INTO t VALUES (1); ROLLBACK TO SAVEPOINT s");
    assert_ne!(a.status_flags() & status::IN_TRANS, 0);
    n.rows(&mut a, "INSERT INTO t VALUES (2); COMMIT");
    assert_eq!(ids(n.rows(&mut a, "SELECT id FROM t")), vec!["2"]);
}
