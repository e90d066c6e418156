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
def app(*statements):
    """A session on a new database `app`, made by `statements`."""
    s = connect()
    s.cursor().execute("CREATE DATABASE app")
    s.select_db("app")
    for q in statements:
        s.cursor().execute(q)
    return s
def in_threads(n, body):
    """Run `body` in `n` threads at once; the errors they caught."""
    errors = []
    ts = [threading.Thread(target=body, args=(errors,)) for _ in range(n)]
    [t.start() for t in ts]
    [t.join(120) for t in ts]
    return errors
"#;

/// Run a PyMySQL script (after [`PRELUDE`]) against a fresh node; it must exit 0.
fn run_on_one_node(body: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "");
    let (ok, out, err) = python(port, &(PRELUDE.to_string() + body));
    assert!(ok, "{out}\n{err}");
}

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
    run_on_one_node(
        r#"
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
"#,
    );
}

/// A transaction's later statements see its earlier rows. Point statements (by primary
/// key) are given only the earlier rows with their keys, so this checks the cases where
/// that must still be right: keys spelled another way (case, quotes around a number),
/// rows deleted earlier, inserts that collide with earlier rows, and tables whose rows
/// are linked (a secondary unique key) or statements that are not by key, which must see
/// every earlier row.
#[test]
fn transactions_see_their_earlier_rows() {
    run_on_one_node(
        r#"
c = connect(); cur = c.cursor()
cur.execute("CREATE DATABASE app")
cur.execute("CREATE TABLE app.n (id INT PRIMARY KEY, v VARCHAR(10))")
cur.execute("CREATE TABLE app.s (id VARCHAR(20) PRIMARY KEY, v INT)")
cur.execute("CREATE TABLE app.u (id INT PRIMARY KEY, email VARCHAR(40) UNIQUE)")
cur.execute("INSERT INTO app.n VALUES (1, 'committed')")
s = connect("app"); k = s.cursor()
def one(sql):
    k.execute(sql); return k.fetchall()
def code(sql):
    try:
        k.execute(sql); return 0
    except pymysql.err.MySQLError as e:
        return e.args[0]

k.execute("BEGIN")
k.execute("INSERT INTO n (id, v) VALUES (2, 'a'), (3, 'b')")
assert k.execute("UPDATE n SET v = 'c' WHERE id = '2'") == 1, "a quoted number names the same key"
assert one("SELECT v FROM n WHERE id = 2") == (("c",),)
assert k.execute("DELETE FROM n WHERE id = 3") == 1
assert one("SELECT v FROM n WHERE id = 3") == ()
assert k.execute("UPDATE n SET v = 'x' WHERE id = 3") == 0, "a row deleted earlier stays deleted"
assert code("INSERT INTO n (id, v) VALUES (2, 'dup')") == 1062, "an earlier insert's key is taken"
k.execute("INSERT INTO n (id, v) VALUES (3, 'again')")
k.execute("INSERT INTO n (id, v) VALUES (2, 'z') ON DUPLICATE KEY UPDATE v = 'upserted'")
assert one("SELECT v FROM n WHERE id IN (2, 3) ORDER BY id") == (("upserted",), ("again",))
assert one("SELECT count(*) FROM n") == ((3,),), "a statement not by key sees every row"
k.execute("INSERT INTO s (id, v) VALUES ('Key-A', 1)")
assert code("INSERT INTO s (id, v) VALUES ('key-a', 2)") == 1062, "text keys compare without case"
assert one("SELECT v FROM s WHERE id = ' key-a'") == (), "a different key is a different row"
assert one("SELECT v FROM s WHERE id = 'KEY-A'") == ((1,),)
k.execute("INSERT INTO u (id, email) VALUES (1, 'a@x')")
assert code("INSERT INTO u (id, email) VALUES (2, 'a@x')") == 1062, "a secondary unique key links rows"
k.execute("COMMIT")
c2 = connect("app").cursor()
c2.execute("SELECT id, v FROM n ORDER BY id")
assert c2.fetchall() == ((1, "committed"), (2, "upserted"), (3, "again")), "committed as seen"
c2.execute("SELECT count(*) FROM u")
assert c2.fetchone()[0] == 1
print("ok")
"#,
    );
}

