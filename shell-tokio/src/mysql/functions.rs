//! MySQL functions SQLite lacks, registered on every session connection: string
//! (CONCAT_WS, SUBSTRING_INDEX, FIND_IN_SET, LPAD, RPAD, LOCATE, …), date and time
//! (DATE_FORMAT, UNIX_TIMESTAMP, FROM_UNIXTIME, DATEDIFF, YEAR, MONTH, DAY, …), math
//! (POW, RAND, GREATEST, LEAST) and hashes (SHA1, SHA2). Dates are handled as MySQL's
//! `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` text, in UTC.

use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;
use sha1::Digest;

use super::datetime::{civil_from_days, days_from_civil, DateTime};
pub(crate) use super::fn_args::{bytes, need_args, out_of_range, text, MAX_RESULT};

/// Argument `i` as an integer, `None` for NULL.
pub(super) fn int(ctx: &Context<'_>, i: usize) -> Option<i64> {
    match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n),
        // As MySQL converts a count or a length: numbers rounded, strings by their leading
        // number (`REPEAT('x', '3.5')` three times, `SPACE('abc')` none).
        ValueRef::Real(f) => Some(f.round() as i64),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Some(super::numeric::leading_number(&String::from_utf8_lossy(t)).trunc() as i64)
        }
    }
}

/// LPAD / RPAD: NULL for a negative length, and (as MySQL does past max_allowed_packet) for
/// one too long to build, so `RPAD('x', 4294967295, 'y')` cannot exhaust the server's memory.
fn pad(s: &str, len: i64, fill: &str, left: bool) -> Option<String> {
    let len = usize::try_from(len).ok().filter(|l| *l <= MAX_RESULT)?;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len {
        return Some(chars[..len].iter().collect());
    }
    let fill: Vec<char> = fill.chars().collect();
    if fill.is_empty() {
        return Some(String::new());
    }
    let padding: String = fill.iter().cycle().take(len - chars.len()).collect();
    Some(if left { padding + s } else { s.to_string() + &padding })
}

