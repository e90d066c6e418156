//! Schema changes as replicated rows.
//!
//! A DDL statement travels through the same 2PC machinery as row writes: one change of
//! the reserved table [`DDL_TABLE`] carrying the SQLite statements to run. Every node
//! (the originating one included) runs them when it applies the transaction, in log
//! order, so catch-up replays schema changes in the right place among the row changes.
//! All DDL of one database locks the same intent key, so two concurrent schema changes
//! of one database conflict instead of interleaving. Applying bumps the database's schema
//! version (`PRAGMA user_version`).

use marmot_core::{ColumnValue, Op, RowChange, Value};
use rusqlite::Connection;

use super::codec::encode_key;
use super::StoreError;

/// The reserved table name of schema changes.
pub const DDL_TABLE: &str = marmot_core::types::SCHEMA_TABLE;

/// The change that runs `sql` (SQLite statements, `;`-separated; may be empty, which
/// just creates the database) on `database` everywhere.
pub fn ddl_change(database: &str, sql: String, schema_version: u64) -> RowChange {
    RowChange {
        database: database.to_string(),
        table: DDL_TABLE.to_string(),
        op: Op::Insert,
        key: encode_key(&[Value::Text("schema".into())]),
        before: None,
        after: Some(vec![ColumnValue { column: "sql".into(), value: Value::Text(sql) }]),
        schema_version,
        // Schema changes are ordered by the schema version and their database lock.
        read_version: None,
    }
}

/// Whether `row` is a schema change.
pub fn is_ddl(row: &RowChange) -> bool {
    row.is_schema_change()
}

/// Run a replicated schema change inside the caller's transaction and bump the schema
/// version. A statement this node cannot run (say, a table created here by hand before
/// the node joined) is logged and skipped instead of blocking replication for good.
pub fn apply_ddl(conn: &Connection, row: &RowChange) -> Result<(), StoreError> {
    let sql = row
        .after
        .iter()
        .flatten()
        .find(|c| c.column == "sql")
        .and_then(|c| match &c.value {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("");
    if !sql.trim().is_empty() {
        conn.execute_batch("SAVEPOINT marmot_ddl")?;
        match conn.execute_batch(sql) {
            Ok(()) => conn.execute_batch("RELEASE marmot_ddl")?,
            Err(e) => {
                tracing::warn!(database = %row.database, error = %e, sql, "replicated schema change failed here; skipped");
                conn.execute_batch("ROLLBACK TO marmot_ddl; RELEASE marmot_ddl")?;
            }
        }
    }
    let version = super::schema::version(conn)?;
    conn.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
    Ok(())
}

/// `stmt` (one SQLite statement) made safe to replay (`[ddl] enable_idempotent`):
/// CREATE TABLE / INDEX / VIEW / TRIGGER get `IF NOT EXISTS`, their DROPs `IF EXISTS`.
/// Other statements are returned unchanged.
pub fn idempotent(stmt: &str) -> String {
    let s = stmt.trim_start();
    let upper = s.to_ascii_uppercase();
    const CREATE: [&str; 5] =
        ["CREATE TABLE ", "CREATE INDEX ", "CREATE UNIQUE INDEX ", "CREATE VIEW ", "CREATE TRIGGER "];
    const DROP: [&str; 4] = ["DROP TABLE ", "DROP INDEX ", "DROP VIEW ", "DROP TRIGGER "];
    for (prefixes, clause) in [(&CREATE[..], "IF NOT EXISTS "), (&DROP[..], "IF EXISTS ")] {
        if let Some(p) = prefixes.iter().find(|p| upper.starts_with(*p)) {
            let rest = &s[p.len()..];
            if rest.trim_start().to_ascii_uppercase().starts_with("IF ") {
                return s.to_string();
            }
            return format!("{}{clause}{}", &s[..p.len()], rest.trim_start());
        }
    }
    s.to_string()
}

/// The table whose presence marks a database as dropped.
pub const DROPPED_MARKER: &str = "__marmot_dropped";

/// What DROP DATABASE replicates: drop every user view, trigger and table (their indexes
/// go with them), forget their versions and column metadata, and set the dropped marker.
/// The file itself stays, so the database's log and positions carry on should it be
/// created again.
pub fn drop_database_sql(conn: &Connection) -> Result<String, StoreError> {
    let mut st = conn.prepare(
        "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table')
         AND substr(name, 1, 8) <> '__marmot' AND substr(name, 1, 7) <> 'sqlite_'
         ORDER BY CASE type WHEN 'view' THEN 0 WHEN 'trigger' THEN 1 ELSE 2 END, name",
    )?;
    let objects: Vec<(String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut sql: Vec<String> = objects
        .iter()
        .map(|(kind, name)| format!("DROP {} IF EXISTS {}", kind.to_ascii_uppercase(), super::codec::ident(name)))
        .collect();
    sql.push("DELETE FROM __marmot_row_versions".into());
    sql.push("DELETE FROM __marmot_columns".into());
    sql.push(format!("CREATE TABLE IF NOT EXISTS {DROPPED_MARKER} (dropped INTEGER)"));
    Ok(sql.join(";\n"))
}

/// What CREATE DATABASE replicates for a database that was dropped before.
pub fn undrop_database_sql() -> String {
    format!("DROP TABLE IF EXISTS {DROPPED_MARKER}")
}

/// Whether the database open on `conn` was dropped.
pub fn is_dropped(conn: &Connection) -> Result<bool, StoreError> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = ?1", [DROPPED_MARKER], |r| r.get(0))?;
    Ok(n > 0)
}

/// `text` as an SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_statements_bumps_version_and_skips_what_fails() {
        let conn = Connection::open_in_memory().unwrap();
        let create = ddl_change("d", "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE INDEX ti ON t (id)".into(), 0);
        apply_ddl(&conn, &create).unwrap();
        let n: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE name IN ('t','ti')", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
        // Running it again fails (table exists): skipped whole, version still bumped.
        apply_ddl(&conn, &create).unwrap();
        assert_eq!(crate::schema::version(&conn).unwrap(), 2);
        assert!(is_ddl(&create));
        assert_eq!(idempotent("CREATE TABLE t (x)"), "CREATE TABLE IF NOT EXISTS t (x)");
        assert_eq!(idempotent("create unique index i ON t (x)"), "create unique index IF NOT EXISTS i ON t (x)");
        assert_eq!(idempotent("DROP TABLE IF EXISTS t"), "DROP TABLE IF EXISTS t");
        assert_eq!(idempotent("DROP VIEW v"), "DROP VIEW IF EXISTS v");
        assert_eq!(idempotent("ALTER TABLE t ADD COLUMN y"), "ALTER TABLE t ADD COLUMN y");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
