//! Values as MySQL sends them for their column's type: DECIMALs with their declared scale,
//! dates without a time, DATETIME and TIME with their declared fractional digits, FLOAT
//! with single precision; and the binary protocol's encodings of dates and times.
//!
//! SQLite stores what it was given (`1.5` for a DECIMAL(8,2), a datetime in a DATE
//! column), so the declared type is applied where the value leaves for the client.

use super::datetime::DateTime;
use super::proto::{ColType, Column};
use marmot_core::Value;

/// A TIME value: MySQL's TIME spans -838:59:59 to 838:59:59, so hours exceed a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    /// Below zero.
    pub negative: bool,
    /// Hours (any number).
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds.
    pub seconds: u32,
    /// Microseconds.
    pub micros: u32,
}

/// Parse TIME text: `[-]H…H:MM[:SS[.ffffff]]`.
pub fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let number = |p: Option<&str>| -> Option<u32> {
        let p = p?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let hours = number(parts.next())?;
    let minutes = number(parts.next())?;
    let seconds = match parts.next() {
        Some(p) => number(Some(p))?,
        None => 0,
    };
    if parts.next().is_some() || minutes > 59 || seconds > 59 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().take(6).collect();
    let micros = format!("{digits:0<6}").parse().ok()?;
    Some(Time { negative, hours, minutes, seconds, micros })
}

/// Microseconds cut to `fsp` fractional digits (MySQL truncates, it does not round).
fn cut_micros(micros: u32, fsp: u8) -> u32 {
    let unit = 10u32.pow(6 - u32::from(fsp.min(6)));
    micros - micros % unit
}

/// `.fff` with `fsp` digits, or nothing.
fn fraction(micros: u32, fsp: u8) -> String {
    if fsp == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(".{}", &digits[..usize::from(fsp.min(6))])
}

/// A REAL as MySQL prints a DOUBLE (whole numbers without a fraction).
pub fn format_real(f: f64) -> String {
    if f == 0.0 {
        // MySQL never shows a negative zero (`0 * -2.5e-3` is 0).
        "0".to_string()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// A DECIMAL with exactly `scale` digits after the point: integers padded, exact text
/// rounded half away from zero as MySQL rounds, REALs rounded from their binary value.
pub fn decimal_text(v: &Value, scale: u8) -> Option<String> {
    let scale = usize::from(scale);
    let out = match v {
        Value::Integer(i) if scale == 0 => i.to_string(),
        Value::Integer(i) => format!("{i}.{}", "0".repeat(scale)),
        Value::Real(f) if f.is_finite() => format!("{f:.scale$}"),
        Value::Text(s) => rescale(s.trim(), scale)?,
        _ => return None,
    };
    // No negative zero: -0.001 at scale 2 is 0.00.
    Some(match out.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => out,
    })
}

/// Exact decimal text at `scale` digits, or `None` if `s` is not plain decimal text.
fn rescale(s: &str, scale: usize) -> Option<String> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty()) || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut kept: Vec<u8> = int.bytes().chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale)).collect();
    if frac.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
        // Round up: carry through the kept digits.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - scale;
    let int_digits = String::from_utf8_lossy(&kept[..split]);
    let int_digits = match int_digits.trim_start_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    let frac_digits = String::from_utf8_lossy(&kept[split..]);
    let sign = if negative { "-" } else { "" };
    Some(if scale == 0 { format!("{sign}{int_digits}") } else { format!("{sign}{int_digits}.{frac_digits}") })
}

/// A FLOAT as MySQL prints it: single precision, six significant digits.
pub fn float_text(f: f64) -> String {
    let single = f as f32 as f64;
    if !single.is_finite() || single == 0.0 {
        return format_real(single);
    }
    let rounded: f64 = format!("{single:.5e}").parse().unwrap_or(single);
    format_real(rounded)
}

