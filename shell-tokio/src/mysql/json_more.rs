//! More of MySQL's and MariaDB's JSON functions, over the same document type as
//! [`super::json`]: JSON_VALUE, JSON_EXISTS, JSON_CONTAINS_PATH, JSON_DEPTH, JSON_OVERLAPS,
//! JSON_MERGE_PATCH, JSON_MERGE_PRESERVE (and its old name JSON_MERGE), JSON_ARRAY_APPEND.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

use super::functions::need_args;
use super::json::{doc_arg, json_out, path_arg, plain, value_arg, Out};
use super::json_value::Json;

fn truth(b: bool) -> Out {
    plain(SqlValue::Integer(i64::from(b)))
}

/// Nesting depth: 1 for a scalar or an empty container.
fn depth(j: &Json) -> i64 {
    match j {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(members) => 1 + members.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 1,
    }
}

/// JSON_OVERLAPS: a shared element of two arrays, a shared member of two objects, an
/// array holding the other value, or two equal values.
fn overlaps(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => x.iter().any(|e| y.contains(e)),
        (Json::Object(x), Json::Object(y)) => x.iter().any(|m| y.contains(m)),
        (Json::Array(x), other) | (other, Json::Array(x)) => x.contains(other),
        (x, y) => x == y,
    }
}

/// RFC 7396 merge of `patch` into `target` (a null member removes it).
fn merge_patch(target: Json, patch: Json) -> Json {
    let Json::Object(patch) = patch else { return patch };
    let mut members = match target {
        Json::Object(m) => m,
        _ => Vec::new(),
    };
    for (k, v) in patch {
        let old = members.iter().position(|(key, _)| *key == k);
        match (v, old) {
            (Json::Null, Some(at)) => {
                members.remove(at);
            }
            (Json::Null, None) => {}
            (v, Some(at)) => {
                let prev = std::mem::replace(&mut members[at].1, Json::Null);
                members[at].1 = merge_patch(prev, v);
            }
            (v, None) => members.push((k, merge_patch(Json::Null, v))),
        }
    }
    Json::Object(members)
}

/// JSON_MERGE_PRESERVE: arrays concatenated, objects merged (a shared key's values merged
/// in turn), anything else wrapped into an array first.
fn merge_preserve(a: Json, b: Json) -> Json {
    match (a, b) {
        (Json::Object(mut x), Json::Object(y)) => {
            for (k, v) in y {
                match x.iter().position(|(key, _)| *key == k) {
                    Some(at) => {
                        let prev = std::mem::replace(&mut x[at].1, Json::Null);
                        x[at].1 = merge_preserve(prev, v);
                    }
                    None => x.push((k, v)),
                }
            }
            Json::Object(x)
        }
        (a, b) => {
            let items = |j: Json| match j {
                Json::Array(v) => v,
                other => vec![other],
            };
            let mut out = items(a);
            out.extend(items(b));
            Json::Array(out)
        }
    }
}

