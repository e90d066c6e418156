//! `SHOW CREATE TABLE` in MySQL's own syntax, rebuilt from SQLite's catalog and the MySQL
//! types recorded when the table was created, so that mariadb-dump output restores on
//! MySQL and on marmot alike.

use marmot_core::Value;

use super::error::MyError;
use super::results::Outcome;
use super::session_reads::SessionReads;
use super::sql::quote_str;

fn ident(name: &str) -> String {
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
    let cols = rows_of(s.read(&marmot_store::schema::columns_sql(&t))?);
    let mut lines = Vec::new();
    let mut pk: Vec<(i64, String)> = Vec::new();
    for c in &cols {
        let name = text(&c[0]);
        let ty = match text(&c[1]) {
            ty if ty.is_empty() => "text".to_string(),
            ty => ty,
        };
        let pk_pos = matches!(c[4], Value::Integer(n) if n > 0);
        let not_null = matches!(c[2], Value::Integer(1)) || pk_pos;
        let extra = text(&c[5]);
        let mut line = format!("  {} {ty}", ident(&name));
        if not_null {
            line.push_str(" NOT NULL");
        }
        match &c[3] {
            Value::Null if !not_null => line.push_str(" DEFAULT NULL"),
            Value::Null => {}
            d => line.push_str(&format!(" DEFAULT {}", text(d))),
        }
        if extra.contains("auto_increment") {
            line.push_str(" AUTO_INCREMENT");
        }
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
        "CREATE TABLE {} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
        ident(table),
        lines.join(",\n")
    )))
}