/// A BIT(n) column's value as MySQL sends it in both protocols: ceil(n / 8) big-endian
/// bytes (`None` for a value that is not a number or bytes).
pub fn bit_bytes(col: &Column, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Integer(i) => {
            let width = (col.length as usize).div_ceil(8).clamp(1, 8);
            Some((*i as u64).to_be_bytes()[8 - width..].to_vec())
        }
        Value::Blob(b) => Some(b.clone()),
        _ => None,
    }
}

/// The text MySQL would send for `v` in `col`, where the declared type changes it.
pub fn typed_text(col: &Column, v: &Value) -> Option<String> {
    match (col.ty, v) {
        (ColType::NewDecimal, _) => decimal_text(v, col.decimals),
        (ColType::Float, Value::Real(f)) => Some(float_text(*f)),
        (ColType::Date, Value::Text(s)) => DateTime::parse(s).map(|d| format!("{:04}-{:02}-{:02}", d.y, d.mo, d.d)),
        (ColType::DateTime | ColType::Timestamp, Value::Text(s)) => {
            DateTime::parse(s).map(|d| format!("{}{}", d.to_mysql(), fraction(d.us, col.decimals)))
        }
        (ColType::Time, Value::Text(s)) => parse_time(s).map(|t| {
            format!(
                "{}{:02}:{:02}:{:02}{}",
                if t.negative { "-" } else { "" },
                t.hours,
                t.minutes,
                t.seconds,
                fraction(t.micros, col.decimals)
            )
        }),
        _ => None,
    }
}

/// The binary protocol's DATE / DATETIME / TIMESTAMP value: a length byte (0, 4, 7 or 11)
/// and as many of year, month, day, hour, minute, second and microseconds as are not zero.
pub fn binary_datetime(out: &mut Vec<u8>, text: &str, date_only: bool, fsp: u8) {
    let Some(d) = DateTime::parse(text) else {
        out.push(0);
        return;
    };
    let year = u16::try_from(d.y).unwrap_or(0);
    let micros = if date_only { 0 } else { cut_micros(d.us, fsp) };
    let (h, mi, s) = if date_only { (0, 0, 0) } else { (d.h, d.mi, d.s) };
    let len: u8 = if micros > 0 {
        11
    } else if h + mi + s > 0 {
        7
    } else if year > 0 || d.mo > 0 || d.d > 0 {
        4
    } else {
        0
    };
    out.push(len);
    if len >= 4 {
        out.extend_from_slice(&year.to_le_bytes());
        out.extend_from_slice(&[d.mo as u8, d.d as u8]);
    }
    if len >= 7 {
        out.extend_from_slice(&[h as u8, mi as u8, s as u8]);
    }
    if len == 11 {
        out.extend_from_slice(&micros.to_le_bytes());
    }
}