/// A client cannot reach marmot's own tables or SQLite's doors to the server's files:
/// each attempt gets a MySQL error, and the node keeps working afterwards.
#[test]
fn clients_cannot_touch_internal_tables_or_files() {
    run_on_one_node(
        r#"
import os
c = connect(); cur = c.cursor()
cur.execute("CREATE DATABASE app")
s = connect("app"); k = s.cursor()
k.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
def code(sql):
    try:
        k.execute(sql); k.fetchall(); return 0
    except pymysql.err.MySQLError as e:
        return e.args[0]
target = "/tmp/marmot-guard-%d.db" % os.getpid()
refused = {
    "DROP TABLE __marmot_row_versions": 1142,
    "SELECT * FROM __marmot_log": 1142,
    "DELETE FROM __marmot_applied": 1142,
    "SELECT name FROM sqlite_master": 1146,
    "PRAGMA writable_schema = 1": None,
    "ATTACH DATABASE '%s' AS x" % target: None,
    "VACUUM INTO '%s'" % target: None,
    "SELECT * FROM pragma_table_list": 1142,
    "SELECT * FROM pragma_table_info('__marmot_log')": 1142,
    "SELECT load_extension('/tmp/nothing.so')": 1142,
    "PRAGMA table_info(__marmot_log)": None,
    "SELECT * FROM sqlite_temp_master": 1146,
    "SELECT * FROM temp.__marmot_cap": 1146,
    "DESCRIBE __marmot_log": 1146,
    "SHOW COLUMNS FROM __marmot_row_versions": 1146,
    "SHOW CREATE TABLE __marmot_log": 1146,
    "SHOW INDEX FROM __marmot_row_versions": 1146,
    "DESCRIBE __MARMOT_LOG": 1146,
    "SELECT * FROM __Marmot_Log": 1142,
}
for sql, want in refused.items():
    got = code(sql)
    assert got != 0 and (want is None or got == want), (sql, got)
k.execute("BEGIN")
k.execute("INSERT INTO t VALUES (1, 1)")
assert code("UPDATE __marmot_row_versions SET wall = 0") == 1142
k.execute("COMMIT")
assert not os.path.exists(target), "a client named a file on the server"
k.execute("INSERT INTO t VALUES (2, 2)")
k.execute("SELECT count(*) FROM t")
assert k.fetchone()[0] == 2, "the node still writes"
# Listings show the user's tables only.
for listing in ["SHOW TABLES", "SHOW FULL TABLES", "SHOW TABLE STATUS",
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'app'",
                "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'app'",
                "SELECT DISTINCT table_name FROM information_schema.statistics WHERE table_schema = 'app'"]:
    k.execute(listing)
    assert [r[0] for r in k.fetchall()] == ["t"], listing
print("ok")
"#,
    );
}

/// Two sessions of one node changing the same row behave as under InnoDB's row locks:
/// the second waits for the first transaction to end and then works on the row it left
/// (no lost update, no error); a cycle of waits is a deadlock (1213) that rolls the
/// victim back and lets the other go on; a wait past `lock_wait_timeout_seconds` is
/// 1205 and leaves the waiting transaction open.
#[test]
fn sessions_wait_for_rows_other_transactions_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(dir.path(), "[transaction]\nlock_wait_timeout_seconds = 2\n");
    let script = PRELUDE.to_string()
        + r#"
setup = connect()
setup.cursor().execute("CREATE DATABASE app")
setup.select_db("app")
setup.cursor().execute("CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL)")
setup.cursor().execute("INSERT INTO c VALUES (1, 0), (2, 0)")

# A holds row 1 for 0.6 s; B's increment of it waits, then counts on A's value.
a, b = connect("app"), connect("app")
a.begin()
a.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 1")
waited = []
def bump():
    t = time.time()
    b.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 1")
    waited.append(time.time() - t)
tb = threading.Thread(target=bump); tb.start()
time.sleep(0.6)
a.commit()
tb.join(10)
assert waited and waited[0] >= 0.5, f"B did not wait for A: {waited}"
cur = setup.cursor(); cur.execute("SELECT n FROM c WHERE id = 1")
assert cur.fetchone()[0] == 2, "an increment was lost"

# A holds 1 and wants 2; B holds 2 and wants 1: one of them is the deadlock victim.
a.begin(); b.begin()
a.cursor().execute("UPDATE c SET n = n + 10 WHERE id = 1")
b.cursor().execute("UPDATE c SET n = n + 100 WHERE id = 2")
errors = []
def a_wants_2():
    try:
        a.cursor().execute("UPDATE c SET n = n + 10 WHERE id = 2")
        a.commit()
    except pymysql.err.OperationalError as e:
        errors.append(("a", e.args[0]))
