//! Prepared statements executed with bound parameters. A protocol-prepared SELECT, INSERT,
//! REPLACE, UPDATE or DELETE runs as SQLite text with numbered placeholders (`?1`, `?2`,
//! …) and the execute's values bound to them, instead of with the values printed into its
//! text: the text then repeats from execute to execute, so the shared statement cache
//! keeps its parse, and SQLite keeps the prepared statement on the connection (the
//! session's for reads, the database's writer for writes).
//!
//! What reads a statement's literals rather than runs it (result typing, the replay of a
//! transaction's rows by key) sees the values as literals ([`with_literals`]). Statements
//! that run further statements of their own or rewrite their values go the old way, the
//! values printed into the text as MySQL literals ([`stmt_params::bind`]): a SELECT with
//! `INTO`, `SQL_CALC_FOUND_ROWS` or a locking clause, a multi-table UPDATE or DELETE, a
//! `DEFAULT` among the values, and every other kind of statement.

use std::collections::BTreeMap;

use marmot_core::Value;
use sqlparser::tokenizer::Token;

use super::Session;
use crate::mysql::results::Outcome;
use crate::mysql::statement::{classify, Statement};
use crate::mysql::stmt_params::{self, number_placeholders, Param};
use crate::mysql::tokens::{kw, significant};
use crate::mysql::{locking_read, multi_table, select_into, sql};

/// Most texts a session remembers the bound form of; past it, it starts over.
const CAPACITY: usize = 256;

/// Prepared texts and, where one may run bound, its numbered form and placeholder count.
#[derive(Default)]
pub(super) struct BindableTexts {
    forms: BTreeMap<String, Option<(String, usize)>>,
}

impl BindableTexts {
    fn form(&mut self, text: &str) -> Option<(String, usize)> {
        if let Some(form) = self.forms.get(text) {
            return form.clone();
        }
        if self.forms.len() >= CAPACITY {
            self.forms.clear();
        }
        let form = bound_form(text);
        self.forms.insert(text.to_string(), form.clone());
        form
    }
}

/// `text` with its placeholders numbered, if it is one statement with some that can run
/// bound.
fn bound_form(text: &str) -> Option<(String, usize)> {
    let (numbered, n) = number_placeholders(text).ok()?;
    if n == 0 {
        return None;
    }
    let stmts = sql::split(sql::tokenize(&numbered).ok()?);
    let [one] = stmts.as_slice() else { return None };
    let sig = significant(one);
    let has = |word: &str| sig.iter().any(|t| kw(t).as_deref() == Some(word));
    let first = sig.first().and_then(|t| kw(t)).unwrap_or_default();
    let plain = match classify(&sig) {
        Statement::Query => {
            first == "SELECT"
                && !has("SQL_CALC_FOUND_ROWS")
                && select_into::split(one).is_none()
                && locking_read::parse(one).is_none()
        }
        Statement::Write => {
            matches!(first.as_str(), "INSERT" | "REPLACE" | "UPDATE" | "DELETE")
                && !has("DEFAULT")
                && multi_table::plan(one).is_none()
        }
        _ => false,
    };
    plain.then_some((numbered, n))
}

/// `toks` with each `?N` placeholder replaced by the literal of its bound value, for what
/// reads a statement's literals rather than runs it: MySQL types `d * ?` by the value
/// bound (`d * 2` is DECIMAL, `d * 2.5e0` DOUBLE), so result typing sees the literals.
pub(super) fn with_literals(toks: &[Token], values: &[Value]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    for t in toks {
        let value = match t {
            Token::Placeholder(p) => {
                p.strip_prefix('?').and_then(|n| n.parse::<usize>().ok()).and_then(|n| values.get(n.checked_sub(1)?))
            }
            _ => None,
        };
        match value {
            Some(v) => out.extend(literal_tokens(v)),
            None => out.push(t.clone()),
        }
    }
    out
}

