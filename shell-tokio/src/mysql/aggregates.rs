//! MySQL's aggregate functions SQLite lacks: the statistical ones (STD, STDDEV,
//! STDDEV_POP, STDDEV_SAMP, VARIANCE, VAR_POP, VAR_SAMP), the bitwise ones (BIT_AND,
//! BIT_OR, BIT_XOR) and JSON_ARRAYAGG / JSON_OBJECTAGG. NULLs are skipped as MySQL skips
//! them; an aggregate of no values is NULL, except the bitwise ones, which MySQL defines
//! on the empty set (all ones for AND, zero for OR and XOR).

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

use super::json::{json_out, value_arg, Out};
use super::json_value::Json;

/// Running count, mean and sum of squared deviations (Welford), so that a variance of
/// large, close values keeps its digits.
#[derive(Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

/// Which statistic of [`Moments`] an aggregate gives.
#[derive(Clone, Copy)]
enum Statistic {
    VarPop,
    VarSamp,
    StdPop,
    StdSamp,
}

fn number(v: ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(r) => Some(r),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(super::numeric::leading_number(&String::from_utf8_lossy(t))),
    }
}

impl Aggregate<Moments, Option<f64>> for Statistic {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Moments> {
        Ok(Moments::default())
    }

    fn step(&self, ctx: &mut Context<'_>, m: &mut Moments) -> rusqlite::Result<()> {
        if let Some(x) = number(ctx.get_raw(0)) {
            m.n += 1;
            let delta = x - m.mean;
            m.mean += delta / m.n as f64;
            m.m2 += delta * (x - m.mean);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, m: Option<Moments>) -> rusqlite::Result<Option<f64>> {
        let Some(m) = m.filter(|m| m.n > 0) else { return Ok(None) };
        let sample = matches!(self, Statistic::VarSamp | Statistic::StdSamp);
        if sample && m.n < 2 {
            return Ok(None);
        }
        let var = m.m2 / (m.n - u64::from(sample)) as f64;
        Ok(Some(match self {
            Statistic::VarPop | Statistic::VarSamp => var,
            Statistic::StdPop | Statistic::StdSamp => var.sqrt(),
        }))
    }
}

/// BIT_AND / BIT_OR / BIT_XOR over the values as unsigned 64-bit integers.
#[derive(Clone, Copy)]
enum Bitwise {
    And,
    Or,
    Xor,
}

impl Aggregate<u64, Value> for Bitwise {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<u64> {
        Ok(if matches!(self, Bitwise::And) { u64::MAX } else { 0 })
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut u64) -> rusqlite::Result<()> {
        let x = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(()),
            ValueRef::Integer(i) => i as u64,
            other => number(other).unwrap_or(0.0).round() as i64 as u64,
        };
        match self {
            Bitwise::And => *acc &= x,
            Bitwise::Or => *acc |= x,
            Bitwise::Xor => *acc ^= x,
        }
        Ok(())
    }

    fn finalize(&self, ctx: &mut Context<'_>, acc: Option<u64>) -> rusqlite::Result<Value> {
        let v = match acc {
            Some(v) => v,
            None => self.init(ctx)?,
        };
        // Past i64 (BIT_AND of nothing is 2^64 - 1): the digits, as MySQL prints them.
        Ok(i64::try_from(v).map_or_else(|_| Value::Text(v.to_string()), Value::Integer))
    }
}

/// GROUP_CONCAT as MySQL has it (`GROUP_CONCAT([DISTINCT] a, b ORDER BY … SEPARATOR ';')`,
/// translated by `call_syntax` to `marmot_group_concat(value, separator, distinct)`):
/// SQLite's own group_concat refuses DISTINCT with a separator, so this one removes the
/// repeats itself, keeping the first of each (the rows come in the ORDER BY's order).
struct GroupConcat;

/// The pieces so far, and the separator.
type Pieces = (Vec<Vec<u8>>, Vec<u8>);

impl Aggregate<Pieces, Option<Vec<u8>>> for GroupConcat {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Pieces> {
        Ok((Vec::new(), b",".to_vec()))
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Pieces) -> rusqlite::Result<()> {
        let piece = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(()),
            ValueRef::Integer(i) => i.to_string().into_bytes(),
            ValueRef::Real(r) => super::wire_values::format_real(r).into_bytes(),
            ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
        };
        if let ValueRef::Text(sep) | ValueRef::Blob(sep) = ctx.get_raw(1) {
            acc.1 = sep.to_vec();
        }
        let distinct = matches!(ctx.get_raw(2), ValueRef::Integer(1));
        if !(distinct && acc.0.contains(&piece)) {
            acc.0.push(piece);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Pieces>) -> rusqlite::Result<Option<Vec<u8>>> {
        Ok(acc.filter(|(pieces, _)| !pieces.is_empty()).map(|(pieces, sep)| pieces.join(&sep[..])))
    }
}

