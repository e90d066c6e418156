//! One client session: current database, autocommit and transaction state, variables,
//! and the execution of statements.
//!
//! Writes go through the core exactly as in a cluster: the statement is handed to the
//! engine thread, which runs it on the database's only writer connection inside a
//! savepoint, captures its row changes and rolls the savepoint back; the core then
//! commits them (capture → transaction → commit → apply). Inside an explicit transaction
//! the captured changes accumulate in the session; each later statement (and each read)
//! runs with them written first in its savepoint, so it sees its own writes, and the
//! session never holds SQLite's write lock between statements. COMMIT hands the
//! accumulated changes to the core as one transaction.
//!
//! Reads that need no pending rows run on the session's own read connections (WAL
//! readers never wait for the writer), outside the async runtime's worker slots.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use marmot_core::io::Reply;
use marmot_core::{Op, RowChange, Value};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use sqlparser::tokenizer::Token;

use super::locking_read::LockingRead;
use super::multi_table::MultiTable;
use super::proto::{ColType, Column};
use super::row_locks::{row_id, row_ids, LockError, Owner, RowId, RowLocks};
use super::sql::{self, kw, significant, text};
use super::stmt_cache::StatementCache;
use crate::engine::{wall_ms, Engine};
use crate::store::capture::TxnLimits;
use crate::store::codec::from_ref;
use crate::store::ddl::{ddl_change, literal};
use crate::store::guard::{as_client, refused_statement};
use crate::store::replay::Replay;
use crate::store::{ConnSetup, Location, Store, StoreError};

/// The server version clients see.
pub const SERVER_VERSION: &str = "8.0.35-marmot";

/// A MySQL error for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyError {
    /// Error number.
    pub code: u16,
    /// SQLSTATE.
    pub state: &'static str,
    /// Message.
    pub msg: String,
}

impl MyError {
    /// Build one.
    pub fn new(code: u16, state: &'static str, msg: impl Into<String>) -> Self {
        MyError { code, state, msg: msg.into() }
    }
}

/// The result of one statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A result set.
    Rows {
        /// Columns.
        columns: Vec<Column>,
        /// Rows of values.
        rows: Vec<Vec<Value>>,
    },
    /// Success without rows.
    Done {
        /// Affected rows.
        affected: u64,
        /// Last insert id.
        last_insert_id: u64,
    },
    /// Failure.
    Error(MyError),
    /// A plain read left for the caller to stream with [`Session::stream`], so that a
    /// big result goes to the client as SQLite produces it instead of being held whole.
    Deferred(DeferredRead),
    /// A result set already sent through a [`RowSink`] (`rows` rows); only its end
    /// (EOF/OK) remains to be written.
    Streamed {
        /// Rows sent.
        rows: u64,
    },
}

/// A read whose rows are produced only when the result is written (see
/// [`Outcome::Deferred`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DeferredRead {
    db: String,
    sqlite: String,
}

/// Where a streamed result set goes, batch by batch: the first call carries the
/// columns (typed from its rows) and writes the header.
pub trait RowSink {
    /// Send `rows` of a result set with `columns`.
    fn rows(&mut self, columns: &[Column], rows: Vec<Vec<Value>>) -> Result<(), MyError>;
}

/// Rows per batch of a streamed result (its first batch also types the columns).
const STREAM_BATCH: usize = 1000;

/// Session facts SQL functions read (DATABASE(), LAST_INSERT_ID(), variables …).
#[derive(Clone, Debug, Default)]
pub struct SessionInfo {
    /// Current database.
    pub db: Option<String>,
    /// Authenticated user.
    pub user: String,
    /// Connection id.
    pub conn_id: u32,
    /// LAST_INSERT_ID().
    pub last_insert_id: i64,
    /// ROW_COUNT().
    pub row_count: i64,
    /// FOUND_ROWS().
    pub found_rows: i64,
    /// Autocommit flag.
    pub autocommit: bool,
    /// `@x` user variables.
    pub user_vars: BTreeMap<String, Value>,
    /// Session system variables that were SET.
    pub sys_vars: BTreeMap<String, Value>,
}

/// Map a store / SQLite error to a MySQL error.
pub fn sqlite_error(e: &StoreError) -> MyError {
    if let StoreError::TooLarge(why) = e {
        return MyError::new(
            1197,
            "HY000",
            format!("Multi-statement transaction required more than 'max_binlog_cache_size' bytes of storage: {why}"),
        );
    }
    let msg = e.to_string();
    let m = msg.trim_start_matches("sqlite: ");
    // Newer SQLite appends " in <sql> at offset N" to name errors; MySQL names only the object.
    let m = m.split(" in ").next().filter(|_| m.starts_with("no such ")).unwrap_or(m);
    if m.contains("UNIQUE constraint failed") || m.contains("PRIMARY KEY") && m.contains("constraint failed") {
        MyError::new(1062, "23000", format!("Duplicate entry: {m}"))
    } else if m.contains("NOT NULL constraint failed") {
        let col = m.rsplit('.').next().unwrap_or("");
        MyError::new(1048, "23000", format!("Column '{col}' cannot be null"))
    } else if m.contains("FOREIGN KEY constraint failed") {
        MyError::new(1452, "23000", format!("Cannot add or update a child row: a foreign key constraint fails ({m})"))
    } else if m.contains("CHECK constraint failed") {
        MyError::new(3819, "HY000", format!("Check constraint is violated ({m})"))
    } else if let Some(t) = m.strip_prefix("no such table: ") {
        MyError::new(1146, "42S02", format!("Table '{t}' doesn't exist"))
    } else if let Some(c) = m.strip_prefix("no such column: ") {
        MyError::new(1054, "42S22", format!("Unknown column '{c}' in 'field list'"))
    } else if let Some(c) = m.strip_prefix("duplicate column name: ") {
        MyError::new(1060, "42S21", format!("Duplicate column name '{c}'"))
    } else if m.contains("already exists") && m.contains("table") {
        MyError::new(1050, "42S01", m.to_string())
    } else if m.contains("not authorized") || m.contains("is prohibited") {
        MyError::new(
            1142,
            "42000",
            format!("Command denied: marmot's internal tables and SQLite's own interfaces are not available to clients ({m})"),
        )
    } else if m.contains("database is locked") || m.contains("busy") {
        MyError::new(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction")
    } else if m.contains("syntax error") || m.contains("incomplete input") || m.contains("unrecognized token") {
        MyError::new(1064, "42000", format!("You have an error in your SQL syntax: {m}"))
    } else {
        MyError::new(1105, "HY000", m.to_string())
    }
}

/// Whether `ALTER TABLE t …` (significant tokens) changes only table options (COMMENT,
/// ENGINE, character set, collation, row format, AUTO_INCREMENT), nothing SQLite stores.
fn only_table_options(sig: &[&Token]) -> bool {
    const OPTIONS: [&str; 8] =
        ["COMMENT", "ENGINE", "DEFAULT", "CHARSET", "CHARACTER", "COLLATE", "ROW_FORMAT", "AUTO_INCREMENT"];
    const CHANGES: [&str; 9] = ["ADD", "DROP", "MODIFY", "CHANGE", "RENAME", "ALTER", "CONVERT", "DISABLE", "ENABLE"];
    let rest = sig.get(3..).unwrap_or_default();
    rest.first().and_then(|t| kw(t)).is_some_and(|k| OPTIONS.contains(&k.as_str()))
        && !rest.iter().any(|t| kw(t).is_some_and(|k| CHANGES.contains(&k.as_str())))
}

/// `ALTER TABLE a RENAME [TO|AS] b`: (a, b).
fn renamed_table(toks: &[Token], k0: &str, k1: &str) -> Option<(String, String)> {
    if k0 != "ALTER" || k1 != "TABLE" {
        return None;
    }
    let sig = significant(toks);
    let words: Vec<String> = sig.iter().filter_map(|t| text(t)).collect();
    let is = |i: usize, w: &str| words.get(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    if !is(3, "RENAME") || is(4, "COLUMN") || is(4, "INDEX") || is(4, "KEY") {
        return None;
    }
    let to = words.last()?.clone();
    Some((words.get(2)?.clone(), to))
}

/// Multi-table DELETE: find every target row first, then delete them table by table.
fn delete_multi(c: &Connection, tables: &[String], select: &str) -> rusqlite::Result<u64> {
    let mut ids: Vec<std::collections::BTreeSet<i64>> = vec![Default::default(); tables.len()];
    let mut st = c.prepare(select)?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        for (k, set) in ids.iter_mut().enumerate() {
            if let Some(id) = r.get::<_, Option<i64>>(k)? {
                set.insert(id);
            }
        }
    }
    let mut deleted = 0;
    for (table, set) in tables.iter().zip(ids) {
        let set: Vec<String> = set.into_iter().map(|i| i.to_string()).collect();
        for chunk in set.chunks(500) {
            let sql = format!("DELETE FROM {} WHERE rowid IN ({})", sql::quote_ident(table), chunk.join(","));
            deleted += c.execute(&sql, [])? as u64;
        }
    }
    Ok(deleted)
}

fn store_err(e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(e)
}

/// One client session.
pub struct Session {
    engine: Engine,
    /// Other databases the running statement names (attached to its connection).
    attach: Vec<String>,
    cache: Arc<StatementCache>,
    /// Facts shared with SQL functions.
    pub info: Arc<Mutex<SessionInfo>>,
    /// In an explicit transaction.
    pub in_txn: bool,
    pending: Vec<RowChange>,
    /// Read connections, one per database used.
    conns: BTreeMap<String, Connection>,
    /// Warnings of the last statement: (level, code, message).
    pub warnings: Vec<(String, u16, String)>,
    /// The client asked for found (matched) rather than changed rows.
    pub found_rows_flag: bool,
    /// The directory server-side `LOAD DATA INFILE` may read (`secure_file_priv`).
    pub secure_file_priv: Option<std::path::PathBuf>,
    /// Rows per transaction of a `LOAD DATA` outside a transaction (0: one transaction;
    /// see [`super::bulk_load`]).
    pub load_data_batch_rows: usize,
    /// How big a transaction may grow.
    pub limits: TxnLimits,
    /// Wall time the open transaction started (for serialization-failure detection).
    txn_started_ms: u64,
    /// Savepoints of the open transaction: name and the pending changes at that point.
    savepoints: Vec<(String, Vec<RowChange>)>,
    /// The node's row locks, of which this session's open transaction holds some.
    locks: Arc<RowLocks>,
    /// The statement running may leave a plain read as [`Outcome::Deferred`].
    defer_read: bool,
    /// Rows the open transaction read with `FOR UPDATE`, as checks of the rows as read
    /// (see [`super::locking_read`]): a later write of one was based on that read, and one
    /// it does not write is committed as the check.
    locked_reads: BTreeMap<RowId, RowChange>,
    /// Counts the open transaction as work in flight, which a drain waits for.
    txn_busy: Option<crate::drain::Busy>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // A connection that goes away ends its transaction: its locks go with it.
        self.locks.release(self.owner());
    }
}

