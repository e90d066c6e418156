//! MySQL's JSON functions, registered on client connections over SQLite's own.
//!
//! SQLite's json1 differs where applications notice: its `json_extract` returns SQL
//! values (the string `x`, not the JSON `"x"`), it prints JSON without spaces, its
//! `json_type` is lower-case and it has no `JSON_UNQUOTE`, `JSON_KEYS` or `JSON_CONTAINS`.
//! These follow MySQL/MariaDB: results are JSON text printed with `", "` and `": "`,
//! object members keep their order, invalid documents give NULL (MariaDB's answer, with a
//! warning there). A JSON result carries SQLite's JSON subtype, so that
//! `JSON_OBJECT('a', JSON_ARRAY(1))` nests the array instead of quoting it.

use super::functions::need_args;
use rusqlite::functions::{Context, FunctionFlags, SubType};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::json_value::{parse_path, Json, Step};

/// SQLite's subtype for JSON text (`'J'`).
const JSON_SUBTYPE: u32 = 74;

pub(crate) type Out = (SqlValue, SubType);

pub(crate) fn json_out(j: &Json) -> Out {
    (SqlValue::Text(j.to_mysql()), Some(JSON_SUBTYPE))
}

pub(crate) fn plain(v: SqlValue) -> Out {
    (v, None)
}

fn text_arg(ctx: &Context<'_>, i: usize) -> Option<String> {
    match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
    }
}

/// A document argument (`None`: NULL or not JSON).
pub(crate) fn doc_arg(ctx: &Context<'_>, i: usize) -> Option<Json> {
    Json::parse(&text_arg(ctx, i)?)
}

/// A value argument as JSON: numbers as numbers, JSON results as JSON, text as a string.
pub(crate) fn value_arg(ctx: &Context<'_>, i: usize) -> Json {
    match ctx.get_raw(i) {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(n) => Json::Number(n.into()),
        ValueRef::Real(r) => serde_json::Number::from_f64(r).map_or(Json::Null, Json::Number),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let s = String::from_utf8_lossy(t);
            if ctx.get_subtype(i) == JSON_SUBTYPE {
                Json::parse(&s).unwrap_or_else(|| Json::String(s.into_owned()))
            } else {
                Json::String(s.into_owned())
            }
        }
    }
}

pub(crate) fn path_arg(ctx: &Context<'_>, i: usize) -> Option<Vec<Step>> {
    parse_path(&text_arg(ctx, i)?)
}

/// The value at the optional path argument `i` (the document itself without one); `None`
/// if the path is NULL or invalid or reaches nothing.
fn at_optional_path(ctx: &Context<'_>, doc: Json, i: usize) -> Option<Json> {
    if ctx.len() <= i {
        return Some(doc);
    }
    doc.select(&path_arg(ctx, i)?).into_iter().next().cloned()
}

/// JSON_EXTRACT(doc, path, …): one match as itself; several paths or wildcards give an
/// array of every match.
fn extract(ctx: &Context<'_>) -> Out {
    let Some(doc) = doc_arg(ctx, 0) else { return plain(SqlValue::Null) };
    let mut found = Vec::new();
    let mut wild = ctx.len() > 2;
    for i in 1..ctx.len() {
        let Some(path) = path_arg(ctx, i) else { return plain(SqlValue::Null) };
        wild |= path.iter().any(|s| matches!(s, Step::AnyMember | Step::AnyElement));
        found.extend(doc.select(&path).into_iter().cloned());
    }
    match found.len() {
        0 => plain(SqlValue::Null),
        1 if !wild => json_out(&found[0]),
        _ => json_out(&Json::Array(found)),
    }
}

/// JSON_UNQUOTE(text): a JSON string's contents; a JSON number as an SQL number; anything
/// else as it is. (MySQL returns the number's text, which it compares as a number; SQLite
/// would compare that text as greater than every number, so `doc->>'$.n' > 4` would hold
/// for every row.)
fn unquote(ctx: &Context<'_>) -> Out {
    let Some(s) = text_arg(ctx, 0) else { return plain(SqlValue::Null) };
    match Json::parse(&s) {
        Some(Json::String(inner)) if s.trim_start().starts_with('"') => plain(SqlValue::Text(inner)),
        Some(Json::Number(n)) => plain(match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            (None, Some(f)) => SqlValue::Real(f),
            _ => SqlValue::Text(s),
        }),
        _ => plain(SqlValue::Text(s)),
    }
}