/// The binary protocol's TIME value: a length byte (0, 8 or 12), the sign, whole days,
/// hours, minutes, seconds and microseconds.
pub fn binary_time(out: &mut Vec<u8>, text: &str, fsp: u8) {
    let Some(t) = parse_time(text) else {
        out.push(0);
        return;
    };
    let micros = cut_micros(t.micros, fsp);
    let zero = t.hours == 0 && t.minutes == 0 && t.seconds == 0 && micros == 0;
    if zero {
        out.push(0);
        return;
    }
    out.push(if micros > 0 { 12 } else { 8 });
    out.push(u8::from(t.negative));
    out.extend_from_slice(&(t.hours / 24).to_le_bytes());
    out.extend_from_slice(&[(t.hours % 24) as u8, t.minutes as u8, t.seconds as u8]);
    if micros > 0 {
        out.extend_from_slice(&micros.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_carry_their_declared_scale() {
        let d = |v: Value, s| decimal_text(&v, s).unwrap();
        assert_eq!(d(Value::Real(1.5), 2), "1.50");
        assert_eq!(d(Value::Integer(2), 2), "2.00");
        assert_eq!(d(Value::Integer(4), 0), "4");
        assert_eq!(d(Value::Real(37.12), 4), "37.1200");
        assert_eq!(d(Value::Text("31943874831932418390.01".into()), 12), "31943874831932418390.010000000000");
        assert_eq!(d(Value::Text("1.005".into()), 2), "1.01");
        assert_eq!(d(Value::Text("-9.995".into()), 2), "-10.00");
        assert_eq!(d(Value::Text("99.5".into()), 0), "100");
        assert_eq!(d(Value::Text(".5".into()), 1), "0.5");
        assert_eq!(d(Value::Real(-0.001), 2), "0.00");
        assert_eq!(decimal_text(&Value::Text("abc".into()), 2), None);
        assert_eq!(decimal_text(&Value::Text("1e5".into()), 2), None);
    }

    #[test]
    fn floats_print_with_single_precision() {
        assert_eq!(float_text(1.1), "1.1");
        assert_eq!(float_text(1.0 / 3.0), "0.333333");
        assert_eq!(float_text(1234567.0), "1234570");
        assert_eq!(float_text(-2.5), "-2.5");
        assert_eq!(float_text(0.0), "0");
    }

    #[test]
    fn temporal_text_follows_the_declared_type() {
        let col = |ty, decimals| {
            let mut c = Column::new("c", ty);
            c.decimals = decimals;
            c
        };
        let t = |c: &Column, s: &str| typed_text(c, &Value::Text(s.into()));
        assert_eq!(t(&col(ColType::Date, 0), "2024-03-05 10:11:12").as_deref(), Some("2024-03-05"));
        assert_eq!(t(&col(ColType::DateTime, 0), "2024-03-05 10:11:12.987").as_deref(), Some("2024-03-05 10:11:12"));
        assert_eq!(t(&col(ColType::DateTime, 3), "2024-03-05 10:11:12.9").as_deref(), Some("2024-03-05 10:11:12.900"));
        assert_eq!(t(&col(ColType::DateTime, 0), "2024-03-05").as_deref(), Some("2024-03-05 00:00:00"));
        assert_eq!(t(&col(ColType::Time, 0), "-1:02:03").as_deref(), Some("-01:02:03"));
        assert_eq!(t(&col(ColType::Time, 2), "838:59:59.5").as_deref(), Some("838:59:59.50"));
        assert_eq!(t(&col(ColType::Date, 0), "not a date"), None);
    }

    #[test]
    fn binary_temporals_send_only_the_parts_that_are_set() {
        let dt = |s: &str, date_only, fsp| {
            let mut b = Vec::new();
            binary_datetime(&mut b, s, date_only, fsp);
            b
        };
        assert_eq!(dt("2024-03-05", true, 0), vec![4, 0xe8, 0x07, 3, 5]);
        assert_eq!(dt("2024-03-05 10:11:12", true, 0), vec![4, 0xe8, 0x07, 3, 5]);
        assert_eq!(dt("2024-03-05 10:11:12", false, 0), vec![7, 0xe8, 0x07, 3, 5, 10, 11, 12]);
        assert_eq!(dt("2024-03-05 00:00:00.5", false, 3), vec![11, 0xe8, 0x07, 3, 5, 0, 0, 0, 0x20, 0xa1, 0x07, 0]);
        assert_eq!(dt("0000-00-00 00:00:00", false, 0), vec![0]);
        let tm = |s: &str, fsp| {
            let mut b = Vec::new();
            binary_time(&mut b, s, fsp);
            b
        };
        assert_eq!(tm("-26:02:03", 0), vec![8, 1, 1, 0, 0, 0, 2, 2, 3]);
        assert_eq!(tm("00:00:00", 0), vec![0]);
        assert_eq!(tm("00:00:01.25", 2), vec![12, 0, 0, 0, 0, 0, 0, 0, 1, 0x90, 0xd0, 0x03, 0]);
    }
}