impl Session {
    /// A new session for `user`.
    pub fn new(engine: Engine, cache: Arc<StatementCache>, locks: Arc<RowLocks>, user: String, conn_id: u32) -> Self {
        let info = SessionInfo { user, conn_id, autocommit: true, ..Default::default() };
        Session {
            engine,
            attach: Vec::new(),
            secure_file_priv: None,
            load_data_batch_rows: 0,
            limits: TxnLimits::default(),
            cache,
            info: Arc::new(Mutex::new(info)),
            in_txn: false,
            pending: Vec::new(),
            conns: BTreeMap::new(),
            warnings: Vec::new(),
            found_rows_flag: false,
            txn_started_ms: 0,
            savepoints: Vec::new(),
            locks,
            defer_read: false,
            locked_reads: BTreeMap::new(),
            txn_busy: None,
        }
    }

    /// Whether a transaction is open (its writes wait for COMMIT).
    pub(super) fn in_transaction(&self) -> bool {
        self.in_txn || !self.autocommit()
    }

    /// The lock owner of this session's transactions.
    fn owner(&self) -> super::row_locks::Owner {
        self.info().conn_id
    }

    /// End the open transaction without committing: its changes and locks go.
    fn end_txn(&mut self) {
        self.pending.clear();
        self.savepoints.clear();
        self.locked_reads.clear();
        self.in_txn = false;
        self.txn_busy = None;
        self.locks.release(self.owner());
    }

