//! MySQL's regular expressions: `expr REGEXP pattern` (and `RLIKE`, `NOT REGEXP`), which
//! SQLite parses and hands to a function named `regexp`, and MariaDB's `REGEXP_REPLACE`,
//! `REGEXP_SUBSTR` and `REGEXP_INSTR`. Matching is case-insensitive, as with MySQL's
//! default (case-insensitive) collations. A pattern is compiled once per statement.
//!
//! MySQL's patterns are PCRE's (MariaDB) or ICU's (MySQL 8). The regex crate runs the
//! common ground in linear time; PCRE's bracket-expression habits it reads otherwise (a
//! `[` or a leading `]` inside a class is literal, `{` not starting a count is literal)
//! are escaped first ([`pcre_to_rust`]), and a pattern that needs backtracking
//! (look-around, back-references) is run by fancy-regex.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::Connection;

/// A compiled pattern: the regex crate's, or fancy-regex's for what only backtracking can
/// match.
enum Pattern {
    Linear(Regex),
    Backtracking(fancy_regex::Regex),
}

impl Pattern {
    fn compile(p: &str) -> Result<Pattern, String> {
        let p = pcre_to_rust(p);
        match RegexBuilder::new(&p).case_insensitive(true).build() {
            Ok(re) => Ok(Pattern::Linear(re)),
            Err(linear_error) => fancy_regex::RegexBuilder::new(&p)
                .case_insensitive(true)
                .build()
                .map(Pattern::Backtracking)
                .map_err(|_| format!("Got error '{linear_error}' from regexp")),
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Linear(re) => re.is_match(s),
            Pattern::Backtracking(re) => re.is_match(s).unwrap_or(false),
        }
    }

    /// The first match's byte range.
    fn find(&self, s: &str) -> Option<(usize, usize)> {
        match self {
            Pattern::Linear(re) => re.find(s).map(|m| (m.start(), m.end())),
            Pattern::Backtracking(re) => re.find(s).ok().flatten().map(|m| (m.start(), m.end())),
        }
    }

    fn replace_all<'t>(&self, s: &'t str, with: &str) -> Cow<'t, str> {
        match self {
            Pattern::Linear(re) => re.replace_all(s, with),
            Pattern::Backtracking(re) => re.replace_all(s, with),
        }
    }
}

/// PCRE's literal brackets and braces escaped for the regex crate: inside a class, `[`
/// that does not open a POSIX class (`[:alpha:]`), a `]` right after the opening `[` or
/// `[^`, and `&`/`~` (set operators to the regex crate); outside, `{` that does not start
/// a count (`a{2,3}`).
pub fn pcre_to_rust(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(n) = chars.get(i + 1) {
                out.push(*n);
            }
            i += 2;
            continue;
        }
        if in_class {
            match c {
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class runs to its `:]`.
                    let end = (i + 2..chars.len().saturating_sub(1)).find(|j| chars[*j] == ':' && chars[j + 1] == ']');
                    match end {
                        Some(e) => {
                            out.extend(&chars[i..e + 2]);
                            i = e + 2;
                            continue;
                        }
                        None => out.push_str("\\["),
                    }
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                ']' => {
                    in_class = false;
                    out.push(c);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push(c);
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '{' => {
                let count = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit() || **c == ',').count();
                let is_count = count > 0 && chars.get(i + 1 + count) == Some(&'}') && chars[i + 1].is_ascii_digit();
                if !is_count {
                    out.push('\\');
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The compiled pattern of argument `arg`, or `None` when it is NULL.
fn pattern(ctx: &Context<'_>, arg: usize) -> rusqlite::Result<Option<std::sync::Arc<Pattern>>> {
    if ctx.get_raw(arg).as_str_or_null()?.is_none() {
        return Ok(None);
    }
    ctx.get_or_create_aux(arg as i32, |v| {
        let p = v.as_str().map_err(|e| e.to_string())?;
        Pattern::compile(p)
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
        Ok(Some(re.find(&s).map_or(String::new(), |(a, b)| s[a..b].to_string())))
    })?;
    conn.create_scalar_function("regexp_instr", 2, det, |ctx| {
        let (Some(s), Some(re)) = (subject(ctx, 0)?, pattern(ctx, 1)?) else { return Ok(None) };
        Ok(Some(re.find(&s).map_or(0, |(a, _)| s[..a].chars().count() as i64 + 1)))
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

    #[test]
    fn pcre_patterns_the_regex_crate_reads_otherwise() {
        assert_eq!(pcre_to_rust("[[(][0-9]+[])]"), "[\\[(][0-9]+[\\])]");
        assert_eq!(pcre_to_rust("[[:alpha:]]x{2}a{b"), "[[:alpha:]]x{2}a\\{b");
        assert_eq!(eval("'x (12]' REGEXP '[[(][0-9]+[])]'").unwrap(), "1");
        // Look-ahead and back-references: backtracking.
        assert_eq!(eval("'foobar' REGEXP 'foo(?=bar)'").unwrap(), "1");
        assert_eq!(eval("'abab' REGEXP '^(ab)\\1$'").unwrap(), "1");
        assert_eq!(eval("regexp_substr('price: 42 USD', '\\d+(?= USD)')").unwrap(), "42");
    }
}