/// Register the functions on a connection. `seed` seeds RAND().
pub fn register(conn: &Connection, seed: u64) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("concat_ws", -1, det, |ctx| {
        need_args(ctx, 2, usize::MAX, "CONCAT_WS")?;
        let Some(sep) = text(ctx, 0) else { return Ok(None) };
        let parts: Vec<String> = (1..ctx.len()).filter_map(|i| text(ctx, i)).collect();
        Ok(Some(parts.join(&sep)))
    })?;
    conn.create_scalar_function("substring_index", 3, det, |ctx| {
        let (Some(s), Some(delim), Some(n)) = (text(ctx, 0), text(ctx, 1), int(ctx, 2)) else { return Ok(None) };
        if delim.is_empty() || n == 0 {
            return Ok(Some(String::new()));
        }
        let parts: Vec<&str> = s.split(delim.as_str()).collect();
        let n_abs = n.unsigned_abs() as usize;
        Ok(Some(if n > 0 {
            parts[..n_abs.min(parts.len())].join(&delim)
        } else {
            parts[parts.len().saturating_sub(n_abs)..].join(&delim)
        }))
    })?;
    conn.create_scalar_function("find_in_set", 2, det, |ctx| {
        let (Some(needle), Some(list)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        Ok(Some(list.split(',').position(|x| x == needle).map_or(0, |p| p as i64 + 1)))
    })?;
    // LPAD / RPAD of two arguments (MariaDB) pad with spaces.
    for (name, left) in [("lpad", true), ("rpad", false)] {
        conn.create_scalar_function(name, -1, det, move |ctx| {
            need_args(ctx, 2, 3, &name.to_uppercase())?;
            let fill = if ctx.len() == 3 { text(ctx, 2) } else { Some(" ".to_string()) };
            let (Some(s), Some(n), Some(f)) = (text(ctx, 0), int(ctx, 1), fill) else { return Ok(None) };
            Ok(pad(&s, n, &f, left))
        })?;
    }
    // COALESCE of one argument is MySQL's too (SQLite's wants two).
    conn.create_scalar_function("coalesce", 1, det, |ctx| ctx.get::<SqlValue>(0))?;
    conn.create_scalar_function("locate", -1, det, |ctx| {
        need_args(ctx, 2, 3, "LOCATE")?;
        let (Some(sub), Some(s)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        let start = if ctx.len() > 2 { int(ctx, 2).unwrap_or(1).max(1) as usize } else { 1 };
        let chars: Vec<char> = s.chars().collect();
        let tail: String = chars.iter().skip(start - 1).collect();
        Ok(Some(tail.find(&sub).map_or(0, |b| tail[..b].chars().count() + start) as i64))
    })?;
    for (name, f) in [("lcase", str::to_lowercase as fn(&str) -> String), ("ucase", str::to_uppercase)] {
        conn.create_scalar_function(name, 1, det, move |ctx| Ok(text(ctx, 0).map(|s| f(&s))))?;
    }
    conn.create_scalar_function("char_length", 1, det, |ctx| Ok(text(ctx, 0).map(|s| s.chars().count() as i64)))?;
    for (name, f) in [
        ("year", (|d: &DateTime| d.y) as fn(&DateTime) -> i64),
        ("month", |d| d.mo as i64),
        ("day", |d| d.d as i64),
        ("dayofmonth", |d| d.d as i64),
        ("hour", |d| d.h as i64),
        ("minute", |d| d.mi as i64),
        ("second", |d| d.s as i64),
        ("to_days", |d| d.days() + 719_528),
        ("dayofweek", |d| (d.days() + 4).rem_euclid(7) + 1),
        ("weekday", |d| (d.days() + 3).rem_euclid(7)),
        ("dayofyear", |d| d.days() - days_from_civil(d.y, 1, 1) + 1),
        ("quarter", |d| (d.mo as i64 - 1) / 3 + 1),
        ("week", |d| d.week(false, false, true).1),
    ] {
        conn.create_scalar_function(name, 1, det, move |ctx| {
            Ok(text(ctx, 0).and_then(|s| DateTime::parse(&s)).map(|d| f(&d)))
        })?;
    }
    conn.create_scalar_function("marmot_extract", 2, det, |ctx| {
        let (Some(unit), Some(d)) = (text(ctx, 0), text(ctx, 1).and_then(|s| DateTime::parse(&s))) else {
            return Ok(None);
        };
        Ok(d.extract(&unit))
    })?;
    // WEEK(date, mode): the mode's bits are Monday first (1), weeks of the week's own year
    // (2) and, for Monday-first modes, week 1 as the week with the first Monday (4); for
    // Sunday-first modes bit 4 means the opposite, as in MySQL's `week_mode()`.
    conn.create_scalar_function("week", 2, det, |ctx| {
        let (Some(d), Some(mode)) = (text(ctx, 0).and_then(|s| DateTime::parse(&s)), int(ctx, 1)) else {
            return Ok(None);
        };
        let monday_first = mode & 1 != 0;
        Ok(Some(d.week(monday_first, mode & 2 != 0, (mode & 4 != 0) == monday_first).1))
    })?;
    // YEARWEEK(date[, mode]): year * 100 + week, the week counted in its own year.
    conn.create_scalar_function("yearweek", -1, det, |ctx| {
        need_args(ctx, 1, 2, "YEARWEEK")?;
        let mode = if ctx.len() == 2 { int(ctx, 1) } else { Some(0) };
        let (Some(d), Some(mode)) = (text(ctx, 0).and_then(|s| DateTime::parse(&s)), mode) else {
            return Ok(None);
        };
        let monday_first = mode & 1 != 0;
        let (year, week) = d.week(monday_first, true, (mode & 4 != 0) == monday_first);
        Ok(Some(year * 100 + week))
    })?;
    for (name, fmt) in [("monthname", "%M"), ("dayname", "%W"), ("last_day", "last")] {
        conn.create_scalar_function(name, 1, det, move |ctx| {
            let Some(d) = text(ctx, 0).and_then(|s| DateTime::parse(&s)) else { return Ok(None) };
            Ok(Some(if fmt == "last" {
                let (y, m) = if d.mo == 12 { (d.y + 1, 1) } else { (d.y, d.mo + 1) };
                let (y, m, day) = civil_from_days(days_from_civil(y, m, 1) - 1);
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                d.format(fmt)
            }))
        })?;
    }
    conn.create_scalar_function("from_days", 1, det, |ctx| {
        Ok(int(ctx, 0).filter(|n| *n > 365).map(|n| {
            let (y, m, d) = civil_from_days(n - 719_528);
            format!("{y:04}-{m:02}-{d:02}")
        }))
    })?;
    conn.create_scalar_function("makedate", 2, det, |ctx| {
        let (Some(y), Some(n)) = (int(ctx, 0), int(ctx, 1)) else { return Ok(None) };
        Ok((n > 0).then(|| {
            let (y, m, d) = civil_from_days(days_from_civil(y, 1, 1) + n - 1);
            format!("{y:04}-{m:02}-{d:02}")
        }))
    })?;
    // CAST(x AS DATE | DATETIME).
    conn.create_scalar_function("marmot_cast_date", 2, det, |ctx| {
        let Some(d) = text(ctx, 0).and_then(|s| DateTime::parse(&s)) else { return Ok(None) };
        Ok(Some(if ctx.get::<i64>(1)? != 0 { d.to_mysql() } else { d.format("%Y-%m-%d") }))
    })?;
    conn.create_scalar_function("marmot_timestampdiff", 3, det, |ctx| {
        let (Some(unit), Some(a), Some(b)) = (text(ctx, 0), text(ctx, 1), text(ctx, 2)) else { return Ok(None) };
        let (Some(a), Some(b)) = (DateTime::parse(&a), DateTime::parse(&b)) else { return Ok(None) };
        let micros = |d: &DateTime| d.unix() as i128 * 1_000_000 + d.us as i128;
        let diff = micros(&b) - micros(&a);
        // Whole months between the two, counted as MySQL does (day and time decide).
        let months = || {
            let m = (b.y - a.y) * 12 + b.mo as i64 - a.mo as i64;
            let (a_rest, b_rest) = ((a.d, a.h, a.mi, a.s, a.us), (b.d, b.h, b.mi, b.s, b.us));
            if m > 0 && b_rest < a_rest {
                m - 1
            } else if m < 0 && b_rest > a_rest {
                m + 1
            } else {
                m
            }
        };
        Ok(Some(match unit.to_ascii_uppercase().as_str() {
            "MICROSECOND" => diff as i64,
            "SECOND" => (diff / 1_000_000) as i64,
            "MINUTE" => (diff / 60_000_000) as i64,
            "HOUR" => (diff / 3_600_000_000) as i64,
            "DAY" => (diff / 86_400_000_000) as i64,
            "WEEK" => (diff / (7 * 86_400_000_000)) as i64,
            "MONTH" => months(),
            "QUARTER" => months() / 3,
            "YEAR" => months() / 12,
            other => return Err(rusqlite::Error::UserFunctionError(format!("unknown unit {other}").into())),
        }))
    })?;
    conn.create_scalar_function("time_to_sec", 1, det, |ctx| {
        let Some(s) = text(ctx, 0) else { return Ok(None) };
        let s = s.trim();
        // A datetime's time part, or a time `[-]H:MM[:SS]`.
        let t = s.rsplit_once(' ').map_or(s, |(_, t)| t);
        let (neg, t) = t.strip_prefix('-').map_or((false, t), |t| (true, t));
        let mut parts = t.split('.').next().unwrap_or_default().split(':').map(|p| p.parse::<i64>());
        let (Some(Ok(h)), m, sec) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
        let total = h * 3600 + m.and_then(Result::ok).unwrap_or(0) * 60 + sec.and_then(Result::ok).unwrap_or(0);
        Ok(Some(if neg { -total } else { total }))
    })?;
    conn.create_scalar_function("sec_to_time", 1, det, |ctx| {
        Ok(int(ctx, 0).map(|n| {
            let a = n.unsigned_abs();
            format!("{}{:02}:{:02}:{:02}", if n < 0 { "-" } else { "" }, a / 3600, a % 3600 / 60, a % 60)
        }))
    })?;
    // ADDDATE(d, n) / SUBDATE(d, n): n days.
    for (name, sign) in [("adddate", 1), ("subdate", -1)] {
        conn.create_scalar_function(name, 2, det, move |ctx| {
            let (Some(s), Some(n)) = (text(ctx, 0), int(ctx, 1)) else { return Ok(None) };
            let moved = DateTime::parse(&s).and_then(|d| super::intervals::add_interval(d, sign * n, "DAY"));
            Ok(moved.map(|d| super::intervals::render(&d, s.trim().len() > 10, "DAY")))
        })?;
    }
    conn.create_scalar_function("datediff", 2, det, |ctx| {
        let a = text(ctx, 0).and_then(|s| DateTime::parse(&s));
        let b = text(ctx, 1).and_then(|s| DateTime::parse(&s));
        Ok(a.zip(b).map(|(a, b)| a.days() - b.days()))
    })?;
    conn.create_scalar_function("date_format", 2, det, |ctx| {
        let d = text(ctx, 0).and_then(|s| DateTime::parse(&s));
        Ok(d.zip(text(ctx, 1)).map(|(d, f)| d.format(&f)))
    })?;
    conn.create_scalar_function("from_unixtime", -1, det, |ctx| {
        need_args(ctx, 1, 2, "FROM_UNIXTIME")?;
        let Some(n) = int(ctx, 0) else { return Ok(None) };
        let d = DateTime::from_unix(n);
        Ok(Some(if ctx.len() > 1 { d.format(&text(ctx, 1).unwrap_or_default()) } else { d.to_mysql() }))
    })?;
    conn.create_scalar_function("unix_timestamp", -1, FunctionFlags::SQLITE_UTF8, |ctx| {
        if ctx.is_empty() {
            return Ok(Some((crate::engine::wall_ms() / 1000) as i64));
        }
        Ok(text(ctx, 0).and_then(|s| DateTime::parse(&s)).map(|d| d.unix()))
    })?;
    for (name, sign) in [("date_add", 1), ("adddate", 1), ("date_sub", -1), ("subdate", -1)] {
        conn.create_scalar_function(name, 3, det, move |ctx| {
            let (Some(s), Some(unit)) = (text(ctx, 0), text(ctx, 2)) else { return Ok(None) };
            let d = DateTime::parse(&s);
            let moved = if super::intervals::compound_parts(&unit).is_some() {
                // `INTERVAL '1:30' HOUR_MINUTE`: the value is text; DATE_SUB negates it.
                let Some(v) = text(ctx, 1) else { return Ok(None) };
                let v = match (sign < 0, v.trim().strip_prefix('-')) {
                    (false, _) => v,
                    (true, Some(positive)) => positive.to_string(),
                    (true, None) => format!("-{}", v.trim()),
                };
                d.and_then(|d| super::intervals::add_compound(d, &v, &unit))
            } else {
                let Some(n) = int(ctx, 1) else { return Ok(None) };
                d.and_then(|d| super::intervals::add_interval(d, sign * n, &unit))
            };
            Ok(moved.map(|d| super::intervals::render(&d, s.trim().len() > 10, &unit)))
        })?;
    }
    conn.create_scalar_function("str_to_date", 2, det, |ctx| {
        Ok(text(ctx, 0).zip(text(ctx, 1)).and_then(|(s, f)| super::intervals::str_to_date(&s, &f)))
    })?;
    // MySQL: a result longer than max_allowed_packet (64 MiB here) is NULL.
    let repeat = |s: &str, n: i64| {
        let n = n.max(0) as usize;
        (s.len().saturating_mul(n) <= MAX_RESULT).then(|| s.repeat(n))
    };
    conn.create_scalar_function("repeat", 2, det, move |ctx| {
        let (Some(s), Some(n)) = (text(ctx, 0), int(ctx, 1)) else { return Ok(None) };
        Ok(repeat(&s, n))
    })?;
    conn.create_scalar_function("space", 1, det, move |ctx| Ok(int(ctx, 0).and_then(|n| repeat(" ", n))))?;
    for (name, from_left) in [("left", true), ("right", false)] {
        conn.create_scalar_function(name, 2, det, move |ctx| {
            let (Some(s), Some(n)) = (text(ctx, 0), int(ctx, 1)) else { return Ok(None) };
            let chars: Vec<char> = s.chars().collect();
            let n = (n.max(0) as usize).min(chars.len());
            Ok(Some(if from_left {
                chars[..n].iter().collect::<String>()
            } else {
                chars[chars.len() - n..].iter().collect()
            }))
        })?;
    }
    conn.create_scalar_function(
        "reverse",
        1,
        det,
        |ctx| Ok(text(ctx, 0).map(|s| s.chars().rev().collect::<String>())),
    )?;
    for name in ["pow", "power"] {
        conn.create_scalar_function(name, 2, det, move |ctx| {
            let (Some(b), Some(e)) = (super::numeric::num(ctx, 0), super::numeric::num(ctx, 1)) else {
                return Ok(SqlValue::Null);
            };
            let v = b.powf(e);
            if !v.is_finite() {
                return Err(out_of_range(&format!("{name}({b},{e})")));
            }
            Ok(super::numeric::real(v))
        })?;
    }
    for (name, greatest) in [("greatest", true), ("least", false)] {
        conn.create_scalar_function(name, -1, det, move |ctx| {
            let mut best: Option<SqlValue> = None;
            // With a number among the arguments MySQL compares them all as numbers, strings
            // by their leading number (GREATEST('abc', 0) is 0).
            let numeric = (0..ctx.len()).any(|i| matches!(ctx.get_raw(i), ValueRef::Integer(_) | ValueRef::Real(_)));
            for i in 0..ctx.len() {
                let mut v: SqlValue = ctx.get(i)?;
                if v == SqlValue::Null {
                    return Ok(SqlValue::Null);
                }
                if let (true, SqlValue::Text(t)) = (numeric, &v) {
                    v = SqlValue::Real(super::numeric::leading_number(t));
                }
                let better = match (&best, &v) {
                    (None, _) => true,
                    (Some(SqlValue::Integer(a)), SqlValue::Integer(b)) => (b > a) == greatest,
                    (Some(SqlValue::Real(a)), SqlValue::Real(b)) => (b > a) == greatest,
                    (Some(SqlValue::Integer(a)), SqlValue::Real(b)) => (*b > *a as f64) == greatest,
                    (Some(SqlValue::Real(a)), SqlValue::Integer(b)) => ((*b as f64) > *a) == greatest,
                    (Some(SqlValue::Text(a)), SqlValue::Text(b)) => (b > a) == greatest,
                    _ => false,
                };
                if better {
                    best = Some(v);
                }
            }
            Ok(best.unwrap_or(SqlValue::Null))
        })?;
    }
    let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed)));
    conn.create_scalar_function("rand", -1, FunctionFlags::SQLITE_UTF8, move |_| {
        Ok((rng.lock().expect("rng").next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    })?;
    for name in ["sha1", "sha"] {
        conn.create_scalar_function(name, 1, det, |ctx| Ok(bytes(ctx, 0).map(|b| hex::encode(sha1::Sha1::digest(b)))))?;
    }
    conn.create_scalar_function("md5", 1, det, |ctx| {
        Ok(bytes(ctx, 0).map(|b| hex::encode(<md5::Md5 as md5::Digest>::digest(b))))
    })?;
    conn.create_scalar_function("sha2", 2, det, |ctx| {
        let (Some(s), Some(bits)) = (bytes(ctx, 0), int(ctx, 1)) else { return Ok(None) };
        Ok(match bits {
            224 => Some(hex::encode(sha2::Sha224::digest(s))),
            0 | 256 => Some(hex::encode(sha2::Sha256::digest(s))),
            384 => Some(hex::encode(sha2::Sha384::digest(s))),
            512 => Some(hex::encode(sha2::Sha512::digest(s))),
            _ => None,
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(sql: &str) -> String {
        let c = Connection::open_in_memory().unwrap();
        register(&c, 1).unwrap();
        c.query_row(&format!("SELECT {sql}"), [], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Null => "NULL".to_string(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(_) => "blob".into(),
            })
        })
        .unwrap()
    }

    #[test]
    fn too_few_or_many_arguments_are_an_error_not_a_panic() {
        let c = Connection::open_in_memory().unwrap();
        register(&c, 1).unwrap();
        for sql in ["SELECT concat_ws('-')", "SELECT locate('a', 'b', 1, 2)", "SELECT from_unixtime()"] {
            let err = c.query_row(sql, [], |r| r.get::<_, Option<String>>(0)).unwrap_err().to_string();
            assert!(err.contains("wrong number of arguments to function"), "{sql}: {err}");
        }
    }

    #[test]
    fn string_functions_match_mysql() {
        assert_eq!(eval("concat_ws('-', 'a', NULL, 'b')"), "a-b");
        assert_eq!(eval("substring_index('www.mysql.com', '.', 2)"), "www.mysql");
        assert_eq!(eval("substring_index('www.mysql.com', '.', -2)"), "mysql.com");
        assert_eq!(eval("find_in_set('b', 'a,b,c')"), "2");
        assert_eq!(eval("find_in_set('x', 'a,b,c')"), "0");
        assert_eq!(eval("lpad('hi', 4, '??')"), "??hi");
        assert_eq!(eval("rpad('hi', 5, 'ab')"), "hiaba");
        assert_eq!(eval("lpad('hello', 2, '?')"), "he");
        assert_eq!(eval("rpad('hello', -1, '1')"), "NULL");
        assert_eq!(eval("concat('[', rpad('hi', 4), ']')"), "[hi  ]");
        assert_eq!(eval("coalesce(7)"), "7");
        assert_eq!(eval("week('2008-02-20', 0)"), "7");
        assert_eq!(eval("marmot_extract('DAY_HOUR', '2020-01-02 03:04:05')"), "203");
        assert_eq!(eval("marmot_extract('YEAR_MONTH', '2020-01-02')"), "202001");
        assert_eq!(eval("marmot_extract('SECOND_MICROSECOND', '2020-01-02 03:04:05.25')"), "5250000");
        assert_eq!(eval("week('2008-02-20', 1)"), "8");
        assert_eq!(eval("week('2008-12-31', 1)"), "53");
        assert_eq!(eval("week('2000-01-01', 2)"), "52");
        assert_eq!(eval("rpad('hello', 4294967295, '1')"), "NULL", "not 4 GiB of memory");
        assert_eq!(eval("lpad('hello', 18446744073709551617, '1')"), "NULL");
        assert_eq!(eval("locate('bar', 'foobarbar')"), "4");
        assert_eq!(eval("locate('bar', 'foobarbar', 5)"), "7");
        assert_eq!(eval("ucase('abc')"), "ABC");
        assert_eq!(
            eval("sha1(x'a8')"),
            "99f2aa95e36f95c2acb0eaf23998f030638f3f15",
            "NIST vector: the byte, not U+FFFD"
        );
        assert_eq!(eval("md5(x'a8')"), "85a46a5de17b19ac7eb29cacce9cbb04");
    }

    #[test]
    fn date_functions_match_mysql() {
        assert_eq!(eval("date_format('2009-10-04 22:23:00', '%W %M %Y')"), "Sunday October 2009");
        assert_eq!(eval("date_format('2007-10-04 22:23:00', '%H:%i:%s')"), "22:23:00");
        assert_eq!(eval("date_format('1999-01-01', '%j %a %b %e %y %r')"), "001 Fri Jan 1 99 12:00:00 AM");
        assert_eq!(eval("datediff('2007-12-31 23:59:59', '2007-12-30')"), "1");
        assert_eq!(eval("datediff('2010-11-30 23:59:59', '2010-12-31')"), "-31");
        assert_eq!(eval("unix_timestamp('2015-11-13 10:20:19')"), "1447410019");
        assert_eq!(eval("from_unixtime(1447410019)"), "2015-11-13 10:20:19");
        assert_eq!(eval("from_unixtime(1447410019, '%Y %D')"), "2015 13th");
        assert_eq!(eval("date_format('2024-03-22', '%D')"), "22nd");
        assert_eq!(eval("year('2024-02-29') || month('2024-02-29') || day('2024-02-29')"), "2024229");
        assert_eq!(eval("to_days('2007-10-07')"), "733321");
    }

    #[test]
    fn math_and_hashes() {
        assert_eq!(eval("pow(2, 10)"), "1024");
        assert_eq!(eval("greatest(2, 7.5, 3)"), "7.5");
        assert_eq!(eval("least('b', 'a')"), "a");
        assert_eq!(eval("greatest(1, NULL)"), "NULL");
        assert_eq!(eval("sha1('abc')"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(eval("sha2('abc', 256)"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let r: f64 = eval("rand()").parse().unwrap();
        assert!((0.0..1.0).contains(&r));
    }
}
