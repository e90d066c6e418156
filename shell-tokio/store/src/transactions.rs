//! The SQLite transactions the store runs its writes in: write transactions that take the
//! write lock at BEGIN, the group commit's open transaction, and savepoints rolled back.

use marmot_core::Hlc;
use rusqlite::Connection;

use crate::codec::to_blob;
use crate::StoreError;

/// Write transactions take SQLite's write lock at BEGIN (`IMMEDIATE`): a deferred
/// transaction that reads first and writes later gets SQLITE_BUSY at once, without the
/// busy handler, if another connection wrote in between (WAL snapshot upgrade).
/// Inside a group commit (a transaction already open on the connection), a savepoint.
pub(crate) trait WriteTxn {
    fn write_txn(&self) -> rusqlite::Result<WriteScope<'_>>;
}

impl WriteTxn for Connection {
    fn write_txn(&self) -> rusqlite::Result<WriteScope<'_>> {
        let nested = !self.is_autocommit();
        run_cached(self, if nested { "SAVEPOINT marmot_write" } else { "BEGIN IMMEDIATE" })?;
        Ok(WriteScope { conn: self, nested, done: false })
    }
}

/// One write's transaction or savepoint: rolled back unless committed.
pub(crate) struct WriteScope<'c> {
    conn: &'c Connection,
    nested: bool,
    done: bool,
}

impl WriteScope<'_> {
    pub(crate) fn commit(mut self) -> rusqlite::Result<()> {
        self.done = true;
        run_cached(self.conn, if self.nested { "RELEASE marmot_write" } else { "COMMIT" })
    }
}

impl std::ops::Deref for WriteScope<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteScope<'_> {
    fn drop(&mut self) {
        if !self.done {
            let undo = if self.nested { "ROLLBACK TO marmot_write; RELEASE marmot_write" } else { "ROLLBACK" };
            let _ = self.conn.execute_batch(undo);
        }
    }
}

/// Run one fixed statement through the connection's statement cache.
pub(crate) fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Run `f` on `conn` in a savepoint that is then rolled back, whatever `f` returned: a
/// statement run for what it would do (capture, a dry run), never for its effect.
pub(crate) fn rolled_back<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    run_cached(conn, "SAVEPOINT marmot_rolled_back")?;
    let out = f(conn);
    let undo =
        run_cached(conn, "ROLLBACK TO marmot_rolled_back").and_then(|_| run_cached(conn, "RELEASE marmot_rolled_back"));
    let out = out?;
    undo?;
    Ok(out)
}

/// Open the batch's transaction on `conn` unless one is open.
pub(crate) fn begin_open(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() {
        run_cached(conn, "BEGIN IMMEDIATE")?;
    }
    Ok(())
}

/// Commit the batch's transaction on `conn`, if one is open.
pub(crate) fn commit_open(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    run_cached(conn, "COMMIT").inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    })
}

/// A committed transaction's rows are durable everywhere: drop its payload (its intents
/// were never stored).
pub(crate) fn release_txn(conn: &Connection, id: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE txns SET payload = NULL WHERE id = ?1")?.execute([id])?;
    Ok(())
}

pub(crate) fn write_max_hlc(conn: &Connection, id: Hlc) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('max_hlc', ?1)")?.execute([to_blob(&id)])?;
    Ok(())
}
