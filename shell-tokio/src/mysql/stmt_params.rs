//! Parameters of prepared statements: decoding COM_STMT_EXECUTE's binary values (and
//! values sent ahead with COM_STMT_SEND_LONG_DATA) into typed [`Param`]s (the protocol
//! layer's half), and binding them into the statement's text in place of its `?`
//! placeholders as MySQL literals (the session's half).

use std::collections::BTreeMap;

use marmot_core::Value;

use super::error::MyError;
use super::packet::{PacketError, Reader};
use super::sql;

/// One parameter value of COM_STMT_EXECUTE, typed as the client sent it.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// SQL NULL (the null bitmap, or MYSQL_TYPE_NULL).
    Null,
    /// A signed integer of any width.
    Int(i64),
    /// An UNSIGNED integer.
    UInt(u64),
    /// A FLOAT (widened) or DOUBLE.
    Double(f64),
    /// A DATE, DATETIME, TIMESTAMP or TIME in MySQL's text form (`2024-01-02 03:04:05`).
    Temporal(String),
    /// Strings, DECIMAL text, BLOBs and everything else sent as bytes.
    Bytes(Vec<u8>),
}

impl Param {
    /// The value as a MySQL literal: quoted text if it is UTF-8, a hex blob if not.
    pub fn literal(&self) -> String {
        match self {
            Param::Null => "NULL".into(),
            Param::Int(v) => v.to_string(),
            Param::UInt(v) => v.to_string(),
            Param::Double(v) => format!("{v:?}"),
            Param::Temporal(t) => format!("'{t}'"),
            Param::Bytes(b) => bytes_literal(b),
        }
    }
}

impl Param {
    /// The value as SQLite binds it: what SQLite makes of [`Param::literal`].
    pub fn value(&self) -> Value {
        match self {
            Param::Null => Value::Null,
            Param::Int(v) => Value::Integer(*v),
            Param::UInt(v) => i64::try_from(*v).map_or(Value::Real(*v as f64), Value::Integer),
            Param::Double(v) => Value::Real(*v),
            Param::Temporal(t) => Value::Text(t.clone()),
            Param::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::Text(s.to_string()),
                Err(_) => Value::Blob(b.clone()),
            },
        }
    }
}

/// Replace each `?` placeholder with its literal.
pub fn bind(sql_text: &str, values: &[String]) -> Result<String, MyError> {
    substitute(sql_text, |i| values.get(i).cloned())
}

/// `sql_text` with its `?` placeholders numbered `?1`, `?2`, … in order, and how many
/// there are: a translation that moves or repeats an expression keeps each placeholder
/// bound to its own value.
pub fn number_placeholders(sql_text: &str) -> Result<(String, usize), MyError> {
    let mut n = 0;
    let text = substitute(sql_text, |i| {
        n = i + 1;
        Some(format!("?{n}"))
    })?;
    Ok((text, n))
}

/// `sql_text` printed again with placeholder `i` (counted from 0) replaced by `with(i)`;
/// `None` there is MySQL's error for too few parameters.
fn substitute(sql_text: &str, mut with: impl FnMut(usize) -> Option<String>) -> Result<String, MyError> {
    let toks = sql::tokenize(sql_text).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
    let mut out = String::with_capacity(sql_text.len() + 16);
    let mut i = 0;
    for t in toks {
        match t {
            sqlparser::tokenizer::Token::Placeholder(_) => {
                let v =
                    with(i).ok_or_else(|| MyError::new(1210, "HY000", "Incorrect arguments to mysqld_stmt_execute"))?;
                out.push_str(&v);
                i += 1;
            }
            sqlparser::tokenizer::Token::SingleQuotedString(s) | sqlparser::tokenizer::Token::DoubleQuotedString(s) => {
                out.push_str(&sql::quote_str(&s).replace('\\', "\\\\"))
            }
            other => out.push_str(&other.to_string()),
        }
    }
    Ok(out)
}

