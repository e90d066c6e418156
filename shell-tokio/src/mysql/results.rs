//! Result sets: a statement's outcome, its rows read from SQLite with MySQL column types,
//! and the streaming of big results batch by batch.

use marmot_core::Value;
use marmot_store::codec::{from_ref, Bind};
use rusqlite::Connection;

use super::column_types::typed_column;
use super::error::{sqlite_error, store_err, MyError};
use super::proto::Column;

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
    pub(crate) db: String,
    pub(crate) sqlite: String,
    /// Declarations for result columns SQLite cannot type (see `result_types`).
    pub(crate) types: Vec<Option<String>>,
    /// Values bound to the read's `?N` placeholders (a prepared statement's).
    pub(crate) params: Vec<Value>,
}

/// Where a streamed result set goes, batch by batch: the first call carries the
/// columns (typed from its rows) and writes the header.
pub trait RowSink {
    /// Send `rows` of a result set with `columns`.
    fn rows(&mut self, columns: &[Column], rows: Vec<Vec<Value>>) -> Result<(), MyError>;
}

/// Rows per batch of a streamed result (its first batch also types the columns).
pub(crate) const STREAM_BATCH: usize = 1000;

pub(crate) fn done(affected: u64) -> Outcome {
    Outcome::Done { affected, last_insert_id: 0 }
}

/// The column label a MySQL client expects: internal variable functions shown as the
/// `@@name` / `@name` the client wrote.
pub(crate) fn client_label(name: &str) -> String {
    if let Some(value) = string_literal(name) {
        // MySQL labels a string literal by its value: `SELECT 'hello'` is `hello`.
        return value;
    }
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
    query_rows(conn, sqlite, &[], db, &[], None)
}

/// [`run_query`] with `params` bound to its `?N` placeholders (a prepared statement's
/// values), typing result columns without a declared type by `types` where it has one
/// (expressions typed by `result_types`).
pub(crate) fn run_typed_query(
    conn: &Connection,
    sqlite: &str,
    params: &[Value],
    db: &str,
    types: &[Option<String>],
) -> Result<Outcome, MyError> {
    query_rows(conn, sqlite, params, db, types, None)
}