    fn info(&self) -> std::sync::MutexGuard<'_, SessionInfo> {
        self.info.lock().expect("session info lock")
    }

    /// The user databases of this node.
    pub fn engine_databases(&self) -> Vec<String> {
        self.engine.databases()
    }

    /// The current database.
    pub fn db(&self) -> Option<String> {
        self.info().db.clone()
    }

    /// Whether autocommit is on.
    pub fn autocommit(&self) -> bool {
        self.info().autocommit
    }

    /// Server status flags for OK/EOF packets.
    pub fn status_flags(&self) -> u16 {
        let mut s = 0;
        if self.autocommit() {
            s |= super::proto::status::AUTOCOMMIT;
        }
        if self.in_txn {
            s |= super::proto::status::IN_TRANS;
        }
        s
    }

    /// Switch database (COM_INIT_DB / USE).
    pub fn use_db(&mut self, db: &str) -> Result<(), MyError> {
        if db.is_empty() {
            return Ok(());
        }
        if !self.engine.databases().iter().any(|d| d == db) {
            return Err(MyError::new(1049, "42000", format!("Unknown database '{db}'")));
        }
        self.info().db = Some(db.to_string());
        Ok(())
    }

    /// Reset to a fresh session state (COM_RESET_CONNECTION).
    pub fn reset(&mut self) {
        self.end_txn();
        let mut i = self.info();
        i.user_vars.clear();
        i.sys_vars.clear();
        i.autocommit = true;
        i.last_insert_id = 0;
    }

    /// This session's read connection to `db`, with the databases the running statement
    /// names attached.
    fn conn(&mut self, db: &str) -> Result<&Connection, MyError> {
        if !self.conns.contains_key(db) {
            let conn = crate::store::open_connection(&self.engine.location, self.engine.sync, db)
                .map_err(|e| sqlite_error(&e))?;
            register_functions(&conn, InfoSource::Own(self.info.clone())).map_err(|e| sqlite_error(&store_err(e)))?;
            // Only programs outside marmot may hold the file's lock.
            conn.busy_timeout(self.engine.lock_wait).map_err(|e| sqlite_error(&store_err(e)))?;
            self.conns.insert(db.to_string(), conn);
        }
        let cc = self.conns.get(db).expect("inserted");
        if let (false, Location::Dir(dir)) = (self.attach.is_empty(), &self.engine.location) {
            for other in &self.attach {
                let conn = cc;
                let attached =
                    conn.query_row("SELECT 1 FROM pragma_database_list WHERE name = ?1", [other], |_| Ok(())).is_ok();
                if !attached {
                    let path = dir.join(format!("{other}.db"));
                    conn.execute("ATTACH DATABASE ?1 AS ?2", rusqlite::params![path.to_string_lossy(), other])
                        .map_err(|e| sqlite_error(&store_err(e)))?;
                }
            }
        }
        Ok(cc)
    }

    pub(super) fn need_db(&self) -> Result<String, MyError> {
        self.db().ok_or_else(|| MyError::new(1046, "3D000", "No database selected"))
    }

    /// Execute a COM_QUERY text (possibly several statements).
    pub async fn query(&mut self, text: &str) -> Vec<Outcome> {
        self.query_with(text, false).await
    }

    /// [`Session::query`], where the last statement, if it is a plain read, comes back as
    /// [`Outcome::Deferred`] for the caller to [`Session::stream`].
    pub async fn query_streaming(&mut self, text: &str) -> Vec<Outcome> {
        self.query_with(text, true).await
    }

    async fn query_with(&mut self, text: &str, defer_last: bool) -> Vec<Outcome> {
        // Taken before the check (see `Drain::busy`): a drain either refuses this statement
        // or waits for it.
        let _running = self.engine.drain.busy();
        if self.engine.drain.refusing() && !self.in_txn {
            return vec![Outcome::Error(MyError::new(
                1053,
                "08S01",
                format!(
                    "Server shutdown in progress: node {} is draining (leaving the cluster); reconnect to another node",
                    self.engine.node_id
                ),
            ))];
        }
        let out = self.run_statements(text, defer_last).await;
        // An open transaction is work in flight until it ends.
        if self.in_txn {
            if self.txn_busy.is_none() {
                self.txn_busy = Some(self.engine.drain.busy());
            }
        } else {
            self.txn_busy = None;
        }
        out
    }

    async fn run_statements(&mut self, text: &str, defer_last: bool) -> Vec<Outcome> {
        let stmts = match self.cache.statements(text) {
            Ok(t) => t,
            Err(e) => return vec![Outcome::Error(MyError::new(1064, "42000", e.to_string()))],
        };
        if stmts.is_empty() {
            return vec![Outcome::Done { affected: 0, last_insert_id: 0 }];
        }
        let mut out = Vec::new();
        let last = stmts.len() - 1;
        for (i, s) in stmts.iter().enumerate() {
            self.warnings.clear();
            self.defer_read = defer_last && i == last;
            let o = self.statement(s).await.unwrap_or_else(Outcome::Error);
            self.defer_read = false;
            if let Outcome::Error(e) = &o {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let pending: Vec<String> =
                        self.pending.iter().map(|p| format!("{}:{:?}:{:?}", p.table, p.op, p.key.0)).collect();
                    tracing::debug!(conn = self.info().conn_id, code = e.code, error = %e.msg, statement = %sql::rewrite(s), ?pending, in_txn = self.in_txn, "statement failed");
                }
            }
            let failed = matches!(o, Outcome::Error(_));
            out.push(o);
            if failed {
                break;
            }
        }
        out
    }

    async fn statement(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        let words = toks.iter().filter_map(|t| match t {
            Token::Word(w) => Some(w.value.as_str()),
            _ => None,
        });
        if let Some((code, state, msg)) = refused_statement(words) {
            return Err(MyError::new(code, state, msg));
        }
        let k0 = toks.iter().find_map(kw).unwrap_or_default();
        self.engine.metrics.statement(&k0);
        if toks.iter().any(|t| matches!(t, Token::Period)) && !matches!(k0.as_str(), "SHOW" | "USE" | "SET") {
            let quals = super::crossdb::qualifiers(toks, &self.engine.databases());
            let current = self.db();
            if quals.iter().any(|q| Some(q) != current.as_ref()) {
                // Writes run in the database they write; reads in the current one.
                let writes = matches!(
                    k0.as_str(),
                    "INSERT" | "REPLACE" | "UPDATE" | "DELETE" | "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "RENAME"
                );
                let target = match (&current, writes) {
                    (Some(c), false) => c.clone(),
                    _ => quals[0].clone(),
                };
                let stripped = super::crossdb::strip(toks, &target);
                self.attach = quals.into_iter().filter(|q| *q != target).collect();
                let saved = self.info().db.replace(target);
                let out = self.local_statement(&stripped).await;
                self.info().db = saved;
                self.attach.clear();
                return out;
            }
            if let Some(c) = current.filter(|c| quals.contains(c)) {
                // Names qualified with the current database (`test.t` while in `test`):
                // the current database is the connection's main schema.
                return self.local_statement(&super::crossdb::strip(toks, &c)).await;
            }
        }
        self.local_statement(toks).await
    }

    async fn local_statement(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        let sig = significant(toks);
        let k0 = sig.first().and_then(|t| kw(t)).unwrap_or_default();
        let k1 = sig.get(1).and_then(|t| kw(t)).unwrap_or_default();
        match k0.as_str() {
            "SELECT" | "WITH" | "VALUES" | "TABLE" | "(" => self.select(toks).await,
            "SHOW" => super::meta::show(self, &sig),
            "LOAD" => match super::load_data::parse(toks) {
                Some(Ok(spec)) if spec.local => {
                    Err(MyError::new(1148, "42000", "LOAD DATA LOCAL must be the only statement of its query"))
                }
                Some(Ok(spec)) => self.load_server_file(spec).await,
                Some(Err(e)) => Err(MyError::new(1064, "42000", format!("You have an error in your SQL syntax: {e}"))),
                None => Err(MyError::new(1064, "42000", "You have an error in your SQL syntax near 'LOAD'")),
            },
            "DESCRIBE" | "DESC" | "EXPLAIN"
                if sig.len() >= 2 && !matches!(k1.as_str(), "SELECT" | "UPDATE" | "DELETE" | "INSERT") =>
            {
                super::meta::describe(self, &sig[1..])
            }
            "USE" => {
                let db = sig.get(1).and_then(|t| text(t)).unwrap_or_default();
                self.use_db(&db)?;
                Ok(done(0))
            }
            "SET" => {
                let was_autocommit = self.autocommit();
                let out = self.set(&sig)?;
                if !was_autocommit && self.autocommit() && self.in_txn {
                    // MySQL: switching autocommit on commits the open transaction.
                    self.commit().await?;
                }
                Ok(out)
            }
            "BEGIN" | "START" => {
                if self.in_txn {
                    self.commit().await?;
                }
                self.in_txn = true;
                self.txn_started_ms = wall_ms();
                Ok(done(0))
            }
            "COMMIT" => {
                self.commit().await?;
                Ok(done(0))
            }
            "ROLLBACK" if !sig.iter().any(|t| kw(t).as_deref() == Some("TO")) => {
                self.end_txn();
                Ok(done(0))
            }
            "SAVEPOINT" | "ROLLBACK" | "RELEASE" => {
                let name = sig.last().and_then(|t| text(t)).unwrap_or_default().to_ascii_lowercase();
                let pos = self.savepoints.iter().rposition(|(n, _)| *n == name);
                match (k0.as_str(), pos) {
                    ("SAVEPOINT", _) => {
                        if let Some(i) = pos {
                            self.savepoints.remove(i);
                        }
                        self.savepoints.push((name, self.pending.clone()));
                    }
                    ("ROLLBACK", Some(i)) => {
                        // Back to the savepoint; it stays, later ones go.
                        self.pending = self.savepoints[i].1.clone();
                        self.savepoints.truncate(i + 1);
                    }
                    ("RELEASE", Some(i)) => self.savepoints.truncate(i),
                    _ => return Err(MyError::new(1305, "42000", format!("SAVEPOINT {name} does not exist"))),
                }
                Ok(done(0))
            }
            "INSERT" | "REPLACE" | "UPDATE" | "DELETE" => self.write(toks).await,
            "CREATE" | "DROP" if matches!(k1.as_str(), "DATABASE" | "SCHEMA") => self.database_ddl(&sig).await,
            "ALTER" if matches!(k1.as_str(), "DATABASE" | "SCHEMA") => {
                // Only character set, collation and options can change; SQLite files have
                // none of them, so there is nothing to change on any node. The database
                // must exist, as in MySQL.
                let name = sig.get(2).and_then(|t| text(t)).filter(|n| {
                    !matches!(n.to_ascii_uppercase().as_str(), "CHARACTER" | "CHARSET" | "COLLATE" | "DEFAULT")
                });
                let name = name.or_else(|| self.info().db.clone()).unwrap_or_default();
                if !self.engine.databases().contains(&name) {
                    return Err(MyError::new(1049, "42000", format!("Unknown database '{name}'")));
                }
                Ok(done(1))
            }
            "TRUNCATE" => {
                // SQLite has no TRUNCATE: delete every row, replicated like any delete.
                let table = sig.iter().skip(1).filter_map(|t| text(t)).find(|n| !n.eq_ignore_ascii_case("TABLE"));
                let table = table.ok_or_else(|| MyError::new(1064, "42000", "TRUNCATE needs a table name"))?;
                let toks = sql::tokenize(&format!("DELETE FROM {}", sql::quote_ident(&table)))
                    .map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                self.write(&toks).await.map(|_| done(0))
            }
            "ALTER"
                if sig.len() == 5
                    && matches!(kw(sig[3]).as_deref(), Some("DISABLE" | "ENABLE"))
                    && kw(sig[4]).as_deref() == Some("KEYS") =>
            {
                // mariadb-dump brackets its INSERTs with these; SQLite indexes are always on.
                Ok(done(0))
            }
            "RENAME" if k1 == "TABLE" => {
                // RENAME TABLE a TO b [, c TO d ...]: each pair as ALTER TABLE ... RENAME TO.
                let words: Vec<String> = sig.iter().skip(2).filter_map(|t| text(t)).collect();
                let well_formed = !words.is_empty()
                    && words.len().is_multiple_of(3)
                    && words.chunks(3).all(|c| c[1].eq_ignore_ascii_case("TO"));
                if !well_formed {
                    return Err(MyError::new(1064, "42000", "RENAME TABLE needs old_name TO new_name"));
                }
                for pair in words.chunks(3) {
                    let (from, to) = (&pair[0], &pair[2]);
                    let alter = format!("ALTER TABLE {} RENAME TO {}", sql::quote_ident(from), sql::quote_ident(to));
                    let toks = sql::tokenize(&alter).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                    self.ddl(&toks, "ALTER", "TABLE").await?;
                }
                Ok(done(0))
            }
            "ALTER" if k1 == "TABLE" && only_table_options(&sig) => {
                // ALTER TABLE t COMMENT = '…' / ENGINE = … / DEFAULT CHARSET = …: options
                // SQLite has no place for; accepted for a table that exists.
                let table = sig.get(2).and_then(|t| text(t)).unwrap_or_default();
                let db = self.need_db()?;
                let exists: bool = self
                    .conn(&db)?
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE)",
                        [&table],
                        |r| r.get(0),
                    )
                    .unwrap_or(false);
                if !exists {
                    return Err(MyError::new(1146, "42S02", format!("Table '{db}.{table}' doesn't exist")));
                }
                Ok(done(0))
            }
            "DROP" if k1 == "INDEX" && sig.iter().any(|t| kw(t).as_deref() == Some("ON")) => {
                let drop = self.drop_index_on(&sig)?;
                let toks = sql::tokenize(&drop).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                self.ddl(&toks, "DROP", "INDEX").await
            }
            "CREATE" | "DROP" | "ALTER" | "RENAME" => self.ddl(toks, &k0, &k1).await,
            "LOCK" | "UNLOCK" | "GRANT" | "REVOKE" | "FLUSH" | "ANALYZE" | "OPTIMIZE" | "CHECK" | "REPAIR" | "XA" => {
                self.warn(1235, &format!("{k0} is accepted and ignored by marmot"));
                Ok(done(0))
            }
            "DO" => Ok(done(0)),
            _ => Err(MyError::new(
                1064,
                "42000",
                format!("You have an error in your SQL syntax near '{}'", sql::rewrite(toks)),
            )),
        }
    }

    pub(super) fn warn(&mut self, code: u16, msg: &str) {
        self.warnings.push(("Note".into(), code, msg.into()));
    }

    async fn select(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        // FOUND_ROWS(): the rows this SELECT returned, or with SQL_CALC_FOUND_ROWS the rows
        // it would have returned without its LIMIT.
        let calc = significant(toks).iter().take(4).any(|t| kw(t).as_deref() == Some("SQL_CALC_FOUND_ROWS"));
        let defer = std::mem::take(&mut self.defer_read) && !calc;
        let mut on_writer = false;
        if let Some(read) = super::locking_read::parse(toks) {
            if self.in_transaction() {
                self.lock_read_rows(read).await?;
                on_writer = true;
            }
        }
        let out = self.select_inner(toks, defer, on_writer).await?;
        let found = match (&out, calc) {
            (Outcome::Rows { .. }, true) => match sql::without_limit(toks) {
                Some(inner) => {
                    let count = format!("SELECT count(*) FROM ({})", sql::rewrite(&inner));
                    let toks = sql::tokenize(&count).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                    match self.select_inner(&toks, false, on_writer).await? {
                        Outcome::Rows { rows, .. } => match rows.first().and_then(|r| r.first()) {
                            Some(Value::Integer(n)) => *n,
                            _ => 0,
                        },
                        _ => 0,
                    }
                }
                None => match &out {
                    Outcome::Rows { rows, .. } => rows.len() as i64,
                    _ => 0,
                },
            },
            (Outcome::Rows { rows, .. }, false) => rows.len() as i64,
            _ => return Ok(out),
        };
        self.info().found_rows = found;
        Ok(out)
    }

    /// Run a read; with `defer`, a plain read of the current database (no open
    /// transaction rows to see, no information_schema) is returned as
    /// [`Outcome::Deferred`] instead. With `on_writer` it reads what the writer holds (a
    /// locking read: the rows as their versions were taken, which may include commits
    /// applied but not yet visible to this session's own connection).
    async fn select_inner(&mut self, toks: &[Token], defer: bool, on_writer: bool) -> Result<Outcome, MyError> {
        let sqlite = sql::rewrite(toks);
        let db = self.db().unwrap_or_else(|| "__none".into());
        let info_schema = super::infoschema::mentioned(&sqlite);
        if db == "__none" {
            // No database: expressions only, on an in-memory connection.
            let conn = Connection::open_in_memory().map_err(|e| sqlite_error(&store_err(e)))?;
            register_functions(&conn, InfoSource::Own(self.info.clone())).map_err(|e| sqlite_error(&store_err(e)))?;
            if info_schema {
                super::infoschema::attach(&conn, &self.engine).map_err(|e| sqlite_error(&e))?;
            }
            return run_query(&conn, &sqlite, "").map_err(|e| {
                if e.code == 1146 {
                    MyError::new(1046, "3D000", "No database selected")
                } else {
                    e
                }
            });
        }
        if (on_writer || !self.pending.is_empty()) && !info_schema {
            // The open transaction's rows must show: on the writer, written first in a
            // savepoint that is rolled back.
            let res = self
                .on_writer(&db.clone(), super::replay_shape::shape(toks), false, move |c| {
                    Ok(run_query(c, &sqlite, &db))
                })
                .await?
                .map(|(v, _)| v)
                .map_err(|e| sqlite_error(&e))?;
            return res;
        }
        // A statement naming other databases runs with them attached, which lasts only
        // while it is being handled: it is not deferred.
        if defer && !info_schema && self.attach.is_empty() {
            return Ok(Outcome::Deferred(DeferredRead { db, sqlite }));
        }
        let engine = self.engine.clone();
        let conn = self.conn(&db)?;
        if info_schema {
            super::infoschema::attach(conn, &engine).map_err(|e| sqlite_error(&e))?;
        }
        blocking(|| as_client(|| run_query(conn, &sqlite, &db)))
    }

    /// Run a deferred read, its rows going to `sink` as SQLite produces them:
    /// [`Outcome::Streamed`], or the error (which may come after some rows).
    pub fn stream(&mut self, read: DeferredRead, sink: &mut dyn RowSink) -> Outcome {
        let conn = match self.conn(&read.db) {
            Ok(c) => c,
            Err(e) => return Outcome::Error(e),
        };
        let out = blocking(|| as_client(|| query_rows(conn, &read.sqlite, &read.db, Some(sink))));
        match out {
            Ok(Outcome::Streamed { rows }) => {
                self.info().found_rows = rows as i64;
                Outcome::Streamed { rows }
            }
            Ok(other) => other,
            Err(e) => Outcome::Error(e),
        }
    }

    async fn write(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        let multi = match super::multi_table::plan(toks) {
            Some(Err(m)) if m.starts_with("Unknown table") => return Err(MyError::new(1109, "42S02", m)),
            Some(Err(m)) => return Err(MyError::new(1235, "42000", m)),
            Some(Ok(plan)) => Some(plan),
            None => None,
        };
        let sqlite = sql::rowid_limited(toks).unwrap_or_else(|| sql::rewrite(toks));
        let found_rows = self.found_rows_flag;
        let replay = if multi.is_some() { Replay::All } else { super::replay_shape::shape(toks) };
        let res = self
            .on_writer(&db, replay, true, move |c| match &multi {
                None => Ok(c.execute(&sqlite, []).map_err(store_err)? as u64),
                Some(MultiTable::Update(update)) => Ok(c.execute(update, []).map_err(store_err)? as u64),
                Some(MultiTable::Delete { tables, select }) => delete_multi(c, tables, select).map_err(store_err),
            })
            .await?;
        let (matched, changes) = match res {
            Ok(v) => v,
            Err(e) => {
                let err = sqlite_error(&e);
                if err.code == 1062 && self.in_txn && self.concurrent_commit_since_start(&db, &err.msg) {
                    // Another transaction committed to this table since ours began: the
                    // key we saw absent is there now. InnoDB reports this race (gap locks)
                    // as a deadlock and rolls the transaction back; so do we, and the
                    // client retries.
                    self.end_txn();
                    return Err(MyError::new(
                        1213,
                        "40001",
                        "Deadlock found when trying to get lock; try restarting transaction",
                    ));
                }
                return Err(err);
            }
        };
        let changed = changes.len() as u64;
        let affected = if found_rows { matched } else { changed };
        // LAST_INSERT_ID: the first integer key this statement inserted (MySQL reports the
        // first id of a multi-row insert).
        let first_id =
            changes.iter().filter(|c| c.op == Op::Insert).find_map(|c| {
                match crate::store::codec::decode_key(&c.key).ok()?.as_slice() {
                    [Value::Integer(i)] if *i > 0 => Some(*i),
                    _ => None,
                }
            });
        if let Some(id) = first_id {
            self.info().last_insert_id = id;
        }
        self.info().row_count = affected as i64;
        let insert_id = first_id.unwrap_or(0) as u64;
        self.finish_write(changes).await?;
        Ok(Outcome::Done { affected, last_insert_id: insert_id })
    }

    /// Run `body` on the engine thread, on the writer of `db` as this session sees it (the
    /// open transaction's rows written first, those a statement of shape `replay` can
    /// see; the databases the statement names attached), and capture the rows it changes
    /// (see [`Store::capture_in`]). With `lock_rows`, the rows it changed are locked for
    /// the open transaction; if another transaction of this node holds one, the session
    /// waits for it to end and runs the statement again (see [`super::row_locks`]). The
    /// outer error is the engine's or the lock wait's (a deadlock also rolls the
    /// transaction back, as InnoDB does); the inner one the statement's (the open
    /// transaction's rows stay as they were either way).
    pub(super) async fn on_writer<T: Send + 'static>(
        &mut self,
        db: &str,
        replay: Replay,
        lock_rows: bool,
        body: impl Fn(&Connection) -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Result<Result<(T, Vec<RowChange>), StoreError>, MyError> {
        let (body, replay) = (Arc::new(body), Arc::new(replay));
        let deadline = Instant::now() + self.engine.lock_wait;
        let mut pause = std::time::Duration::from_millis(2);
        loop {
            let pending = std::mem::take(&mut self.pending);
            let (info, attach, db, body, replay) =
                (self.info.clone(), self.attach.clone(), db.to_string(), body.clone(), replay.clone());
            let (locks, owner, limits) = (lock_rows.then(|| self.locks.clone()), self.owner(), self.limits);
            let ran = self
                .engine
                .run(move |store: &mut Store| {
                    let out =
                        as_session(info, || store.capture_in(&db, &pending, &replay, &attach, limits, |c| body(c)));
                    // Locked in the same engine step as the capture: commits apply on this
                    // thread too, so a capture either saw the holder's commit applied or
                    // finds the holder's lock still there — never a stale row unlocked.
                    let blocked = match (&locks, &out) {
                        (Some(l), Ok((_, changes))) => l.try_lock(owner, &row_ids(changes)).err(),
                        _ => None,
                    };
                    (pending, out, blocked)
                })
                .await;
            let (out, blocked) = match ran {
                Ok((pending, out, blocked)) => {
                    self.pending = pending;
                    (out, blocked)
                }
                Err(e) => return Err(MyError::new(1105, "HY000", e.to_string())),
            };
            // A program outside marmot holds the file's write lock: the engine thread does
            // not wait for it (it carries the cluster's traffic); this session does, up to
            // the lock wait, then gets 1205.
            if locked_out(&out) && Instant::now() + pause < deadline {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
                continue;
            }
            if let (Some(holder), Ok((_, changes))) = (blocked, &out) {
                self.wait_for_lock(holder, &row_ids(changes), deadline).await?;
                continue;
            }
            return Ok(out);
        }
    }

    /// Wait for transaction `holder` to let go of `rows`. A wait that would deadlock rolls
    /// this session's transaction back (1213, as InnoDB does); one past `deadline` is 1205
    /// and leaves the transaction open.
    async fn wait_for_lock(&mut self, holder: Owner, rows: &[RowId], deadline: Instant) -> Result<(), MyError> {
        match self.locks.wait_for(self.owner(), holder, rows, deadline).await {
            Ok(()) => Ok(()),
            Err(LockError::Deadlock) => {
                self.end_txn();
                Err(MyError::new(1213, "40001", "Deadlock found when trying to get lock; try restarting transaction"))
            }
            Err(LockError::Timeout) => {
                Err(MyError::new(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction"))
            }
        }
    }

    /// A locking read in a transaction: lock the rows it returns and keep them as checks
    /// of the rows as read, in one engine step (see [`super::locking_read`]); waits, as a
    /// write does, for a transaction of this node holding one of them.
    async fn lock_read_rows(&mut self, read: LockingRead) -> Result<(), MyError> {
        let db = self.need_db()?;
        let select = sql::rewrite(&read.keys_query);
        let from = Arc::new(select.strip_prefix("SELECT 1 ").unwrap_or(&select).to_string());
        let tables = Arc::new(read.tables);
        let deadline = Instant::now() + self.engine.lock_wait;
        loop {
            let (db, from, tables, locks, owner) =
                (db.clone(), from.clone(), tables.clone(), self.locks.clone(), self.owner());
            let (limits, held) = (self.limits, self.pending.len() + self.locked_reads.len());
            let ran = self
                .engine
                .run(move |store: &mut Store| {
                    let mut checks: Vec<RowChange> = Vec::new();
                    for (table, alias) in tables.iter() {
                        checks.extend(store.locking_read(&db, table, alias, &from, limits, held + checks.len())?);
                    }
                    let blocked = locks.try_lock(owner, &row_ids(&checks)).err();
                    Ok::<_, StoreError>((checks, blocked))
                })
                .await
                .map_err(|e| MyError::new(1105, "HY000", e.to_string()))?
                .map_err(|e| sqlite_error(&e))?;
            let (checks, blocked) = ran;
            if !self.in_txn {
                self.txn_started_ms = wall_ms();
                self.in_txn = true;
            }
            if let Some(holder) = blocked {
                if read.nowait {
                    return Err(MyError::new(
                        3572,
                        "HY000",
                        "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is set.",
                    ));
                }
                self.wait_for_lock(holder, &row_ids(&checks), deadline).await?;
                continue;
            }
            for check in checks {
                self.locked_reads.entry(row_id(&check)).or_insert(check);
            }
            return Ok(());
        }
    }

    /// A captured write's rows: into the open transaction, or (autocommit) replicated now.
    pub(super) async fn finish_write(&mut self, mut changes: Vec<RowChange>) -> Result<(), MyError> {
        // A row read FOR UPDATE earlier: its write is based on what that read saw.
        if !self.locked_reads.is_empty() {
            for c in changes.iter_mut() {
                if let Some(read) = self.locked_reads.get(&row_id(c)) {
                    c.read_version = read.read_version;
                }
            }
        }
        if self.in_transaction() {
            if !self.in_txn {
                self.txn_started_ms = wall_ms();
            }
            self.in_txn = true;
            self.pending = merge(std::mem::take(&mut self.pending), changes);
            return Ok(());
        }
        let out = self.replicate(changes).await;
        self.locks.release(self.owner());
        out
    }

    /// Whether any transaction committed a row of the table named in a constraint error
    /// since the open transaction started.
    fn concurrent_commit_since_start(&mut self, db: &str, msg: &str) -> bool {
        let Some(table) = msg.rsplit(": ").next().and_then(|c| c.split('.').next()) else { return false };
        let since = self.txn_started_ms;
        let Ok(conn) = self.conn(db) else { return false };
        conn.query_row(
            "SELECT 1 FROM __marmot_row_versions WHERE tbl = ?1 AND wall >= ?2 LIMIT 1",
            rusqlite::params![table, since],
            |_| Ok(()),
        )
        .is_ok()
    }

    async fn replicate(&mut self, changes: Vec<RowChange>) -> Result<(), MyError> {
        if changes.is_empty() {
            return Ok(());
        }
        let consistency = self.write_consistency()?;
        match self.engine.write(changes, consistency).await {
            Ok(Reply::Committed { .. }) => Ok(()),
            Ok(Reply::Failed(e)) => {
                let (code, state) = e.mysql_code();
                Err(MyError::new(code, state, e.to_string()))
            }
            Ok(other) => Err(MyError::new(1105, "HY000", format!("unexpected engine reply {other:?}"))),
            Err(e) => Err(MyError::new(1105, "HY000", e.to_string())),
        }
    }

    /// `SET marmot_write_consistency = 'ONE' | 'QUORUM' | 'ALL'` overrides
    /// `[replication] default_write_consistency` for this session.
    fn write_consistency(&self) -> Result<Option<marmot_core::Consistency>, MyError> {
        match self.info().sys_vars.get("marmot_write_consistency") {
            None => Ok(None),
            Some(Value::Text(t)) => t.parse().map(Some).map_err(|e: String| MyError::new(1231, "42000", e)),
            Some(other) => Err(MyError::new(
                1231,
                "42000",
                format!("Variable 'marmot_write_consistency' can't be set to the value of {other:?}"),
            )),
        }
    }

    async fn commit(&mut self) -> Result<(), MyError> {
        let mut changes = std::mem::take(&mut self.pending);
        // Rows read FOR UPDATE and not written (or written with their own values, which
        // captures nothing) commit as checks: the transaction's outcome rests on them.
        let checks = std::mem::take(&mut self.locked_reads);
        if !checks.is_empty() {
            let written: std::collections::BTreeSet<RowId> = row_ids(&changes).into_iter().collect();
            changes.extend(checks.into_iter().filter(|(id, _)| !written.contains(id)).map(|(_, c)| c));
        }
        // Locks are held until the outcome is known: a waiting session must run its
        // statement on the rows this commit leaves, not on those before it.
        let out = self.replicate(changes).await;
        self.end_txn();
        out
    }

    /// `DROP INDEX name ON table` as SQLite's `DROP INDEX`, naming the index as this node
    /// stored it: `name` (made by CREATE INDEX) or `table__name` (declared in CREATE TABLE).
    fn drop_index_on(&mut self, sig: &[&Token]) -> Result<String, MyError> {
        let words: Vec<String> = sig.iter().skip(2).filter_map(|t| text(t)).collect();
        let (name, table) = match words.as_slice() {
            [name, on, table, ..] if on.eq_ignore_ascii_case("ON") => (name.clone(), table.clone()),
            _ => return Err(MyError::new(1064, "42000", "DROP INDEX needs: DROP INDEX name ON table")),
        };
        let db = self.need_db()?;
        let stored: Option<String> = self
            .conn(&db)?
            .query_row(
                "SELECT name FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ?1 COLLATE NOCASE \
                 AND name IN (?2, ?1 || '__' || ?2) ORDER BY name = ?2 DESC LIMIT 1",
                rusqlite::params![table, name],
                |r| r.get(0),
            )
            .ok();
        match stored {
            Some(index) => Ok(format!("DROP INDEX {}", sql::quote_ident(&index))),
            None => Err(MyError::new(1091, "42000", format!("Can't DROP INDEX `{name}`; check that it exists"))),
        }
    }

    fn set(&mut self, sig: &[&Token]) -> Result<Outcome, MyError> {
        // SET [SESSION|GLOBAL|@@…] name = value [, …] | SET NAMES … | SET TRANSACTION …
        let k1 = sig.get(1).and_then(|t| kw(t)).unwrap_or_default();
        if matches!(k1.as_str(), "NAMES" | "CHARACTER" | "CHARSET" | "TRANSACTION" | "PASSWORD") {
            return Ok(done(0));
        }
        // SET SESSION|GLOBAL|LOCAL TRANSACTION ISOLATION LEVEL … / READ WRITE: accepted, as
        // the plain SET TRANSACTION is (what `mariadb-dump --single-transaction` sends
        // first); transactions keep marmot's one behaviour whatever level is named.
        let k2 = sig.get(2).and_then(|t| kw(t)).unwrap_or_default();
        if matches!(k1.as_str(), "SESSION" | "GLOBAL" | "LOCAL") && k2 == "TRANSACTION" {
            return Ok(done(0));
        }
        for p in sql::split_commas(&sig[1..]) {
            let p: Vec<Token> = p.into_iter().cloned().collect();
            let Some(eq) = p.iter().position(|t| matches!(t, Token::Eq) || matches!(t, Token::Assignment)) else {
                return Err(MyError::new(1064, "42000", "You have an error in your SQL syntax near SET"));
            };
            let mut name: Vec<String> = p[..eq].iter().filter_map(text).collect();
            name.retain(|n| !matches!(n.to_ascii_uppercase().as_str(), "SESSION" | "GLOBAL" | "LOCAL" | "PERSIST"));
            let name = name.last().cloned().unwrap_or_default();
            let value_sql = sql::rewrite(&p[eq + 1..]);
            // ON/OFF and bare words are values, not columns.
            let value = match value_sql.to_ascii_uppercase().as_str() {
                "ON" | "TRUE" => Value::Integer(1),
                "OFF" | "FALSE" => Value::Integer(0),
                _ => self.eval(&value_sql).unwrap_or(Value::Text(value_sql.trim_matches('\'').to_string())),
            };
            let lname = name.trim_start_matches('@').to_ascii_lowercase();
            if name.starts_with("@@") || !name.starts_with('@') {
                if lname == "autocommit" {
                    let on = matches!(value, Value::Integer(1)) || matches!(&value, Value::Text(t) if t == "1");
                    self.info().autocommit = on;
                }
                if lname == "marmot_write_consistency" {
                    if let Value::Text(t) = &value {
                        t.parse::<marmot_core::Consistency>().map_err(|e| MyError::new(1231, "42000", e))?;
                    }
                }
                self.info().sys_vars.insert(lname, value);
            } else {
                self.info().user_vars.insert(lname, value);
            }
        }
        Ok(done(0))
    }

    fn eval(&mut self, expr: &str) -> Option<Value> {
        self.scalar(&format!("SELECT {expr}"))
    }

    /// The first value of a query run on a scratch connection with the session's
    /// functions; `None` if it fails.
    fn scalar(&self, sqlite: &str) -> Option<Value> {
        let conn = Connection::open_in_memory().ok()?;
        register_functions(&conn, InfoSource::Own(self.info.clone())).ok()?;
        conn.query_row(sqlite, [], |r| r.get_ref(0).map(from_ref)).ok()
    }

    async fn database_ddl(&mut self, sig: &[&Token]) -> Result<Outcome, MyError> {
        let create = kw(sig[0]).as_deref() == Some("CREATE");
        let if_clause = sig.iter().any(|t| kw(t).as_deref() == Some("EXISTS"));
        let name = sig
            .iter()
            .skip(2)
            .filter_map(|t| text(t))
            .find(|t| !matches!(t.to_ascii_uppercase().as_str(), "IF" | "NOT" | "EXISTS"))
            .unwrap_or_default();
        if create {
            let exists = self.engine.databases().contains(&name);
            if exists {
                return if if_clause {
                    Ok(done(0))
                } else {
                    Err(MyError::new(1007, "HY000", format!("Can't create database '{name}'; database exists")))
                };
            }
            crate::store::valid_name(&name)
                .map_err(|_| MyError::new(1102, "42000", format!("Incorrect database name '{name}'")))?;
            if self.in_txn {
                self.commit().await?;
            }
            // Created on every node by the replicated (empty) schema change; a database
            // dropped before comes back by removing its dropped marker.
            let change = if self.engine.is_dropped(&name) {
                let version = self.schema_version_of(&name).await?;
                ddl_change(&name, crate::store::ddl::undrop_database_sql(), version)
            } else {
                ddl_change(&name, String::new(), 0)
            };
            self.replicate(vec![change]).await?;
            Ok(done(1))
        } else {
            if !self.engine.databases().contains(&name) {
                return if if_clause {
                    Ok(done(0))
                } else {
                    Err(MyError::new(1008, "HY000", format!("Can't drop database '{name}'; database doesn't exist")))
                };
            }
            if self.in_txn {
                self.commit().await?;
            }
            let version = self.schema_version_of(&name).await?;
            let sql = {
                let conn = self.conn(&name)?;
                crate::store::ddl::drop_database_sql(conn).map_err(|e| sqlite_error(&e))?
            };
            self.replicate(vec![ddl_change(&name, sql, version)]).await?;
            if self.info().db.as_deref() == Some(name.as_str()) {
                self.info().db = None;
            }
            Ok(done(0))
        }
    }

    /// The schema version of `db` as its writer sees it (what a schema change made now
    /// is checked against).
    async fn schema_version_of(&mut self, db: &str) -> Result<u64, MyError> {
        let db = db.to_string();
        let v = self.engine.run(move |store: &mut Store| store.schema_version(&db)).await;
        v.map_err(|e| MyError::new(1105, "HY000", e.to_string()))?.map_err(|e| sqlite_error(&e))
    }

    /// Table, index, view and trigger DDL: checked here by running it in a savepoint that
    /// is rolled back, then replicated and run by every node as it applies the transaction.
    async fn ddl(&mut self, toks: &[Token], k0: &str, k1: &str) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        if self.in_txn {
            // MySQL: DDL commits the open transaction first.
            self.commit().await?;
        }
        // Another schema change of this database holds its lock: wait for it (up to the
        // lease), then check the statement again against the schema it left.
        let deadline = Instant::now() + self.engine.ddl_lease;
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            let (batch, schema_version) = self.checked_ddl(&db, toks, k0, k1).await?;
            match self.replicate(vec![ddl_change(&db, batch, schema_version)]).await {
                Err(e) if e.code == 1213 && Instant::now() + pause < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(250));
                }
                other => return other.map(|()| done(0)),
            }
        }
    }

    /// The SQLite statements of a DDL statement (with its column metadata), after a dry
    /// run on the database's writer (on the engine thread); and the schema version it was
    /// checked against.
    async fn checked_ddl(&mut self, db: &str, toks: &[Token], k0: &str, k1: &str) -> Result<(String, u64), MyError> {
        let check = DdlCheck {
            stmts: sql::translate(toks),
            declared: sql::declared_columns(toks),
            dropped: if k0 == "DROP" && k1 == "TABLE" {
                significant(toks)
                    .iter()
                    .skip(2)
                    .filter_map(|t| text(t))
                    .filter(|n| !matches!(n.to_ascii_uppercase().as_str(), "IF" | "EXISTS" | "CASCADE" | "RESTRICT"))
                    .collect()
            } else {
                Vec::new()
            },
            renamed: renamed_table(toks, k0, k1),
            k0: k0.to_string(),
            k1: k1.to_string(),
            idempotent: self.engine.idempotent_ddl,
        };
        let (info, db) = (self.info.clone(), db.to_string());
        let ran = self
            .engine
            .run(move |store: &mut Store| as_session(info, || store.dry_run(&db, |conn| Ok(check.run(conn)))))
            .await;
        ran.map_err(|e| MyError::new(1105, "HY000", e.to_string()))?.map_err(|e| sqlite_error(&e))?
    }

    /// Run a read-only query on the current database (metadata helpers).
    pub fn read(&mut self, sqlite: &str) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        let conn = self.conn(&db)?;
        blocking(|| run_query(conn, sqlite, &db))
    }

    /// Run a read-only query on a named database.
    pub fn read_in(&mut self, db: &str, sqlite: &str) -> Result<Outcome, MyError> {
        if !self.engine.databases().iter().any(|d| d == db) {
            return Err(MyError::new(1049, "42000", format!("Unknown database '{db}'")));
        }
        let conn = self.conn(db)?;
        blocking(|| run_query(conn, sqlite, db))
    }

    /// The result columns a statement will have (for COM_STMT_PREPARE); empty for
    /// statements without a result set.
    pub fn prepare_columns(&mut self, text: &str) -> Result<Vec<Column>, MyError> {
        let toks = sql::tokenize(text).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
        let sig = significant(&toks);
        let k0 = sig.first().and_then(|t| kw(t)).unwrap_or_default();
        if !matches!(k0.as_str(), "SELECT" | "WITH") {
            return Ok(Vec::new());
        }
        let sqlite = sql::rewrite(&toks);
        let columns = |conn: &Connection, db: &str| -> Result<Vec<Column>, MyError> {
            let stmt = as_client(|| conn.prepare(&sqlite)).map_err(|e| sqlite_error(&store_err(e)))?;
            Ok(stmt
                .columns()
                .map(|c| {
                    let name = client_label(c.name());
                    let ty = match c.decl_type() {
                        None if name.to_ascii_lowercase().starts_with("count(") => ColType::LongLong,
                        decl => col_type(decl, None),
                    };
                    let mut col = Column::new(&name, ty);
                    if c.decl_type().is_some() {
                        col.schema = db.to_string();
                    }
                    col
                })
                .collect())
        };
        match self.db() {
            Some(db) => {
                let conn = self.conn(&db)?;
                blocking(|| columns(conn, &db))
            }
            None => {
                let conn = Connection::open_in_memory().map_err(|e| sqlite_error(&store_err(e)))?;
                register_functions(&conn, InfoSource::Own(self.info.clone()))
                    .map_err(|e| sqlite_error(&store_err(e)))?;
                columns(&conn, "")
            }
        }
    }

    /// Evaluate a scalar SQL expression query with the session's functions.
    pub fn query_value(&mut self, sqlite: &str) -> Value {
        self.scalar(sqlite).unwrap_or(Value::Null)
    }

    /// The user databases.
    pub fn databases(&self) -> Vec<String> {
        self.engine.databases()
    }
}

