//! The store against real SQLite files: capture, LWW apply, exactly-once, logs,
//! recovery, and what a program reading the file directly sees.

use marmot_core::io::{ReadOutcome, RecoveredTxnState};
use marmot_core::message::LogEntry;
use marmot_core::{Hlc, Op, StoreRead, StoreWrite, Txn, Value};
use marmot_store::capture::CaptureScope;
use marmot_store::{Location, Store, Synchronous};
use rusqlite::Connection;

const SCHEMA: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, avatar BLOB, score REAL);
                      CREATE TABLE notes (body TEXT);";

fn open(dir: &std::path::Path) -> Store {
    let mut s = Store::open(Location::Dir(dir.to_path_buf()), Synchronous::Normal, None).unwrap();
    s.ensure_database("app").unwrap();
    s
}

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.conn("app").unwrap().execute_batch(SCHEMA).unwrap();
    (dir, s)
}

fn capture(s: &mut Store, sql: &str, id: Hlc) -> Txn {
    let (_, rows) = s
        .capture("app", CaptureScope::default(), |c| {
            c.execute_batch(sql)?;
            Ok(())
        })
        .unwrap();
    Txn { id, coordinator: id.node, rows: rows.into(), first_committer_wins: false, voting: Default::default() }
}

fn hlc(wall: u64, node: u64) -> Hlc {
    Hlc { wall, logical: 0, node }
}

fn names(dir: &std::path::Path) -> Vec<(i64, String)> {
    // A plain SQLite connection, as any local program would open the file.
    let c = Connection::open(dir.join("app.db")).unwrap();
    let mut st = c.prepare("SELECT id, name FROM users ORDER BY id").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_log_that_lost_entries_peers_had_numbers_on_above_them() {
    let (dir, mut s) = fresh();
    for i in 1..=2u64 {
        let t = capture(&mut s, &format!("INSERT INTO notes (body) VALUES ('n{i}')"), hlc(i * 10, 1));
        s.write(&StoreWrite::Commit { txn: t }).unwrap();
    }
    // A peer had applied 7 entries of this log before the disk was lost.
    let out = s.write(&StoreWrite::RaiseLogFloor { database: "app".into(), floor: 7 }).unwrap();
    assert_eq!(out.heads.get("app"), Some(&9), "the two entries held move above the floor");
    // Idempotent, and never lowers the head.
    let out = s.write(&StoreWrite::RaiseLogFloor { database: "app".into(), floor: 5 }).unwrap();
    assert_eq!(out.heads.get("app"), Some(&9));
    let ReadOutcome::Log { entries, .. } =
        s.read(&StoreRead::LogRange { database: "app".into(), after: 7, limit: 100 }).unwrap()
    else {
        panic!("log entries expected")
    };
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![8, 9]);
    // New entries follow, also across a restart.
    drop(s);
    let mut s = open(dir.path());
    let t = capture(&mut s, "INSERT INTO notes (body) VALUES ('n3')", hlc(30, 1));
    assert_eq!(s.write(&StoreWrite::Commit { txn: t }).unwrap().heads.get("app"), Some(&10));
}

#[test]
fn capture_records_exact_images_and_leaves_the_table_untouched() {
    let (dir, mut s) = fresh();
    let bytes = vec![0xff, 0x00, 0xfe, 0x80];
    let t = capture(
        &mut s,
        "INSERT INTO users (id, name, avatar, score) VALUES (1, 'ann', x'ff00fe80', 0.1);
         INSERT INTO users (id, name) VALUES (2, 'bob');
         DELETE FROM users WHERE id = 2;",
        hlc(10, 1),
    );
    // Insert then delete of row 2 in one transaction is no change at all.
    assert_eq!(t.rows.len(), 1);
    let r = &t.rows[0];
    assert_eq!((r.op, r.table.as_str()), (Op::Insert, "users"));
    let after = r.after.as_ref().unwrap();
    assert_eq!(after[2].value, Value::Blob(bytes));
    assert_eq!(after[3].value, Value::Real(0.1));
    assert!(names(dir.path()).is_empty(), "capture must roll the local effect back");
}

