//! MySQL's math functions SQLite lacks or answers differently: MOD, CEIL/CEILING, FLOOR,
//! TRUNCATE, SQRT, EXP, LN, LOG (1 or 2 arguments), LOG10, LOG2, PI, CONV, BIN, OCT,
//! CRC32 and HEX of a number (hex digits of the integer, not of its text).

use super::fn_args::need_args;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::fn_args::MAX_RESULT;

pub(crate) fn num(ctx: &Context<'_>, i: usize) -> Option<f64> {
    match ctx.get_raw(i) {
        ValueRef::Integer(n) => Some(n as f64),
        ValueRef::Real(r) => Some(r),
        ValueRef::Text(t) => Some(leading_number(&String::from_utf8_lossy(t))),
        ValueRef::Blob(_) | ValueRef::Null => None,
    }
}

/// The number a string starts with, as MySQL converts strings in arithmetic (0 if none).
pub fn leading_number(s: &str) -> f64 {
    let b = s.trim_start().as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    // [sign] digits [. digits] [e [sign] digits]
    let mut end = digits(usize::from(matches!(b.first(), Some(b'+' | b'-'))));
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1);
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let exp = end + 1 + usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        if b.get(exp).is_some_and(u8::is_ascii_digit) {
            end = digits(exp);
        }
    }
    std::str::from_utf8(&b[..end]).ok().and_then(|n| n.parse().ok()).unwrap_or(0.0)
}

/// A float result as MySQL shows it: integral values without a fraction.
pub(crate) fn real(v: f64) -> SqlValue {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        SqlValue::Integer(v as i64)
    } else if v.is_finite() {
        SqlValue::Real(v)
    } else {
        SqlValue::Null
    }
}

fn unary(conn: &Connection, name: &str, f: fn(f64) -> Option<f64>) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(name, 1, det, move |ctx| Ok(num(ctx, 0).and_then(f).map_or(SqlValue::Null, real)))
}

/// `i` rounded half away from zero to `places` (only negative places change an integer).
fn round_integer(i: i64, places: i32) -> i64 {
    if places >= 0 {
        return i;
    }
    let Some(unit) = 10i128.checked_pow(places.unsigned_abs()) else { return 0 };
    let i = i128::from(i);
    let rounded = (i + i.signum() * unit / 2) / unit * unit;
    i64::try_from(rounded).unwrap_or(if i < 0 { i64::MIN } else { i64::MAX })
}

/// `v` rounded half away from zero to `places` decimal places (negative: tens, hundreds…),
/// on its shortest decimal digits, so `ROUND(1.005, 2)` is 1.01 as written, not the 1.00
/// its binary value would give.
fn round_decimal(v: f64, places: i32) -> f64 {
    if !v.is_finite() {
        return v;
    }
    let text = format!("{}", v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    if places >= 0 && frac.len() <= places as usize {
        return v;
    }
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let keep = int.len() as i64 + i64::from(places);
    if keep < 0 {
        return 0.0;
    }
    let keep = keep as usize;
    let mut kept: Vec<u8> = digits[..keep.min(digits.len())].to_vec();
    if digits.get(keep).is_some_and(|d| *d >= 5) {
        // Carry the increment leftwards; a carry out of the first digit adds one.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let mut number: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    if number.is_empty() {
        number.push('0');
    }
    let scaled: f64 = number.parse().unwrap_or(0.0);
    // Divide rather than multiply by a fraction: 10^places is exact, 10^-places is not.
    let r = if places > 0 { scaled / 10f64.powi(places) } else { scaled * 10f64.powi(-places) };
    if r == 0.0 {
        0.0
    } else {
        r.copysign(v)
    }
}

/// Digits of `n` in `base` (2..=36), as MySQL's CONV prints them.
fn to_base(mut n: u64, base: u32) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(std::char::from_digit((n % base as u64) as u32, base).expect("digit").to_ascii_uppercase());
        n /= base as u64;
    }
    digits.iter().rev().collect()
}

