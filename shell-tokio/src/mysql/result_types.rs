//! MySQL's type for select-list expressions whose type SQLite cannot tell: arithmetic on
//! DECIMAL columns and decimal literals, division, SUM and AVG, ROUND, MIN/MAX of a
//! DECIMAL. SQLite answers these with a REAL (or an INTEGER) and no declared type, so a
//! client would get a float, `3.5` for `7 / 2` and `1.5` for `SUM(price)`; MySQL answers a
//! DECIMAL with a known scale (`3.5000`, `1.50`), which clients turn into exact decimals.
//!
//! The inference follows MySQL's rules: `+`/`-` keep the larger scale, `*` adds scales,
//! `/` adds `div_precision_increment` (4) to the dividend's, SUM keeps its operand's and
//! makes an integer a DECIMAL, AVG adds 4. Anything it cannot type (strings, dates, an
//! unknown column, a derived table) leaves the column typed by its values, as before.
//! The result is a declaration (`decimal(65,4)`) that the result layer types and formats
//! the column with, exactly as it does a declared DECIMAL column.

use std::collections::BTreeMap;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, SelectItem, SetExpr, Statement,
    TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::column_types::declared;
use super::proto::ColType;
use super::tokens::kw;

/// MySQL's largest DECIMAL scale.
const MAX_SCALE: u8 = 30;

/// What `div_precision_increment` adds to a quotient's scale (its default).
const DIV_PRECISION_INCREMENT: u8 = 4;

/// A numeric class in MySQL's type rules.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int,
    Decimal(u8),
    Double,
}

fn decimal(scale: u32) -> Num {
    Num::Decimal(scale.min(u32::from(MAX_SCALE)) as u8)
}

fn scale(n: Num) -> u32 {
    match n {
        Num::Decimal(s) => u32::from(s),
        _ => 0,
    }
}

/// The columns each table name or alias in FROM stands for: name → declared type.
type Scope = BTreeMap<String, BTreeMap<String, String>>;

/// Whether the select list may hold something typed here: the cheap gate that spares the
/// parse for the plain column reads that most queries are.
pub(crate) fn worth_typing(tokens: &[Token]) -> bool {
    let mut prev_sig: Option<&Token> = None;
    for t in tokens {
        if kw(t).as_deref() == Some("FROM") {
            return false;
        }
        let hit = match t {
            Token::Div | Token::Plus | Token::Minus => true,
            // `*` after SELECT, a comma or a qualifier is a wildcard, not a product.
            Token::Mul => {
                !matches!(prev_sig, Some(Token::Comma | Token::Period) | None)
                    && prev_sig.and_then(kw).as_deref() != Some("SELECT")
            }
            Token::Number(n, _) => n.contains('.'),
            t => matches!(
                kw(t).as_deref(),
                Some(
                    "SUM"
                        | "AVG"
                        | "MIN"
                        | "MAX"
                        | "ROUND"
                        | "TRUNCATE"
                        | "ABS"
                        | "IFNULL"
                        | "COALESCE"
                        | "GREATEST"
                        | "LEAST"
                        | "NULLIF"
                        | "IF"
                        | "CASE"
                        | "CAST"
                )
            ),
        };
        if hit {
            return true;
        }
        if !matches!(t, Token::Whitespace(_)) {
            prev_sig = Some(t);
        }
    }
    false
}

/// Declarations (`decimal(65,4)`) for the result columns of a SELECT whose type SQLite
/// cannot tell, one per column (`None`: typed as before), or `None` for the whole
/// statement. `columns_of(table)` lists a table's columns with their declared types.
pub(crate) fn select_types(
    tokens: &[Token],
    columns_of: &mut dyn FnMut(&str) -> Vec<(String, String)>,
) -> Option<Vec<Option<String>>> {
    if !worth_typing(tokens) {
        return None;
    }
    let text = super::tokens::mysql_text(tokens);
    let statements = Parser::new(&MySqlDialect {}).try_with_sql(&text).ok()?.parse_statements().ok()?;
    let [Statement::Query(query)] = statements.as_slice() else { return None };
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let mut scope = Scope::new();
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, alias, .. } = factor {
                let table = last_part(name)?;
                // Another database's table (`db.t`) is not looked up: its columns stay unknown.
                let columns = if name.0.len() > 1 { Vec::new() } else { columns_of(&table) };
                let columns =
                    columns.into_iter().map(|(c, ty)| (c.to_ascii_lowercase(), ty)).collect::<BTreeMap<_, _>>();
                let key = alias.as_ref().map_or(table, |a| a.name.value.clone());
                scope.insert(key.to_ascii_lowercase(), columns);
            }
        }
    }
    let mut types = Vec::with_capacity(select.projection.len());
    for item in &select.projection {
        let expr = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            // A wildcard's columns are the table's, typed by their declarations.
            _ => return None,
        };
        let plain_column = matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        types.push(match infer(expr, &scope) {
            Some(Num::Decimal(s)) if !plain_column => Some(format!("decimal(65,{s})")),
            _ => None,
        });
    }
    types.iter().any(Option::is_some).then_some(types)
}