#[test]
fn commit_applies_rows_visible_to_plain_sqlite_readers_in_wal_mode() {
    let (dir, mut s) = fresh();
    let t = capture(&mut s, "INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob')", hlc(10, 1));
    let out = s.write(&StoreWrite::Commit { txn: t }).unwrap();
    assert_eq!(out.heads["app"], 1);
    assert_eq!(names(dir.path()), vec![(1, "ann".into()), (2, "bob".into())]);
    let c = Connection::open(dir.path().join("app.db")).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // SELECT * shows exactly the columns the client created.
    let st = c.prepare("SELECT * FROM users").unwrap();
    assert_eq!(st.column_names().collect::<Vec<_>>(), vec!["id", "name", "avatar", "score"]);
}

#[test]
fn last_write_wins_whatever_the_arrival_order_and_tombstones_stick() {
    let (dir, mut s) = fresh();
    let older = capture(&mut s, "INSERT INTO users (id, name) VALUES (1, 'old')", hlc(10, 1));
    let newer = capture(&mut s, "INSERT INTO users (id, name) VALUES (1, 'new')", hlc(20, 2));
    s.write(&StoreWrite::Commit { txn: newer }).unwrap();
    s.write(&StoreWrite::Commit { txn: older.clone() }).unwrap();
    assert_eq!(names(dir.path()), vec![(1, "new".into())]);
    let delete = capture(&mut s, "DELETE FROM users WHERE id = 1", hlc(30, 1));
    assert_eq!(delete.rows[0].op, Op::Delete);
    s.write(&StoreWrite::Commit { txn: delete }).unwrap();
    // A late insert older than the delete must not resurrect the row.
    let late = Txn {
        id: hlc(25, 3),
        coordinator: 3,
        rows: older.rows,
        first_committer_wins: false,
        voting: Default::default(),
    };
    s.write(&StoreWrite::Commit { txn: late }).unwrap();
    assert!(names(dir.path()).is_empty());
    // Equal wall and logical: the higher node id wins.
    let a = capture(&mut s, "INSERT INTO users (id, name) VALUES (5, 'from-2')", hlc(40, 2));
    let b = capture(&mut s, "INSERT INTO users (id, name) VALUES (5, 'from-1')", hlc(40, 1));
    s.write(&StoreWrite::Commit { txn: a }).unwrap();
    s.write(&StoreWrite::Commit { txn: b }).unwrap();
    assert_eq!(names(dir.path()), vec![(5, "from-2".into())]);
}

