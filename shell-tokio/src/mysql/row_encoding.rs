//! Result rows on the wire: the text protocol (every value a length-encoded string) and
//! the binary protocol of prepared statements (a NULL bitmap, then typed values).

use marmot_core::Value;

use super::packet::put_lenenc_str;
use super::proto::{self, ColType, Column};

/// Column types as sent in the binary protocol: dates and decimals travel as strings.
pub fn binary_columns(mut columns: Vec<Column>) -> Vec<Column> {
    for c in columns.iter_mut() {
        if matches!(c.ty, ColType::DateTime | ColType::Date | ColType::NewDecimal) {
            c.ty = ColType::VarString;
            c.charset = proto::charset::UTF8MB4;
        }
    }
    columns
}

/// One value of a text-protocol row.
pub fn text_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xfb),
        Value::Integer(i) => put_lenenc_str(out, i.to_string().as_bytes()),
        Value::Real(f) => put_lenenc_str(out, format_real(*f).as_bytes()),
        Value::Text(s) => put_lenenc_str(out, s.as_bytes()),
        Value::Blob(b) => put_lenenc_str(out, b),
    }
}

/// A REAL as MySQL prints a DOUBLE (whole numbers without a fraction).
pub fn format_real(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// A text-protocol row.
pub fn text_row(row: &[Value]) -> Vec<u8> {
    let mut b = Vec::with_capacity(row.len() * 8);
    for v in row {
        text_value(&mut b, v);
    }
    b
}

/// A binary-protocol row (COM_STMT_EXECUTE results): a NULL bitmap, then each value in
/// its column's wire type.
pub fn binary_row(columns: &[Column], row: &[Value]) -> Vec<u8> {
    let mut b = vec![0u8];
    let bitmap_len = (columns.len() + 7 + 2) / 8;
    let start = b.len();
    b.resize(start + bitmap_len, 0);
    for (i, (c, v)) in columns.iter().zip(row).enumerate() {
        let bit = i + 2;
        match (c.ty, v) {
            (_, Value::Null) => b[start + bit / 8] |= 1 << (bit % 8),
            (ColType::LongLong, Value::Integer(x)) => b.extend_from_slice(&x.to_le_bytes()),
            (ColType::LongLong, Value::Real(x)) => b.extend_from_slice(&(*x as i64).to_le_bytes()),
            (ColType::Double, Value::Real(x)) => b.extend_from_slice(&x.to_le_bytes()),
            (ColType::Double, Value::Integer(x)) => b.extend_from_slice(&(*x as f64).to_le_bytes()),
            (ColType::LongLong | ColType::Double, other) => {
                // A text value in a numeric column: send what parses, else zero.
                let s = match other {
                    Value::Text(s) => s.clone(),
                    _ => String::new(),
                };
                if c.ty == ColType::LongLong {
                    b.extend_from_slice(&s.trim().parse::<i64>().unwrap_or(0).to_le_bytes());
                } else {
                    b.extend_from_slice(&s.trim().parse::<f64>().unwrap_or(0.0).to_le_bytes());
                }
            }
            (_, Value::Integer(x)) => put_lenenc_str(&mut b, x.to_string().as_bytes()),
            (_, Value::Real(x)) => put_lenenc_str(&mut b, format_real(*x).as_bytes()),
            (_, Value::Text(s)) => put_lenenc_str(&mut b, s.as_bytes()),
            (_, Value::Blob(x)) => put_lenenc_str(&mut b, x),
        }
    }
    b
}