/// [`run_query`], or with `sink` its rows sent in batches of [`STREAM_BATCH`] as they
/// come ([`Outcome::Streamed`]): the columns are then typed from the first batch only.
pub(crate) fn query_rows(
    conn: &Connection,
    sqlite: &str,
    params: &[Value],
    db: &str,
    types: &[Option<String>],
    mut sink: Option<&mut dyn RowSink>,
) -> Result<Outcome, MyError> {
    let err = |e: rusqlite::Error| sqlite_error(&store_err(e));
    // Cached only with parameters: a prepared statement's text repeats, literal texts
    // rarely do (each would evict a statement that does).
    let (mut fresh, mut cached);
    let stmt: &mut rusqlite::Statement<'_> = if params.is_empty() {
        fresh = conn.prepare(sqlite).map_err(err)?;
        &mut fresh
    } else {
        cached = conn.prepare_cached(sqlite).map_err(err)?;
        &mut cached
    };
    // The columns as prepared: if the schema changed since this connection last read it,
    // SQLite prepares the statement again on its first step (`SELECT *` of a table that
    // gained a column, a view replaced), so they are read again from the first row, or,
    // for no rows, from the statement after it ran.
    let mut decls = declared(stmt);
    let typed = |decls: &[(String, Option<String>)], rows: &[Vec<Value>]| -> Vec<Column> {
        decls
            .iter()
            .enumerate()
            .map(|(i, (name, decl))| {
                let inferred = types.get(i).and_then(Option::as_deref);
                // A bound statement's placeholders are numbered; MySQL names them `?`.
                let name = if params.is_empty() { name.clone() } else { unnumbered(name) };
                let mut c = typed_column(&name, decl.as_deref().or(inferred), rows.iter().map(|r| &r[i]));
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
    let mut q = stmt.query(rusqlite::params_from_iter(params.iter().map(Bind))).map_err(err)?;
    let mut first = true;
    loop {
        let next = q.next().map_err(err)?;
        if let Some(r) = next {
            if std::mem::take(&mut first) {
                decls = declared(r.as_ref());
            }
            let mut row = Vec::with_capacity(decls.len());
            for i in 0..decls.len() {
                row.push(from_ref(r.get_ref(i).map_err(err)?));
            }
            rows.push(row);
            if rows.len() < STREAM_BATCH || sink.is_none() {
                continue;
            }
        } else if first {
            break;
        }
        let Some(sink) = sink.as_deref_mut() else { break };
        let cols = columns.get_or_insert_with(|| typed(&decls, &rows));
        let done = next.is_none();
        sent += rows.len() as u64;
        sink.rows(cols, std::mem::take(&mut rows))?;
        if done {
            return Ok(Outcome::Streamed { rows: sent });
        }
    }
    drop(q);
    if first {
        decls = declared(stmt);
        if let Some(sink) = sink {
            sink.rows(&typed(&decls, &rows), Vec::new())?;
            return Ok(Outcome::Streamed { rows: 0 });
        }
    }
    Ok(Outcome::Rows { columns: typed(&decls, &rows), rows })
}

/// `name` with each numbered placeholder (`?12`) shown as MySQL shows a placeholder (`?`).
fn unnumbered(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '?' {
            while chars.next_if(char::is_ascii_digit).is_some() {}
        }
    }
    out
}

/// The value of `text` if it is exactly one SQL string literal (`'it''s'` → `it's`).
fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside, a quote is only ever doubled; a lone one ends the literal early.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// A statement's result columns: the label a client sees and the declared type, if any.
fn declared(stmt: &rusqlite::Statement<'_>) -> Vec<(String, Option<String>)> {
    stmt.columns().map(|c| (client_label(c.name()), c.decl_type().map(str::to_string))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_select_star_sees_columns_another_connection_just_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (reader, writer) = (Connection::open(&path).unwrap(), Connection::open(&path).unwrap());
        writer
            .execute_batch("CREATE TABLE full (a INT); INSERT INTO full VALUES (1); CREATE TABLE empty (a INT)")
            .unwrap();
        let names = |sql: &str| match run_query(&reader, sql, "d").unwrap() {
            Outcome::Rows { columns, rows } => {
                (columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), rows.first().map_or(0, Vec::len))
            }
            _ => panic!("rows expected"),
        };
        assert_eq!(names("SELECT * FROM full"), (vec!["a".to_string()], 1));
        assert_eq!(names("SELECT * FROM empty").0, vec!["a".to_string()]);
        writer.execute_batch("ALTER TABLE full ADD COLUMN b INT; ALTER TABLE empty ADD COLUMN b INT").unwrap();
        assert_eq!(names("SELECT * FROM full"), (vec!["a".to_string(), "b".to_string()], 2));
        assert_eq!(names("SELECT * FROM empty").0, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn bound_placeholders_are_named_as_mysql_names_them() {
        let conn = Connection::open_in_memory().unwrap();
        let params = [Value::Integer(5), Value::Text("a".into())];
        match run_typed_query(&conn, "SELECT ?1, ?2 || 'b'", &params, "", &[]) {
            Ok(Outcome::Rows { columns, rows }) => {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, ["?", "? || 'b'"]);
                assert_eq!(rows, [vec![Value::Integer(5), Value::Text("ab".into())]]);
                assert_eq!(unnumbered("?10 + '?' + ?2"), "? + '?' + ?");
            }
            other => panic!("rows expected: {other:?}"),
        }
    }

    #[test]
    fn variable_columns_are_labelled_as_written() {
        assert_eq!(client_label("marmot_sysvar('version_comment')"), "@@version_comment");
        assert_eq!(client_label("marmot_uservar('x') + 1"), "@x + 1");
        assert_eq!(client_label("plain"), "plain");
        assert_eq!(client_label("'hello'"), "hello");
        assert_eq!(client_label("'it''s'"), "it's");
        assert_eq!(client_label("'a' || 'b'"), "'a' || 'b'", "not one literal");
        assert_eq!(client_label("''"), "");
    }
}