/// Two nodes increment the same counter from the same starting version: the second to
/// prepare anywhere the first committed is refused, never applied over it.
#[test]
fn first_committer_wins_refuses_a_write_over_a_row_changed_since_its_read() {
    let (_dir, mut s) = fresh();
    let (_lag_dir, mut lagging) = fresh();
    let fcw = |mut t: Txn| {
        t.first_committer_wins = true;
        t
    };
    let seed = fcw(capture(&mut s, "INSERT INTO users (id, name, score) VALUES (1, 'n', 0)", hlc(10, 1)));
    assert_eq!(seed.rows[0].read_version, None, "a row never written has no version");
    assert!(!s.write(&StoreWrite::Prepare { txn: seed.clone() }).unwrap().row_conflict);
    s.write(&StoreWrite::Commit { txn: seed.clone() }).unwrap();
    // Both increments read the row at the seed's version.
    let inc = "UPDATE users SET score = score + 1 WHERE id = 1";
    let first = fcw(capture(&mut s, inc, hlc(20, 2)));
    let second = fcw(capture(&mut s, inc, hlc(21, 3)));
    assert_eq!(first.rows[0].read_version, Some(marmot_core::Version(seed.id)));
    assert!(!s.write(&StoreWrite::Prepare { txn: first.clone() }).unwrap().row_conflict);
    s.write(&StoreWrite::Commit { txn: first.clone() }).unwrap();
    // The row changed since the second read it: conflict, and nothing recorded.
    assert!(s.write(&StoreWrite::Prepare { txn: second.clone() }).unwrap().row_conflict);
    // A node that has not seen either write yet has no reason to refuse (the quorum's
    // other members decide), and under last-writer-wins nobody refuses.
    assert!(!lagging.write(&StoreWrite::Prepare { txn: second.clone() }).unwrap().row_conflict);
    let lww = Txn { first_committer_wins: false, ..second.clone() };
    assert!(!s.write(&StoreWrite::Prepare { txn: lww }).unwrap().row_conflict);
    // Re-read after the first commit: the retry goes through.
    let retry = fcw(capture(&mut s, inc, hlc(30, 3)));
    assert_eq!(retry.rows[0].read_version, Some(marmot_core::Version(first.id)));
    assert!(!s.write(&StoreWrite::Prepare { txn: retry.clone() }).unwrap().row_conflict);
    s.write(&StoreWrite::Commit { txn: retry }).unwrap();
    let score: f64 =
        s.conn("app").unwrap().query_row("SELECT score FROM users WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(score, 2.0);
    // An insert of a key someone else inserted since (or a write older than the row's
    // version) is refused too.
    let dup =
        fcw(Txn { id: hlc(5, 2), ..capture(&mut lagging, "INSERT INTO users (id, name) VALUES (1, 'x')", hlc(5, 2)) });
    assert!(s.write(&StoreWrite::Prepare { txn: dup }).unwrap().row_conflict);
}

#[test]
fn each_transaction_applies_once_and_logs_once() {
    let (_dir, mut s) = fresh();
    let t = capture(&mut s, "INSERT INTO notes (body) VALUES ('x')", hlc(10, 1));
    s.write(&StoreWrite::Commit { txn: t.clone() }).unwrap();
    s.write(&StoreWrite::Commit { txn: t.clone() }).unwrap();
    s.write(&StoreWrite::ApplyLog { peer: 2, database: "app".into(), entries: vec![LogEntry { seq: 1, txn: t }] })
        .unwrap();
    let n: i64 = s.conn("app").unwrap().query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
    let ReadOutcome::Log { entries, head } =
        s.read(&StoreRead::LogRange { database: "app".into(), after: 0, limit: 10 }).unwrap()
    else {
        panic!("a log range read answers with log entries")
    };
    assert_eq!((entries.len(), head), (1, 1));
}

#[test]
fn rowid_tables_are_keyed_by_rowid() {
    let (_dir, mut s) = fresh();
    let t = capture(&mut s, "INSERT INTO notes (rowid, body) VALUES (7, 'seven')", hlc(10, 1));
    s.write(&StoreWrite::Commit { txn: t }).unwrap();
    let u = capture(&mut s, "UPDATE notes SET body = 'SEVEN' WHERE rowid = 7", hlc(11, 1));
    assert_eq!(u.rows[0].op, Op::Update);
    s.write(&StoreWrite::Commit { txn: u }).unwrap();
    let body: String =
        s.conn("app").unwrap().query_row("SELECT body FROM notes WHERE rowid = 7", [], |r| r.get(0)).unwrap();
    assert_eq!(body, "SEVEN");
}

#[test]
fn identity_prepared_transactions_and_heads_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let prepared;
    {
        let mut s = open(dir.path());
        s.conn("app").unwrap().execute_batch(SCHEMA).unwrap();
        assert_eq!(s.node_identity(0, || 4242).unwrap(), 4242);
        let t = capture(&mut s, "INSERT INTO users (id, name) VALUES (1, 'ann')", hlc(10, 4242));
        s.write(&StoreWrite::Commit { txn: t }).unwrap();
        prepared = capture(&mut s, "INSERT INTO users (id, name) VALUES (2, 'bob')", hlc(11, 4242));
        s.write(&StoreWrite::Prepare { txn: prepared.clone() }).unwrap();
    }
    let mut s = open(dir.path());
    assert_eq!(s.node_identity(0, || panic!("must not generate again")).unwrap(), 4242);
    let rec = s.recover().unwrap();
    assert_eq!(rec.heads["app"], 1);
    assert_eq!(rec.txns, vec![(prepared, RecoveredTxnState::Prepared)]);
    assert_eq!(rec.decided, vec![(hlc(10, 4242), true)]);
    assert_eq!(rec.max_hlc, hlc(11, 4242));
}

