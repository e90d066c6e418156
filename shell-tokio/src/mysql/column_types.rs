//! A result column's MySQL type, as a client sees it, from the type its table declared.
//!
//! SQLite keeps the declared type text (`decimal(8,2)`, `tinyint(1)`, `datetime(3)`, …)
//! but not the type's meaning; MySQL clients and ORMs pick their conversions from the wire
//! type, the flags and the decimals of each column definition (a DECIMAL becomes Python's
//! `Decimal`, a TIME a `timedelta`, a BOOL an `int`). This module maps the declaration to
//! those, and checks the first rows against the width it chose: SQLite stores what it is
//! given, so a value that a narrower MySQL type could not hold widens the column rather
//! than reaching the client cut short.

use marmot_core::Value;

use super::datetime::DateTime;
use super::proto::{charset, flag, ColType, Column};
use super::wire_values::parse_time;

/// The MySQL column a declared type stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Declared {
    /// Wire type.
    pub ty: ColType,
    /// Display length.
    pub length: u32,
    /// Scale of a DECIMAL, fractional-second digits of a temporal type.
    pub decimals: u8,
    /// Extra flags (ENUM, SET).
    pub flags: u16,
}

/// MySQL's flag bits for ENUM and SET columns (sent as strings).
const ENUM_FLAG: u16 = 256;
const SET_FLAG: u16 = 2048;

/// The numbers in a declaration's parentheses: `decimal(8,2)` → [8, 2].
fn type_args(decl: &str) -> Vec<u32> {
    let Some(open) = decl.find('(') else { return Vec::new() };
    let close = decl[open..].find(')').map_or(decl.len(), |c| open + c);
    decl[open + 1..close].split(',').filter_map(|a| a.trim().parse().ok()).collect()
}

/// The MySQL column of a declared type (`None` for declarations MySQL has no wire type
/// for, which then travel as strings or by their values' storage class).
pub(crate) fn declared(decl: &str) -> Option<Declared> {
    let lower = decl.trim().to_ascii_lowercase();
    let base: String = lower.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let args = type_args(&lower);
    let arg = |i: usize| args.get(i).copied();
    let fsp = || arg(0).unwrap_or(0).min(6) as u8;
    let d = |ty, length, decimals| Some(Declared { ty, length, decimals, flags: 0 });
    match base.as_str() {
        "bool" | "boolean" => d(ColType::Tiny, 1, 0),
        "tinyint" => d(ColType::Tiny, arg(0).unwrap_or(4), 0),
        "smallint" => d(ColType::Short, 6, 0),
        "mediumint" => d(ColType::Int24, 9, 0),
        "int" | "integer" => d(ColType::Long, 11, 0),
        "bigint" => d(ColType::LongLong, 20, 0),
        "float" => d(ColType::Float, 12, 31),
        "double" | "real" => d(ColType::Double, 22, 31),
        "decimal" | "numeric" | "dec" | "fixed" => {
            let precision = arg(0).unwrap_or(10);
            let scale = arg(1).unwrap_or(0).min(30);
            d(ColType::NewDecimal, precision + 1 + u32::from(scale > 0), scale as u8)
        }
        "date" => d(ColType::Date, 10, 0),
        "datetime" => d(ColType::DateTime, 19 + u32::from(fsp() > 0) + u32::from(fsp()), fsp()),
        "timestamp" => d(ColType::Timestamp, 19 + u32::from(fsp() > 0) + u32::from(fsp()), fsp()),
        "time" => d(ColType::Time, 10 + u32::from(fsp() > 0) + u32::from(fsp()), fsp()),
        "year" => d(ColType::Year, 4, 0),
        // BIT(n): n bits, sent as ceil(n / 8) big-endian bytes.
        "bit" => Some(Declared {
            ty: ColType::Bit,
            length: arg(0).unwrap_or(1).clamp(1, 64),
            decimals: 0,
            flags: flag::UNSIGNED,
        }),
        "enum" => Some(Declared { ty: ColType::String, length: 1024, decimals: 0, flags: ENUM_FLAG }),
        "set" => Some(Declared { ty: ColType::String, length: 1024, decimals: 0, flags: SET_FLAG }),
        _ if lower.contains("int") => d(ColType::LongLong, 20, 0),
        _ if lower.contains("blob") || lower.contains("binary") => d(ColType::Blob, 65_535, 0),
        _ => None,
    }
}

