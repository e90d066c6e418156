//! marmot's own tables, and what the store needs to know about user tables.
//!
//! Per database file, beside the user's tables (never inside them):
//! - `__marmot_row_versions`: LWW version (HLC, origin) and tombstone flag per row key;
//! - `__marmot_applied`: the applied-transaction marker (exactly-once apply);
//! - `__marmot_log`: this node's log of applied transactions, `seq` = per-node sequence;
//! - `__marmot_progress`: position consumed in each peer's log of this database;
//! - `__marmot_log_floor`: sequence numbers at or below it are never used again (raised
//!   when peers had consumed more of this log than it holds: a lost disk).
//!
//! In the system database `__marmot_system`: identity and incarnation (`meta`),
//! membership, transaction records (a prepared record holds the transaction's payload,
//! from which the write intents are rebuilt at recovery), and the list of databases.

use rusqlite::Connection;

use super::codec::ident;
use super::StoreError;

/// The database's schema version: SQLite's `user_version`, which every replicated schema
/// change raises by one (see [`crate::ddl`]), so nodes can tell whether a change was made
/// against the schema they hold.
pub fn version(conn: &Connection) -> rusqlite::Result<u64> {
    conn.prepare_cached("PRAGMA user_version")?.query_row([], |r| r.get::<_, i64>(0)).map(|v| v as u64)
}

/// Prefix of every table marmot owns; hidden from clients.
pub const INTERNAL_PREFIX: &str = "__marmot";