/// JSON_SET / JSON_INSERT / JSON_REPLACE (`replace`: existing members, `insert`: new ones).
fn modify(ctx: &Context<'_>, insert: bool, replace: bool) -> Out {
    let Some(mut doc) = doc_arg(ctx, 0) else { return plain(SqlValue::Null) };
    let mut i = 1;
    while i + 1 < ctx.len() {
        let Some(path) = path_arg(ctx, i) else { return plain(SqlValue::Null) };
        doc.put(&path, value_arg(ctx, i + 1), insert, replace);
        i += 2;
    }
    json_out(&doc)
}

/// Register the functions on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let json = det | FunctionFlags::SQLITE_RESULT_SUBTYPE | FunctionFlags::SQLITE_SUBTYPE;
    conn.create_scalar_function("json_extract", -1, json, |ctx| {
        need_args(ctx, 2, usize::MAX, "JSON_EXTRACT")?;
        Ok(extract(ctx))
    })?;
    conn.create_scalar_function("json_unquote", 1, json, |ctx| Ok(unquote(ctx)))?;
    conn.create_scalar_function("json_quote", 1, json, |ctx| {
        Ok(match text_arg(ctx, 0) {
            Some(s) => plain(SqlValue::Text(Json::String(s).to_mysql())),
            None => plain(SqlValue::Null),
        })
    })?;
    conn.create_scalar_function("json_object", -1, json, |ctx| {
        let mut members = Vec::new();
        for i in (0..ctx.len().saturating_sub(1)).step_by(2) {
            let Some(key) = text_arg(ctx, i) else {
                return Err(rusqlite::Error::UserFunctionError(
                    "JSON documents may not contain NULL member names".into(),
                ));
            };
            members.push((key, value_arg(ctx, i + 1)));
        }
        Ok(json_out(&Json::Object(members)))
    })?;
    conn.create_scalar_function("json_array", -1, json, |ctx| {
        Ok(json_out(&Json::Array((0..ctx.len()).map(|i| value_arg(ctx, i)).collect())))
    })?;
    conn.create_scalar_function("json_valid", 1, json, |ctx| {
        Ok(plain(match text_arg(ctx, 0) {
            Some(s) => SqlValue::Integer(i64::from(Json::parse(&s).is_some())),
            None => SqlValue::Null,
        }))
    })?;
    conn.create_scalar_function("json_type", 1, json, |ctx| {
        Ok(plain(doc_arg(ctx, 0).map_or(SqlValue::Null, |d| SqlValue::Text(d.type_name().into()))))
    })?;
    conn.create_scalar_function("json_length", -1, json, |ctx| {
        need_args(ctx, 1, 2, "JSON_LENGTH")?;
        let target = doc_arg(ctx, 0).and_then(|doc| at_optional_path(ctx, doc, 1));
        Ok(plain(target.map_or(SqlValue::Null, |t| SqlValue::Integer(t.length() as i64))))
    })?;
    conn.create_scalar_function("json_keys", -1, json, |ctx| {
        need_args(ctx, 1, 2, "JSON_KEYS")?;
        let target = doc_arg(ctx, 0).and_then(|doc| at_optional_path(ctx, doc, 1));
        Ok(match target {
            Some(Json::Object(members)) => {
                json_out(&Json::Array(members.into_iter().map(|(k, _)| Json::String(k)).collect()))
            }
            _ => plain(SqlValue::Null),
        })
    })?;
    conn.create_scalar_function("json_contains", -1, json, |ctx| {
        need_args(ctx, 2, 3, "JSON_CONTAINS")?;
        let Some(candidate) = doc_arg(ctx, 1) else { return Ok(plain(SqlValue::Null)) };
        let target = doc_arg(ctx, 0).and_then(|doc| at_optional_path(ctx, doc, 2));
        Ok(plain(target.map_or(SqlValue::Null, |t| SqlValue::Integer(i64::from(t.contains(&candidate))))))
    })?;
    // (name, may insert, may replace)
    for (name, insert, replace) in
        [("JSON_SET", true, true), ("JSON_INSERT", true, false), ("JSON_REPLACE", false, true)]
    {
        conn.create_scalar_function(name.to_lowercase().as_str(), -1, json, move |ctx| {
            need_args(ctx, 3, usize::MAX, name)?;
            Ok(modify(ctx, insert, replace))
        })?;
    }
    conn.create_scalar_function("json_remove", -1, json, |ctx| {
        need_args(ctx, 2, usize::MAX, "JSON_REMOVE")?;
        let Some(mut doc) = doc_arg(ctx, 0) else { return Ok(plain(SqlValue::Null)) };
        for i in 1..ctx.len() {
            let Some(path) = path_arg(ctx, i) else { return Ok(plain(SqlValue::Null)) };
            doc.remove(&path);
        }
        Ok(json_out(&doc))
    })?;
    Ok(())
}