/// The tokens of `v` written as a literal, built directly rather than printed and
/// tokenized again (which would read a backslash in a string as an escape).
fn literal_tokens(v: &Value) -> Vec<Token> {
    let number = |digits: String| match digits.strip_prefix('-') {
        Some(abs) => vec![Token::Minus, Token::Number(abs.to_string(), false)],
        None => vec![Token::Number(digits, false)],
    };
    match v {
        Value::Null => vec![Token::make_keyword("NULL")],
        Value::Integer(i) => number(i.to_string()),
        Value::Real(f) => number(format!("{f:?}")),
        Value::Text(s) => vec![Token::SingleQuotedString(s.clone())],
        Value::Blob(b) => vec![Token::HexStringLiteral(b.iter().map(|x| format!("{x:02X}")).collect())],
    }
}

impl Session {
    /// COM_STMT_EXECUTE of `text` with `params`: bound if it is a plain read, else with
    /// the values printed into the text as literals.
    pub(super) async fn execute_prepared(&mut self, text: &str, params: &[Param]) -> Vec<Outcome> {
        if let Some((numbered, n)) = self.bindable.form(text).filter(|(_, n)| *n == params.len()) {
            debug_assert!(self.bound.is_empty(), "a bound statement is already running");
            self.bound = params.iter().map(Param::value).collect();
            tracing::debug!(conn = self.info().conn_id, statement = %numbered, bound = n, "execute");
            let out = self.query_streaming(&numbered).await;
            self.bound.clear();
            return out;
        }
        let literals: Vec<String> = params.iter().map(Param::literal).collect();
        let text = match stmt_params::bind(text, &literals) {
            Ok(t) => t,
            Err(e) => return vec![Outcome::Error(e)],
        };
        tracing::debug!(conn = self.info().conn_id, statement = %text, "execute");
        self.query_streaming(&text).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_reads_with_placeholders_run_bound() {
        assert_eq!(bound_form("SELECT c FROM t WHERE id = ? AND k IN (?, ?)").map(|f| f.1), Some(3));
        assert_eq!(bound_form("SELECT a FROM t WHERE b = ?").unwrap().0, "SELECT a FROM t WHERE b = ?1");
        assert_eq!(bound_form("INSERT INTO t VALUES (?, 'x?', ?)").unwrap().0, "INSERT INTO t VALUES (?1, 'x?', ?2)");
        assert_eq!(bound_form("UPDATE t SET a = ? WHERE id = ?").map(|f| f.1), Some(2));
        assert_eq!(bound_form("DELETE FROM t WHERE id = ?").map(|f| f.1), Some(1));
        for text in [
            "SELECT 1",
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (?, DEFAULT)",
            "UPDATE t, u SET t.a = ? WHERE t.id = u.id",
            "DELETE t FROM t JOIN u ON t.id = u.id WHERE u.k = ?",
            "CREATE TABLE t AS SELECT ?",
            "SELECT ? INTO @x",
            "SELECT SQL_CALC_FOUND_ROWS a FROM t WHERE b = ? LIMIT 1",
            "SELECT a FROM t WHERE id = ? FOR UPDATE",
            "SELECT ?; SELECT ?",
            "SET @a = ?",
        ] {
            assert_eq!(bound_form(text), None, "{text}");
        }
    }

    #[test]
    fn typing_sees_each_placeholder_as_its_value() {
        let toks = sql::tokenize("SELECT d * ?2, ?1 FROM t").unwrap();
        let values = [Value::Text("it's".into()), Value::Integer(2)];
        let with = with_literals(&toks, &values);
        assert!(with.contains(&Token::SingleQuotedString("it's".into())), "{with:?}");
        // A backslash is the value's own, not an escape.
        let escaped = with_literals(&toks, &[Value::Text("a\\b".into()), Value::Integer(-3)]);
        assert!(escaped.contains(&Token::SingleQuotedString("a\\b".into())), "{escaped:?}");
        assert!(escaped.windows(2).any(|w| w == [Token::Minus, Token::Number("3".into(), false)]), "{escaped:?}");
        let shown: String = with.iter().map(|t| t.to_string()).collect();
        assert_eq!(shown, "SELECT d * 2, 'it's' FROM t");
    }
}