/// Read one binary parameter of type `ty` (its high bit: UNSIGNED).
pub fn param(r: &mut Reader<'_>, ty: u16) -> Result<Param, PacketError> {
    let unsigned = ty & 0x8000 != 0;
    let int = |signed: i64, raw: u64| if unsigned { Param::UInt(raw) } else { Param::Int(signed) };
    Ok(match (ty & 0xff) as u8 {
        0x01 => {
            let v = r.u8()?;
            int(i64::from(v as i8), u64::from(v))
        }
        0x02 | 0x0d => {
            let v = r.u16()?;
            int(i64::from(v as i16), u64::from(v))
        }
        0x03 | 0x09 => {
            let v = r.u32()?;
            int(i64::from(v as i32), u64::from(v))
        }
        0x08 => {
            let v = r.u64()?;
            int(v as i64, v)
        }
        0x04 => {
            let b = r.take(4)?;
            Param::Double(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        0x05 => {
            let b = r.take(8)?;
            Param::Double(f64::from_le_bytes(b.try_into().expect("8")))
        }
        0x06 => Param::Null,
        0x07 | 0x0a | 0x0c => {
            let n = r.u8()? as usize;
            let b = r.take(n)?;
            let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut us) = (0u16, 0u8, 0u8, 0u8, 0u8, 0u8, 0u32);
            if n >= 4 {
                y = u16::from_le_bytes([b[0], b[1]]);
                mo = b[2];
                d = b[3];
            }
            if n >= 7 {
                h = b[4];
                mi = b[5];
                s = b[6];
            }
            if n >= 11 {
                us = u32::from_le_bytes([b[7], b[8], b[9], b[10]]);
            }
            Param::Temporal(if us > 0 {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            } else if (ty & 0xff) == 0x0a {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            })
        }
        0x0b => {
            let n = r.u8()? as usize;
            let b = r.take(n)?;
            Param::Temporal(if n >= 8 {
                let neg = b[0] == 1;
                let days = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
                // u64: a client may send any day count (found by fuzzing: u32 overflowed).
                let h = u64::from(days) * 24 + u64::from(b[5]);
                format!("{}{h:02}:{:02}:{:02}", if neg { "-" } else { "" }, b[6], b[7])
            } else {
                "00:00:00".into()
            })
        }
        0x0f | 0x10 | 0xf5 | 0xf6 | 0xf7 | 0xf8 | 0xf9 | 0xfa | 0xfb | 0xfc | 0xfd | 0xfe | 0x00 => {
            Param::Bytes(r.lenenc_str()?.to_vec())
        }
        _ => return Err(PacketError::Malformed("unknown parameter type")),
    })
}

/// A string parameter as a literal: quoted text if it is UTF-8, else a hex blob.
pub fn bytes_literal(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => sql::quote_str(s).replace('\\', "\\\\"),
        Err(_) => format!("X'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// The values of COM_STMT_EXECUTE's parameters, read from `r` (positioned
/// after the iteration count) for a statement of `n` parameters. `types` are the types
/// bound by an earlier execute, replaced if this one binds new ones; a parameter in
/// `long_data` was sent ahead and has no value in the packet.
pub fn decode_values(
    r: &mut Reader<'_>,
    n: usize,
    types: &mut Vec<u16>,
    long_data: &BTreeMap<u16, Vec<u8>>,
) -> Result<Vec<Param>, PacketError> {
    let mut values: Vec<Param> = Vec::with_capacity(n);
    if n == 0 {
        return Ok(values);
    }
    let bitmap = r.take(n.div_ceil(8))?.to_vec();
    let bound = r.u8()?;
    if bound == 1 {
        *types = (0..n).map(|_| r.u16()).collect::<Result<_, _>>()?;
    }
    if types.len() != n {
        return Err(PacketError::Malformed("parameter types missing"));
    }
    for (i, ty) in types.iter().enumerate() {
        if let Some(bytes) = long_data.get(&(i as u16)) {
            // Sent ahead: the execute packet carries no value for it.
            values.push(Param::Bytes(bytes.clone()));
            continue;
        }
        if bitmap[i / 8] & (1 << (i % 8)) != 0 {
            values.push(Param::Null);
            continue;
        }
        values.push(param(r, *ty)?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `stmt_execute_params` fuzz target: a TIME of 2^31 days overflowed.
    #[test]
    fn a_time_parameter_of_any_day_count_decodes() {
        let mut body = vec![0, 1, 0x0b, 0];
        body.extend_from_slice(&[8, 1, 2, 0, 0, 0x80, 3, 6, 5]);
        let values = decode_values(&mut Reader::new(&body), 1, &mut Vec::new(), &BTreeMap::new()).unwrap();
        assert_eq!(values, vec![Param::Temporal(format!("-{}:06:05", 0x8000_0002u64 * 24 + 3))]);
        assert_eq!(values[0].literal(), format!("'-{}:06:05'", 0x8000_0002u64 * 24 + 3));
    }
}
