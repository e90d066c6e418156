//! MySQL's string functions SQLite lacks or answers differently: LENGTH in bytes, LOWER and
//! UPPER beyond ASCII, FIELD, ELT, ASCII, ORD, STRCMP (case-insensitive, as the default
//! collations), QUOTE with backslash escapes, INSERT (as `marmot_insert`, since INSERT is a
//! keyword to SQLite), FORMAT with thousands separators, TO_BASE64 and FROM_BASE64.

use super::functions::need_args;
use base64::Engine as _;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::functions::{int, text};

/// Map each character by `f`, keeping characters whose mapping is not one character
/// (MySQL's case mapping is one to one: 'ß' stays 'ß' in UPPER).
fn map_chars(s: &str, f: impl Fn(char) -> Vec<char>) -> String {
    s.chars()
        .map(|c| match f(c).as_slice() {
            [one] => *one,
            _ => c,
        })
        .collect()
}

/// `n` with `decimals` places and `,` between thousands, as FORMAT(n, d) prints it.
pub fn thousands(n: f64, decimals: usize) -> String {
    // Half away from zero, as MySQL rounds (Rust's formatting rounds half to even).
    let p = 10f64.powi(decimals as i32);
    let fixed = format!("{:.*}", decimals, (n.abs() * p).round() / p);
    let (int_part, frac) = fixed.split_once('.').map_or((fixed.as_str(), None), |(a, b)| (a, Some(b)));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if n < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Register the functions on a session connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // MAKE_SET(bits, s1, s2, …): the strings whose bit is set, comma-separated (NULLs left out).
    conn.create_scalar_function("make_set", -1, det, |ctx| {
        super::functions::need_args(ctx, 2, usize::MAX, "MAKE_SET")?;
        let Some(bits) = super::functions::int(ctx, 0) else { return Ok(None) };
        let chosen: Vec<String> = (1..ctx.len())
            .filter(|i| *i <= 64 && (bits as u64 >> (i - 1)) & 1 == 1)
            .filter_map(|i| super::functions::text(ctx, i))
            .collect();
        Ok(Some(chosen.join(",")))
    })?;
    conn.create_scalar_function("length", 1, det, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Text(b) | ValueRef::Blob(b) => Some(b.len() as i64),
            _ => text(ctx, 0).map(|s| s.len() as i64),
        })
    })?;
    conn.create_scalar_function("octet_length", 1, det, |ctx| Ok(text(ctx, 0).map(|s| s.len() as i64)))?;
    conn.create_scalar_function("lower", 1, det, |ctx| {
        Ok(text(ctx, 0).map(|s| map_chars(&s, |c| c.to_lowercase().collect())))
    })?;
    conn.create_scalar_function("upper", 1, det, |ctx| {
        Ok(text(ctx, 0).map(|s| map_chars(&s, |c| c.to_uppercase().collect())))
    })?;
    conn.create_scalar_function("field", -1, det, |ctx| {
        need_args(ctx, 2, usize::MAX, "FIELD")?;
        let Some(needle) = text(ctx, 0) else { return Ok(0) };
        Ok((1..ctx.len())
            .find(|&i| text(ctx, i).is_some_and(|s| s.to_lowercase() == needle.to_lowercase()))
            .map_or(0, |i| i as i64))
    })?;
    conn.create_scalar_function("elt", -1, det, |ctx| {
        need_args(ctx, 2, usize::MAX, "ELT")?;
        let Some(n) = int(ctx, 0) else { return Ok(None) };
        Ok(if n >= 1 && (n as usize) < ctx.len() { text(ctx, n as usize) } else { None })
    })?;
    for name in ["ascii", "ord"] {
        conn.create_scalar_function(name, 1, det, |ctx| {
            Ok(text(ctx, 0).map(|s| s.as_bytes().first().copied().unwrap_or(0) as i64))
        })?;
    }
    conn.create_scalar_function("strcmp", 2, det, |ctx| {
        let (Some(a), Some(b)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        Ok(Some(match a.to_lowercase().cmp(&b.to_lowercase()) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        }))
    })?;
    conn.create_scalar_function("quote", 1, det, |ctx| {
        let Some(s) = text(ctx, 0) else { return Ok("NULL".to_string()) };
        let mut out = String::from("'");
        for c in s.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                '\0' => out.push_str("\\0"),
                '\u{1a}' => out.push_str("\\Z"),
                c => out.push(c),
            }
        }
        out.push('\'');
        Ok(out)
    })?;
    conn.create_scalar_function("marmot_insert", 4, det, |ctx| {
        let (Some(s), Some(pos), Some(len), Some(new)) = (text(ctx, 0), int(ctx, 1), int(ctx, 2), text(ctx, 3)) else {
            return Ok(None);
        };
        let chars: Vec<char> = s.chars().collect();
        if pos < 1 || pos as usize > chars.len() {
            return Ok(Some(s));
        }
        let start = pos as usize - 1;
        let end = if len < 0 { chars.len() } else { (start + len as usize).min(chars.len()) };
        Ok(Some(chars[..start].iter().collect::<String>() + &new + &chars[end..].iter().collect::<String>()))
    })?;
    conn.create_scalar_function("format", -1, det, |ctx| {
        if ctx.len() < 2 || ctx.len() > 3 {
            return Err(rusqlite::Error::UserFunctionError("FORMAT takes 2 or 3 arguments".into()));
        }
        let Some(n) = text(ctx, 0) else { return Ok(None) };
        let d = int(ctx, 1).unwrap_or(0).clamp(0, 30) as usize;
        Ok(Some(thousands(super::numeric::leading_number(&n), d)))
    })?;
    conn.create_scalar_function("to_base64", 1, det, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Text(b) | ValueRef::Blob(b) => Some(base64::engine::general_purpose::STANDARD.encode(b)),
            _ => text(ctx, 0).map(|s| base64::engine::general_purpose::STANDARD.encode(s)),
        })
    })?;
    conn.create_scalar_function("from_base64", 1, det, |ctx| {
        let Some(s) = text(ctx, 0) else { return Ok(SqlValue::Null) };
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(match base64::engine::general_purpose::STANDARD.decode(clean) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => SqlValue::Text(t),
                Err(e) => SqlValue::Blob(e.into_bytes()),
            },
            Err(_) => SqlValue::Null,
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_groups_thousands_and_rounds() {
        assert_eq!(thousands(1234567.891, 2), "1,234,567.89");
        assert_eq!(thousands(-1234.5, 0), "-1,235");
        assert_eq!(thousands(999.0, 1), "999.0");
        assert_eq!(thousands(-0.001, 2), "0.00");
    }
}