/// DDL of marmot's tables in every user database file.
pub const DATABASE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS __marmot_row_versions (
  tbl TEXT NOT NULL, key BLOB NOT NULL, wall INTEGER NOT NULL, logical INTEGER NOT NULL,
  node INTEGER NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS __marmot_applied (txn_id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS __marmot_log (seq INTEGER PRIMARY KEY, txn_id BLOB NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS __marmot_progress (peer INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS __marmot_log_floor (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS __marmot_columns (tbl TEXT NOT NULL, col TEXT NOT NULL, mysql_type TEXT NOT NULL,
  extra TEXT NOT NULL DEFAULT '', PRIMARY KEY (tbl, col)) WITHOUT ROWID;
";

/// DDL of the system database.
pub const SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS members (id INTEGER PRIMARY KEY, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txns (id BLOB PRIMARY KEY, state TEXT NOT NULL, payload BLOB) WITHOUT ROWID;
DROP TABLE IF EXISTS intents;
";

/// The shape of a user table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Column names in declaration order.
    pub columns: Vec<String>,
    /// Primary key columns in key order; empty = keyed by rowid.
    pub pk: Vec<String>,
    /// The key is a single `INTEGER PRIMARY KEY` column (SQLite's rowid alias, which is
    /// what MySQL `AUTO_INCREMENT` keys become).
    pub integer_pk: bool,
    /// The statements that write and read one row by key, built once per table shape:
    /// building them for every row applied was a third of the cost of applying it.
    pub sql: RowSql,
}

/// Per-table statements over all columns (declaration order) and the key.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RowSql {
    /// `INSERT OR REPLACE` of every column (`?1…` in declaration order); for a table keyed
    /// by rowid, the rowid first.
    pub upsert: String,
    /// `DELETE` by key (`?1…` in key order).
    pub delete: String,
    /// `SELECT` of every column by key.
    pub select: String,
}

impl TableInfo {
    /// SQL expressions (over `alias.`) that make up the row key.
    pub fn key_exprs(&self, alias: &str) -> Vec<String> {
        if self.pk.is_empty() {
            vec![format!("{alias}.rowid")]
        } else {
            self.pk.iter().map(|c| format!("{alias}.{}", ident(c))).collect()
        }
    }

    /// `WHERE` clause locating one row by key, with `?1..` placeholders.
    pub fn key_predicate(&self) -> String {
        if self.pk.is_empty() {
            "rowid = ?1".to_string()
        } else {
            self.pk
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} IS ?{}", ident(c), i + 1))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    }
}

/// Whether a table is one of marmot's or SQLite's own (SQLite names are
/// case-insensitive, so this is too).
pub fn is_internal(name: &str) -> bool {
    let n = name.as_bytes();
    let starts = |p: &str| n.len() >= p.len() && n[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    starts(INTERNAL_PREFIX) || starts("sqlite_")
}

/// The user tables of a database, sorted by name.
pub fn user_tables(conn: &Connection) -> Result<Vec<TableInfo>, StoreError> {
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name")?;
    let names: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    names.into_iter().filter(|n| !is_internal(n)).map(|n| table_info(conn, &n)).collect()
}

/// A remembered table shape, valid while (schema version, replacement generation) match.
type Shape = ((i64, u64), std::rc::Rc<TableInfo>);

thread_local! {
    /// Table shapes by (database file, table).
    static SHAPES: std::cell::RefCell<std::collections::BTreeMap<(String, String), Shape>> =
        std::cell::RefCell::default();
}

/// Bumped whenever a database file's content is replaced wholesale (a snapshot install):
/// its schema version may then repeat a number that meant other tables before.
static REPLACEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Forget every remembered table shape (a database file was replaced).
pub fn forget_table_shapes() {
    REPLACEMENTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// [`table_info`], remembered per database file until its schema changes: asking SQLite
/// for a table's columns on every row written was a measurable share of each write.
pub fn table_info_cached(conn: &Connection, table: &str) -> Result<std::rc::Rc<TableInfo>, StoreError> {
    let path = match conn.path() {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => return table_info(conn, table).map(std::rc::Rc::new),
    };
    let schema: i64 = conn.prepare_cached("PRAGMA main.schema_version")?.query_row([], |r| r.get(0))?;
    let version = (schema, REPLACEMENTS.load(std::sync::atomic::Ordering::SeqCst));
    let key = (path, table.to_string());
    if let Some(info) = SHAPES.with_borrow(|m| m.get(&key).filter(|(v, _)| *v == version).map(|(_, i)| i.clone())) {
        return Ok(info);
    }
    let info = std::rc::Rc::new(table_info(conn, table)?);
    SHAPES.with_borrow_mut(|m| m.insert(key, (version, info.clone())));
    Ok(info)
}

/// The shape of one table.
pub fn table_info(conn: &Connection, table: &str) -> Result<TableInfo, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("PRAGMA main.table_info({})", ident(table)))?;
    let mut cols: Vec<(String, i64)> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        cols.push((r.get(1)?, r.get(5)?));
        types.push(r.get::<_, Option<String>>(2)?.unwrap_or_default());
    }
    if cols.is_empty() {
        return Err(StoreError::NoSuchTable(table.to_string()));
    }
    let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.1 > 0).map(|c| (c.1, c.0.clone())).collect();
    pk.sort();
    let integer_pk =
        pk.len() == 1 && cols.iter().zip(&types).any(|(c, t)| c.1 > 0 && t.eq_ignore_ascii_case("INTEGER"));
    let mut info = TableInfo {
        name: table.to_string(),
        columns: cols.into_iter().map(|c| c.0).collect(),
        pk: pk.into_iter().map(|p| p.1).collect(),
        integer_pk,
        sql: RowSql::default(),
    };
    let quoted: Vec<String> = info.columns.iter().map(|c| ident(c)).collect();
    let (tbl, key) = (ident(&info.name), info.key_predicate());
    let mut upsert_cols = quoted.clone();
    if info.pk.is_empty() {
        upsert_cols.insert(0, "rowid".into());
    }
    let marks: Vec<String> = (1..=upsert_cols.len()).map(|i| format!("?{i}")).collect();
    info.sql = RowSql {
        upsert: format!("INSERT OR REPLACE INTO main.{tbl} ({}) VALUES ({})", upsert_cols.join(", "), marks.join(", ")),
        delete: format!("DELETE FROM main.{tbl} WHERE {key}"),
        select: format!("SELECT {} FROM main.{tbl} WHERE {key}", quoted.join(", ")),
    };
    Ok(info)
}

/// A query listing the columns of a table in declaration order with the MySQL types and
/// extras recorded at CREATE time: `name, type, notnull, dflt_value, pk, extra, cid,
/// generated` (`generated`: 0 for a plain column, 2 for a virtual generated one, 3 for a
/// stored one). `table` is an SQL expression naming the table (a quoted literal, or a
/// parameter such as `?1`).
pub fn columns_sql(table: &str) -> String {
    format!(
        "SELECT p.name, coalesce(m.mysql_type, lower(p.type)), p.\"notnull\", p.dflt_value, p.pk, coalesce(m.extra, ''), p.cid, \
         p.hidden FROM pragma_table_xinfo({table}) AS p LEFT JOIN __marmot_columns AS m ON m.tbl = {table} AND m.col = p.name \
         WHERE p.hidden IN (0, 2, 3) ORDER BY p.cid"
    )
}
