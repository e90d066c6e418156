//! Result rows on the wire: the text protocol (every value a length-encoded string) and
//! the binary protocol of prepared statements (a NULL bitmap, then typed values).

use marmot_core::Value;

use super::packet::put_lenenc_str;
use super::proto::{ColType, Column};
use super::wire_values::{binary_datetime, binary_time, bit_bytes, format_real, typed_text};

/// One value of a text-protocol row, as its column's declared type prints it.
pub fn text_value(out: &mut Vec<u8>, col: &Column, v: &Value) {
    if let Some(bits) = (col.ty == ColType::Bit).then(|| bit_bytes(col, v)).flatten() {
        put_lenenc_str(out, &bits);
        return;
    }
    if let Some(text) = typed_text(col, v) {
        put_lenenc_str(out, text.as_bytes());
        return;
    }
    match v {
        Value::Null => out.push(0xfb),
        Value::Integer(i) => put_lenenc_str(out, i.to_string().as_bytes()),
        Value::Real(f) => put_lenenc_str(out, format_real(*f).as_bytes()),
        Value::Text(s) => put_lenenc_str(out, s.as_bytes()),
        Value::Blob(b) => put_lenenc_str(out, b),
    }
}

/// A text-protocol row.
pub fn text_row(columns: &[Column], row: &[Value]) -> Vec<u8> {
    let mut b = Vec::with_capacity(row.len() * 8);
    for (c, v) in columns.iter().zip(row) {
        text_value(&mut b, c, v);
    }
    b
}

/// An integer for a binary-protocol integer column (REALs cut, text parsed, the rest 0),
/// held to `lo..=hi`: MySQL itself clamps what does not fit a column (and a column whose
/// first rows did not fit was widened, see `column_types`).
fn integer(v: &Value, lo: i64, hi: i64) -> i64 {
    let i = match v {
        Value::Integer(i) => *i,
        Value::Real(f) => *f as i64,
        Value::Text(s) => s.trim().parse::<i64>().unwrap_or_else(|_| s.trim().parse::<f64>().unwrap_or(0.0) as i64),
        _ => 0,
    };
    i.clamp(lo, hi)
}

/// A float for a binary-protocol FLOAT or DOUBLE column.
fn real(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(f) => *f,
        Value::Text(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
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
        if matches!(v, Value::Null) {
            b[start + bit / 8] |= 1 << (bit % 8);
            continue;
        }
        match c.ty {
            ColType::Tiny => b.push(integer(v, i8::MIN.into(), i8::MAX.into()) as i8 as u8),
            ColType::Short => b.extend_from_slice(&(integer(v, i16::MIN.into(), i16::MAX.into()) as i16).to_le_bytes()),
            ColType::Year => b.extend_from_slice(&(integer(v, 0, u16::MAX.into()) as u16).to_le_bytes()),
            ColType::Long | ColType::Int24 => {
                b.extend_from_slice(&(integer(v, i32::MIN.into(), i32::MAX.into()) as i32).to_le_bytes())
            }
            ColType::LongLong => b.extend_from_slice(&integer(v, i64::MIN, i64::MAX).to_le_bytes()),
            ColType::Float => b.extend_from_slice(&(real(v) as f32).to_le_bytes()),
            ColType::Double => b.extend_from_slice(&real(v).to_le_bytes()),
            ColType::Date | ColType::DateTime | ColType::Timestamp => {
                let text = match v {
                    Value::Text(s) => s.as_str(),
                    _ => "",
                };
                binary_datetime(&mut b, text, c.ty == ColType::Date, c.decimals);
            }
            ColType::Time => binary_time(&mut b, if let Value::Text(s) = v { s } else { "" }, c.decimals),
            ColType::Bit if bit_bytes(c, v).is_some() => put_lenenc_str(&mut b, &bit_bytes(c, v).unwrap_or_default()),
            _ => match typed_text(c, v) {
                Some(text) => put_lenenc_str(&mut b, text.as_bytes()),
                None => match v {
                    Value::Integer(x) => put_lenenc_str(&mut b, x.to_string().as_bytes()),
                    Value::Real(x) => put_lenenc_str(&mut b, format_real(*x).as_bytes()),
                    Value::Text(s) => put_lenenc_str(&mut b, s.as_bytes()),
                    Value::Blob(x) => put_lenenc_str(&mut b, x),
                    Value::Null => {}
                },
            },
        }
    }
    b
}
