//! Table and column COMMENTs, kept where MySQL shows them (SHOW CREATE TABLE, SHOW FULL
//! COLUMNS, information_schema).
//!
//! SQLite has no place for them, so they live in a table of marmot's own,
//! `__marmot_comments (tbl, col, comment)` (`col` empty for the table's own comment),
//! written by the same replicated schema change that creates, alters, renames or drops the
//! table. Every statement that touches it first creates it if missing, so a node of an
//! earlier release applies the change too, and a database made before comments were kept
//! needs no migration.

use std::collections::BTreeMap;

use marmot_core::Value;
use sqlparser::tokenizer::Token;

use super::error::MyError;
use super::results::Outcome;
use super::session_reads::SessionReads;
use super::sql::quote_str;
use super::tokens::kw;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS __marmot_comments \
    (tbl TEXT NOT NULL, col TEXT NOT NULL, comment TEXT NOT NULL, PRIMARY KEY (tbl, col))";

/// The string of the first `COMMENT [=] '…'` among `toks` (significant tokens).
pub(crate) fn comment_in(toks: &[&Token]) -> Option<String> {
    let at = toks.iter().position(|t| kw(t).as_deref() == Some("COMMENT"))?;
    let mut next = at + 1;
    if matches!(toks.get(next), Some(Token::Eq)) {
        next += 1;
    }
    match toks.get(next) {
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The table comment of `CREATE TABLE t (…) … COMMENT = '…'` or `ALTER TABLE t COMMENT '…'`
/// (significant tokens): a COMMENT outside every parenthesis.
pub(crate) fn table_comment(sig: &[&Token]) -> Option<String> {
    let mut depth = 0i32;
    let mut top = Vec::new();
    for t in sig {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 => top.push(*t),
            _ => {}
        }
    }
    comment_in(&top)
}

/// Statements recording `comments` (column, comment; the column empty for the table's
/// own) of `table`; an empty comment removes one.
pub(crate) fn record(table: &str, comments: &[(String, String)]) -> Vec<String> {
    if comments.is_empty() {
        return Vec::new();
    }
    let mut out = vec![CREATE.to_string()];
    for (col, comment) in comments {
        out.push(if comment.is_empty() {
            format!("DELETE FROM __marmot_comments WHERE tbl = {} AND col = {}", quote_str(table), quote_str(col))
        } else {
            format!(
                "INSERT OR REPLACE INTO __marmot_comments (tbl, col, comment) VALUES ({}, {}, {})",
                quote_str(table),
                quote_str(col),
                quote_str(comment)
            )
        });
    }
    out
}

/// Statements forgetting the comments of a dropped table.
pub(crate) fn dropped(table: &str) -> Vec<String> {
    vec![CREATE.to_string(), format!("DELETE FROM __marmot_comments WHERE tbl = {}", quote_str(table))]
}

/// Statements moving the comments of a renamed table.
pub(crate) fn renamed(from: &str, to: &str) -> Vec<String> {
    vec![
        CREATE.to_string(),
        format!("UPDATE __marmot_comments SET tbl = {} WHERE tbl = {}", quote_str(to), quote_str(from)),
    ]
}

/// The comments of `table` in `db` or the current database (lower-cased column → comment;
/// the table's own under ""). None kept (or a database from before they were) reads as none.
pub(crate) fn of(s: &mut dyn SessionReads, db: Option<&str>, table: &str) -> BTreeMap<String, String> {
    let sql = format!("SELECT col, comment FROM __marmot_comments WHERE tbl = {} COLLATE NOCASE", quote_str(table));
    let rows: Result<Outcome, MyError> = match db {
        Some(db) => s.read_in(db, &sql),
        None => s.read(&sql),
    };
    let mut out = BTreeMap::new();
    if let Ok(Outcome::Rows { rows, .. }) = rows {
        for r in rows {
            if let (Some(Value::Text(c)), Some(Value::Text(m))) = (r.first(), r.get(1)) {
                out.insert(c.to_lowercase(), m.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::tokenize;

    fn sig(sql: &str) -> Vec<Token> {
        tokenize(sql).unwrap().into_iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect()
    }

    #[test]
    fn table_comments_are_found_outside_the_column_list() {
        let t = sig("CREATE TABLE t (a INT COMMENT 'col') ENGINE=InnoDB COMMENT='the table'");
        assert_eq!(table_comment(&t.iter().collect::<Vec<_>>()).as_deref(), Some("the table"));
        let t = sig("CREATE TABLE t (a INT COMMENT 'col')");
        assert_eq!(table_comment(&t.iter().collect::<Vec<_>>()), None);
        let t = sig("ALTER TABLE t COMMENT 'x'");
        assert_eq!(table_comment(&t.iter().collect::<Vec<_>>()).as_deref(), Some("x"));
    }
}