/// A declared type as MySQL shows it (SHOW CREATE TABLE, SHOW COLUMNS, information_schema):
/// the synonyms MySQL resolves at CREATE time resolved (`bool` → `tinyint(1)`,
/// `national char(3)` → `char(3)`, `numeric(5,2)` → `decimal(5,2)`, `real` → `double`).
pub(crate) fn display_type(decl: &str) -> String {
    let decl = decl.trim();
    // (The arguments keep their case: ENUM and SET values are case-sensitive text.)
    let args = decl.find('(').map(|i| &decl[i..]).unwrap_or_default();
    let lower = decl.find('(').map_or(decl, |i| &decl[..i]).trim().to_ascii_lowercase();
    let base = lower.as_str();
    let (base, rest) = match base.split_once(' ') {
        Some((b, r)) if !matches!(b, "national" | "double" | "character" | "char") => (b, r),
        _ => (base, ""),
    };
    let tail = |s: &str| if rest.is_empty() { s.to_string() } else { format!("{s} {rest}") };
    match base {
        "bool" | "boolean" => tail("tinyint(1)"),
        "integer" => tail(&format!("int{args}")),
        "real" | "double precision" => tail(&format!("double{args}")),
        "numeric" | "dec" | "fixed" => tail(&format!("decimal{}", if args.is_empty() { "(10,0)" } else { args })),
        "decimal" if args.is_empty() => tail("decimal(10,0)"),
        "national char" | "nchar" | "character" => tail(&format!("char{args}")),
        "national varchar" | "nvarchar" | "national char varying" | "character varying" | "char varying" => {
            tail(&format!("varchar{args}"))
        }
        _ => format!("{lower}{args}"),
    }
}

/// Whether `v` can travel in the binary protocol as a value of type `ty` (integers within
/// the type's signed width, temporal text that parses).
fn fits(ty: ColType, v: &Value) -> bool {
    let range = |lo: i64, hi: i64| match v {
        Value::Integer(i) => (lo..=hi).contains(i),
        Value::Null => true,
        _ => false,
    };
    let text = |ok: fn(&str) -> bool| match v {
        Value::Text(s) => ok(s),
        Value::Null => true,
        _ => false,
    };
    match ty {
        ColType::Tiny => range(i8::MIN.into(), i8::MAX.into()),
        ColType::Short => range(i16::MIN.into(), i16::MAX.into()),
        ColType::Year => range(0, u16::MAX.into()),
        ColType::Long | ColType::Int24 => range(i32::MIN.into(), i32::MAX.into()),
        ColType::LongLong => range(i64::MIN, i64::MAX),
        ColType::Date | ColType::DateTime | ColType::Timestamp => text(|s| DateTime::parse(s).is_some()),
        ColType::Time => text(|s| parse_time(s).is_some()),
        ColType::Bit => matches!(v, Value::Integer(_) | Value::Blob(_) | Value::Null),
        _ => true,
    }
}