/// JSON_ARRAYAGG(x): the values (NULL included, as JSON null) as one array.
struct ArrayAgg;

impl Aggregate<Vec<Json>, Out> for ArrayAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<Json>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<Json>) -> rusqlite::Result<()> {
        acc.push(value_arg(ctx, 0));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Vec<Json>>) -> rusqlite::Result<Out> {
        Ok(acc.map_or((Value::Null, None), |a| json_out(&Json::Array(a))))
    }
}

/// JSON_OBJECTAGG(key, value): the pairs as one object (a later duplicate key wins).
struct ObjectAgg;

impl Aggregate<Vec<(String, Json)>, Out> for ObjectAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<(String, Json)>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<(String, Json)>) -> rusqlite::Result<()> {
        let key = match ctx.get_raw(0) {
            ValueRef::Null => {
                return Err(rusqlite::Error::UserFunctionError(
                    "JSON documents may not contain NULL member names".into(),
                ))
            }
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(r) => r.to_string(),
            ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        };
        let value = value_arg(ctx, 1);
        match acc.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => acc.push((key, value)),
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Vec<(String, Json)>>) -> rusqlite::Result<Out> {
        Ok(acc.map_or((Value::Null, None), |m| json_out(&Json::Object(m))))
    }
}

/// Register the aggregates on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, s) in [
        ("std", Statistic::StdPop),
        ("stddev", Statistic::StdPop),
        ("stddev_pop", Statistic::StdPop),
        ("stddev_samp", Statistic::StdSamp),
        ("variance", Statistic::VarPop),
        ("var_pop", Statistic::VarPop),
        ("var_samp", Statistic::VarSamp),
    ] {
        conn.create_aggregate_function(name, 1, flags, s)?;
    }
    for (name, b) in [("bit_and", Bitwise::And), ("bit_or", Bitwise::Or), ("bit_xor", Bitwise::Xor)] {
        conn.create_aggregate_function(name, 1, flags, b)?;
    }
    conn.create_aggregate_function("json_arrayagg", 1, flags, ArrayAgg)?;
    conn.create_aggregate_function("marmot_group_concat", 3, flags, GroupConcat)?;
    conn.create_aggregate_function("json_objectagg", 2, flags, ObjectAgg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> String {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c.execute_batch("CREATE TABLE t (g INT, x INT, s TEXT); INSERT INTO t VALUES (1, 2, 'a'), (1, 4, 'b'), (1, 4, NULL), (1, 4, 'd'), (1, 5, 'e'), (1, 5, 'f'), (1, 7, 'g'), (1, 9, 'h'), (2, NULL, NULL)").unwrap();
        c.query_row(sql, [], |r| {
            Ok(match r.get::<_, Value>(0)? {
                Value::Null => "NULL".into(),
                Value::Integer(i) => i.to_string(),
                Value::Real(f) => f.to_string(),
                Value::Text(t) => t,
                Value::Blob(_) => "blob".into(),
            })
        })
        .unwrap()
    }

    #[test]
    fn statistics_match_the_textbook() {
        assert_eq!(one("SELECT std(x) FROM t WHERE g = 1"), "2");
        assert_eq!(one("SELECT variance(x) FROM t WHERE g = 1"), "4");
        assert_eq!(one("SELECT round(var_samp(x), 6) FROM t WHERE g = 1"), "4.571429");
        assert_eq!(one("SELECT stddev(x) FROM t WHERE g = 2"), "NULL", "only NULLs");
        assert_eq!(one("SELECT var_samp(x) FROM t WHERE x = 9"), "NULL", "one value has no sample variance");
    }

    #[test]
    fn bitwise_aggregates_include_the_empty_set() {
        assert_eq!(one("SELECT bit_or(x) FROM t"), "15");
        assert_eq!(one("SELECT bit_and(x) FROM t WHERE x > 3"), "0");
        assert_eq!(one("SELECT bit_xor(x) FROM t WHERE g = 1"), "8");
        assert_eq!(one("SELECT bit_and(x) FROM t WHERE 0"), "18446744073709551615");
    }

    #[test]
    fn json_aggregates_build_one_document() {
        assert_eq!(one("SELECT json_arrayagg(s) FROM t WHERE x < 5"), r#"["a", "b", null, "d"]"#);
        assert_eq!(one("SELECT json_objectagg(s, x) FROM t WHERE x > 6"), r#"{"g": 7, "h": 9}"#);
    }
}
