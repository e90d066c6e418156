//! Which of an open transaction's earlier rows a client statement must see.
//!
//! A client statement runs on the writer in a savepoint that is rolled back (see
//! [`super::capture`]), so the transaction's earlier, uncommitted rows are written into
//! that savepoint first. Writing all of them before every statement made a transaction
//! cost O(n²) in its size. Most OLTP statements name their rows by primary key
//! (`UPDATE t SET … WHERE id = 5`, `INSERT INTO t (id, …) VALUES (…)`, a point
//! `SELECT`); on a table where nothing else links rows (no secondary unique index, no
//! foreign key either way, no trigger), such a statement reads and writes only the rows
//! with those keys, so only the transaction's earlier rows with those keys need writing.
//! A later statement then costs what its own rows cost.
//!
//! The front end describes a statement's shape as a [`Replay`]; the writer checks the
//! table and picks the rows. Anything it cannot prove ([`Replay::All`], an unknown or
//! linked table, a key that is not a plain literal) writes every earlier row, as before.
//! Key matching is deliberately loose (numbers by value, text without case or edge
//! spaces): writing a row that did not matter costs a little; missing one that did would
//! change a result.

use std::collections::{BTreeMap, BTreeSet};

use marmot_core::{RowChange, Value};
use rusqlite::Connection;

use super::codec::decode_key;
use super::schema::TableInfo;
use super::StoreError;

/// Per column (lower case): the literal each named row gives it (see [`Replay::Keyed`]).
pub type Literals = BTreeMap<String, Vec<Option<String>>>;

/// What a statement reads and writes, as far as its shape tells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Replay {
    /// Anything: every earlier row is written first.
    #[default]
    All,
    /// Only rows of `table` whose key column is one of the literals given for it.
    Keyed {
        /// The one table the statement names (unqualified).
        table: String,
        /// Per column (lower case): the literal each named row gives it, `None` where it
        /// is not a plain literal. A `WHERE col = 1` or `col IN (1, 2)` gives `col`; an
        /// `INSERT (a, b) VALUES (…), (…)` gives `a` and `b`.
        literals: Literals,
        /// Columns the statement assigns (lower case): a statement that moves a row to a
        /// new key may collide with any row.
        assigned: BTreeSet<String>,
    },
}

/// A value reduced so that values SQLite may consider equal (after column affinity and
/// `NOCASE`) reduce to the same text. `None`: cannot say (blobs, NULL).
pub fn loose(v: &Value) -> Option<String> {
    match v {
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(loose_number(*f)),
        Value::Text(s) => Some(loose_text(s)),
        _ => None,
    }
}

/// [`loose`] of a literal as the statement spells it (unquoted text, or a number).
pub fn loose_text(s: &str) -> String {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return i.to_string();
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => loose_number(f),
        _ => t.to_ascii_lowercase(),
    }
}

fn loose_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        (f as i64).to_string()
    } else {
        format!("{f:?}")
    }
}

/// The earlier rows `pending` that a statement of shape `replay` on `database` must see,
/// given the writer's user tables `tables` and those of them not [`linked_tables`], `alone`.
/// `None`: all of them.
pub fn rows_to_write<'a>(
    tables: &BTreeMap<String, TableInfo>,
    alone: &BTreeSet<String>,
    database: &str,
    pending: &'a [RowChange],
    replay: &Replay,
) -> Result<Option<Vec<&'a RowChange>>, StoreError> {
    let Replay::Keyed { table, literals, assigned } = replay else { return Ok(None) };
    let Some(info) = tables.get(table).or_else(|| tables.values().find(|t| t.name.eq_ignore_ascii_case(table))) else {
        return Ok(None);
    };
    let [pk] = info.pk.as_slice() else { return Ok(None) };
    let pk = pk.to_ascii_lowercase();
    if assigned.contains(&pk) || !alone.contains(&info.name) {
        return Ok(None);
    }
    let Some(keys) = literals.get(&pk) else { return Ok(None) };
    let Some(keys) = keys.iter().cloned().collect::<Option<BTreeSet<String>>>() else { return Ok(None) };
    let mut out = Vec::new();
    for row in pending.iter().filter(|r| r.database == database) {
        if super::ddl::is_ddl(row) {
            return Ok(None);
        }
        if row.table != info.name {
            continue;
        }
        let matches = match decode_key(&row.key)?.as_slice() {
            [v] => loose(v).is_none_or(|k| keys.contains(&k)),
            _ => true,
        };
        if matches {
            out.push(row);
        }
    }
    Ok(Some(out))
}

/// The tables (lower case) whose rows may be linked to other rows: with a unique index
/// besides the primary key, a foreign key from or to them, or a trigger of their own
/// (marmot's TEMP capture triggers record, they do not link). One pass over the schema,
/// run when the writer's capture triggers are rebuilt.
pub fn linked_tables(conn: &Connection) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT lower(m.name) FROM main.sqlite_master AS m WHERE m.type = 'table' AND (
             EXISTS (SELECT 1 FROM pragma_index_list(m.name) WHERE \"unique\" AND origin <> 'pk')
             OR EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name)))
         UNION SELECT lower(tbl_name) FROM main.sqlite_master WHERE type = 'trigger'
         UNION SELECT lower(f.\"table\") FROM main.sqlite_master AS m, pragma_foreign_key_list(m.name) AS f
               WHERE m.type = 'table'",
    )?;
    let names = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_keys_meet_where_sqlite_might_call_them_equal() {
        assert_eq!(loose(&Value::Integer(5)), Some(loose_text("5")));
        assert_eq!(loose(&Value::Integer(5)), Some(loose_text(" 05 ")));
        assert_eq!(loose(&Value::Real(5.0)), Some(loose_text("5")));
        assert_eq!(loose(&Value::Text("Key-7".into())), Some(loose_text("key-7")));
        assert_ne!(loose(&Value::Text("key-7".into())), Some(loose_text("key-8")));
        assert_eq!(loose(&Value::Null), None);
    }

    #[test]
    fn linked_tables_are_those_a_row_of_another_can_depend_on() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE alone (id INTEGER PRIMARY KEY, v TEXT);
             CREATE TABLE Parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent (id));
             CREATE TABLE uniq (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
             CREATE TABLE trig (id INTEGER PRIMARY KEY);
             CREATE TRIGGER t AFTER INSERT ON trig BEGIN SELECT 1; END;",
        )
        .unwrap();
        let want: BTreeSet<String> = ["child", "parent", "trig", "uniq"].map(String::from).into();
        assert_eq!(linked_tables(&c).unwrap(), want);
    }
}