/// A table's columns and their declared types, as `select_types` looks them up (none if
/// there is no such table: the statement's own error comes when it runs).
pub(crate) fn table_columns(conn: &rusqlite::Connection, table: &str) -> Vec<(String, String)> {
    let Ok(mut stmt) = conn.prepare_cached("SELECT name, type FROM pragma_table_info(?1)") else { return Vec::new() };
    stmt.query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

fn last_part(name: &ObjectName) -> Option<String> {
    name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.clone())
}

/// The numeric class of a declared column type.
fn of_declaration(decl: &str) -> Option<Num> {
    let d = declared(decl)?;
    Some(match d.ty {
        ColType::NewDecimal | ColType::Decimal => Num::Decimal(d.decimals),
        ColType::Tiny | ColType::Short | ColType::Int24 | ColType::Long | ColType::LongLong | ColType::Year => Num::Int,
        ColType::Float | ColType::Double => Num::Double,
        _ => return None,
    })
}

fn column(scope: &Scope, table: Option<&str>, name: &str) -> Option<Num> {
    let name = name.to_ascii_lowercase();
    let decl = match table {
        Some(t) => scope.get(&t.to_ascii_lowercase())?.get(&name)?,
        None => {
            // Unqualified: the one table that has it (ambiguity is SQLite's error to give).
            let mut found = scope.values().filter_map(|cols| cols.get(&name));
            let first = found.next()?;
            if found.next().is_some() {
                return None;
            }
            first
        }
    };
    of_declaration(decl)
}

fn arguments(args: &FunctionArguments) -> Option<Vec<&Expr>> {
    let FunctionArguments::List(list) = args else { return Some(Vec::new()) };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// The class of values that may come from any of `exprs` (a CASE's branches, IFNULL's
/// arguments): the widest of them.
fn common(exprs: &[&Expr], scope: &Scope) -> Option<Num> {
    let mut out: Option<Num> = None;
    for e in exprs {
        if matches!(e, Expr::Value(v) if v.value == Value::Null) {
            continue;
        }
        let n = infer(e, scope)?;
        out = Some(match (out, n) {
            (None, n) => n,
            (Some(Num::Double), _) | (_, Num::Double) => Num::Double,
            (Some(Num::Int), Num::Int) => Num::Int,
            (Some(a), b) => decimal(scale(a).max(scale(b))),
        });
    }
    out
}

/// The numeric class of `e`, if it has one MySQL's rules give.
fn infer(e: &Expr, scope: &Scope) -> Option<Num> {
    match e {
        Expr::Nested(inner) => infer(inner, scope),
        Expr::Identifier(i) => column(scope, None, &i.value),
        Expr::CompoundIdentifier(parts) => {
            let [.., t, c] = parts.as_slice() else { return None };
            column(scope, Some(&t.value), &c.value)
        }
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) if n.contains(['e', 'E']) => Some(Num::Double),
            Value::Number(n, _) => Some(n.split_once('.').map_or(Num::Int, |(_, frac)| decimal(frac.len() as u32))),
            Value::Boolean(_) => Some(Num::Int),
            _ => None,
        },
        Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr } => infer(expr, scope),
        Expr::BinaryOp { left, op, right } => {
            let (l, r) = (infer(left, scope)?, infer(right, scope)?);
            binary(l, op, r)
        }
        Expr::Cast { expr: _, data_type, .. } => of_declaration(&data_type.to_string()),
        Expr::Case { conditions, else_result, .. } => {
            let mut branches: Vec<&Expr> = conditions.iter().map(|c| &c.result).collect();
            branches.extend(else_result.as_deref());
            common(&branches, scope)
        }
        Expr::Function(f) => {
            let name = last_part(&f.name)?.to_ascii_uppercase();
            let args = arguments(&f.args)?;
            function(&name, &args, scope)
        }
        _ => None,
    }
}

fn binary(l: Num, op: &BinaryOperator, r: Num) -> Option<Num> {
    use BinaryOperator as B;
    let either_double = l == Num::Double || r == Num::Double;
    Some(match op {
        B::Plus | B::Minus | B::Modulo => match (l, r) {
            _ if either_double => Num::Double,
            (Num::Int, Num::Int) => Num::Int,
            _ => decimal(scale(l).max(scale(r))),
        },
        B::Multiply => match (l, r) {
            _ if either_double => Num::Double,
            (Num::Int, Num::Int) => Num::Int,
            _ => decimal(scale(l) + scale(r)),
        },
        B::Divide if either_double => Num::Double,
        B::Divide => decimal(scale(l) + u32::from(DIV_PRECISION_INCREMENT)),
        B::MyIntegerDivide => Num::Int,
        _ => return None,
    })
}

