//! The write path on one real node: every write runs on the database's one writer (the
//! engine thread), so no statement waits for a lock held by another in-process writer,
//! and nothing a statement does can stall the server's other connections.

use std::time::{Duration, Instant};

use marmot_e2e::{python, start_mysql_node};

/// PyMySQL with timeouts, so a stalled server fails the test instead of hanging it.
const PRELUDE: &str = r#"
import sys, threading, time, pymysql
port = int(sys.argv[1])
def connect(db=None):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database=db, autocommit=True,
                           connect_timeout=5, read_timeout=30, write_timeout=30)
"#;

/// Found by a new user (an ORM's test suite): with `test` current, `DESCRIBE
/// test_schema.x` (1146), then `CREATE TABLE test_schema.x …`, then `INSERT INTO
/// test_schema.x VALUES (1)` in one autocommit session. The INSERT used to block for the
/// whole lock wait (50 s) and fail with 1205 while new connections failed at the
/// handshake, and afterwards `test` was reported missing (1049).
#[test]
fn writes_naming_another_database_neither_hang_nor_stall_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let script = PRELUDE.to_string()
        + r#"
c = connect()
c.cursor().execute("CREATE DATABASE test")
c.cursor().execute("CREATE DATABASE test_schema")
c.close()

# Other clients keep connecting and querying while the session below works.
stop = threading.Event()
slowest = [0.0]
failures = []
def prober():
    while not stop.is_set():
        t = time.time()
        try:
            p = connect("test")
            cur = p.cursor(); cur.execute("SELECT 1"); cur.fetchall(); p.close()
        except Exception as e:
            failures.append(repr(e))
        slowest[0] = max(slowest[0], time.time() - t)
        time.sleep(0.02)
probe = threading.Thread(target=prober); probe.start()

try:
    s = connect("test")
    cur = s.cursor()
    try:
        cur.execute("DESCRIBE test_schema.x")
        print("DESCRIBE of a missing table succeeded"); sys.exit(1)
    except pymysql.err.ProgrammingError as e:
        assert e.args[0] == 1146, e
    t = time.time()
    cur.execute("CREATE TABLE test_schema.x (id INTEGER NOT NULL, PRIMARY KEY (id))")
    cur.execute("INSERT INTO test_schema.x VALUES (1)")
    cur.execute("INSERT INTO test_schema.x SELECT id + 1 FROM test_schema.x")
    cur.execute("UPDATE test_schema.x SET id = id + 10 WHERE id = 2")
    cur.execute("SELECT id FROM test_schema.x ORDER BY id")
    rows = [r[0] for r in cur.fetchall()]
    assert rows == [1, 12], rows
    took = time.time() - t
    # In an explicit transaction too.
    cur.execute("BEGIN")
    cur.execute("INSERT INTO test_schema.x VALUES (20)")
    cur.execute("COMMIT")
finally:
    stop.set(); probe.join()
assert not failures, failures
# The current database is still there, for this session and for new ones.
cur.execute("SELECT DATABASE()")
assert cur.fetchone()[0] == "test"
n = connect("test"); c2 = n.cursor(); c2.execute("SELECT count(*) FROM test_schema.x")
assert c2.fetchone()[0] == 3
print(f"statements took {took:.3f} s; slowest probe {slowest[0]:.3f} s")
assert took < 5, took
assert slowest[0] < 5, slowest[0]
"#;
    let started = Instant::now();
    let (ok, out, err) = python(port, &script);
    assert!(ok, "{out}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "{out}");
}

/// The write path's single writer serves concurrent sessions on one database without
/// lock errors: 8 threads × 50 autocommit inserts and 8 × 10 explicit transactions all
/// commit, and the table holds exactly their rows.
#[test]
fn concurrent_sessions_write_one_database_without_lock_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let script = PRELUDE.to_string()
        + r#"
c = connect(); cur = c.cursor()
cur.execute("CREATE DATABASE app")
cur.execute("CREATE TABLE app.t (id INT PRIMARY KEY, who INT, n INT)")
errors = []
def worker(w):
    try:
        s = connect("app"); k = s.cursor()
        for i in range(50):
            k.execute("INSERT INTO t VALUES (%s, %s, 0)", (w * 1000 + i, w))
        for i in range(10):
            k.execute("BEGIN")
            k.execute("INSERT INTO t VALUES (%s, %s, 1)", (w * 1000 + 500 + i, w))
            k.execute("UPDATE t SET n = n + 1 WHERE id = %s", (w * 1000 + i,))
            k.execute("SELECT n FROM t WHERE id = %s", (w * 1000 + i,))
            assert k.fetchone()[0] == 1, "a transaction reads its own update"
            k.execute("COMMIT")
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
assert not errors, errors
cur.execute("SELECT count(*), sum(n) FROM app.t")
count, total = cur.fetchone()
assert (count, int(total)) == (8 * 60, 8 * 20), (count, total)
print("ok")
"#;
    let (ok, out, err) = python(port, &script);
    assert!(ok, "{out}\n{err}");
}
