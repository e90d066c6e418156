//! `SHOW CREATE TABLE` in MySQL's own syntax, rebuilt from SQLite's catalog and the MySQL
//! types recorded when the table was created, so that mariadb-dump output restores on
//! MySQL and on marmot alike.

use std::collections::BTreeMap;

use marmot_core::Value;
use sqlparser::tokenizer::Token;

use super::column_types::display_type;
use super::error::MyError;
use super::results::Outcome;
use super::session_reads::SessionReads;
use super::sql::{matching_paren, quote_str, split_commas, tokenize};
use super::tokens::{is_space, kw};

/// A name quoted as MySQL quotes it (`` `a``b` ``).
pub(crate) fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

fn rows_of(out: Outcome) -> Vec<Vec<Value>> {
    match out {
        Outcome::Rows { rows, .. } => rows,
        _ => Vec::new(),
    }
}

/// A column default as MySQL writes it: a literal as it is, an expression in parentheses
/// (`DEFAULT (3 + 5)`; bare, mariadb-dump's output would not parse).
fn default_clause(d: &str) -> String {
    let t = d.trim();
    let upper = t.to_ascii_uppercase();
    let literal = t.parse::<f64>().is_ok()
        || (t.len() >= 2
            && t.starts_with('\'')
            && t.ends_with('\'')
            && !t[1..t.len() - 1].replace("''", "").contains('\''))
        || matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE")
        || ["CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "NOW()", "LOCALTIMESTAMP"]
            .iter()
            .any(|k| upper == *k || upper.strip_prefix(k).is_some_and(|r| r.starts_with('(') && r.ends_with(')')));
    if literal || (t.starts_with('(') && t.ends_with(')')) {
        t.to_string()
    } else {
        format!("({t})")
    }
}

/// The expressions of a table's generated columns (by lower-cased name), from the
/// `CREATE TABLE` text SQLite keeps, with MySQL's quoting.
fn generated_expressions(create: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(tokens) = tokenize(create) else { return out };
    let sig: Vec<&Token> = tokens.iter().filter(|t| !is_space(t)).collect();
    let Some(open) = sig.iter().position(|t| matches!(t, Token::LParen)) else { return out };
    let Some(close) = matching_paren(&sig, open) else { return out };
    for part in split_commas(&sig[open + 1..close]) {
        // (SQLite's text quotes names with double quotes, which MySQL's tokens call strings.)
        let name = match part.first() {
            Some(Token::Word(w)) => w.value.clone(),
            Some(Token::DoubleQuotedString(n)) => n.clone(),
            _ => continue,
        };
        let Some(at) = part.windows(2).position(|w| kw(w[0]).as_deref() == Some("AS") && *w[1] == Token::LParen) else {
            continue;
        };
        let Some(end) = matching_paren(&part, at + 1) else { continue };
        let expr: Vec<String> = part[at + 2..end]
            .iter()
            .map(|t| match t {
                Token::Word(w) if w.quote_style.is_some() => ident(&w.value),
                Token::DoubleQuotedString(n) => ident(n),
                other => other.to_string(),
            })
            .collect();
        // Spaced token by token; tighten calls and lists back to how they are written.
        let spaced = expr.join(" ").replace("( ", "(").replace(" )", ")").replace(" ,", ",");
        let chars: Vec<char> = spaced.chars().collect();
        let text: String = chars
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                let call = **c == ' '
                    && chars.get(i + 1) == Some(&'(')
                    && i.checked_sub(1).is_some_and(|p| chars[p].is_alphanumeric() || chars[p] == '_');
                !call
            })
            .map(|(_, c)| *c)
            .collect();
        out.insert(name.to_lowercase(), text);
    }
    out
}