fn function(name: &str, args: &[&Expr], scope: &Scope) -> Option<Num> {
    let first = || args.first().and_then(|a| infer(a, scope));
    // A literal count of places (ROUND(x, 2)); a computed one leaves the type unknown.
    let places = || match args.get(1) {
        None => Some(0u32),
        Some(Expr::Value(v)) => match &v.value {
            Value::Number(n, _) => n.parse::<i64>().ok().map(|p| p.clamp(0, i64::from(MAX_SCALE)) as u32),
            _ => None,
        },
        _ => None,
    };
    Some(match name {
        "SUM" => match first()? {
            Num::Double => Num::Double,
            n => decimal(scale(n)),
        },
        "AVG" => match first()? {
            Num::Double => Num::Double,
            n => decimal(scale(n) + u32::from(DIV_PRECISION_INCREMENT)),
        },
        "MIN" | "MAX" | "ABS" => first()?,
        "ROUND" | "TRUNCATE" => match first()? {
            Num::Decimal(_) => decimal(places()?),
            n => n,
        },
        "IFNULL" | "COALESCE" | "GREATEST" | "LEAST" | "NULLIF" => {
            let args = if name == "NULLIF" { &args[..1.min(args.len())] } else { args };
            common(args, scope)?
        }
        "IF" if args.len() == 3 => common(&args[1..], scope)?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(sql: &str) -> Option<Vec<Option<String>>> {
        let toks = super::super::sql::tokenize(sql).unwrap();
        select_types(&toks, &mut |table| match table {
            "t" => {
                vec![("price".into(), "decimal(8,2)".into()), ("n".into(), "int".into()), ("f".into(), "double".into())]
            }
            "u" => vec![("rate".into(), "decimal(5,4)".into())],
            _ => Vec::new(),
        })
    }

    fn one(sql: &str) -> Option<String> {
        types(sql).and_then(|t| t[0].clone())
    }

    #[test]
    fn arithmetic_follows_mysqls_scale_rules() {
        assert_eq!(one("SELECT 7 / 2"), Some("decimal(65,4)".into()));
        assert_eq!(one("SELECT 10.00 + 42"), Some("decimal(65,2)".into()));
        assert_eq!(one("SELECT 2.5 * 10.00"), Some("decimal(65,3)".into()));
        assert_eq!(one("SELECT -0.125 / 1"), Some("decimal(65,7)".into()));
        assert_eq!(one("SELECT price * n FROM t"), Some("decimal(65,2)".into()));
        assert_eq!(one("SELECT t.price * u.rate FROM t JOIN u ON 1"), Some("decimal(65,6)".into()));
        assert_eq!(one("SELECT x.price + 37.1234 FROM t AS x"), Some("decimal(65,4)".into()));
        assert_eq!(one("SELECT 1 + 2"), None);
        assert_eq!(one("SELECT f * 2.5 FROM t"), None);
        assert_eq!(one("SELECT 1e3 / 2"), None);
    }

    #[test]
    fn aggregates_and_functions() {
        assert_eq!(one("SELECT SUM(price) FROM t"), Some("decimal(65,2)".into()));
        assert_eq!(one("SELECT SUM(n) FROM t"), Some("decimal(65,0)".into()));
        assert_eq!(one("SELECT AVG(n) FROM t"), Some("decimal(65,4)".into()));
        assert_eq!(one("SELECT AVG(price) FROM t"), Some("decimal(65,6)".into()));
        assert_eq!(one("SELECT MAX(price) FROM t"), Some("decimal(65,2)".into()));
        assert_eq!(one("SELECT ROUND(price, 1) FROM t"), Some("decimal(65,1)".into()));
        assert_eq!(one("SELECT IFNULL(price, 0) FROM t"), Some("decimal(65,2)".into()));
        assert_eq!(one("SELECT COUNT(*) FROM t"), None);
    }

    #[test]
    fn plain_columns_wildcards_and_strings_are_left_to_their_declarations() {
        assert_eq!(types("SELECT price FROM t"), None);
        assert_eq!(types("SELECT *, price * 2 FROM t"), None);
        assert_eq!(types("SELECT CONCAT(price, 'x') FROM t"), None);
        assert_eq!(types("SELECT price, price / 2 AS half FROM t"), Some(vec![None, Some("decimal(65,6)".into())]));
        assert_eq!(types("SELECT nosuch * 1.5 FROM t"), None);
    }
}