/// Register the functions on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let json = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_RESULT_SUBTYPE
        | FunctionFlags::SQLITE_SUBTYPE;
    conn.create_scalar_function("json_value", 2, json, |ctx| {
        let (Some(doc), Some(path)) = (doc_arg(ctx, 0), path_arg(ctx, 1)) else { return Ok(plain(SqlValue::Null)) };
        Ok(plain(match doc.select(&path).first() {
            Some(Json::String(s)) => SqlValue::Text(s.clone()),
            Some(Json::Null) | Some(Json::Array(_)) | Some(Json::Object(_)) | None => SqlValue::Null,
            Some(scalar) => SqlValue::Text(scalar.to_mysql()),
        }))
    })?;
    conn.create_scalar_function("json_exists", 2, json, |ctx| {
        let (Some(doc), Some(path)) = (doc_arg(ctx, 0), path_arg(ctx, 1)) else { return Ok(plain(SqlValue::Null)) };
        Ok(truth(!doc.select(&path).is_empty()))
    })?;
    conn.create_scalar_function("json_contains_path", -1, json, |ctx| {
        need_args(ctx, 3, usize::MAX, "JSON_CONTAINS_PATH")?;
        let Some(doc) = doc_arg(ctx, 0) else { return Ok(plain(SqlValue::Null)) };
        let all = match super::functions::text(ctx, 1).map(|m| m.to_ascii_lowercase()).as_deref() {
            Some("all") => true,
            Some("one") => false,
            _ => return Ok(plain(SqlValue::Null)),
        };
        let mut found = Vec::new();
        for i in 2..ctx.len() {
            let Some(path) = path_arg(ctx, i) else { return Ok(plain(SqlValue::Null)) };
            found.push(!doc.select(&path).is_empty());
        }
        Ok(truth(if all { found.iter().all(|f| *f) } else { found.iter().any(|f| *f) }))
    })?;
    conn.create_scalar_function("json_depth", 1, json, |ctx| {
        Ok(plain(doc_arg(ctx, 0).map_or(SqlValue::Null, |d| SqlValue::Integer(depth(&d)))))
    })?;
    conn.create_scalar_function("json_overlaps", 2, json, |ctx| {
        let (Some(a), Some(b)) = (doc_arg(ctx, 0), doc_arg(ctx, 1)) else { return Ok(plain(SqlValue::Null)) };
        Ok(truth(overlaps(&a, &b)))
    })?;
    for (name, patch) in [("json_merge_patch", true), ("json_merge_preserve", false), ("json_merge", false)] {
        conn.create_scalar_function(name, -1, json, move |ctx| {
            need_args(ctx, 2, usize::MAX, &name.to_uppercase())?;
            let mut docs = Vec::new();
            for i in 0..ctx.len() {
                let Some(d) = doc_arg(ctx, i) else { return Ok(plain(SqlValue::Null)) };
                docs.push(d);
            }
            let merged = docs.into_iter().reduce(|a, b| if patch { merge_patch(a, b) } else { merge_preserve(a, b) });
            Ok(merged.map_or(plain(SqlValue::Null), |m| json_out(&m)))
        })?;
    }
    conn.create_scalar_function("json_array_append", -1, json, |ctx| {
        need_args(ctx, 3, usize::MAX, "JSON_ARRAY_APPEND")?;
        let Some(mut doc) = doc_arg(ctx, 0) else { return Ok(plain(SqlValue::Null)) };
        for i in (1..ctx.len() - 1).step_by(2) {
            let Some(path) = path_arg(ctx, i) else { return Ok(plain(SqlValue::Null)) };
            let Some(at) = doc.select(&path).first().map(|j| (*j).clone()) else { continue };
            let appended = merge_preserve(at, Json::Array(vec![value_arg(ctx, i + 1)]));
            doc.put(&path, appended, false, true);
        }
        Ok(json_out(&doc))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_functions_answer_as_mysql_documents_them() {
        let c = Connection::open_in_memory().unwrap();
        super::super::json::register(&c).unwrap();
        register(&c).unwrap();
        let eval = |sql: &str| -> Option<String> {
            match c.query_row(&format!("SELECT {sql}"), [], |r| r.get::<_, SqlValue>(0)).unwrap() {
                SqlValue::Integer(i) => Some(i.to_string()),
                SqlValue::Text(t) => Some(t),
                _ => None,
            }
        };
        assert_eq!(eval(r#"json_value('{"a": {"b": "x"}, "n": 1.5}', '$.a.b')"#).unwrap(), "x");
        assert_eq!(eval(r#"json_value('{"n": 1.5}', '$.n')"#).unwrap(), "1.5");
        assert_eq!(eval(r#"json_value('{"a": [1]}', '$.a')"#), None);
        assert_eq!(eval(r#"json_exists('{"a": 1}', '$.b')"#).unwrap(), "0");
        assert_eq!(eval(r#"json_contains_path('{"a": 1, "b": 2}', 'all', '$.a', '$.c')"#).unwrap(), "0");
        assert_eq!(eval(r#"json_contains_path('{"a": 1, "b": 2}', 'one', '$.a', '$.c')"#).unwrap(), "1");
        assert_eq!(eval(r#"json_depth('[10, {"a": 20}]')"#).unwrap(), "3");
        assert_eq!(eval("json_overlaps('[1, 3, 5]', '[2, 5, 7]')").unwrap(), "1");
        assert_eq!(eval(r#"json_overlaps('{"a": 1}', '{"a": 2}')"#).unwrap(), "0");
        assert_eq!(
            eval(r#"json_merge_patch('{"a": 1, "b": 2}', '{"b": null, "c": {"d": 3}}')"#).unwrap(),
            r#"{"a": 1, "c": {"d": 3}}"#
        );
        assert_eq!(eval(r#"json_merge_preserve('{"a": 1}', '{"a": 2}', '3')"#).unwrap(), r#"[{"a": [1, 2]}, 3]"#);
        assert_eq!(
            eval(r#"json_array_append('{"a": [1], "b": 2}', '$.a', 7, '$.b', 'x')"#).unwrap(),
            r#"{"a": [1, 7], "b": [2, "x"]}"#
        );
    }
}
