//! A cluster under load: writes on every node at once, and a node killed with SIGKILL.

use std::time::Duration;

use marmot_e2e::{eventually, mariadb, python, query, Cluster};

/// PyMySQL writer: argv[1] = port; `tag`, `seconds` and `threads` are set by the line
/// [`run_writer`] puts in front. Each thread inserts rows with
/// unique ids and bumps shared counters, with `n = n + 1` or by writing back what a
/// `SELECT … FOR UPDATE` read (retrying 1213 conflicts with jittered
/// exponential backoff, as an application would); prints `ok errors retries max_pause_ms` and every error.
const WRITER: &str = r#"
import random, sys, threading, time, pymysql
port = int(sys.argv[1])
stats = {"ok": 0, "errors": [], "retries": 0, "pause": 0.0}
lock = threading.Lock()
def work(t):
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", database="load", autocommit=False)
    cur = conn.cursor()
    end = time.time() + seconds
    last = time.time()
    i = 0
    while time.time() < end:
        i += 1
        for attempt in range(50):
            try:
                cur.execute("INSERT INTO events (id, node, n) VALUES (%s, %s, %s)", (f"{tag}-{t}-{i}", tag, i))
                if i % 2:
                    cur.execute("UPDATE counters SET hits = hits + 1 WHERE id = %s", (i % 5,))
                else:
                    # Read, then write what the application computed: FOR UPDATE's read
                    # is what the write is checked against at commit.
                    cur.execute("SELECT hits FROM counters WHERE id = %s FOR UPDATE", (i % 5,))
                    hits = cur.fetchone()[0]
                    cur.execute("UPDATE counters SET hits = %s WHERE id = %s", (hits + 1, i % 5))
                conn.commit()
                now = time.time()
                with lock:
                    stats["ok"] += 1
                    stats["pause"] = max(stats["pause"], now - last)
                last = now
                break
            except pymysql.err.OperationalError as e:
                conn.rollback()
                if e.args[0] == 1213:
                    with lock:
                        stats["retries"] += 1
                    time.sleep(random.uniform(0, min(0.2, 0.002 * 2 ** attempt)))
                    continue
                with lock:
                    stats["errors"].append(repr(e))
                break
            except Exception as e:
                with lock:
                    stats["errors"].append(repr(e))
                try:
                    conn.rollback()
                except Exception:
                    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", database="load", autocommit=False)
                    cur = conn.cursor()
                break
        else:
            with lock:
                stats["errors"].append("gave up after 50 conflicts")
ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
print(stats["ok"], len(stats["errors"]), stats["retries"], int(stats["pause"] * 1000))
for e in stats["errors"][:10]:
    print(e)
"#;

struct Load {
    ok: u64,
    errors: u64,
    retries: u64,
    max_pause_ms: u64,
    output: String,
}

fn run_writer(port: u16, tag: &str, seconds: f64, threads: u32) -> Load {
    let script = format!("tag, seconds, threads = {tag:?}, {seconds}, {threads}\n{WRITER}");
    let (ok, out, err) = python(port, &script);
    assert!(ok, "writer on port {port} failed: {err}");
    let nums: Vec<u64> = out.lines().next().unwrap_or("").split(' ').filter_map(|x| x.parse().ok()).collect();
    assert_eq!(nums.len(), 4, "writer output: {out}");
    Load { ok: nums[0], errors: nums[1], retries: nums[2], max_pause_ms: nums[3], output: out }
}

/// [`run_writer`] on every node at once, each in its own thread.
fn start_writers(c: &Cluster, seconds: f64, threads: u32) -> Vec<std::thread::JoinHandle<Load>> {
    c.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let port = n.mysql;
            std::thread::spawn(move || run_writer(port, &format!("n{}", i + 1), seconds, threads))
        })
        .collect()
}

fn schema(c: &Cluster) {
    query(
        c.nodes[0].mysql,
        None,
        "CREATE DATABASE load; USE load; \
         CREATE TABLE events (id VARCHAR(40) PRIMARY KEY, node VARCHAR(8), n INT); \
         CREATE TABLE counters (id INT PRIMARY KEY, hits INT NOT NULL); \
         INSERT INTO counters VALUES (0,0),(1,0),(2,0),(3,0),(4,0)",
    );
    for n in &c.nodes[1..] {
        eventually(n.mysql, Some("load"), "SELECT count(*) FROM counters", "count(*)\n5\n", Duration::from_secs(10));
    }
}