ta = threading.Thread(target=a_wants_2); ta.start()
time.sleep(0.3)
try:
    b.cursor().execute("UPDATE c SET n = n + 100 WHERE id = 1")
    b.commit()
except pymysql.err.OperationalError as e:
    errors.append(("b", e.args[0]))
ta.join(10)
assert errors == [("b", 1213)], f"expected B to be the deadlock victim: {errors}"
b.rollback()
cur.execute("SELECT n FROM c ORDER BY id")
assert [r[0] for r in cur.fetchall()] == [12, 10], "the victim's rows must be rolled back, the survivor's kept"

# Nobody releases: the waiter gets 1205 after the lock wait and its transaction stays.
a.begin(); b.begin()
b.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 2")
a.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 1")
t = time.time()
try:
    b.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 1")
    raise AssertionError("no lock wait timeout")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 1205, e
assert 1.5 < time.time() - t < 10, time.time() - t
a.rollback()
b.commit()
cur.execute("SELECT n FROM c ORDER BY id")
assert [r[0] for r in cur.fetchall()] == [12, 11], "B's earlier row must survive its timeout"
print("ok")
"#;
    let (ok, out, err) = python(port, &script);
    assert!(ok && out.contains("ok"), "{out}\n{err}");
}

/// Eight sessions of one node bump one counter at once, at consistency ONE (where no
/// commit-time check would catch a stale row): the row locks alone must make every
/// increment count, with no error.
#[test]
fn concurrent_increments_on_one_node_all_count_even_at_one() {
    run_on_one_node(
        r#"
setup = app("CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL)", "INSERT INTO c VALUES (1, 0)")
def bump(errors):
    s = connect("app")
    s.cursor().execute("SET marmot_write_consistency = 'ONE'")
    for _ in range(60):
        try:
            s.cursor().execute("UPDATE c SET n = n + 1 WHERE id = 1")
        except Exception as e:
            errors.append(repr(e))
errors = in_threads(8, bump)
cur = setup.cursor(); cur.execute("SELECT n FROM c WHERE id = 1")
n = cur.fetchone()[0]
assert not errors, errors[:5]
assert n == 480, f"{480 - n} increments lost"
print("ok")
"#,
    );
}

/// Read, compute in the application, write back: the pattern `SELECT … FOR UPDATE` exists
/// for. Six sessions of one node add to one counter that way; the locking read makes each
/// wait for the one before it, so no increment is lost (without it, two read the same
/// value and one write silently replaces the other). `NOWAIT` fails at once with 3572,
/// and a join's rows are locked in every table it reads.
#[test]
fn select_for_update_makes_read_then_write_safe() {
    run_on_one_node(
        r#"
setup = app("CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL)", "CREATE TABLE d (id INT PRIMARY KEY, c_id INT NOT NULL)",
            "INSERT INTO c VALUES (1, 0), (2, 0)", "INSERT INTO d VALUES (7, 2)")
def bump(errors):
    s = connect("app")
    s.autocommit(False)
    for _ in range(25):
        try:
            cur = s.cursor()
            cur.execute("SELECT n FROM c WHERE id = 1 FOR UPDATE")
            n = cur.fetchone()[0]
            time.sleep(0.002)
            cur.execute("UPDATE c SET n = %s WHERE id = 1", (n + 1,))
            s.commit()
        except Exception as e:
            errors.append(repr(e))
            s.rollback()
errors = in_threads(6, bump)
cur = setup.cursor(); cur.execute("SELECT n FROM c WHERE id = 1")
n = cur.fetchone()[0]
assert not errors, errors[:5]
assert n == 150, f"{150 - n} increments lost"

a, b = connect("app"), connect("app")
a.begin()
a.cursor().execute("SELECT d.id, c.n FROM d JOIN c ON c.id = d.c_id WHERE d.id = 7 FOR UPDATE")
b.begin()
try:
    b.cursor().execute("SELECT n FROM c WHERE id = 2 FOR UPDATE NOWAIT")
    raise AssertionError("NOWAIT did not fail on a row a join locked")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 3572, e
# A row nobody holds is had at once; the lock goes with the transaction.
b.cursor().execute("SELECT n FROM c WHERE id = 1 FOR UPDATE NOWAIT")
b.rollback()
a.commit()
b.begin()
b.cursor().execute("SELECT n FROM c WHERE id = 2 FOR UPDATE NOWAIT")
b.commit()
print("ok")
"#,
    );
}
