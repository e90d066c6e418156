//! MySQL's regular expressions: `expr REGEXP pattern` (and `RLIKE`, `NOT REGEXP`), which
//! SQLite parses and hands to a function named `regexp`, and MariaDB's `REGEXP_REPLACE`,
//! `REGEXP_SUBSTR` and `REGEXP_INSTR`. Matching is case-insensitive, as with MySQL's
//! default (case-insensitive) collations. A pattern is compiled once per statement.

use regex::{Regex, RegexBuilder};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::Connection;

/// The compiled pattern of argument `arg`, or `None` when it is NULL.
fn pattern(ctx: &Context<'_>, arg: usize) -> rusqlite::Result<Option<std::sync::Arc<Regex>>> {
    if ctx.get_raw(arg).as_str_or_null()?.is_none() {
        return Ok(None);
    }
    ctx.get_or_create_aux(arg as i32, |v| {
        let p = v.as_str().map_err(|e| e.to_string())?;
        RegexBuilder::new(p).case_insensitive(true).build().map_err(|e| format!("Got error '{e}' from regexp"))
    })
    .map(Some)
}

fn subject(ctx: &Context<'_>, arg: usize) -> rusqlite::Result<Option<String>> {
    Ok(match ctx.get_raw(arg) {
        rusqlite::types::ValueRef::Null => None,
        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
            Some(String::from_utf8_lossy(t).into_owned())
        }
        rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
        rusqlite::types::ValueRef::Real(r) => Some(r.to_string()),
    })
}

/// MySQL's `\1` back-references in a replacement, as the regex crate's `${1}`.
fn replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                out.push_str(&format!("${{{d}}}"));
                chars.next();
            }
            ('\\', Some(&n)) => {
                out.push(n);
                chars.next();
            }
            ('$', _) => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out
}

/// Register `regexp`, `regexp_replace`, `regexp_substr` and `regexp_instr`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // SQLite turns `x REGEXP p` into regexp(p, x).
    conn.create_scalar_function("regexp", 2, det, |ctx| {
        let (Some(re), Some(s)) = (pattern(ctx, 0)?, subject(ctx, 1)?) else { return Ok(None) };
        Ok(Some(re.is_match(&s) as i64))
    })?;
    conn.create_scalar_function("regexp_replace", 3, det, |ctx| {
        let (Some(s), Some(re)) = (subject(ctx, 0)?, pattern(ctx, 1)?) else { return Ok(None) };
        let Some(with) = subject(ctx, 2)? else { return Ok(None) };
        Ok(Some(re.replace_all(&s, replacement(&with).as_str()).into_owned()))
    })?;
    conn.create_scalar_function("regexp_substr", 2, det, |ctx| {
        let (Some(s), Some(re)) = (subject(ctx, 0)?, pattern(ctx, 1)?) else { return Ok(None) };
        Ok(Some(re.find(&s).map_or(String::new(), |m| m.as_str().to_string())))
    })?;
    conn.create_scalar_function("regexp_instr", 2, det, |ctx| {
        let (Some(s), Some(re)) = (subject(ctx, 0)?, pattern(ctx, 1)?) else { return Ok(None) };
        Ok(Some(re.find(&s).map_or(0, |m| s[..m.start()].chars().count() as i64 + 1)))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(sql: &str) -> Option<String> {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c.query_row(&format!("SELECT {sql}"), [], |r| r.get::<_, Option<rusqlite::types::Value>>(0)).unwrap().map(|v| {
            match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            }
        })
    }

    #[test]
    fn regexp_matches_like_mysql() {
        assert_eq!(eval("'rss_0123456789abcdef0123456789abcdef_ts' REGEXP '^rss_[0-9a-f]{32}(_ts)?$'").unwrap(), "1");
        assert_eq!(eval("'RSS_x' REGEXP '^rss_'").unwrap(), "1", "case-insensitive like the default collation");
        assert_eq!(eval("'abc' NOT REGEXP 'b'").unwrap(), "0");
        assert_eq!(eval("NULL REGEXP 'a'"), None);
        assert_eq!(eval("regexp_replace('a1b22', '[0-9]+', '<\\0>')").unwrap(), "a<1>b<22>");
        assert_eq!(eval("regexp_replace('John Smith', '(\\w+) (\\w+)', '\\2, \\1')").unwrap(), "Smith, John");
        assert_eq!(eval("regexp_substr('abc123def', '[0-9]+')").unwrap(), "123");
        assert_eq!(eval("regexp_instr('héllo wörld', 'w')").unwrap(), "7");
    }
}
