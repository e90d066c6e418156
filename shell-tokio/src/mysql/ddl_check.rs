//! Checking a schema change on the writer before it is replicated: run in a savepoint that
//! is rolled back, its errors mapped to MySQL's, its statements made safe to replay.

use marmot_store::ddl::literal;
use rusqlite::Connection;
use sqlparser::tokenizer::Token;

use super::error::{sqlite_error, store_err, MyError};
use super::tokens::{significant, text};
use super::translate;
use marmot_store::guard::as_client;

/// `ALTER TABLE a RENAME [TO|AS] b`: (a, b).
pub(crate) fn renamed_table(toks: &[Token], k0: &str, k1: &str) -> Option<(String, String)> {
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

/// A schema change to check on the writer before it is replicated.
pub(crate) struct DdlCheck {
    /// Its SQLite statements.
    pub(crate) stmts: Vec<String>,
    /// Columns a CREATE TABLE declares (their MySQL types are kept).
    pub(crate) declared: Vec<translate::DeclaredColumn>,
    /// Tables a DROP TABLE names.
    pub(crate) dropped: Vec<String>,
    /// A table renamed (from, to).
    pub(crate) renamed: Option<(String, String)>,
    /// The table comment a CREATE TABLE gives.
    pub(crate) table_comment: Option<String>,
    /// The statement's first two keywords (`CREATE`, `TABLE`).
    pub(crate) k0: String,
    pub(crate) k1: String,
    /// Make the statements safe to replay.
    pub(crate) idempotent: bool,
}

impl DdlCheck {
    /// Run the statements on `conn` (in a savepoint the caller rolls back) and return
    /// them, made idempotent if asked, with the column metadata they carry, and the schema
    /// version they were checked against.
    pub(crate) fn run(self, conn: &Connection) -> Result<(String, u64), MyError> {
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
        let schema_version = marmot_store::schema::version(conn).unwrap_or(0);
        let mut batch: Vec<String> = if self.idempotent {
            self.stmts.iter().map(|s| marmot_store::ddl::idempotent(s)).collect()
        } else {
            self.stmts
        };
        if let Some(table) = &created {
            let mut comments: Vec<(String, String)> = self
                .declared
                .iter()
                .filter(|d| !d.comment.is_empty())
                .map(|d| (d.column.clone(), d.comment.clone()))
                .collect();
            comments.extend(self.table_comment.clone().map(|c| (String::new(), c)));
            batch.extend(super::comments::record(table, &comments));
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
            batch.extend(super::comments::dropped(t));
        }
        if let Some((from, to)) = self.renamed {
            batch.extend(super::comments::renamed(&from, &to));
            let (from, to) = (literal(&from), literal(&to));
            batch.push(format!("UPDATE __marmot_columns SET tbl = {to} WHERE tbl = {from}"));
        }
        Ok((batch.join(";\n"), schema_version as u64))
    }
}
