//! Prepared statements in SQL (as opposed to the binary protocol's COM_STMT_PREPARE):
//! `PREPARE s FROM 'text' | @var`, `EXECUTE s [USING @a, 1, …]`, `EXECUTE IMMEDIATE 'text'
//! [USING …]` and `DEALLOCATE | DROP PREPARE s`. Migrations use them for DDL they build at
//! run time (`SET @sql = IF(…, 'ALTER TABLE …', 'SELECT 1'); PREPARE s FROM @sql; EXECUTE s`).
//!
//! This module reads the statements and binds parameters; the session keeps the prepared
//! texts and runs the bound statement as if the client had sent it.

use marmot_core::Value;
use sqlparser::tokenizer::Token;

use super::error::MyError;
use super::tokens::{kw, text};

/// Where a statement's text comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A string literal.
    Text(String),
    /// A user variable (lower-cased name, without `@`).
    Var(String),
    /// Any other expression (`CONCAT('SELECT ', @cols)`), evaluated when the statement runs.
    Expr(Vec<Token>),
}

/// One `USING` argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A user variable (lower-cased name, without `@`).
    Var(String),
    /// A literal value.
    Literal(Value),
    /// Any other expression (`DATE'2001-01-01'`, `0x61`), evaluated when the statement runs.
    Expr(Vec<Token>),
}

/// A prepared-statement statement.
#[derive(Clone, Debug, PartialEq)]
pub enum PreparedSql {
    /// `PREPARE name FROM …`.
    Prepare {
        /// The statement's name, lower-cased (names are case-insensitive).
        name: String,
        /// Its text.
        source: Source,
    },
    /// `EXECUTE name [USING …]`.
    Execute {
        /// The statement's name, lower-cased.
        name: String,
        /// Its parameters' values.
        using: Vec<Arg>,
    },
    /// `EXECUTE IMMEDIATE … [USING …]`.
    Immediate {
        /// The text to run.
        source: Source,
        /// Its parameters' values.
        using: Vec<Arg>,
    },
    /// `DEALLOCATE PREPARE name` / `DROP PREPARE name`.
    Deallocate(String),
}

fn user_var(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() && w.value.starts_with('@') && !w.value.starts_with("@@") => {
            Some(w.value[1..].to_ascii_lowercase())
        }
        _ => None,
    }
}

fn source(tokens: &[&Token]) -> Option<Source> {
    match tokens {
        [] => None,
        [Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)] => Some(Source::Text(s.clone())),
        [t] if user_var(t).is_some() => user_var(t).map(Source::Var),
        more => Some(Source::Expr(super::sql::spaced(more))),
    }
}

/// Where a top-level `USING` is in `sig[from..]`, or `sig.len()`.
fn using_at(sig: &[&Token], from: usize) -> usize {
    let mut depth = 0i32;
    for (i, t) in sig.iter().enumerate().skip(from) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            t if depth == 0 && kw(t).as_deref() == Some("USING") => return i,
            _ => {}
        }
    }
    sig.len()
}

/// `USING a, b, …` from `sig[at..]` (empty if there is no USING).
fn using(sig: &[&Token], at: usize) -> Option<Vec<Arg>> {
    match sig.get(at) {
        None => return Some(Vec::new()),
        Some(t) if kw(t).as_deref() == Some("USING") => {}
        Some(_) => return None,
    }
    let items = super::sql::split_commas(&sig[at + 1..]);
    if items.iter().any(Vec::is_empty) {
        return None;
    }
    Some(items.iter().map(|item| arg(item)).collect())
}

/// One USING item: a variable, a plain literal, or an expression to evaluate.
fn arg(item: &[&Token]) -> Arg {
    let literal = |t: &Token, negative: bool| match t {
        Token::Number(n, _) => {
            let n = if negative { format!("-{n}") } else { n.clone() };
            n.parse::<i64>().map(Value::Integer).ok().or_else(|| n.parse::<f64>().ok().map(Value::Real))
        }
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) if !negative => Some(Value::Text(s.clone())),
        t if !negative && kw(t).as_deref() == Some("NULL") => Some(Value::Null),
        _ => None,
    };
    let plain = match item {
        [t] => user_var(t).map(Arg::Var).or_else(|| literal(t, false).map(Arg::Literal)),
        [Token::Minus, t] => literal(t, true).map(Arg::Literal),
        _ => None,
    };
    plain.unwrap_or_else(|| Arg::Expr(super::sql::spaced(item)))
}

