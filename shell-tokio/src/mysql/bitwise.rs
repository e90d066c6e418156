//! MySQL's bit and integer-division operators, which SQLite lacks or answers otherwise:
//! `&`, `|`, `^`, `~`, `<<`, `>>` work on unsigned 64-bit integers (`~0` is
//! 18446744073709551615, a negative shift count shifts everything out), logical `XOR`,
//! and `DIV`, which truncates the exact quotient of any two numbers (`1e3 DIV '12'` is 83).
//!
//! The operators are rewritten into these calls by [`super::ast_operators`]; operands are
//! converted as MySQL converts them: non-integers rounded, strings by their leading
//! number.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::numeric::{leading_number, num};

/// A double as MySQL turns it into a 64-bit operand: rounded, saturating, negative values
/// in two's complement.
fn from_f64(r: f64) -> u64 {
    let r = r.round();
    if r >= u64::MAX as f64 {
        u64::MAX
    } else if r >= 0.0 {
        r as u64
    } else {
        r.max(i64::MIN as f64) as i64 as u64
    }
}

/// Argument `i` as an unsigned 64-bit operand (`None` for NULL).
fn operand(ctx: &Context<'_>, i: usize) -> Option<u64> {
    match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n as u64),
        ValueRef::Real(r) => Some(from_f64(r)),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let s = String::from_utf8_lossy(t);
            // Digits past i64 (a result of another bit operator) are taken whole.
            Some(s.trim().parse::<u64>().unwrap_or_else(|_| from_f64(leading_number(&s))))
        }
    }
}

/// An unsigned result: an SQLite integer where it fits, else its digits.
fn unsigned(v: u64) -> SqlValue {
    i64::try_from(v).map_or_else(|_| SqlValue::Text(v.to_string()), SqlValue::Integer)
}

/// A bit operator on two unsigned operands.
type BitOp = fn(u64, u64) -> u64;

/// The truth of argument `i` as MySQL's logical operators see it (`None` for NULL).
fn truth(ctx: &Context<'_>, i: usize) -> Option<bool> {
    num(ctx, i).map(|v| v != 0.0)
}

/// Register the operator functions on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let binary: [(&str, BitOp); 5] = [
        ("marmot_bitand", |a, b| a & b),
        ("marmot_bitor", |a, b| a | b),
        ("marmot_xor", |a, b| a ^ b),
        ("marmot_shl", |a, b| if b < 64 { a << b } else { 0 }),
        ("marmot_shr", |a, b| if b < 64 { a >> b } else { 0 }),
    ];
    for (name, f) in binary {
        conn.create_scalar_function(name, 2, det, move |ctx| {
            Ok(match (operand(ctx, 0), operand(ctx, 1)) {
                (Some(a), Some(b)) => unsigned(f(a, b)),
                _ => SqlValue::Null,
            })
        })?;
    }
    conn.create_scalar_function("marmot_bitnot", 1, det, |ctx| {
        Ok(operand(ctx, 0).map_or(SqlValue::Null, |a| unsigned(!a)))
    })?;
    conn.create_scalar_function("bit_count", 1, det, |ctx| {
        Ok(operand(ctx, 0).map_or(SqlValue::Null, |a| SqlValue::Integer(i64::from(a.count_ones()))))
    })?;
    conn.create_scalar_function("marmot_lxor", 2, det, |ctx| {
        Ok(match (truth(ctx, 0), truth(ctx, 1)) {
            (Some(a), Some(b)) => SqlValue::Integer(i64::from(a != b)),
            _ => SqlValue::Null,
        })
    })?;
    conn.create_scalar_function("marmot_div", 2, det, |ctx| {
        Ok(match (ctx.get_raw(0), ctx.get_raw(1)) {
            (ValueRef::Integer(_), ValueRef::Integer(0)) => SqlValue::Null,
            (ValueRef::Integer(a), ValueRef::Integer(b)) => a
                .checked_div(b)
                .map_or_else(|| SqlValue::Text((i128::from(a) / i128::from(b)).to_string()), SqlValue::Integer),
            _ => match (num(ctx, 0), num(ctx, 1)) {
                (Some(a), Some(b)) if b != 0.0 => {
                    let q = (a / b).trunc();
                    if q.abs() < 9.2e18 {
                        SqlValue::Integer(q as i64)
                    } else {
                        SqlValue::Real(q)
                    }
                }
                _ => SqlValue::Null,
            },
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> String {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        super::super::numeric::register(&conn).unwrap();
        conn.query_row(&format!("SELECT {sql}"), [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                SqlValue::Integer(i) => i.to_string(),
                SqlValue::Text(t) => t,
                SqlValue::Null => "NULL".into(),
                other => format!("{other:?}"),
            })
            .unwrap()
    }

    #[test]
    fn bit_operators_are_unsigned_64_bit() {
        assert_eq!(one("marmot_bitnot(0)"), "18446744073709551615");
        assert_eq!(one("marmot_bitor(-7, 0)"), "18446744073709551609");
        assert_eq!(one("marmot_bitand('3.5', '3.5')"), "4");
        assert_eq!(one("marmot_shl(2.5, 2.5)"), "24");
        assert_eq!(one("marmot_shr(42, -7)"), "0");
        assert_eq!(one("marmot_bitand(marmot_bitnot(0), 255)"), "255");
        assert_eq!(one("marmot_xor(NULL, 1)"), "NULL");
        assert_eq!(one("bit_count(-1)"), "64");
        assert_eq!(one("bit_count('7')"), "3");
    }

    #[test]
    fn logical_xor_and_integer_division() {
        assert_eq!(one("marmot_lxor(' 7x', 0)"), "1");
        assert_eq!(one("marmot_lxor('abc', 0)"), "0");
        assert_eq!(one("marmot_lxor(NULL, 1)"), "NULL");
        assert_eq!(one("marmot_div(1e3, '12')"), "83");
        assert_eq!(one("marmot_div(-7, 2)"), "-3");
        assert_eq!(one("marmot_div(7, 0)"), "NULL");
        assert_eq!(one("marmot_div(-9223372036854775808, -1)"), "9223372036854775808");
    }
}