#[test]
fn bad_database_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    for bad in ["../etc", "a/b", "", "__marmot_system", "x y"] {
        let err = s.ensure_database(bad).unwrap_err().to_string();
        assert!(err.contains("invalid database name"), "{bad}: {err}");
    }
}

#[test]
fn simulated_stores_take_now_from_the_host_clock() {
    let mut s = Store::open(Location::Memory("clocktest".into()), Synchronous::Normal, Some(1)).unwrap();
    s.conn("app").unwrap().execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, r INTEGER)").unwrap();
    marmot_store::simclock::set_now_ms(1_767_225_600_000); // 2026-01-01T00:00:00Z
    let run = |s: &mut Store| {
        let (_, rows) = s
            .capture("app", CaptureScope::default(), |c| {
                c.execute_batch("INSERT INTO t (id, at, r) VALUES (1, datetime('now'), random())")?;
                Ok(())
            })
            .unwrap();
        rows[0].after.clone().unwrap()
    };
    let first = run(&mut s);
    assert_eq!(first[1].value, Value::Text("2026-01-01 00:00:00".into()));
    // Same seed, same connection history: a second store draws the same random().
    let mut s2 = Store::open(Location::Memory("clocktest2".into()), Synchronous::Normal, Some(1)).unwrap();
    s2.conn("app").unwrap().execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, r INTEGER)").unwrap();
    assert_eq!(run(&mut s2)[2].value, first[2].value);
}

#[test]
fn changes_carry_their_schema_version_and_are_gated_by_it() {
    use marmot_store::ddl::ddl_change;
    let (dir, mut s) = fresh();
    let before = capture(&mut s, "INSERT INTO users (id, name, score) VALUES (1, 'ann', 0.5)", hlc(10, 1));
    assert!(before.rows.iter().all(|r| r.schema_version == 0));
    // A schema change commits: the database is at version 1.
    let ddl = Txn {
        id: hlc(20, 2),
        coordinator: 2,
        rows: vec![ddl_change("app", "ALTER TABLE users DROP COLUMN score".into(), 0)].into(),
        first_committer_wins: true,
        voting: Default::default(),
    };
    s.write(&StoreWrite::Prepare { txn: ddl.clone() }).unwrap();
    s.write(&StoreWrite::Commit { txn: ddl }).unwrap();
    // The change captured before it is a conflict at prepare (nothing recorded) ...
    let out = s.write(&StoreWrite::Prepare { txn: before.clone() }).unwrap();
    assert!(out.schema_conflict);
    // ... and, decided elsewhere and applied late, it lands on the new schema without
    // the dropped column, as if it had come first.
    s.write(&StoreWrite::Commit { txn: before }).unwrap();
    assert_eq!(names(dir.path()), vec![(1, "ann".to_string())]);
    // A change captured on a newer schema than this node's waits for it.
    let mut ahead = capture(&mut s, "INSERT INTO users (id, name) VALUES (2, 'bob')", hlc(30, 1));
    assert!(ahead.rows.iter().all(|r| r.schema_version == 1));
    std::sync::Arc::make_mut(&mut ahead.rows)[0].schema_version = 2;
    let e = s.write(&StoreWrite::Prepare { txn: ahead.clone() }).unwrap_err().to_string();
    assert!(e.contains("schema of app is behind"), "{e}");
    let e = s.write(&StoreWrite::Commit { txn: ahead }).unwrap_err().to_string();
    assert!(e.contains("behind"), "{e}");
    assert_eq!(names(dir.path()).len(), 1);
}