/// A digest of both tables as the node serves them.
const DIGEST: &str = "SELECT (SELECT count(*) FROM events) AS events, \
     (SELECT sum(hits) FROM counters) AS hits, \
     (SELECT group_concat(id || ':' || hits) FROM (SELECT * FROM counters ORDER BY id)) AS per_counter, \
     (SELECT sum(length(id) * n) FROM events) AS checksum";

fn digest(port: u16) -> String {
    query(port, Some("load"), DIGEST)
}

/// (events, hits) of a digest: rows inserted, and the counters' sum. Each writer
/// transaction inserts one event and bumps one counter, atomically.
fn events_and_hits(d: &str) -> (u64, u64) {
    let cols: Vec<u64> = d.lines().nth(1).unwrap().split('\t').take(2).map(|x| x.parse().unwrap()).collect();
    (cols[0], cols[1])
}

fn all_identical(c: &Cluster, within: Duration) -> String {
    // Every node is read afresh each round: any of them may still be applying.
    let start = std::time::Instant::now();
    loop {
        let digests: Vec<String> = c.nodes.iter().map(|n| digest(n.mysql)).collect();
        if digests.iter().all(|d| *d == digests[0]) {
            return digests[0].clone();
        }
        assert!(start.elapsed() < within, "nodes still differ after {within:?}: {digests:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn concurrent_writes_on_every_node_end_identical() {
    let c = Cluster::start(3, "s", "");
    schema(&c);
    let loads: Vec<Load> = start_writers(&c, 4.0, 3).into_iter().map(|h| h.join().unwrap()).collect();
    let committed: u64 = loads.iter().map(|l| l.ok).sum();
    for l in &loads {
        assert_eq!(l.errors, 0, "errors: {}", l.output);
        assert!(l.ok > 10, "too few commits: {}", l.output);
    }
    let d = all_identical(&c, Duration::from_secs(20));
    // Every committed transaction's row is there, once, and every committed increment
    // counts: bumps of one counter from three nodes at once are first-committer-wins
    // (the later gets 1213 and retries), never one silently replacing another.
    let (events, hits) = events_and_hits(&d);
    assert_eq!(events, committed, "committed {committed}, nodes have {d}");
    assert_eq!(hits, committed, "lost updates: {committed} increments committed, counters sum to {hits}: {d}");
    eprintln!(
        "committed {committed} transactions on 3 nodes; retries {:?}",
        loads.iter().map(|l| l.retries).collect::<Vec<_>>()
    );
}

fn incarnation(c: &Cluster, from: usize, of: u64) -> u64 {
    let (_, body) = c.nodes[from].http("GET", "/admin/cluster/members", Some("s"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["members"].as_array().unwrap().iter().find(|m| m["NodeID"] == of).unwrap()["Incarnation"].as_u64().unwrap()
}

#[test]
fn a_killed_node_does_not_stop_quorum_writes_and_catches_up_after_restart() {
    let mut c = Cluster::start(3, "s", "");
    schema(&c);
    let before = incarnation(&c, 0, 3);
    let (p1, p2) = (c.nodes[0].mysql, c.nodes[1].mysql);
    let w1 = std::thread::spawn(move || run_writer(p1, "n1", 6.0, 2));
    let w2 = std::thread::spawn(move || run_writer(p2, "n2", 6.0, 2));
    std::thread::sleep(Duration::from_secs(2));
    c.nodes[2].kill9();
    let (l1, l2) = (w1.join().unwrap(), w2.join().unwrap());
    for l in [&l1, &l2] {
        assert_eq!(l.errors, 0, "QUORUM writes failed after the kill: {}", l.output);
        assert!(l.ok > 10, "too few commits: {}", l.output);
    }
    eprintln!(
        "QUORUM writes with one of three nodes killed: {} + {} commits, longest pause between commits {} ms / {} ms",
        l1.ok, l2.ok, l1.max_pause_ms, l2.max_pause_ms
    );
    // ALL cannot be met with a node down: a clear error, nothing written.
    let (ok, _, err) = mariadb(
        p1,
        "root",
        None,
        Some("load"),
        "SET marmot_write_consistency = 'ALL'; INSERT INTO events VALUES ('all-1', 'n1', 1)",
    );
    assert!(!ok, "a write at ALL succeeded with a node down");
    assert!(err.contains("acknowledgements") && err.contains("ALL"), "unclear error: {err}");
    assert_eq!(query(p1, Some("load"), "SELECT count(*) FROM events WHERE id = 'all-1'"), "count(*)\n0\n");
    // Restarted, it rejoins with a higher incarnation and catches up.
    c.nodes[2].start();
    let d = all_identical(&c, Duration::from_secs(30));
    assert!(incarnation(&c, 0, 3) > before, "incarnation did not grow");
    let (events, hits) = events_and_hits(&d);
    assert!(events >= l1.ok + l2.ok, "{events} rows for {} commits", l1.ok + l2.ok);
    assert_eq!(hits, events, "lost updates across the kill: {events} transactions, counters sum to {hits}");
    // And it takes writes again, at ALL too.
    c.wait_writable(2);
    query(
        c.nodes[2].mysql,
        Some("load"),
        "SET marmot_write_consistency = 'ALL'; INSERT INTO events VALUES ('all-2', 'n3', 1)",
    );
    all_identical(&c, Duration::from_secs(10));
}

#[test]
fn a_node_back_from_far_behind_catches_up_by_snapshot() {
    let extra = "[replication]\ndelta_sync_threshold_transactions = 20\n";
    let mut c = Cluster::start(3, "s", extra);
    schema(&c);
    c.nodes[2].kill9();
    // Well past the threshold while node 3 is away: 150 transactions.
    let inserts: String =
        (0..150).map(|i| format!("INSERT INTO events VALUES ('away-{i}', 'n1', {i});")).collect::<Vec<_>>().join(" ");
    query(c.nodes[0].mysql, Some("load"), &inserts);
    query(c.nodes[1].mysql, Some("load"), "UPDATE counters SET hits = 7 WHERE id = 3");
    c.nodes[2].start();
    let d = all_identical(&c, Duration::from_secs(30));
    assert!(d.contains("\n150\t7\t"), "{d}");
    let log = c.nodes[2].log();
    assert!(log.contains("snapshot installed"), "node 3 did not catch up by snapshot:\n{log}");
    let (_, metrics) = c.nodes[2].http("GET", "/metrics", None);
    let installed = metrics.lines().find(|l| l.starts_with("marmot_snapshots_installed_total ")).unwrap_or_default();
    assert_ne!(installed, "marmot_snapshots_installed_total 0", "{metrics}");
    assert!(!installed.is_empty(), "{metrics}");
    // And it takes part in writes again.
    c.wait_writable(2);
    query(c.nodes[2].mysql, Some("load"), "INSERT INTO events VALUES ('back', 'n3', 1)");
    all_identical(&c, Duration::from_secs(10));
}

#[test]
fn a_fourth_node_joins_a_loaded_cluster_by_snapshot_and_ends_identical() {
    let mut c = Cluster::start(3, "s", "");
    schema(&c);
    // Some history first, so the newcomer has something to copy.
    let rows: String = (0..400).map(|i| format!("('pre-{i}', 'n1', {i})")).collect::<Vec<_>>().join(",");
    query(c.nodes[0].mysql, Some("load"), &format!("INSERT INTO events VALUES {rows}"));
    let runs = start_writers(&c, 8.0, 2);
    std::thread::sleep(Duration::from_secs(2));
    let four = c.add_node("");
    let loads: Vec<Load> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    for l in &loads {
        assert_eq!(l.errors, 0, "a joining node disturbed the writers: {}", l.output);
    }
    let committed: u64 = loads.iter().map(|l| l.ok).sum();
    let d = all_identical(&c, Duration::from_secs(30));
    let (events, hits) = events_and_hits(&d);
    assert_eq!(events, 400 + committed, "committed 400 + {committed}, nodes have {d}");
    assert_eq!(hits, committed, "lost updates while node 4 joined: {d}");
    let log = c.nodes[four].log();
    assert!(log.contains("snapshot installed"), "the new node did not start from a snapshot:\n{log}");
    assert!(log.contains("caught up with the cluster"), "{log}");
    // It is a full member: it coordinates writes, and the others see them.
    c.wait_writable(four);
    query(c.nodes[four].mysql, Some("load"), "INSERT INTO events VALUES ('from-4', 'n4', 1)");
    all_identical(&c, Duration::from_secs(10));
    let (_, members) = c.nodes[0].http("GET", "/admin/cluster/members", Some("s"));
    assert_eq!(members.matches("\"ALIVE\"").count(), 4, "{members}");
    eprintln!("{committed} transactions committed while node 4 joined");
}

/// A row read with `SELECT … FOR UPDATE` on node 1 and changed through node 2 before the
/// reader commits: the reader's commit is refused (1213) whether it then writes the value
/// it computed (here equal to the row's new value, so the UPDATE itself changes nothing)
/// or writes only other rows; a reader whose row nobody changed commits.
#[test]
fn a_row_read_for_update_on_one_node_and_changed_on_another_refuses_the_reader() {
    let c = Cluster::start(3, "", "");
    schema(&c);
    let script = format!(
        r#"
import pymysql, sys
def connect(port):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database="load", read_timeout=30)
a, b = connect(int(sys.argv[1])), connect({p2})
b.autocommit(True)
def refused(write):
    a.begin()
    cur = a.cursor()
    cur.execute("SELECT hits FROM counters WHERE id = 1 FOR UPDATE")
    hits = cur.fetchone()[0]
    b.cursor().execute("UPDATE counters SET hits = hits + 1 WHERE id = 1")
    write(cur, hits)
    try:
        a.commit()
    except pymysql.err.OperationalError as e:
        assert e.args[0] == 1213, e
        a.rollback()
        return
    raise AssertionError("the reader committed over a change made since its read")
refused(lambda cur, hits: cur.execute("UPDATE counters SET hits = %s WHERE id = 1", (hits + 1,)))
refused(lambda cur, hits: cur.execute("INSERT INTO events VALUES ('e1', 'n1', %s)", (hits,)))
a.begin()
cur = a.cursor()
cur.execute("SELECT hits FROM counters WHERE id = 1 FOR UPDATE")
hits = cur.fetchone()[0]
cur.execute("UPDATE counters SET hits = %s WHERE id = 1", (hits + 1,))
a.commit()
cur.execute("SELECT hits, (SELECT count(*) FROM events) FROM counters WHERE id = 1")
assert cur.fetchone() == (3, 0), "two increments through node 2, one through node 1, no event"
print("ok")
"#,
        p2 = c.nodes[1].mysql
    );
    let (ok, out, err) = python(c.nodes[0].mysql, &script);
    assert!(ok && out.contains("ok"), "{out}\n{err}");
    for n in &c.nodes {
        eventually(
            n.mysql,
            Some("load"),
            "SELECT hits FROM counters WHERE id = 1",
            "hits\n3\n",
            Duration::from_secs(10),
        );
    }
}

/// A node's disk is lost for good while writers run on the other two: it is killed, its
/// data directory deleted, and it is started again under its old id with nothing. It
/// starts over from snapshots, numbers its log on above what its peers had already taken
/// from it, and ends identical; no acknowledged write or counter increment is lost, and
/// it coordinates writes again.
#[test]
fn a_node_whose_disk_is_lost_comes_back_empty_and_ends_identical() {
    let mut c = Cluster::start(3, "s", "");
    schema(&c);
    // History that node 3 coordinated, so its peers have pulled entries of its log.
    let rows: String = (0..50).map(|i| format!("('n3-pre-{i}', 'n3', {i})")).collect::<Vec<_>>().join(",");
    query(c.nodes[2].mysql, Some("load"), &format!("INSERT INTO events VALUES {rows}"));
    all_identical(&c, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1)); // a gossip round or two: positions reported
    let (p1, p2) = (c.nodes[0].mysql, c.nodes[1].mysql);
    let w1 = std::thread::spawn(move || run_writer(p1, "n1", 8.0, 2));
    let w2 = std::thread::spawn(move || run_writer(p2, "n2", 8.0, 2));
    std::thread::sleep(Duration::from_secs(2));
    c.nodes[2].kill9();
    let data = c.nodes[2].dir.join("data");
    std::fs::remove_dir_all(&data).expect("delete node 3's data directory");
    c.nodes[2].start();
    let (l1, l2) = (w1.join().unwrap(), w2.join().unwrap());
    for l in [&l1, &l2] {
        assert_eq!(l.errors, 0, "writes failed while node 3 came back empty: {}", l.output);
    }
    let writers_done = std::time::Instant::now();
    let d = all_identical(&c, Duration::from_secs(30));
    eprintln!(
        "node 3 back from a lost disk: {} + {} commits meanwhile, identical {:?} after the writers stopped",
        l1.ok,
        l2.ok,
        writers_done.elapsed()
    );
    let (events, hits) = events_and_hits(&d);
    assert_eq!(events, 50 + l1.ok + l2.ok, "{events} rows for 50 + {} commits: {d}", l1.ok + l2.ok);
    assert_eq!(hits, l1.ok + l2.ok, "lost updates across the disk loss: {d}");
    let log = c.nodes[2].log();
    assert!(log.contains("snapshot installed"), "node 3 did not start over from a snapshot:\n{log}");
    assert!(log.contains("numbering goes on above"), "node 3 did not raise its log floor:\n{log}");
    // A full member again: it coordinates writes and the others see them.
    c.wait_writable(2);
    query(c.nodes[2].mysql, Some("load"), "INSERT INTO events VALUES ('n3-after', 'n3', 1)");
    let d = all_identical(&c, Duration::from_secs(10));
    assert_eq!(events_and_hits(&d).0, events + 1, "{d}");
}
