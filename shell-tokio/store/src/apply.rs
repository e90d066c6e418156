//! Applying replicated transactions with last-write-wins, exactly once per database.
//!
//! In one SQLite transaction (opened by the caller): skip if the applied marker exists;
//! otherwise for every row compare the incoming version with the row's stored version
//! ([`marmot_core::lww::should_apply`]), write the row image or delete it (leaving a
//! tombstone version), then record the marker and append the transaction to this node's
//! log. The row and its version always change together.

use marmot_core::lww::{read_is_stale, should_apply, Version};
use marmot_core::message::LogEntry;
use marmot_core::{Hlc, Op, Txn};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{decode_key, ident, to_blob, txn_id_bytes, Bind};
use super::schema::table_info_cached;
use super::StoreError;

/// Write row images (or delete rows) of `database` as they are, without versions, log
/// or marker: used to replay a session's uncommitted changes inside a short-lived
/// SQLite transaction that is then rolled back.
pub fn apply_images<'a>(
    conn: &Connection,
    database: &str,
    changes: impl IntoIterator<Item = &'a marmot_core::RowChange>,
) -> Result<(), StoreError> {
    for row in changes.into_iter().filter(|r| r.database == database && !super::ddl::is_ddl(r)) {
        write_image(conn, row, false)?;
    }
    Ok(())
}

/// Write one row image. With `newer_schema` (the change was captured before a schema
/// change this node has applied since), columns that no longer exist are left out and a
/// change of a table that no longer exists is skipped — as if the change had been
/// applied first and the schema change after it.
fn write_image(conn: &Connection, row: &marmot_core::RowChange, newer_schema: bool) -> Result<(), StoreError> {
    let info = match table_info_cached(conn, &row.table) {
        Err(StoreError::NoSuchTable(t)) if newer_schema => {
            tracing::debug!(table = %t, "change of a table dropped since: skipped");
            return Ok(());
        }
        other => other?,
    };
    let key = decode_key(&row.key)?;
    match (&row.after, row.op) {
        (Some(after), Op::Insert | Op::Update) => {
            // A full image in declaration order (what capture produces): the table's
            // prepared statement. Otherwise (an image of another schema) one built for it.
            let full =
                after.len() == info.columns.len() && after.iter().zip(&info.columns).all(|(cv, c)| cv.column == *c);
            let mut vals: Vec<Bind<'_>> = Vec::with_capacity(after.len() + 1);
            if info.pk.is_empty() {
                vals.push(Bind(&key[0]));
            }
            if full {
                vals.extend(after.iter().map(|cv| Bind(&cv.value)));
                conn.prepare_cached(&info.sql.upsert)?.execute(rusqlite::params_from_iter(vals.iter()))?;
                return Ok(());
            }
            let mut cols: Vec<String> = Vec::new();
            if info.pk.is_empty() {
                cols.push("rowid".into());
            }
            for cv in after.iter().filter(|cv| !newer_schema || info.columns.contains(&cv.column)) {
                cols.push(ident(&cv.column));
                vals.push(Bind(&cv.value));
            }
            let marks: Vec<String> = (1..=vals.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "INSERT OR REPLACE INTO main.{} ({}) VALUES ({})",
                ident(&row.table),
                cols.join(", "),
                marks.join(", ")
            );
            conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(vals.iter()))?;
        }
        _ => {
            let binds: Vec<Bind<'_>> = key.iter().map(Bind).collect();
            conn.prepare_cached(&info.sql.delete)?.execute(rusqlite::params_from_iter(binds.iter()))?;
        }
    }
    Ok(())
}

/// Whether `txn` was already applied to this database.
pub fn is_applied(conn: &Connection, txn: &Txn) -> Result<bool, StoreError> {
    let hit: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM __marmot_applied WHERE txn_id = ?1")?
        .query_row([txn_id_bytes(txn.id)], |r| r.get(0))
        .optional()?;
    Ok(hit.is_some())
}

/// Apply `txn` (only its rows of this database) unless already applied; returns the log
/// sequence it was given, or `None` if it had been applied before. Without `images` (a
/// sentinel) only the rows' versions are recorded, not their contents.
pub fn apply_txn(conn: &Connection, database: &str, txn: &Txn, images: bool) -> Result<Option<u64>, StoreError> {
    let Some(mine) = apply_unlogged(conn, database, txn, images)? else { return Ok(None) };
    let seq = log_head(conn)? + 1;
    conn.prepare_cached("INSERT INTO __marmot_log (seq, txn_id, payload) VALUES (?1, ?2, ?3)")?.execute(params![
        seq,
        txn_id_bytes(txn.id),
        to_blob(&mine)
    ])?;
    Ok(Some(seq))
}

/// Up to `limit` entries of this node's log of a database after position `after`, in log
/// order: what a peer pulls, and what the CDC publisher reads (on a connection of its own).
pub fn read_log(conn: &Connection, after: u64, limit: u64) -> Result<Vec<LogEntry>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq, payload FROM __marmot_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let mut rows = stmt.query(params![after, limit])?;
    let mut entries = Vec::new();
    while let Some(r) = rows.next()? {
        let seq: u64 = r.get(0)?;
        let payload: Vec<u8> = r.get(1)?;
        entries.push(LogEntry { seq, txn: super::codec::from_blob(&payload, "log entry")? });
    }
    Ok(entries)
}