/// The MySQL `CREATE TABLE` statement of `table` in the current database, or `None` if
/// there is no such table. Views come back as SQLite stored them.
pub fn create_table(s: &mut dyn SessionReads, table: &str) -> Result<Option<String>, MyError> {
    let t = quote_str(table);
    let master =
        rows_of(s.read(&format!("SELECT type, sql FROM sqlite_master WHERE name = {t} AND type IN ('table','view')"))?);
    let Some(row) = master.first() else { return Ok(None) };
    if text(&row[0]) == "view" {
        return Ok(Some(text(&row[1])));
    }
    let generated = generated_expressions(&text(&row[1]));
    let comments = super::comments::of(s, None, table);
    let comment = |name: &str| comments.get(&name.to_lowercase()).map(|c| format!(" COMMENT {}", quote_str(c)));
    let cols = rows_of(s.read(&marmot_store::schema::columns_sql(&t))?);
    let mut lines = Vec::new();
    let mut pk: Vec<(i64, String)> = Vec::new();
    for c in &cols {
        let name = text(&c[0]);
        let ty = match text(&c[1]) {
            ty if ty.is_empty() => "text".to_string(),
            ty => display_type(&ty),
        };
        let pk_pos = matches!(c[4], Value::Integer(n) if n > 0);
        let not_null = matches!(c[2], Value::Integer(1)) || pk_pos;
        let extra = text(&c[5]);
        let mut line = format!("  {} {ty}", ident(&name));
        let kind = match c.get(7) {
            Some(Value::Integer(2)) => Some("VIRTUAL"),
            Some(Value::Integer(3)) => Some("STORED"),
            _ => None,
        };
        if let (Some(kind), Some(expr)) = (kind, generated.get(&name.to_lowercase())) {
            line.push_str(&format!(" GENERATED ALWAYS AS ({expr}) {kind}"));
            line.push_str(&comment(&name).unwrap_or_default());
            lines.push(line);
            continue;
        }
        if not_null {
            line.push_str(" NOT NULL");
        }
        match &c[3] {
            Value::Null if !not_null => line.push_str(" DEFAULT NULL"),
            Value::Null => {}
            d => line.push_str(&format!(" DEFAULT {}", default_clause(&text(d)))),
        }
        if extra.contains("auto_increment") {
            line.push_str(" AUTO_INCREMENT");
        }
        line.push_str(&comment(&name).unwrap_or_default());
        lines.push(line);
        if let Value::Integer(n) = c[4] {
            if n > 0 {
                pk.push((n, name));
            }
        }
    }
    pk.sort();
    if !pk.is_empty() {
        let names: Vec<String> = pk.iter().map(|(_, n)| ident(n)).collect();
        lines.push(format!("  PRIMARY KEY ({})", names.join(",")));
    }
    let indexes = rows_of(s.read(&format!(
        "SELECT il.name, il.\"unique\", il.origin, ii.name FROM pragma_index_list({t}) AS il, pragma_index_info(il.name) AS ii
         WHERE il.origin != 'pk' ORDER BY il.\"unique\" DESC, il.seq DESC, ii.seqno"
    ))?);
    let mut grouped: Vec<(String, bool, Vec<String>)> = Vec::new();
    for r in &indexes {
        let index = text(&r[0]);
        match grouped.last_mut() {
            Some(g) if g.0 == index => g.2.push(text(&r[3])),
            _ => grouped.push((index, matches!(r[1], Value::Integer(1)), vec![text(&r[3])])),
        }
    }
    for (index, unique, columns) in grouped {
        let short = match index.strip_prefix(&format!("{table}__")) {
            Some(short) => short.to_string(),
            None if index.starts_with("sqlite_autoindex") => columns[0].clone(),
            None => index.clone(),
        };
        let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        let kind = if unique { "UNIQUE KEY" } else { "KEY" };
        lines.push(format!("  {kind} {} ({})", ident(&short), cols.join(",")));
    }
    Ok(Some(format!(
        "CREATE TABLE {} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci{}",
        ident(table),
        lines.join(",\n"),
        comments.get("").map(|c| format!(" COMMENT={}", quote_str(c))).unwrap_or_default()
    )))
}