/// Register the functions on a session connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("mod", 2, det, |ctx| {
        Ok(match (ctx.get_raw(0), ctx.get_raw(1)) {
            (ValueRef::Integer(a), ValueRef::Integer(b)) if b != 0 => SqlValue::Integer(a % b),
            _ => match (num(ctx, 0), num(ctx, 1)) {
                (Some(a), Some(b)) if b != 0.0 => real(a % b),
                _ => SqlValue::Null,
            },
        })
    })?;
    for (name, f) in [
        ("ceil", (|v: f64| Some(v.ceil())) as fn(f64) -> Option<f64>),
        ("ceiling", |v| Some(v.ceil())),
        ("floor", |v| Some(v.floor())),
        ("sqrt", |v| (v >= 0.0).then(|| v.sqrt())),
        ("exp", |v| Some(v.exp())),
        ("ln", |v| (v > 0.0).then(|| v.ln())),
        ("log10", |v| (v > 0.0).then(|| v.log10())),
        ("log2", |v| (v > 0.0).then(|| v.log2())),
    ] {
        unary(conn, name, f)?;
    }
    conn.create_scalar_function("log", -1, det, |ctx| {
        need_args(ctx, 1, 2, "LOG")?;
        let v = match (num(ctx, 0), if ctx.len() > 1 { num(ctx, 1) } else { None }) {
            (Some(x), None) if ctx.len() == 1 && x > 0.0 => Some(x.ln()),
            (Some(b), Some(x)) if b > 0.0 && b != 1.0 && x > 0.0 => Some(x.ln() / b.ln()),
            _ => None,
        };
        Ok(v.map_or(SqlValue::Null, real))
    })?;
    conn.create_scalar_function("pi", 0, det, |_| Ok("3.141593".to_string()))?;
    conn.create_scalar_function("round", -1, det, |ctx| {
        need_args(ctx, 1, 2, "ROUND")?;
        let places = if ctx.len() == 2 {
            match num(ctx, 1) {
                Some(d) => d.round().clamp(-64.0, 64.0) as i32,
                None => return Ok(SqlValue::Null),
            }
        } else {
            0
        };
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => SqlValue::Null,
            ValueRef::Integer(i) => SqlValue::Integer(round_integer(i, places)),
            _ => num(ctx, 0).map_or(SqlValue::Null, |v| SqlValue::Real(round_decimal(v, places))),
        })
    })?;
    conn.create_scalar_function("sign", 1, det, |ctx| {
        Ok(num(ctx, 0).map_or(SqlValue::Null, |v| {
            SqlValue::Integer(if v > 0.0 {
                1
            } else if v < 0.0 {
                -1
            } else {
                0
            })
        }))
    })?;
    conn.create_scalar_function("truncate", 2, det, |ctx| {
        let (Some(v), Some(d)) = (num(ctx, 0), num(ctx, 1)) else { return Ok(SqlValue::Null) };
        if let ValueRef::Integer(i) = ctx.get_raw(0) {
            // An integer keeps its type: only negative places cut it (TRUNCATE(42, 1) is 42).
            if d >= 0.0 {
                return Ok(SqlValue::Integer(i));
            }
        }
        // MySQL shows at most 38 decimals; a larger count (up to 2^64) is taken as that.
        let d = d.clamp(-38.0, 38.0) as i32;
        let p = 10f64.powi(d);
        let t = if (v * p).is_finite() { (v * p).trunc() / p } else { v };
        let t = if t == 0.0 { 0.0 } else { t }; // never a negative zero
        Ok(if d > 0 { SqlValue::Text(format!("{t:.prec$}", prec = d as usize)) } else { real(t) })
    })?;
    conn.create_scalar_function("conv", 3, det, |ctx| {
        let (Some(n), Some(from), Some(to)) = (super::fn_args::text(ctx, 0), num(ctx, 1), num(ctx, 2)) else {
            return Ok(None);
        };
        let (from, to) = (from.abs() as u32, to.abs() as u32);
        if !(2..=36).contains(&from) || !(2..=36).contains(&to) {
            return Ok(None);
        }
        let n = n.trim();
        let (negative, n) = n.strip_prefix('-').map_or((false, n), |rest| (true, rest));
        let digits: String = n.chars().take_while(|c| c.is_digit(from)).collect();
        if digits.is_empty() && n.is_empty() {
            return Ok(None);
        }
        // A negative number converts as its unsigned 64-bit two's complement.
        let v = u64::from_str_radix(&digits, from).unwrap_or(if digits.is_empty() { 0 } else { u64::MAX });
        Ok(Some(to_base(if negative { v.wrapping_neg() } else { v }, to)))
    })?;
    for (name, base) in [("bin", 2u32), ("oct", 8)] {
        conn.create_scalar_function(name, 1, det, move |ctx| Ok(num(ctx, 0).map(|v| to_base(v as i64 as u64, base))))?;
    }
    // CRC32(expr) and MariaDB's CRC32(previous, expr), which continues a checksum.
    conn.create_scalar_function("crc32", -1, det, |ctx| {
        need_args(ctx, 1, 2, "CRC32")?;
        let data = ctx.len() - 1;
        let initial = if data == 1 {
            match num(ctx, 0) {
                Some(v) => v as i64 as u32,
                None => return Ok(None),
            }
        } else {
            0
        };
        let mut h = crc32fast::Hasher::new_with_initial(initial);
        match ctx.get_raw(data) {
            ValueRef::Null => return Ok(None),
            ValueRef::Text(b) | ValueRef::Blob(b) => h.update(b),
            ValueRef::Integer(i) => h.update(i.to_string().as_bytes()),
            ValueRef::Real(r) => h.update(super::wire_values::format_real(r).as_bytes()),
        }
        Ok(Some(i64::from(h.finalize())))
    })?;
    // CAST(x AS SIGNED | UNSIGNED): numbers round, strings take their leading number.
    conn.create_scalar_function("marmot_cast_int", 2, det, |ctx| {
        let unsigned = ctx.get::<i64>(1)? != 0;
        let v = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(SqlValue::Null),
            ValueRef::Integer(n) => n,
            ValueRef::Real(r) => r.round() as i64,
            ValueRef::Text(t) | ValueRef::Blob(t) => leading_number(&String::from_utf8_lossy(t)).trunc() as i64,
        };
        Ok(if unsigned && v < 0 { SqlValue::Text((v as u64).to_string()) } else { SqlValue::Integer(v) })
    })?;
    // CAST(x AS CHAR[(n)]): numbers printed as MySQL prints them (1e3 is 1000, not SQLite's
    // 1000.0), cut to n characters.
    conn.create_scalar_function("marmot_cast_char", 2, det, |ctx| {
        let text = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(None),
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(r) => super::wire_values::format_real(r),
            ValueRef::Text(t) | ValueRef::Blob(t) => match std::str::from_utf8(t) {
                Ok(s) => s.to_string(),
                // Bytes that are not text stay as they are.
                Err(_) => return Ok(Some(SqlValue::Blob(t.to_vec()))),
            },
        };
        let length = ctx.get::<i64>(1)?;
        Ok(Some(SqlValue::Text(match usize::try_from(length) {
            Ok(n) => text.chars().take(n).collect(),
            Err(_) => text,
        })))
    })?;
    // CAST(x AS DECIMAL(p, s)): the value rounded to s places, printed with them.
    conn.create_scalar_function("marmot_cast_decimal", 2, det, |ctx| {
        let Some(v) = num(ctx, 0) else { return Ok(None) };
        let scale = ctx.get::<i64>(1)?.clamp(0, 30) as i32;
        let p = 10f64.powi(scale);
        let r = (v * p).round() / p;
        Ok(Some(format!("{:.*}", scale as usize, if r == 0.0 { 0.0 } else { r })))
    })?;
    conn.create_scalar_function("hex", 1, det, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Integer(i) => Some(format!("{:X}", i as u64)),
            ValueRef::Real(r) => Some(format!("{:X}", r.round() as i64 as u64)),
            // HEX(HEX(…)) doubles each time: past max_allowed_packet MySQL gives NULL.
            ValueRef::Text(b) | ValueRef::Blob(b) => (b.len() * 2 <= MAX_RESULT).then(|| hex::encode_upper(b)),
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::leading_number;

    #[test]
    fn round_half_away_from_zero_on_the_digits_as_written() {
        use super::{round_decimal, round_integer};
        assert_eq!(round_integer(-7, -1), -10);
        assert_eq!(round_integer(42, -1), 40);
        assert_eq!(round_integer(45, -1), 50);
        assert_eq!(round_integer(42, 2), 42);
        assert_eq!(round_integer(i64::MAX, -30), 0);
        assert_eq!(round_decimal(2.5, 0), 3.0);
        assert_eq!(round_decimal(-2.5, 0), -3.0);
        assert_eq!(round_decimal(1.005, 2), 1.01);
        assert_eq!(round_decimal(2.5, -1), 0.0);
        assert_eq!(round_decimal(2024.0, -1), 2020.0);
        assert_eq!(round_decimal(9.96, 1), 10.0);
        assert_eq!(round_decimal(-0.125, 3), -0.125);
        assert_eq!(round_decimal(-0.0025, 1), 0.0);
        assert_eq!(round_decimal(1234.5678, -2), 1200.0);
    }

    #[test]
    fn truncate_to_any_number_of_places() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        super::register(&c).unwrap();
        let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0)).unwrap();
        assert_eq!(
            one("SELECT truncate(1.5, 2147483648)"),
            rusqlite::types::Value::Text(format!("1.5{}", "0".repeat(37)))
        );
        assert_eq!(one("SELECT truncate(4, -2)"), rusqlite::types::Value::Integer(0));
        assert_eq!(one("SELECT truncate(1.5, -9223372036854775808)"), rusqlite::types::Value::Integer(0));
    }

    #[test]
    fn hex_past_max_allowed_packet_is_null_not_memory() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        super::register(&c).unwrap();
        let hex = |sql: &str| c.query_row(sql, [], |r| r.get::<_, Option<String>>(0)).unwrap();
        assert_eq!(hex("SELECT hex('\\')").as_deref(), Some("5C"));
        assert_eq!(hex("SELECT hex(255)").as_deref(), Some("FF"));
        let nested = (0..45).fold("'\\'".to_string(), |e, _| format!("hex({e})"));
        assert_eq!(hex(&format!("SELECT {nested}")), None, "2^45 bytes would not fit");
    }

    #[test]
    fn strings_convert_by_their_leading_number() {
        assert_eq!(leading_number("  42abc"), 42.0);
        assert_eq!(leading_number("1e2x"), 100.0);
        assert_eq!(leading_number("-.5"), -0.5);
        assert_eq!(leading_number("1e"), 1.0);
        assert_eq!(leading_number("abc"), 0.0);
        assert_eq!(leading_number("inf"), 0.0);
    }
}
