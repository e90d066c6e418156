//! Metadata statements: SHOW … and DESCRIBE, answered from SQLite's catalog.

use marmot_core::Value;
use sqlparser::tokenizer::Token;

use super::error::MyError;
use super::proto::{ColType, Column};
use super::results::Outcome;
use super::session_reads::SessionReads;
use super::sql::quote_str;
use super::tokens::{kw, text};
use marmot_store::schema::is_internal;

fn rows(names: &[&str], rows: Vec<Vec<Value>>) -> Outcome {
    Outcome::Rows { columns: names.iter().map(|n| Column::new(n, ColType::VarString)).collect(), rows }
}

fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// MySQL LIKE pattern → does `name` match (case-insensitive, % and _).
fn like(pattern: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('%'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some('_'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some('\\'), _) if p.len() > 1 => n.first() == p.get(1) && rec(&p[2..], &n[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}

/// The pattern of a trailing `LIKE 'x'`, if any.
fn like_pattern(sig: &[&Token]) -> Option<String> {
    sig.iter().position(|t| kw(t).as_deref() == Some("LIKE")).and_then(|i| sig.get(i + 1)).and_then(|t| text(t))
}

/// `FROM db` / `IN db` after position `from`.
fn from_db(sig: &[&Token]) -> Option<String> {
    sig.iter()
        .position(|t| matches!(kw(t).as_deref(), Some("FROM" | "IN")))
        .and_then(|i| sig.get(i + 1))
        .and_then(|t| text(t))
}

/// The system variables SHOW VARIABLES and INFORMATION_SCHEMA.GLOBAL_VARIABLES /
/// SESSION_VARIABLES list (each read through `marmot_sysvar`).
pub(crate) const SHOWN_VARIABLES: &[&str] = &[
    "autocommit",
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "character_set_server",
    "collation_connection",
    "collation_server",
    "lower_case_table_names",
    "max_allowed_packet",
    "sql_mode",
    "time_zone",
    "system_time_zone",
    "transaction_isolation",
    "tx_isolation",
    "version",
    "version_comment",
    "wait_timeout",
    "interactive_timeout",
    "auto_increment_increment",
    "auto_increment_offset",
    "license",
    "hostname",
    "port",
    "have_ssl",
];

/// `SHOW …`.
pub fn show(s: &mut dyn SessionReads, sig: &[&Token]) -> Result<Outcome, MyError> {
    let words: Vec<String> = sig.iter().skip(1).filter_map(|t| kw(t)).collect();
    let first = words.first().cloned().unwrap_or_default();
    let full = first == "FULL";
    let what = if full { words.get(1).cloned().unwrap_or_default() } else { first.clone() };
    match what.as_str() {
        "DATABASES" | "SCHEMAS" => {
            let pat = like_pattern(sig);
            let mut names = vec!["information_schema".to_string()];
            names.extend(s.databases());
            let r: Vec<_> =
                names.into_iter().filter(|n| pat.as_deref().is_none_or(|p| like(p, n))).map(|n| vec![t(n)]).collect();
            // MySQL names the column after the pattern: `Database (shop%)`.
            let header = pat.as_ref().map_or("Database".to_string(), |p| format!("Database ({p})"));
            Ok(rows(&[header.as_str()], r))
        }
        "TABLES" => {
            let db = match from_db(sig) {
                Some(d) => d,
                None => s.db().ok_or_else(|| MyError::new(1046, "3D000", "No database selected"))?,
            };
            let pat = like_pattern(sig);
            let out =
                s.read_in(&db, "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")?;
            let Outcome::Rows { rows: found, .. } = out else { return Ok(out) };
            // MySQL names the column after the pattern too: `Tables_in_wordpress (wp\_users)`.
            let col = pat.as_ref().map_or(format!("Tables_in_{db}"), |p| format!("Tables_in_{db} ({p})"));
            let mut r = Vec::new();
            for row in found {
                let (Value::Text(name), Value::Text(kind)) = (&row[0], &row[1]) else { continue };
                if is_internal(name) || pat.as_deref().is_some_and(|p| !like(p, name)) {
                    continue;
                }
                let mut v = vec![t(name.clone())];
                if full {
                    v.push(t(if kind == "view" { "VIEW" } else { "BASE TABLE" }));
                }
                r.push(v);
            }
            Ok(if full { rows(&[&col, "Table_type"], r) } else { rows(&[&col], r) })
        }
        "COLUMNS" | "FIELDS" => {
            let (qualifier, table, rest) = table_named(sig);
            let db = qualifier.or_else(|| from_db(rest));
            columns(s, db, &table, full)
        }
        "CREATE" => {
            let kind = words.get(1).cloned().unwrap_or_default();
            let name = sig.last().and_then(|t| text(t)).unwrap_or_default();
            if kind == "DATABASE" || kind == "SCHEMA" {
                return Ok(rows(
                    &["Database", "Create Database"],
                    vec![vec![
                        t(name.clone()),
                        t(format!("CREATE DATABASE `{name}` /*!40100 DEFAULT CHARACTER SET utf8mb4 */")),
                    ]],
                ));
            }
            // `SHOW CREATE TABLE db.t`: read it in `db` (whatever the current database).
            let qualifier = match sig.len().checked_sub(3).map(|i| &sig[i..]) {
                Some([q, Token::Period, _]) => text(q),
                _ => None,
            };
            if is_internal(&name) {
                return Err(no_such_table(s, qualifier, &name));
            }
            if let Some(db) = &qualifier {
                if !s.databases().contains(db) {
                    return Err(MyError::new(1049, "42000", format!("Unknown database '{db}'")));
                }
            }
            let saved = qualifier.clone().map(|db| s.swap_db(db));
            let found = super::create_table::create_table(s, &name);
            if let Some(saved) = saved {
                s.restore_db(saved);
            }
            match found? {
                Some(sql) => Ok(rows(&["Table", "Create Table"], vec![vec![t(name), t(sql)]])),
                None => Err(no_such_table(s, qualifier, &name)),
            }
        }
        "INDEX" | "INDEXES" | "KEYS" => {
            let (qualifier, table, rest) = table_named(sig);
            let Some(db) = qualifier.or_else(|| from_db(rest)) else { return indexes(s, &table) };
            if !s.databases().contains(&db) {
                return Err(MyError::new(1049, "42000", format!("Unknown database '{db}'")));
            }
            let saved = s.swap_db(db);
            let found = indexes(s, &table);
            s.restore_db(saved);
            found
        }
        "VARIABLES" => {
            let pat = like_pattern(sig);
            let names = SHOWN_VARIABLES.iter().copied();
            let mut r = Vec::new();
            for n in names {
                if pat.as_deref().is_some_and(|p| !like(p, n)) {
                    continue;
                }
                let out = s.query_value(&format!("SELECT marmot_sysvar({})", quote_str(n)));
                let v = match out {
                    Value::Integer(i) => i.to_string(),
                    Value::Text(x) => x,
                    Value::Null => String::new(),
                    other => format!("{other:?}"),
                };
                r.push(vec![t(n), t(v)]);
            }
            Ok(rows(&["Variable_name", "Value"], r))
        }
        "STATUS" => {
            Ok(rows(&["Variable_name", "Value"], vec![vec![t("Uptime"), t("1")], vec![t("Threads_connected"), t("1")]]))
        }
        "WARNINGS" | "ERRORS" => {
            let r = s
                .warnings()
                .iter()
                .map(|(l, c, m)| vec![t(l.clone()), Value::Integer(*c as i64), t(m.clone())])
                .collect();
            Ok(rows(&["Level", "Code", "Message"], r))
        }
        "ENGINES" => Ok(rows(
            &["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"],
            vec![
                vec![t("InnoDB"), t("DEFAULT"), t("SQLite, replicated by marmot"), t("YES"), t("NO"), t("YES")],
                vec![
                    t("SEQUENCE"),
                    t("YES"),
                    t("Generated tables of integers (seq_1_to_10)"),
                    t("YES"),
                    t("NO"),
                    t("YES"),
                ],
            ],
        )),
        // The plugins a client can ask for: the one authentication method marmot speaks
        // (clients check for their method before they try it) and the storage engine.
        "PLUGINS" => Ok(rows(
            &["Name", "Status", "Type", "Library", "License"],
            vec![
                vec![t("mysql_native_password"), t("ACTIVE"), t("AUTHENTICATION"), Value::Null, t("GPL")],
                vec![t("InnoDB"), t("ACTIVE"), t("STORAGE ENGINE"), Value::Null, t("GPL")],
            ],
        )),
        "COLLATION" => Ok(rows(
            &["Collation", "Charset", "Id", "Default", "Compiled", "Sortlen"],
            vec![vec![
                t("utf8mb4_general_ci"),
                t("utf8mb4"),
                Value::Integer(45),
                t("Yes"),
                t("Yes"),
                Value::Integer(1),
            ]],
        )),
        "CHARACTER" | "CHARSET" => Ok(rows(
            &["Charset", "Description", "Default collation", "Maxlen"],
            vec![vec![t("utf8mb4"), t("UTF-8 Unicode"), t("utf8mb4_general_ci"), Value::Integer(4)]],
        )),
        "PROCESSLIST" => {
            let ((id, user), db) = (s.connection(), s.db());
            Ok(rows(
                &["Id", "User", "Host", "db", "Command", "Time", "State", "Info"],
                vec![vec![
                    Value::Integer(id as i64),
                    t(user),
                    t("localhost"),
                    db.map(t).unwrap_or(Value::Null),
                    t("Query"),
                    Value::Integer(0),
                    t(""),
                    t("SHOW PROCESSLIST"),
                ]],
            ))
        }
        "TABLE" => {
            // SHOW TABLE STATUS [LIKE]
            let pat = like_pattern(sig);
            let out = s.read("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
            let Outcome::Rows { rows: found, .. } = out else { return Ok(out) };
            let mut r = Vec::new();
            for row in found {
                let Value::Text(name) = &row[0] else { continue };
                if is_internal(name) || pat.as_deref().is_some_and(|p| !like(p, name)) {
                    continue;
                }
                r.push(vec![
                    t(name.clone()),
                    t("InnoDB"),
                    Value::Integer(10),
                    t("Dynamic"),
                    Value::Integer(0),
                    t("utf8mb4_general_ci"),
                    t(""),
                ]);
            }
            Ok(rows(&["Name", "Engine", "Version", "Row_format", "Rows", "Collation", "Comment"], r))
        }
        // Stored routines, triggers and events: marmot keeps none (their CREATE statements
        // are refused), so the listings `mariadb-dump --routines --triggers --events`
        // reads are empty, with MySQL's columns.
        "EVENTS" => Ok(rows(
            &[
                "Db",
                "Name",
                "Definer",
                "Time zone",
                "Type",
                "Execute at",
                "Interval value",
                "Interval field",
                "Starts",
                "Ends",
                "Status",
                "Originator",
                "character_set_client",
                "collation_connection",
                "Database Collation",
            ],
            Vec::new(),
        )),
        "TRIGGERS" => Ok(rows(
            &[
                "Trigger",
                "Event",
                "Table",
                "Statement",
                "Timing",
                "Created",
                "sql_mode",
                "Definer",
                "character_set_client",
                "collation_connection",
                "Database Collation",
            ],
            Vec::new(),
        )),
        "FUNCTION" | "PROCEDURE" | "PACKAGE"
            if words.last().map(String::as_str) == Some("STATUS") || words.len() > 2 =>
        {
            Ok(rows(
                &[
                    "Db",
                    "Name",
                    "Type",
                    "Definer",
                    "Modified",
                    "Created",
                    "Security_type",
                    "Comment",
                    "character_set_client",
                    "collation_connection",
                    "Database Collation",
                ],
                Vec::new(),
            ))
        }
        _ => Err(MyError::new(1064, "42000", format!("You have an error in your SQL syntax: unsupported SHOW {what}"))),
    }
}

/// The table after `FROM` / `IN` of `SHOW COLUMNS|INDEX FROM [db.]t [FROM db]`: its
/// qualifier, its name, and the tokens after it.
fn table_named<'a, 'b>(sig: &'a [&'b Token]) -> (Option<String>, String, &'a [&'b Token]) {
    let i = sig.iter().position(|t| matches!(kw(t).as_deref(), Some("FROM" | "IN"))).unwrap_or(sig.len());
    match (sig.get(i + 1).and_then(|t| text(t)), sig.get(i + 2), sig.get(i + 3).and_then(|t| text(t))) {
        (Some(db), Some(Token::Period), Some(table)) => (Some(db), table, &sig[(i + 4).min(sig.len())..]),
        (table, _, _) => (None, table.unwrap_or_default(), &sig[(i + 2).min(sig.len())..]),
    }
}

/// `DESCRIBE t` / `DESC t`.
pub fn describe(s: &mut dyn SessionReads, rest: &[&Token]) -> Result<Outcome, MyError> {
    match (rest.first().and_then(|t| text(t)), rest.get(1), rest.get(2).and_then(|t| text(t))) {
        (Some(db), Some(Token::Period), Some(table)) => columns(s, Some(db), &table, false),
        (table, _, _) => columns(s, None, &table.unwrap_or_default(), false),
    }
}

/// 1146 for `table`: missing, or one of marmot's own (which clients never see).
fn no_such_table(s: &dyn SessionReads, db: Option<String>, table: &str) -> MyError {
    MyError::new(1146, "42S02", format!("Table '{}.{table}' doesn't exist", db.or(s.db()).unwrap_or_default()))
}

fn columns(s: &mut dyn SessionReads, db: Option<String>, table: &str, full: bool) -> Result<Outcome, MyError> {
    if is_internal(table) {
        return Err(no_such_table(s, db, table));
    }
    let sql = marmot_store::schema::columns_sql(&quote_str(table));
    let out = match &db {
        Some(d) => s.read_in(d, &sql)?,
        None => s.read(&sql)?,
    };
    let Outcome::Rows { rows: found, .. } = out else { return Ok(out) };
    if found.is_empty() {
        return Err(no_such_table(s, db, table));
    }
    let comments = if full { super::comments::of(s, db.as_deref(), table) } else { Default::default() };
    let mut r = Vec::new();
    for row in found {
        let name = match &row[0] {
            Value::Text(x) => x.clone(),
            _ => String::new(),
        };
        let ty = match &row[1] {
            Value::Text(x) if !x.is_empty() => super::column_types::display_type(x),
            _ => "text".into(),
        };
        let notnull = matches!(row[2], Value::Integer(1));
        let pk = matches!(row[4], Value::Integer(n) if n > 0);
        let default = match &row[3] {
            Value::Text(d) if d.starts_with('\'') => t(d.trim_matches('\'').replace("''", "'")),
            // An expression default shows in its parentheses, as MariaDB shows it; a
            // number or a keyword (CURRENT_TIMESTAMP) as it is.
            Value::Text(d)
                if d.parse::<f64>().is_err() && !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                t(format!("({d})"))
            }
            Value::Text(d) => t(d.clone()),
            Value::Null => Value::Null,
            v => v.clone(),
        };
        let extra = match (&row[5], row.get(7)) {
            (_, Some(Value::Integer(2))) => "VIRTUAL GENERATED".to_string(),
            (_, Some(Value::Integer(3))) => "STORED GENERATED".to_string(),
            (Value::Text(e), _) if !e.is_empty() => e.clone(),
            _ => String::new(),
        };
        let comment = comments.get(&name.to_lowercase()).cloned().unwrap_or_default();
        let mut v = vec![t(name), t(ty)];
        if full {
            v.push(Value::Null);
        }
        v.extend([
            t(if notnull || pk { "NO" } else { "YES" }),
            t(if pk { "PRI" } else { "" }),
            default,
            t(extra.as_str()),
        ]);
        if full {
            v.extend([t("select,insert,update,references"), t(comment)]);
        }
        r.push(v);
    }
    Ok(if full {
        rows(&["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"], r)
    } else {
        rows(&["Field", "Type", "Null", "Key", "Default", "Extra"], r)
    })
}

fn indexes(s: &mut dyn SessionReads, table: &str) -> Result<Outcome, MyError> {
    if is_internal(table) {
        return Err(no_such_table(s, None, table));
    }
    let sql = format!(
        "SELECT il.name, il.\"unique\", ii.seqno, ii.name FROM pragma_index_list({t}) AS il, pragma_index_info(il.name) AS ii ORDER BY il.name, ii.seqno",
        t = quote_str(table)
    );
    let out = s.read(&sql)?;
    let Outcome::Rows { rows: found, .. } = out else { return Ok(out) };
    let mut r = Vec::new();
    // The primary key first.
    if let Outcome::Rows { rows: cols, .. } =
        s.read(&format!("SELECT name FROM pragma_table_info({}) WHERE pk > 0 ORDER BY pk", quote_str(table)))?
    {
        for (i, c) in cols.iter().enumerate() {
            r.push(vec![
                t(table),
                Value::Integer(0),
                t("PRIMARY"),
                Value::Integer(i as i64 + 1),
                c[0].clone(),
                t("A"),
                Value::Null,
                t("BTREE"),
            ]);
        }
    }
    for row in found {
        let Value::Text(name) = &row[0] else { continue };
        if name.starts_with("sqlite_autoindex") {
            continue;
        }
        let short = name.strip_prefix(&format!("{table}__")).unwrap_or(name).to_string();
        let unique = matches!(row[1], Value::Integer(1));
        let seq = match row[2] {
            Value::Integer(i) => i + 1,
            _ => 1,
        };
        r.push(vec![
            t(table),
            Value::Integer(if unique { 0 } else { 1 }),
            t(short),
            Value::Integer(seq),
            row[3].clone(),
            t("A"),
            Value::Null,
            t("BTREE"),
        ]);
    }
    Ok(rows(
        &["Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality", "Index_type"],
        r,
    ))
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("wp\\_%", "wp_posts"));
        assert!(!like("wp\\_%", "wpxposts"));
        assert!(like("%OPT%", "wp_options"));
        assert!(like("a_c", "abc"));
        assert!(!like("a_c", "abbc"));
    }
}