fn done(affected: u64) -> Outcome {
    Outcome::Done { affected, last_insert_id: 0 }
}

/// Merge new changes into a transaction's pending changes: one change per row, keeping
/// the first before-image and the last after-image.
fn merge(mut pending: Vec<RowChange>, new: Vec<RowChange>) -> Vec<RowChange> {
    // A statement's changes name each row once, so only the earlier changes are searched:
    // by key when both are big (a load's batches), else by a scan.
    let earlier = pending.len();
    let index: BTreeMap<RowId, usize> = if new.len().saturating_mul(earlier) > 100_000 {
        row_ids(&pending).into_iter().enumerate().map(|(i, id)| (id, i)).collect()
    } else {
        BTreeMap::new()
    };
    for c in new {
        let at = if index.is_empty() {
            pending[..earlier].iter().position(|p| p.database == c.database && p.table == c.table && p.key == c.key)
        } else {
            index.get(&row_id(&c)).copied()
        };
        match at.map(|i| &mut pending[i]) {
            Some(p) => {
                p.after = c.after;
                p.op = match (p.before.is_some(), p.after.is_some()) {
                    (true, true) => Op::Update,
                    (false, true) => Op::Insert,
                    _ => Op::Delete,
                };
            }
            None => pending.push(c),
        }
    }
    pending.retain(|p| p.before.is_some() || p.after.is_some());
    pending
}

