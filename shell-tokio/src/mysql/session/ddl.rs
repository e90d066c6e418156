//! Schema changes from a session: CREATE/DROP DATABASE, table and index DDL checked on
//! the writer against the node's schema version, then replicated.

use super::*;
use crate::mysql::create_table::ident;

impl Session {
    /// `DROP INDEX name ON table` as SQLite's `DROP INDEX`, naming the index as this node
    /// stored it: `name` (made by CREATE INDEX) or `table__name` (declared in CREATE TABLE).
    pub(super) fn drop_index_on(&mut self, sig: &[&Token]) -> Result<String, MyError> {
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

    pub(super) async fn database_ddl(&mut self, sig: &[&Token]) -> Result<Outcome, MyError> {
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
            marmot_store::valid_name(&name)
                .map_err(|_| MyError::new(1102, "42000", format!("Incorrect database name '{name}'")))?;
            if self.tx.is_open() {
                self.commit().await?;
            }
            // Created on every node by the replicated (empty) schema change; a database
            // dropped before comes back by removing its dropped marker.
            let change = if self.engine.is_dropped(&name) {
                let version = self.schema_version_of(&name).await?;
                ddl_change(&name, marmot_store::ddl::undrop_database_sql(), version)
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
            if self.tx.is_open() {
                self.commit().await?;
            }
            let version = self.schema_version_of(&name).await?;
            let sql = {
                let conn = self.conn(&name)?;
                marmot_store::ddl::drop_database_sql(conn).map_err(|e| sqlite_error(&e))?
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
    pub(super) async fn schema_version_of(&mut self, db: &str) -> Result<u64, MyError> {
        let db = db.to_string();
        let v = self.engine.run(move |store: &mut Store| store.schema_version(&db)).await;
        v.map_err(|e| MyError::new(1105, "HY000", e.to_string()))?.map_err(|e| sqlite_error(&e))
    }

    /// MariaDB's `CREATE OR REPLACE TABLE t …`: `DROP TABLE IF EXISTS t`, then the CREATE
    /// TABLE, as two schema changes, as MariaDB documents it (a CREATE that fails leaves the
    /// old table dropped).
    pub(super) async fn create_or_replace_table(&mut self, toks: &[Token], table: &str) -> Result<Outcome, MyError> {
        let drop = format!("DROP TABLE IF EXISTS {}", ident(table));
        let drop = sql::tokenize(&drop).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
        self.ddl(&drop, "DROP", "TABLE").await?;
        // The statement without OR REPLACE.
        let sig: Vec<usize> = (0..toks.len()).filter(|i| !is_space(&toks[*i])).collect();
        let create: Vec<Token> =
            toks.iter().enumerate().filter(|(i, _)| *i != sig[1] && *i != sig[2]).map(|(_, t)| t.clone()).collect();
        self.ddl(&create, "CREATE", "TABLE").await
    }

    /// `CREATE TABLE t LIKE s`: the CREATE TABLE that SHOW CREATE TABLE gives for `s` (its
    /// columns with their MySQL types, keys and indexes, no rows, no auto-increment
    /// counter), run under the new name as any CREATE TABLE is.
    pub(super) async fn create_table_like(
        &mut self,
        table: &str,
        source: &str,
        if_not_exists: bool,
    ) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        let shown = super::super::create_table::create_table(self, source)?
            .ok_or_else(|| MyError::new(1146, "42S02", format!("Table '{db}.{source}' doesn't exist")))?;
        let columns_at = shown
            .strip_prefix("CREATE TABLE ")
            .and_then(|_| shown.find(" (\n"))
            .ok_or_else(|| MyError::new(1347, "HY000", format!("'{db}.{source}' is not of type 'BASE TABLE'")))?;
        let head = if if_not_exists { "CREATE TABLE IF NOT EXISTS" } else { "CREATE TABLE" };
        let sql = format!("{head} {}{}", ident(table), &shown[columns_at..]);
        let toks = sql::tokenize(&sql).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
        self.ddl(&toks, "CREATE", "TABLE").await
    }

    /// Table, index, view and trigger DDL: checked here by running it in a savepoint that
    /// is rolled back, then replicated and run by every node as it applies the transaction.
    pub(super) async fn ddl(&mut self, toks: &[Token], k0: &str, k1: &str) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        if self.tx.is_open() {
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
    pub(super) async fn checked_ddl(
        &mut self,
        db: &str,
        toks: &[Token],
        k0: &str,
        k1: &str,
    ) -> Result<(String, u64), MyError> {
        let check = DdlCheck {
            stmts: translate::translate(toks),
            declared: translate::declared_columns(toks),
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
            table_comment: (k0 == "CREATE")
                .then(|| super::super::comments::table_comment(&significant(toks)))
                .flatten(),
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
}