/// The head of this node's log of a database: the last sequence number used, or its
/// floor (see [`raise_log_floor`]) if that is higher.
pub fn log_head(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT max(coalesce((SELECT max(seq) FROM __marmot_log), 0),
                        coalesce((SELECT seq FROM __marmot_log_floor WHERE id = 0), 0))",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Peers applied this log up to `floor`, past its head: it lost entries (a disk lost or
/// rolled back). Renumber the entries held above `floor` (in order) and record the floor,
/// so no sequence number a peer already consumed is used again. Returns the new head.
pub fn raise_log_floor(conn: &Connection, floor: u64) -> Result<u64, StoreError> {
    let head = log_head(conn)?;
    if floor <= head {
        return Ok(head);
    }
    tracing::warn!(head, floor, "peers had applied this log past its head: it lost entries; numbering goes on above");
    // Every new number is above the old maximum, so no update collides with a row not yet moved.
    conn.prepare_cached("UPDATE __marmot_log SET seq = seq + ?1")?.execute([floor])?;
    conn.prepare_cached("INSERT OR REPLACE INTO __marmot_log_floor (id, seq) VALUES (0, ?1)")?.execute([floor])?;
    log_head(conn)
}

/// Delete log entries at or below `upto` older than `keep_from`, and all entries older
/// than `force_before`, but never the newest (the next sequence number follows it).
/// Returns how many were deleted.
pub fn trim_log(conn: &Connection, upto: u64, keep_from: Hlc, force_before: Option<Hlc>) -> Result<u64, StoreError> {
    let force = force_before.map(txn_id_bytes).unwrap_or_default();
    let n = conn
        .prepare_cached(
            "DELETE FROM __marmot_log WHERE seq < (SELECT max(seq) FROM __marmot_log)
             AND ((seq <= ?1 AND txn_id < ?2) OR txn_id < ?3)",
        )?
        .execute(params![upto, txn_id_bytes(keep_from), force])?;
    Ok(n as u64)
}

/// The version of a row of `table` (its last writer, or its tombstone), if it was ever
/// written.
pub fn row_version(conn: &Connection, table: &str, key: &[u8]) -> Result<Option<Version>, StoreError> {
    let v: Option<(u64, u32, u64)> = conn
        .prepare_cached("SELECT wall, logical, node FROM __marmot_row_versions WHERE tbl = ?1 AND key = ?2")?
        .query_row(params![table, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(v.map(|(wall, logical, node)| Version(Hlc { wall, logical, node })))
}

/// Under first-committer-wins, whether any row of `txn` in `database` changed here since
/// the transaction read it (see [`marmot_core::lww::read_is_stale`]).
pub fn has_stale_read(conn: &Connection, database: &str, txn: &Txn) -> Result<bool, StoreError> {
    for row in txn.rows.iter().filter(|r| r.database == database && !super::ddl::is_ddl(r)) {
        let current = row_version(conn, &row.table, &row.key.0)?;
        if read_is_stale(current, row.read_version, Version(txn.id)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// [`apply_txn`] without the log entry (a transaction already in this node's log, applied
/// again onto a snapshot); returns its rows of this database, or `None` if it had been
/// applied before.
pub fn apply_unlogged(conn: &Connection, database: &str, txn: &Txn, images: bool) -> Result<Option<Txn>, StoreError> {
    if is_applied(conn, txn)? {
        return Ok(None);
    }
    let incoming = Version(txn.id);
    let schema_here = super::schema::version(conn)?;
    // Its rows of this database (shared, not copied, when that is all of them).
    let mine = if txn.rows.iter().all(|r| r.database == database) {
        txn.clone()
    } else {
        let rows: Vec<_> = txn.rows.iter().filter(|r| r.database == database).cloned().collect();
        Txn { rows: rows.into(), ..txn.clone() }
    };
    for row in mine.rows.iter() {
        if super::ddl::is_ddl(row) {
            super::ddl::apply_ddl(conn, row)?;
            continue;
        }
        if row.schema_version > schema_here {
            return Err(StoreError::SchemaBehind {
                database: database.to_string(),
                here: schema_here,
                needed: row.schema_version,
            });
        }
        if !should_apply(row_version(conn, &row.table, &row.key.0)?, incoming) {
            continue;
        }
        if images {
            write_image(conn, row, row.schema_version < schema_here)?;
        }
        conn.prepare_cached(
            "INSERT OR REPLACE INTO __marmot_row_versions (tbl, key, wall, logical, node, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![row.table, row.key.0, txn.id.wall, txn.id.logical, txn.id.node, row.after.is_none()])?;
    }
    conn.prepare_cached("INSERT INTO __marmot_applied (txn_id) VALUES (?1)")?.execute([txn_id_bytes(txn.id)])?;
    Ok(Some(mine))
}
