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

mod backend;
mod bound;
mod ddl;
mod prepared_sql;
mod select;
#[cfg(test)]
mod tests;
mod txn;
mod write;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use marmot_core::io::Reply;
use marmot_core::{Op, RowChange, Value};
use rusqlite::Connection;
use sqlparser::tokenizer::Token;

use super::column_types::typed_column;
use super::ddl_check::{renamed_table, DdlCheck};
use super::error::{locked_out, sqlite_error, store_err, MyError};
use super::locking_read::LockingRead;
use super::multi_table::delete_multi;
use super::multi_table::MultiTable;
use super::proto::{ColType, Column};
use super::result_types::{select_types, table_columns, worth_typing};
use super::results::{client_label, done, query_rows, run_query, run_typed_query, DeferredRead, Outcome, RowSink};
use super::row_locks::{row_id, row_ids, LockError, Owner, RowId, RowLocks};
use super::session_functions::{as_session, register_functions, InfoSource, SessionInfo};
use super::sql::{self};
use super::statement::{classify, SavepointOp, Statement};
use super::stmt_cache::StatementCache;
use super::tokens::{is_space, kw, significant, text};
use super::translate;
use crate::engine::{wall_ms, Engine};
use marmot_store::capture::TxnLimits;
use marmot_store::codec::from_ref;
use marmot_store::ddl::ddl_change;
use marmot_store::guard::{as_client, refused_statement};
use marmot_store::replay::Replay;
use marmot_store::{Location, Store, StoreError};

