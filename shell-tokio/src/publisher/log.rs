//! Reading this node's log of each database, on read-only connections of its own.
//!
//! The engine thread writes the log in group commits; a separate read-only connection
//! sees only what a commit made durable, so nothing is published that a crash could
//! still take back. Reads never wait for the writer (WAL mode).

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use marmot_core::message::LogEntry as Entry;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::debezium::Column;

/// Read-only connections to the databases' files.
pub struct LogReader {
    dir: PathBuf,
    conns: BTreeMap<String, Connection>,
}

impl LogReader {
    /// Readers of the databases in `dir` (the data directory).
    pub fn new(dir: PathBuf) -> Self {
        LogReader { dir, conns: BTreeMap::new() }
    }

    fn conn(&mut self, db: &str) -> Result<&Connection, String> {
        if !self.conns.contains_key(db) {
            let path = self.dir.join(format!("{db}.db"));
            let c =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(|e| format!("open {db}: {e}"))?;
            let _ = c.busy_timeout(std::time::Duration::from_secs(5));
            self.conns.insert(db.to_string(), c);
        }
        Ok(&self.conns[db])
    }

    /// Forget `db`'s connection (after an error, or when its file was replaced).
    pub fn close(&mut self, db: &str) {
        self.conns.remove(db);
    }

    /// Up to `limit` entries after `after`, in log order.
    pub fn read(&mut self, db: &str, after: u64, limit: u64) -> Result<Vec<Entry>, String> {
        marmot_store::apply::read_log(self.conn(db)?, after, limit).map_err(|e| e.to_string())
    }

    /// The oldest entry the log still holds (0 for an empty log) and its newest.
    pub fn bounds(&mut self, db: &str) -> Result<(u64, u64), String> {
        let conn = self.conn(db)?;
        conn.query_row("SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM __marmot_log", [], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .map_err(|e| e.to_string())
    }

    /// The id (as stored) of the transaction at `seq`, if the log still holds it.
    pub fn txn_at(&mut self, db: &str, seq: u64) -> Result<Option<Vec<u8>>, String> {
        let conn = self.conn(db)?;
        conn.query_row("SELECT txn_id FROM __marmot_log WHERE seq = ?1", [seq as i64], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())
    }

    /// Where transaction `txn` (its stored id) is in the log, if it is.
    pub fn seq_of(&mut self, db: &str, txn: &[u8]) -> Result<Option<u64>, String> {
        let conn = self.conn(db)?;
        conn.query_row("SELECT seq FROM __marmot_log WHERE txn_id = ?1", [txn], |r| r.get::<_, i64>(0))
            .optional()
            .map(|v| v.map(|s| s as u64))
            .map_err(|e| e.to_string())
    }

    /// The columns `table` declares now, with their MySQL types.
    pub fn columns(&mut self, db: &str, table: &str) -> Result<Vec<Column>, String> {
        let conn = self.conn(db)?;
        let mut st = conn.prepare_cached(&marmot_store::schema::columns_sql("?1")).map_err(|e| e.to_string())?;
        let rows = st
            .query_map([table], |r| {
                Ok(Column {
                    name: r.get(0)?,
                    mysql_type: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    not_null: r.get::<_, i64>(2)? != 0,
                    key: r.get::<_, i64>(4)? != 0,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
    }

    /// Whether `db` has a log yet (a database created moments ago may not).
    pub fn has_log(&mut self, db: &str) -> bool {
        let Ok(conn) = self.conn(db) else { return false };
        conn.query_row("SELECT 1 FROM sqlite_master WHERE name = '__marmot_log'", [], |_| Ok(()))
            .optional()
            .is_ok_and(|hit| hit.is_some())
    }
}