/// The statement, if `sig` (its significant tokens) is one of these; `Err` if it is one
/// but malformed.
pub fn parse(sig: &[&Token]) -> Option<Result<PreparedSql, MyError>> {
    let k = |i: usize| sig.get(i).and_then(|t| kw(t)).unwrap_or_default();
    let name = |i: usize| sig.get(i).and_then(|t| text(t)).map(|n| n.to_ascii_lowercase());
    let statement = match (k(0).as_str(), k(1).as_str()) {
        ("PREPARE", _) if k(2) == "FROM" => {
            name(1).zip(source(&sig[3..])).map(|(name, source)| PreparedSql::Prepare { name, source })
        }
        ("PREPARE", _) => None,
        ("EXECUTE", "IMMEDIATE") => {
            let end = using_at(sig, 2);
            source(&sig[2..end])
                .and_then(|source| using(sig, end).map(|using| PreparedSql::Immediate { source, using }))
        }
        ("EXECUTE", _) => name(1).and_then(|name| using(sig, 2).map(|using| PreparedSql::Execute { name, using })),
        ("DEALLOCATE" | "DROP", "PREPARE") if sig.len() == 3 => name(2).map(PreparedSql::Deallocate),
        ("DEALLOCATE", _) => None,
        _ => return None,
    };
    Some(statement.ok_or_else(|| MyError::new(1064, "42000", "You have an error in your SQL syntax near PREPARE")))
}

/// A value as an SQL literal token.
fn literal(v: &Value) -> Token {
    match v {
        Value::Null => Token::make_keyword("NULL"),
        Value::Integer(i) => Token::Number(i.to_string(), false),
        Value::Real(r) => Token::Number(super::wire_values::format_real(*r), false),
        Value::Text(s) => Token::SingleQuotedString(s.clone()),
        Value::Blob(b) => Token::HexStringLiteral(hex::encode_upper(b)),
    }
}

/// `text` tokenized with each `?` replaced by its value, in order.
pub fn bind(text: &str, values: &[Value]) -> Result<Vec<Token>, MyError> {
    let mut tokens = super::sql::tokenize(text).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
    let placeholders: Vec<usize> =
        (0..tokens.len()).filter(|i| matches!(&tokens[*i], Token::Placeholder(p) if p == "?")).collect();
    if placeholders.len() != values.len() {
        return Err(MyError::new(1210, "HY000", "Incorrect arguments to EXECUTE"));
    }
    for (at, v) in placeholders.into_iter().zip(values) {
        tokens[at] = literal(v);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::tokens::significant;

    fn of(sql: &str) -> Option<Result<PreparedSql, MyError>> {
        let toks = super::super::sql::tokenize(sql).unwrap();
        parse(&significant(&toks))
    }

    #[test]
    fn the_four_statements() {
        assert_eq!(
            of("PREPARE Stmt FROM 'SELECT ?'").unwrap().unwrap(),
            PreparedSql::Prepare { name: "stmt".into(), source: Source::Text("SELECT ?".into()) }
        );
        assert_eq!(
            of("PREPARE s FROM @Sql").unwrap().unwrap(),
            PreparedSql::Prepare { name: "s".into(), source: Source::Var("sql".into()) }
        );
        assert_eq!(
            of("EXECUTE s USING @a, 5, -2.5, 'x', NULL").unwrap().unwrap(),
            PreparedSql::Execute {
                name: "s".into(),
                using: vec![
                    Arg::Var("a".into()),
                    Arg::Literal(Value::Integer(5)),
                    Arg::Literal(Value::Real(-2.5)),
                    Arg::Literal(Value::Text("x".into())),
                    Arg::Literal(Value::Null)
                ]
            }
        );
        assert_eq!(
            of("EXECUTE IMMEDIATE 'SELECT 1'").unwrap().unwrap(),
            PreparedSql::Immediate { source: Source::Text("SELECT 1".into()), using: vec![] }
        );
        assert_eq!(of("DEALLOCATE PREPARE s").unwrap().unwrap(), PreparedSql::Deallocate("s".into()));
        assert_eq!(of("DROP PREPARE s").unwrap().unwrap(), PreparedSql::Deallocate("s".into()));
        assert!(of("EXECUTE s USING").unwrap().is_err());
        assert!(of("PREPARE s 'x'").unwrap().is_err());
        let Some(Ok(PreparedSql::Immediate { source: Source::Expr(_), using })) =
            of("EXECUTE IMMEDIATE CONCAT('SELECT ', ?) USING DATE'2001-01-01', 0x61, @v")
        else {
            panic!("an expression as the text")
        };
        assert!(matches!(using.as_slice(), [Arg::Expr(_), Arg::Expr(_), Arg::Var(_)]));
        assert_eq!(of("SELECT 1"), None);
    }

    #[test]
    fn parameters_bind_as_literals_in_order() {
        let t = bind("SELECT ?, ? FROM t WHERE s = '?'", &[Value::Integer(1), Value::Text("it's".into())]).unwrap();
        let text: String = t.iter().map(super::super::sql::print).collect();
        assert_eq!(text, "SELECT 1, 'it''s' FROM t WHERE s = '?'");
        assert_eq!(bind("SELECT ?", &[]).unwrap_err().code, 1210);
    }
}