#[test]
fn snapshots_install_atomically_keep_the_own_log_and_refuse_corruption() {
    // Node 1 has data; node 2 has its own history (log head 2) and stale rows.
    let (_d1, mut a) = fresh();
    for (i, name) in ["ann", "bob", "cyd"].iter().enumerate() {
        let t = capture(&mut a, &format!("INSERT INTO users (id, name) VALUES ({i}, '{name}')"), hlc(10 + i as u64, 1));
        a.write(&StoreWrite::Prepare { txn: t.clone() }).unwrap();
        a.write(&StoreWrite::Commit { txn: t }).unwrap();
    }
    let (d2, mut b) = fresh();
    for i in 0..2 {
        let t = capture(&mut b, &format!("INSERT INTO users (id, name) VALUES ({}, 'old')", 100 + i), hlc(5 + i, 2));
        b.write(&StoreWrite::Prepare { txn: t.clone() }).unwrap();
        b.write(&StoreWrite::Commit { txn: t }).unwrap();
    }
    // A reader holding the file open across the install.
    let reader = Connection::open(d2.path().join("app.db")).unwrap();
    let snap = a.snapshot("app").unwrap();
    // Corrupt and truncated copies are refused and change nothing.
    let mut bad = snap.bytes.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    let e = b.install_snapshot("app", 2, 1, &bad, &snap.sha256).unwrap_err().to_string();
    assert!(e.contains("checksum"), "{e}");
    let short = &snap.bytes[..snap.bytes.len() / 2];
    let sha: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(short).into()
    };
    let e = b.install_snapshot("app", 2, 1, short, &sha).unwrap_err().to_string();
    assert!(e.contains("snapshot"), "{e}");
    assert_eq!(names(d2.path()).len(), 2);
    // The real one: node 2 now has node 1's rows plus what its own log holds (those
    // transactions are committed too), and its positions follow node 1's.
    let installed = b.install_snapshot("app", 2, 1, &snap.bytes, &snap.sha256).unwrap();
    assert_eq!(installed.head, 2, "node 2's own log is kept");
    assert_eq!(installed.progress.get(&1), Some(&3), "node 2 has consumed node 1's log up to its head");
    let want: Vec<(i64, String)> =
        vec![(0, "ann".into()), (1, "bob".into()), (2, "cyd".into()), (100, "old".into()), (101, "old".into())];
    assert_eq!(names(d2.path()), want);
    let seen: i64 = reader.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(seen, 5, "an open reader sees the new content");
    let mode: String = reader.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // Its next log entry continues its own numbering.
    let t = capture(&mut b, "INSERT INTO users (id, name) VALUES (9, 'dee')", hlc(50, 2));
    b.write(&StoreWrite::Prepare { txn: t.clone() }).unwrap();
    let out = b.write(&StoreWrite::Commit { txn: t }).unwrap();
    assert_eq!(out.heads.get("app"), Some(&3));
    // Peers still reading node 2's log find all of it.
    match b.read(&StoreRead::LogRange { database: "app".into(), after: 0, limit: 10 }).unwrap() {
        ReadOutcome::Log { entries, head } => {
            assert_eq!(head, 3);
            assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn log_gc_deletes_what_the_policy_allows_and_never_the_newest_entry() {
    let (dir, mut s) = fresh();
    // Five transactions at walls 10..50, log sequence 1..5.
    for i in 1..=5u64 {
        let t = capture(&mut s, &format!("INSERT INTO notes (body) VALUES ('n{i}')"), hlc(i * 10, 1));
        s.write(&StoreWrite::Commit { txn: t }).unwrap();
    }
    let seqs = |s: &mut Store| -> Vec<u64> {
        let ReadOutcome::Log { entries, head } =
            s.read(&StoreRead::LogRange { database: "app".into(), after: 0, limit: 100 }).unwrap()
        else {
            panic!("log entries expected")
        };
        assert_eq!(head, 5, "the head never moves back");
        entries.iter().map(|e| e.seq).collect()
    };
    let trim = |s: &mut Store, upto: u64, keep: u64, force: Option<u64>| {
        let w = StoreWrite::TrimLog {
            database: "app".into(),
            upto,
            keep_from: hlc(keep, 0),
            force_before: force.map(|f| hlc(f, 0)),
        };
        s.write(&w).unwrap().trimmed
    };
    // Watermark 3, but only entries older than wall 25 may go: 1 and 2.
    assert_eq!(trim(&mut s, 3, 25, None), 2);
    assert_eq!(seqs(&mut s), vec![3, 4, 5]);
    // Past the maximum retention (before wall 45) entries go whatever the watermark.
    assert_eq!(trim(&mut s, 0, 0, Some(45)), 2);
    assert_eq!(seqs(&mut s), vec![5]);
    // Everything is old and applied everywhere: the newest entry still stays.
    assert_eq!(trim(&mut s, 5, 1000, Some(1000)), 0);
    assert_eq!(seqs(&mut s), vec![5]);
    // Numbering goes on after it, also across a restart.
    drop(s);
    let mut s = open(dir.path());
    let t = capture(&mut s, "INSERT INTO notes (body) VALUES ('n6')", hlc(60, 1));
    let out = s.write(&StoreWrite::Commit { txn: t }).unwrap();
    assert_eq!(out.heads.get("app"), Some(&6));
    // The rows themselves are untouched by GC.
    let n: i64 = s.conn("app").unwrap().query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 6);
}

#[test]
fn a_group_commit_is_invisible_until_committed_and_lost_whole_if_never_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (t1, t2, t3);
    {
        let mut s = open(dir.path());
        s.conn("app").unwrap().execute_batch(SCHEMA).unwrap();
        t1 = capture(&mut s, "INSERT INTO users (id, name) VALUES (1, 'ann')", hlc(10, 1));
        t2 = capture(&mut s, "INSERT INTO users (id, name) VALUES (2, 'bob')", hlc(11, 1));
        t3 = capture(&mut s, "INSERT INTO users (id, name) VALUES (3, 'cy')", hlc(12, 1));
        s.begin_batch();
        s.write(&StoreWrite::Prepare { txn: t1.clone() }).unwrap();
        s.write(&StoreWrite::Commit { txn: t1.clone() }).unwrap();
        let out = s.write(&StoreWrite::Commit { txn: t2.clone() }).unwrap();
        assert_eq!(out.heads["app"], 2, "writes in a batch see each other");
        assert!(names(dir.path()).is_empty(), "nothing is visible before the batch commits");
        s.commit_batch().unwrap();
        assert_eq!(names(dir.path()), vec![(1, "ann".into()), (2, "bob".into())]);
        // Their records are released by the next group commit (the engine makes one every
        // turn of its loop), never in the one that made their rows durable.
        let open_records = |s: &Store| -> i64 {
            s.system_conn().query_row("SELECT count(*) FROM txns WHERE payload IS NOT NULL", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(open_records(&s), 2);
        s.begin_batch();
        s.commit_batch().unwrap();
        assert_eq!(open_records(&s), 0);
        // A batch the process never commits (a crash) leaves nothing behind.
        s.begin_batch();
        s.write(&StoreWrite::Prepare { txn: t3.clone() }).unwrap();
        s.write(&StoreWrite::Commit { txn: t3.clone() }).unwrap();
    }
    let mut s = open(dir.path());
    assert_eq!(names(dir.path()), vec![(1, "ann".into()), (2, "bob".into())]);
    let rec = s.recover().unwrap();
    assert_eq!(rec.heads["app"], 2);
    assert!(rec.txns.is_empty(), "committed batches are cleaned up, the lost one left no prepare: {:?}", rec.txns);
    assert_eq!(rec.decided, vec![(t1.id, true), (t2.id, true)]);
}