/// The column definition for a result column named `name` whose table declared `decl`
/// (`None` for an expression), typed from `samples` (the first rows' values) where the
/// declaration says nothing or its width cannot hold them.
pub(crate) fn typed_column<'a>(
    name: &str,
    decl: Option<&str>,
    samples: impl Iterator<Item = &'a Value> + Clone,
) -> Column {
    let declared = decl.and_then(declared);
    let by_value = || match samples.clone().find(|v| !matches!(v, Value::Null)) {
        Some(Value::Integer(_)) => ColType::LongLong,
        Some(Value::Real(_)) => ColType::Double,
        Some(Value::Blob(_)) => ColType::Blob,
        _ => ColType::VarString,
    };
    let Some(mut d) = declared else {
        return Column::new(name, if decl.is_some() { ColType::VarString } else { by_value() });
    };
    if !samples.clone().all(|v| fits(d.ty, v)) {
        // Wider than the declaration allows (SQLite does not enforce widths), or temporal
        // text that is not a date: send what is there rather than a cut-down value.
        let integer = matches!(d.ty, ColType::Tiny | ColType::Short | ColType::Int24 | ColType::Long | ColType::Year);
        d = Declared { ty: if integer { ColType::LongLong } else { by_value() }, length: 20, decimals: 0, flags: 0 };
        if d.ty == ColType::LongLong && !samples.clone().all(|v| fits(ColType::LongLong, v)) {
            d.ty = by_value();
        }
    }
    let mut c = Column::new(name, d.ty);
    c.length = d.length;
    c.decimals = d.decimals;
    c.flags |= d.flags;
    if matches!(
        d.ty,
        ColType::Date | ColType::DateTime | ColType::Timestamp | ColType::Time | ColType::Year | ColType::Bit
    ) {
        // As MySQL sends them: binary character set, with the binary flag.
        c.charset = charset::BINARY;
        c.flags |= flag::BINARY;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(decl: &str) -> Option<(ColType, u8)> {
        declared(decl).map(|d| (d.ty, d.decimals))
    }

    #[test]
    fn declarations_map_to_mysql_wire_types() {
        assert_eq!(ty("decimal(8,2)"), Some((ColType::NewDecimal, 2)));
        assert_eq!(ty("NUMERIC(38, 12)"), Some((ColType::NewDecimal, 12)));
        assert_eq!(ty("decimal"), Some((ColType::NewDecimal, 0)));
        assert_eq!(ty("bool"), Some((ColType::Tiny, 0)));
        assert_eq!(ty("tinyint(1)"), Some((ColType::Tiny, 0)));
        assert_eq!(ty("smallint(6)"), Some((ColType::Short, 0)));
        assert_eq!(ty("mediumint"), Some((ColType::Int24, 0)));
        assert_eq!(ty("int(11)"), Some((ColType::Long, 0)));
        assert_eq!(ty("bigint(20)"), Some((ColType::LongLong, 0)));
        assert_eq!(ty("float"), Some((ColType::Float, 31)));
        assert_eq!(ty("double"), Some((ColType::Double, 31)));
        assert_eq!(ty("datetime(3)"), Some((ColType::DateTime, 3)));
        assert_eq!(ty("timestamp"), Some((ColType::Timestamp, 0)));
        assert_eq!(ty("time(6)"), Some((ColType::Time, 6)));
        assert_eq!(ty("date"), Some((ColType::Date, 0)));
        assert_eq!(ty("year(4)"), Some((ColType::Year, 0)));
        assert_eq!(ty("enum"), Some((ColType::String, 0)));
        assert_eq!(ty("varbinary(16)"), Some((ColType::Blob, 0)));
        assert_eq!(ty("varchar(200)"), None);
        assert_eq!(ty("text"), None);
    }

    #[test]
    fn synonyms_show_as_mysql_resolves_them() {
        assert_eq!(display_type("BOOL"), "tinyint(1)");
        assert_eq!(display_type("national char(3)"), "char(3)");
        assert_eq!(display_type("nvarchar(10)"), "varchar(10)");
        assert_eq!(display_type("numeric(5,2)"), "decimal(5,2)");
        assert_eq!(display_type("decimal"), "decimal(10,0)");
        assert_eq!(display_type("double precision"), "double");
        assert_eq!(display_type("real"), "double");
        assert_eq!(display_type("integer"), "int");
        assert_eq!(display_type("int(10) unsigned"), "int(10) unsigned");
        assert_eq!(display_type("varchar(200)"), "varchar(200)");
        assert_eq!(display_type("ENUM('a','B')"), "enum('a','B')");
    }

    #[test]
    fn values_wider_than_the_declared_width_widen_the_column() {
        let small = [Value::Integer(5), Value::Null];
        assert_eq!(typed_column("a", Some("tinyint"), small.iter()).ty, ColType::Tiny);
        let wide = [Value::Integer(5), Value::Integer(300)];
        assert_eq!(typed_column("a", Some("tinyint"), wide.iter()).ty, ColType::LongLong);
        let real = [Value::Real(1.5)];
        assert_eq!(typed_column("a", Some("int"), real.iter()).ty, ColType::Double);
        let not_a_date = [Value::Text("soon".into())];
        assert_eq!(typed_column("a", Some("datetime"), not_a_date.iter()).ty, ColType::VarString);
        let a_date = [Value::Text("2024-03-05 10:11:12".into())];
        assert_eq!(typed_column("a", Some("datetime"), a_date.iter()).ty, ColType::DateTime);
    }

    #[test]
    fn expressions_are_typed_by_their_values() {
        assert_eq!(typed_column("x", None, [Value::Integer(1)].iter()).ty, ColType::LongLong);
        assert_eq!(typed_column("x", None, [Value::Null, Value::Real(1.0)].iter()).ty, ColType::Double);
        assert_eq!(typed_column("x", None, std::iter::empty()).ty, ColType::VarString);
    }
}
