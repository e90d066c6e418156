//! Each sink's position in this node's log of each database, kept in
//! `__marmot_publisher.db` in the data directory.
//!
//! A position is saved only after the broker acknowledged every event up to it, so a
//! restart repeats at most the batch in flight when the node stopped (at-least-once), and
//! never skips one.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// A saved position: a log sequence and the id of the transaction there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// The last log entry published.
    pub seq: u64,
    /// Its transaction's id as the log stores it (`None`: not recorded).
    pub txn: Option<Vec<u8>>,
}

/// The cursor file.
pub struct Cursors {
    conn: Connection,
}

impl Cursors {
    /// Open (or create) the cursor file in `dir`.
    pub fn open(dir: &Path) -> Result<Self, String> {
        let path = dir.join("__marmot_publisher.db");
        let conn = Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // One connection per sink thread: wait for another's write rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| format!("{}: {e}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS cursors (sink TEXT NOT NULL, db TEXT NOT NULL, seq INTEGER NOT NULL,
               txn BLOB, PRIMARY KEY (sink, db)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS streams (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Cursors { conn })
    }

    /// How far `sink` has published `db` (`None`: never): the log position and the id of
    /// the transaction there (to notice a log replaced by a snapshot).
    pub fn get(&self, sink: &str, db: &str) -> Result<Option<Position>, String> {
        self.conn
            .prepare_cached("SELECT seq, txn FROM cursors WHERE sink = ?1 AND db = ?2")
            .and_then(|mut s| {
                s.query_row(params![sink, db], |r| Ok(Position { seq: r.get::<_, i64>(0)? as u64, txn: r.get(1)? }))
                    .optional()
            })
            .map_err(|e| e.to_string())
    }

    /// `sink` has published `db` up to `seq`, transaction `txn` (durably, before the next
    /// batch is read).
    pub fn set(&self, sink: &str, db: &str, seq: u64, txn: Option<&[u8]>) -> Result<(), String> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO cursors (sink, db, seq, txn) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![sink, db, seq as i64, txn]))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Cursors {
    /// How far into the broker's stream `sink` has read (or published): 0 for nothing.
    pub fn stream_seq(&self, sink: &str) -> Result<u64, String> {
        self.conn
            .prepare_cached("SELECT seq FROM streams WHERE sink = ?1")
            .and_then(|mut s| s.query_row(params![sink], |r| r.get::<_, i64>(0)).optional())
            .map(|v| v.map_or(0, |s| s as u64))
            .map_err(|e| e.to_string())
    }

    /// `sink` has read (or published) its stream up to `seq`.
    pub fn set_stream_seq(&self, sink: &str, seq: u64) -> Result<(), String> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO streams (sink, seq) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![sink, seq as i64]))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cursors::open(dir.path()).unwrap();
        assert_eq!(c.get("s", "d").unwrap(), None);
        c.set("s", "d", 41, None).unwrap();
        c.set("s", "d", 42, Some(b"t42")).unwrap();
        drop(c);
        let c = Cursors::open(dir.path()).unwrap();
        assert_eq!(c.get("s", "d").unwrap(), Some(Position { seq: 42, txn: Some(b"t42".to_vec()) }));
        assert_eq!(c.get("other", "d").unwrap(), None);
        assert_eq!(c.stream_seq("s").unwrap(), 0);
        c.set_stream_seq("s", 9).unwrap();
        drop(c);
        assert_eq!(Cursors::open(dir.path()).unwrap().stream_seq("s").unwrap(), 9);
    }
}