/// One client session.
pub struct Session {
    engine: Engine,
    /// Other databases the running statement names (attached to its connection).
    attach: Vec<String>,
    cache: Arc<StatementCache>,
    /// Facts shared with SQL functions.
    pub info: Arc<Mutex<SessionInfo>>,
    /// The open transaction, if any.
    tx: txn::TxState,
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
    /// The node's row locks, of which this session's open transaction holds some.
    locks: Arc<RowLocks>,
    /// The statement running may leave a plain read as [`Outcome::Deferred`].
    defer_read: bool,
    /// Texts prepared with SQL's PREPARE, by lower-cased name.
    sql_prepared: BTreeMap<String, String>,
    /// The values bound to the running statement's `?N` placeholders (see [`bound`]).
    bound: Vec<Value>,
    /// Protocol-prepared texts and their bound form (see [`bound`]).
    bindable: bound::BindableTexts,
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
            tx: txn::TxState::Idle,
            conns: BTreeMap::new(),
            warnings: Vec::new(),
            found_rows_flag: false,
            locks,
            defer_read: false,
            sql_prepared: BTreeMap::new(),
            bound: Vec::new(),
            bindable: Default::default(),
        }
    }

    /// Whether a transaction is open (its writes wait for COMMIT).
    pub(super) fn in_transaction(&self) -> bool {
        self.tx.is_open() || !self.autocommit()
    }

    /// The lock owner of this session's transactions.
    fn owner(&self) -> super::row_locks::Owner {
        self.info().conn_id
    }

    /// End the open transaction without committing: its changes and locks go.
    fn end_txn(&mut self) {
        self.tx = txn::TxState::Idle;
        self.locks.release(self.owner());
    }

    fn info(&self) -> std::sync::MutexGuard<'_, SessionInfo> {
        self.info.lock().expect("session info lock")
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
        if self.tx.is_open() {
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
            let conn = marmot_store::open_connection(&self.engine.location, self.engine.sync, db)
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
        if self.engine.drain.refusing() && !self.tx.is_open() {
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
        if let Some(t) = self.tx.get_mut() {
            if t.busy.is_none() {
                t.busy = Some(self.engine.drain.busy());
            }
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
            // Each statement starts a new diagnostics area, except the ones that read it.
            // (The first two words only, without collecting the statement's tokens: this runs
            // for every statement.)
            let mut words = s.iter().filter(|t| !is_space(t)).take(2).map(kw);
            let reads_diagnostics = words.next().flatten().as_deref() == Some("SHOW")
                && matches!(words.next().flatten().as_deref(), Some("WARNINGS" | "ERRORS" | "COUNT"));
            if !reads_diagnostics {
                self.warnings.clear();
            }
            self.defer_read = defer_last && i == last;
            let o = self.statement(s).await.unwrap_or_else(Outcome::Error);
            self.defer_read = false;
            if let Outcome::Error(e) = &o {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let pending: Vec<String> =
                        self.tx.pending().iter().map(|p| format!("{}:{:?}:{:?}", p.table, p.op, p.key.0)).collect();
                    tracing::debug!(conn = self.info().conn_id, code = e.code, error = %e.msg, statement = %sql::rewrite(s), ?pending, in_txn = self.tx.is_open(), "statement failed");
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

    /// Where a read naming other databases runs. Normally in the current one, with the
    /// others attached; but the open transaction's rows show only in the database the
    /// read runs in, so a read of a database the transaction wrote runs there, with the
    /// current one attached, provided the current one holds none of its rows and no table
    /// it names unqualified also exists there (it would resolve to the wrong one). Beyond
    /// that: 1235, never a read that silently misses the transaction's own rows.
    fn read_target(&mut self, current: &str, quals: &[String], toks: &[Token]) -> Result<String, MyError> {
        let written: std::collections::BTreeSet<&str> = self.tx.pending().iter().map(|p| p.database.as_str()).collect();
        let others: Vec<String> =
            quals.iter().filter(|q| *q != current && written.contains(q.as_str())).cloned().collect();
        let not_yet = || {
            MyError::new(
                1235,
                "42000",
                "This version of marmot doesn't yet support 'a read, inside a transaction, of tables of two databases \
                 that the transaction wrote, or of a table named without its database that both hold'",
            )
        };
        let other = match others.as_slice() {
            [] => return Ok(current.to_string()),
            [other] if !written.contains(current) => other.clone(),
            _ => return Err(not_yet()),
        };
        let tables = |s: &mut Self, db: &str| -> Result<std::collections::BTreeSet<String>, MyError> {
            let conn = s.conn(db)?;
            let mut stmt = conn
                .prepare("SELECT lower(name) FROM sqlite_master WHERE type IN ('table', 'view')")
                .map_err(|e| sqlite_error(&store_err(e)))?;
            let names = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<_, _>>())
                .map_err(|e| sqlite_error(&store_err(e)));
            names
        };
        let (here, there) = (tables(self, current)?, tables(self, &other)?);
        if super::crossdb::unqualified_words(toks).any(|w| here.contains(&w) && there.contains(&w)) {
            return Err(not_yet());
        }
        Ok(other)
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
                    (Some(c), false) => self.read_target(c, &quals, toks)?,
                    _ => quals[0].clone(),
                };
                let stripped = super::crossdb::strip(toks, &target);
                self.attach = quals.into_iter().filter(|q| *q != target).collect();
                if let Some(c) = current.filter(|c| *c != target && !self.attach.contains(c)) {
                    // A read moved to the database it must see written (below): the
                    // current database's tables, named without it, come attached.
                    self.attach.push(c);
                }
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
        let statement = classify(&sig);
        if self.engine.read_only && super::statement::changes_data(&statement) {
            let e = marmot_core::WriteError::ReadOnly { node: self.engine.node_id };
            let (code, state) = e.mysql_code();
            return Err(MyError::new(code, state, e.to_string()));
        }
        match statement {
            Statement::Query => self.select(toks).await,
            Statement::Show => super::meta::show(self, &sig),
            Statement::LoadData => match super::load_data::parse(toks) {
                Some(Ok(spec)) if spec.local => {
                    Err(MyError::new(1148, "42000", "LOAD DATA LOCAL must be the only statement of its query"))
                }
                Some(Ok(spec)) => self.load_server_file(spec).await,
                Some(Err(e)) => Err(MyError::new(1064, "42000", format!("You have an error in your SQL syntax: {e}"))),
                None => Err(MyError::new(1064, "42000", "You have an error in your SQL syntax near 'LOAD'")),
            },
            Statement::Describe => super::meta::describe(self, &sig[1..]),
            Statement::Use(db) => {
                self.use_db(&db)?;
                Ok(done(0))
            }
            Statement::Set => {
                let was_autocommit = self.autocommit();
                let out = self.set(&sig).await?;
                if !was_autocommit && self.autocommit() && self.tx.is_open() {
                    // MySQL: switching autocommit on commits the open transaction.
                    self.commit().await?;
                }
                Ok(out)
            }
            Statement::Begin => {
                if self.tx.is_open() {
                    self.commit().await?;
                }
                self.tx.open(wall_ms());
                Ok(done(0))
            }
            Statement::Commit => {
                self.commit().await?;
                Ok(done(0))
            }
            Statement::Rollback => {
                self.end_txn();
                Ok(done(0))
            }
            Statement::Savepoint(op, name) => {
                if op == SavepointOp::Set && self.in_transaction() {
                    self.tx.open(wall_ms());
                }
                let missing = |name: &str| MyError::new(1305, "42000", format!("SAVEPOINT {name} does not exist"));
                let Some(t) = self.tx.get_mut() else {
                    // With autocommit a savepoint ends with the statement that set it.
                    return if op == SavepointOp::Set { Ok(done(0)) } else { Err(missing(&name)) };
                };
                let pos = t.savepoints.iter().rposition(|(n, _)| *n == name);
                match (op, pos) {
                    (SavepointOp::Set, _) => {
                        if let Some(i) = pos {
                            t.savepoints.remove(i);
                        }
                        t.savepoints.push((name, t.pending.clone()));
                    }
                    (SavepointOp::RollbackTo, Some(i)) => {
                        // Back to the savepoint; it stays, later ones go.
                        t.pending = t.savepoints[i].1.clone();
                        t.savepoints.truncate(i + 1);
                    }
                    (SavepointOp::Release, Some(i)) => t.savepoints.truncate(i),
                    (_, None) => return Err(missing(&name)),
                }
                Ok(done(0))
            }
            Statement::Write => self.write(toks).await,
            Statement::DatabaseDdl => self.database_ddl(&sig).await,
            Statement::AlterDatabase(name) => {
                // Only character set, collation and options can change; SQLite files have
                // none of them, so there is nothing to change on any node. The database
                // must exist, as in MySQL.
                let name = name.or_else(|| self.info().db.clone()).unwrap_or_default();
                if !self.engine.databases().contains(&name) {
                    return Err(MyError::new(1049, "42000", format!("Unknown database '{name}'")));
                }
                Ok(done(1))
            }
            Statement::Truncate(table) => {
                // SQLite has no TRUNCATE: delete every row, replicated like any delete.
                let table = table.ok_or_else(|| MyError::new(1064, "42000", "TRUNCATE needs a table name"))?;
                let toks = sql::tokenize(&format!("DELETE FROM {}", sql::quote_ident(&table)))
                    .map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                self.write(&toks).await.map(|_| done(0))
            }
            // mariadb-dump brackets its INSERTs with these; SQLite indexes are always on.
            Statement::ToggleKeys => Ok(done(0)),
            Statement::RenameTables(pairs) => {
                // RENAME TABLE a TO b [, c TO d ...]: each pair as ALTER TABLE ... RENAME TO.
                let pairs =
                    pairs.ok_or_else(|| MyError::new(1064, "42000", "RENAME TABLE needs old_name TO new_name"))?;
                for (from, to) in pairs {
                    let alter = format!("ALTER TABLE {} RENAME TO {}", sql::quote_ident(&from), sql::quote_ident(&to));
                    let toks = sql::tokenize(&alter).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                    self.ddl(&toks, "ALTER", "TABLE").await?;
                }
                Ok(done(0))
            }
            Statement::TableOptions(table) => {
                // ALTER TABLE t COMMENT = '…' / ENGINE = … / DEFAULT CHARSET = …: options
                // SQLite has no place for; accepted for a table that exists.
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
                // A COMMENT is kept (replicated like any schema change); the rest has no
                // place in SQLite.
                if let Some(comment) = super::comments::table_comment(&sig) {
                    if self.tx.is_open() {
                        self.commit().await?;
                    }
                    let batch = super::comments::record(&table, &[(String::new(), comment)]).join(";\n");
                    let version = self.schema_version_of(&db).await?;
                    self.replicate(vec![marmot_store::ddl::ddl_change(&db, batch, version)]).await?;
                }
                Ok(done(0))
            }
            Statement::DropIndexOn => {
                let drop = self.drop_index_on(&sig)?;
                let toks = sql::tokenize(&drop).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                self.ddl(&toks, "DROP", "INDEX").await
            }
            Statement::CreateOrReplaceTable(table) => self.create_or_replace_table(toks, &table).await,
            Statement::CreateTableLike { table, source, if_not_exists } => {
                self.create_table_like(&table, &source, if_not_exists).await
            }
            Statement::Ddl(k0, k1) => self.ddl(toks, &k0, &k1).await,
            Statement::Ignored(k0) => {
                self.warn(1235, &format!("{k0} is accepted and ignored by marmot"));
                Ok(done(0))
            }
            Statement::Do => Ok(done(0)),
            Statement::PreparedSql => self.prepared_sql(&sig).await,
            Statement::Unknown => Err(MyError::new(
                1064,
                "42000",
                format!("You have an error in your SQL syntax near '{}'", sql::rewrite(toks)),
            )),
        }
    }

    pub(super) fn warn(&mut self, code: u16, msg: &str) {
        self.warnings.push(("Note".into(), code, msg.into()));
    }

    /// A diagnostic of level Warning (where MySQL gives one; [`Session::warn`] gives Notes).
    pub(super) fn warning(&mut self, code: u16, msg: &str) {
        self.warnings.push(("Warning".into(), code, msg.into()));
    }

    async fn set(&mut self, sig: &[&Token]) -> Result<Outcome, MyError> {
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
            let lname = name.trim_start_matches('@').to_ascii_lowercase();
            let value_tokens: Vec<&Token> = p[eq + 1..].iter().collect();
            if name.starts_with('@') && !name.starts_with("@@") {
                // `SET @v = expr` is `SELECT expr INTO @v`: in the current database, seeing
                // its tables (and this transaction's writes), its errors the client's.
                let mut query =
                    vec![Token::make_keyword("SELECT"), Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)];
                query.extend(sql::spaced(&value_tokens));
                self.select_into_vars(&query, std::slice::from_ref(&lname)).await?;
                continue;
            }
            let value_sql = sql::rewrite(&sql::spaced(&value_tokens));
            // ON/OFF and bare words are values, not columns.
            let value = match value_sql.to_ascii_uppercase().as_str() {
                "ON" | "TRUE" => Value::Integer(1),
                "OFF" | "FALSE" => Value::Integer(0),
                _ => self.eval(&value_sql).unwrap_or(Value::Text(value_sql.trim_matches('\'').to_string())),
            };
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
                    let mut col = match c.decl_type() {
                        None if name.to_ascii_lowercase().starts_with("count(") => {
                            Column::new(&name, ColType::LongLong)
                        }
                        decl => typed_column(&name, decl, std::iter::empty()),
                    };
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

impl super::session_reads::SessionReads for Session {
    fn db(&self) -> Option<String> {
        Session::db(self)
    }

    fn databases(&self) -> Vec<String> {
        Session::databases(self)
    }

    fn read(&mut self, sqlite: &str) -> Result<Outcome, MyError> {
        Session::read(self, sqlite)
    }

    fn read_in(&mut self, db: &str, sqlite: &str) -> Result<Outcome, MyError> {
        Session::read_in(self, db, sqlite)
    }

    fn query_value(&mut self, sqlite: &str) -> Value {
        Session::query_value(self, sqlite)
    }

    fn swap_db(&mut self, db: String) -> Option<String> {
        self.info().db.replace(db)
    }

    fn restore_db(&mut self, db: Option<String>) {
        self.info().db = db;
    }

    fn warnings(&self) -> Vec<(String, u16, String)> {
        self.warnings.clone()
    }

    fn connection(&self) -> (u32, String) {
        let i = self.info();
        (i.conn_id, i.user.clone())
    }
}

/// Run SQLite work `f` from async code without holding up the runtime's worker: on a
/// multi-threaded runtime the worker hands its other tasks over first.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