/// The wire type of a column from its declared (MySQL) type.
fn col_type(decl: Option<&str>, sample: Option<&Value>) -> ColType {
    if let Some(d) = decl {
        let d = d.to_ascii_lowercase();
        if d.contains("int") {
            return ColType::LongLong;
        }
        if d.contains("blob") || d.contains("binary") {
            return ColType::Blob;
        }
        if d.contains("double") || d.contains("float") || d.contains("real") {
            return ColType::Double;
        }
        if d.contains("decimal") || d.contains("numeric") {
            return ColType::NewDecimal;
        }
        if d.starts_with("datetime") || d.starts_with("timestamp") {
            return ColType::DateTime;
        }
        if d == "date" {
            return ColType::Date;
        }
        return ColType::VarString;
    }
    match sample {
        Some(Value::Integer(_)) => ColType::LongLong,
        Some(Value::Real(_)) => ColType::Double,
        Some(Value::Blob(_)) => ColType::Blob,
        _ => ColType::VarString,
    }
}

/// The column label a MySQL client expects: internal variable functions shown as the
/// `@@name` / `@name` the client wrote.
fn client_label(name: &str) -> String {
    if !name.contains("marmot_") {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find("marmot_") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (prefix, after) = if let Some(a) = tail.strip_prefix("marmot_sysvar('") {
            ("@@", a)
        } else if let Some(a) = tail.strip_prefix("marmot_uservar('") {
            ("@", a)
        } else {
            out.push_str("marmot_");
            rest = &tail[7..];
            continue;
        };
        match after.find("')") {
            Some(end) => {
                out.push_str(prefix);
                out.push_str(&after[..end]);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Run a query and collect its rows with MySQL column types (declared types first, else
/// the type of the first non-NULL value; clients read the column definitions sent with
/// each result, in the text and the binary protocol alike).
pub fn run_query(conn: &Connection, sqlite: &str, db: &str) -> Result<Outcome, MyError> {
    query_rows(conn, sqlite, db, None)
}

/// [`run_query`], or with `sink` its rows sent in batches of [`STREAM_BATCH`] as they
/// come ([`Outcome::Streamed`]): the columns are then typed from the first batch only.
fn query_rows(
    conn: &Connection,
    sqlite: &str,
    db: &str,
    mut sink: Option<&mut dyn RowSink>,
) -> Result<Outcome, MyError> {
    let err = |e: rusqlite::Error| sqlite_error(&store_err(e));
    let mut stmt = conn.prepare(sqlite).map_err(err)?;
    let decls: Vec<(String, Option<String>)> =
        stmt.columns().map(|c| (client_label(c.name()), c.decl_type().map(str::to_string))).collect();
    let n = decls.len();
    let typed = |rows: &[Vec<Value>]| -> Vec<Column> {
        decls
            .iter()
            .enumerate()
            .map(|(i, (name, decl))| {
                let sample = rows.iter().map(|r| &r[i]).find(|v| !matches!(v, Value::Null));
                let mut c = Column::new(name, col_type(decl.as_deref(), sample));
                if decl.is_some() {
                    c.schema = db.to_string();
                }
                c
            })
            .collect()
    };
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut columns: Option<Vec<Column>> = None;
    let mut sent = 0u64;
    let mut q = stmt.query([]).map_err(err)?;
    loop {
        let next = q.next().map_err(err)?;
        if let Some(r) = next {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(from_ref(r.get_ref(i).map_err(err)?));
            }
            rows.push(row);
            if rows.len() < STREAM_BATCH || sink.is_none() {
                continue;
            }
        }
        let Some(sink) = sink.as_deref_mut() else { break };
        let cols = columns.get_or_insert_with(|| typed(&rows));
        let done = next.is_none();
        sent += rows.len() as u64;
        sink.rows(cols, std::mem::take(&mut rows))?;
        if done {
            return Ok(Outcome::Streamed { rows: sent });
        }
    }
    Ok(Outcome::Rows { columns: typed(&rows), rows })
}

fn sysvar(info: &SessionInfo, name: &str) -> Value {
    if let Some(v) = info.sys_vars.get(name) {
        return v.clone();
    }
    match name {
        "version" => Value::Text(SERVER_VERSION.into()),
        "version_comment" => Value::Text("marmot: leaderless distributed SQLite".into()),
        "autocommit" => Value::Integer(info.autocommit as i64),
        "max_allowed_packet" => Value::Integer(64 << 20),
        "sql_mode" => Value::Text("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION".into()),
        "character_set_client"
        | "character_set_connection"
        | "character_set_results"
        | "character_set_server"
        | "character_set_database" => Value::Text("utf8mb4".into()),
        "collation_connection" | "collation_server" | "collation_database" => Value::Text("utf8mb4_general_ci".into()),
        "transaction_isolation" | "tx_isolation" => Value::Text("SERIALIZABLE".into()),
        "lower_case_table_names" => Value::Integer(0),
        "time_zone" | "system_time_zone" => Value::Text("UTC".into()),
        "wait_timeout" | "interactive_timeout" => Value::Integer(28800),
        "net_write_timeout" => Value::Integer(60),
        "license" => Value::Text("MIT".into()),
        "version_compile_os" => Value::Text("Linux".into()),
        "have_ssl" => Value::Text("DISABLED".into()),
        "auto_increment_increment" | "auto_increment_offset" => Value::Integer(1),
        "hostname" => Value::Text("marmot".into()),
        "port" => Value::Integer(3306),
        "session_track_schema" | "session_track_system_variables" | "session_track_state_change" => Value::Null,
        "performance_schema" => Value::Integer(0),
        _ => Value::Null,
    }
}

fn mysql_datetime(ms: u64) -> String {
    super::functions::DateTime::from_unix((ms / 1000) as i64).to_mysql()
}

fn to_sql(v: Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(s) => rusqlite::types::Value::Text(s),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
    }
}

thread_local! {
    /// The session whose statement the engine thread is running on a writer.
    static RUNNING: RefCell<Option<Arc<Mutex<SessionInfo>>>> = const { RefCell::new(None) };
}

/// Whether a statement failed because another program holds the database's lock.
fn locked_out<T>(r: &Result<T, StoreError>) -> bool {
    matches!(
        r,
        Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Run `f` (on the engine thread) as session `info`: the session functions of the
/// writers (`DATABASE()`, `LAST_INSERT_ID()`, variables …) answer for it.
fn as_session<T>(info: Arc<Mutex<SessionInfo>>, f: impl FnOnce() -> T) -> T {
    RUNNING.with(|r| *r.borrow_mut() = Some(info));
    let out = f();
    RUNNING.with(|r| *r.borrow_mut() = None);
    out
}

/// Run SQLite work `f` from async code without holding up the runtime's worker: on a
/// multi-threaded runtime the worker hands its other tasks over first.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Where a connection's session functions find their session.
#[derive(Clone)]
pub enum InfoSource {
    /// A session's own (read) connection.
    Own(Arc<Mutex<SessionInfo>>),
    /// A writer shared by every session: whichever statement is running (see `as_session`).
    Running,
}

impl InfoSource {
    fn get(&self) -> Arc<Mutex<SessionInfo>> {
        match self {
            InfoSource::Own(i) => i.clone(),
            InfoSource::Running => RUNNING.with(|r| r.borrow().clone()).unwrap_or_default(),
        }
    }
}

/// What every writer connection needs to run client statements: the session functions.
pub fn writer_setup() -> ConnSetup {
    Arc::new(|conn: &Connection| register_functions(conn, InfoSource::Running))
}

/// Register the MySQL functions a session's SQL can call.
pub fn register_functions(conn: &Connection, info: InfoSource) -> rusqlite::Result<()> {
    let seed = wall_ms() ^ (info.get().lock().expect("info").conn_id as u64).rotate_left(32);
    super::functions::register(conn, seed)?;
    super::regexp::register(conn)?;
    super::numeric::register(conn)?;
    super::strings::register(conn)?;
    let f = FunctionFlags::SQLITE_UTF8;
    let i = info.clone();
    conn.create_scalar_function("marmot_sysvar", 1, f, move |ctx| {
        let name = ctx.get::<String>(0)?.to_ascii_lowercase();
        let name = ["session.", "global.", "local."].iter().find_map(|p| name.strip_prefix(p)).unwrap_or(&name);
        Ok(to_sql(sysvar(&i.get().lock().expect("info"), name)))
    })?;
    let i = info.clone();
    conn.create_scalar_function("marmot_uservar", 1, f, move |ctx| {
        let name: String = ctx.get(0)?;
        Ok(to_sql(i.get().lock().expect("info").user_vars.get(&name).cloned().unwrap_or(Value::Null)))
    })?;
    let i = info.clone();
    let db_fn = move |_: &rusqlite::functions::Context<'_>| Ok(i.get().lock().expect("info").db.clone());
    conn.create_scalar_function("database", 0, f, db_fn.clone())?;
    conn.create_scalar_function("schema", 0, f, db_fn)?;
    for name in ["user", "current_user", "session_user", "system_user"] {
        let i = info.clone();
        conn.create_scalar_function(name, 0, f, move |_| {
            Ok(format!("{}@localhost", i.get().lock().expect("info").user))
        })?;
    }
    conn.create_scalar_function("version", 0, f, |_| Ok(SERVER_VERSION))?;
    let i = info.clone();
    conn.create_scalar_function("connection_id", 0, f, move |_| Ok(i.get().lock().expect("info").conn_id as i64))?;
    let i = info.clone();
    conn.create_scalar_function("last_insert_id", 0, f, move |_| Ok(i.get().lock().expect("info").last_insert_id))?;
    let i = info.clone();
    conn.create_scalar_function("row_count", 0, f, move |_| Ok(i.get().lock().expect("info").row_count))?;
    let i = info;
    conn.create_scalar_function("found_rows", 0, f, move |_| Ok(i.get().lock().expect("info").found_rows))?;
    conn.create_scalar_function("now", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("sysdate", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("curdate", 0, f, |_| Ok(mysql_datetime(wall_ms())[..10].to_string()))?;
    conn.create_scalar_function("curtime", -1, f, |_| Ok(mysql_datetime(wall_ms())[11..].to_string()))?;
    conn.create_scalar_function("utc_timestamp", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("md5", 1, f | FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        let v: Option<String> = ctx.get(0).ok();
        Ok(v.map(|s| format!("{:x}", md5_digest(s.as_bytes()))))
    })?;
    conn.create_scalar_function("concat", -1, f | FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        let mut s = String::new();
        for i in 0..ctx.len() {
            match ctx.get_raw(i) {
                rusqlite::types::ValueRef::Null => return Ok(None),
                v => s.push_str(&match from_ref(v) {
                    Value::Integer(i) => i.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Text(t) => t,
                    Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                    Value::Null => String::new(),
                }),
            }
        }
        Ok(Some(s))
    })?;
    Ok(())
}

/// MD5, for MySQL's MD5() (small and self-contained).
fn md5_digest(input: &[u8]) -> u128 {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32).collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i {
                0..=15 => ((b & c) | (!b & d), i),
                16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f2 = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f2.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&a0.to_le_bytes());
    out[4..8].copy_from_slice(&b0.to_le_bytes());
    out[8..12].copy_from_slice(&c0.to_le_bytes());
    out[12..].copy_from_slice(&d0.to_le_bytes());
    u128::from_be_bytes(out)
}

/// A schema change to check on the writer before it is replicated.
struct DdlCheck {
    /// Its SQLite statements.
    stmts: Vec<String>,
    /// Columns a CREATE TABLE declares (their MySQL types are kept).
    declared: Vec<sql::DeclaredColumn>,
    /// Tables a DROP TABLE names.
    dropped: Vec<String>,
    /// A table renamed (from, to).
    renamed: Option<(String, String)>,
    k0: String,
    k1: String,
    /// Make the statements safe to replay.
    idempotent: bool,
}

impl DdlCheck {
    /// Run the statements on `conn` (in a savepoint the caller rolls back) and return
    /// them, made idempotent if asked, with the column metadata they carry, and the schema
    /// version they were checked against.
    fn run(self, conn: &Connection) -> Result<(String, u64), MyError> {
        let exists = |name: &str| -> bool {
            conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |_| Ok(())).is_ok()
        };
        let created = self.declared.first().filter(|d| !exists(&d.table)).map(|d| d.table.clone());
        conn.execute_batch("SAVEPOINT marmot_ddl_check").map_err(|e| sqlite_error(&store_err(e)))?;
        let checked = self.stmts.iter().try_for_each(|s| {
            as_client(|| conn.execute_batch(s)).map_err(|e| {
                let me = sqlite_error(&store_err(e));
                if self.k0 == "CREATE" && self.k1 == "TABLE" && me.msg.contains("already exists") {
                    MyError::new(1050, "42S01", me.msg.replace("table ", "Table "))
                } else if self.k0 == "DROP" && me.code == 1146 {
                    MyError::new(1051, "42S02", me.msg.replace("Table", "Unknown table").replace(" doesn't exist", ""))
                } else {
                    me
                }
            })
        });
        let _ = conn.execute_batch("ROLLBACK TO marmot_ddl_check; RELEASE marmot_ddl_check");
        checked?;
        let schema_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap_or(0);
        let mut batch: Vec<String> = if self.idempotent {
            self.stmts.iter().map(|s| crate::store::ddl::idempotent(s)).collect()
        } else {
            self.stmts
        };
        if created.is_some() {
            for d in &self.declared {
                batch.push(format!(
                    "INSERT OR REPLACE INTO __marmot_columns (tbl, col, mysql_type, extra) VALUES ({}, {}, {}, {})",
                    literal(&d.table),
                    literal(&d.column),
                    literal(&d.mysql_type),
                    literal(&d.extra)
                ));
            }
        }
        for t in &self.dropped {
            batch.push(format!("DELETE FROM __marmot_columns WHERE tbl = {}", literal(t)));
        }
        if let Some((from, to)) = self.renamed {
            let (from, to) = (literal(&from), literal(&to));
            batch.push(format!("UPDATE __marmot_columns SET tbl = {to} WHERE tbl = {from}"));
        }
        Ok((batch.join(";\n"), schema_version as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_one_change_per_row_whether_scanned_or_looked_up() {
        let change = |k: u32, before: Option<i64>, after: Option<i64>| {
            let image = |v: Option<i64>| {
                v.map(|n| vec![marmot_core::ColumnValue { column: "n".into(), value: Value::Integer(n) }])
            };
            RowChange {
                database: "d".into(),
                table: "t".into(),
                op: Op::Update,
                key: marmot_core::RowKey(k.to_be_bytes().to_vec()),
                before: image(before),
                after: image(after),
                schema_version: 0,
                read_version: None,
            }
        };
        for n in [3u32, 2000] {
            // Earlier: rows 0..n inserted. Now: each updated, row 0 deleted, row n inserted.
            let earlier: Vec<RowChange> = (0..n).map(|k| change(k, None, Some(1))).collect();
            let mut now: Vec<RowChange> = (1..n).map(|k| change(k, Some(1), Some(2))).collect();
            now.push(change(0, Some(1), None));
            now.push(change(n, None, Some(3)));
            let merged = merge(earlier, now);
            assert_eq!(merged.len(), n as usize, "row 0 was inserted and deleted: nothing to write");
            assert!(merged[..n as usize - 1].iter().all(|c| c.op == Op::Insert && c.before.is_none()), "n = {n}");
            assert_eq!(merged[0].key, change(1, None, None).key);
            assert_eq!(merged.last().map(|c| c.key.clone()), Some(change(n, None, None).key));
        }
    }

    #[test]
    fn md5_matches_known_vectors() {
        assert_eq!(format!("{:032x}", md5_digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            format!("{:032x}", md5_digest(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn variable_columns_are_labelled_as_written() {
        assert_eq!(client_label("marmot_sysvar('version_comment')"), "@@version_comment");
        assert_eq!(client_label("marmot_uservar('x') + 1"), "@x + 1");
        assert_eq!(client_label("plain"), "plain");
    }

    #[test]
    fn dates_format_like_mysql() {
        assert_eq!(mysql_datetime(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(mysql_datetime(951_782_400_000), "2000-02-29 00:00:00");
    }
}
