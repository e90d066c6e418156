//! MySQL operators whose operands only a parser can delimit, rewritten on sqlparser's AST:
//! `a XOR b`, `a DIV b`, `a % b`, `a & b`, `a | b`, `a << b`, `a >> b` and `~a`. SQLite
//! has no XOR or DIV, and its `%`, `&`, `|`, shifts and `~` work on signed integers that
//! it truncates from non-integers, where MySQL rounds and works unsigned (see
//! [`super::bitwise`]). Each becomes a call of the function that answers as MySQL does;
//! the precedence of `XOR` (between AND and OR) and of `DIV`/`%` (with `*`) is the
//! parser's, which a token rewrite cannot see.
//!
//! Only statements that contain one of these operators are parsed (the rest of the
//! translation stays token by token), and a statement sqlparser cannot parse, or whose
//! strings would not survive printing and tokenizing again (backslashes, raw bytes), is
//! left as it was. So is one where sqlparser's precedence and MySQL's disagree about the
//! grouping (see [`misgrouped`]): parenthesized, it is rewritten.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, UnaryOperator, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::tokens::kw;

/// Whether the token is one of the operators rewritten here.
pub(crate) fn is_rewritten_operator(t: &Token) -> bool {
    matches!(t, Token::Ampersand | Token::Pipe | Token::ShiftLeft | Token::ShiftRight | Token::Tilde | Token::Mod)
        || matches!(kw(t).as_deref(), Some("XOR" | "DIV"))
}

/// Statements that may carry expressions (DDL is left to its own translation).
fn expression_statement(tokens: &[Token]) -> bool {
    let first = tokens.iter().find_map(|t| match t {
        Token::Whitespace(_) => None,
        Token::LParen => Some("(".to_string()),
        t => Some(kw(t).unwrap_or_default()),
    });
    matches!(first.as_deref(), Some("SELECT" | "INSERT" | "REPLACE" | "UPDATE" | "DELETE" | "WITH" | "SET" | "("))
}

/// Strings that print and tokenize back to themselves.
fn printable(t: &Token) -> bool {
    match t {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) | Token::NationalStringLiteral(s) => {
            !s.contains(['\\', '\0']) && !super::sql_text::has_raw(s)
        }
        _ => true,
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect(),
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    })
}

/// The expression, leaving NULL in its place (its parent is replaced right after).
fn taken(e: &mut Expr) -> Expr {
    std::mem::replace(e, Expr::Value(Value::Null.into()))
}

/// The function answering for a binary operator, if it is one rewritten here.
fn function_of(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Xor => "marmot_lxor",
        BinaryOperator::MyIntegerDivide => "marmot_div",
        BinaryOperator::Modulo => "mod",
        BinaryOperator::BitwiseAnd => "marmot_bitand",
        BinaryOperator::BitwiseOr => "marmot_bitor",
        BinaryOperator::PGBitwiseShiftLeft => "marmot_shl",
        BinaryOperator::PGBitwiseShiftRight => "marmot_shr",
        _ => return None,
    })
}

/// Operator classes whose relative precedence sqlparser and MySQL order differently.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Xor,
    BitAnd,
    BitOr,
    Shift,
    Caret,
    MulDiv,
    BitNot,
    /// Comparisons, IS, LIKE, BETWEEN, IN, NOT and AND: all below the bit operators and
    /// above XOR in MySQL; sqlparser puts XOR above them.
    Lower,
    Other,
}

fn class(e: &Expr) -> Class {
    use BinaryOperator as B;
    match e {
        Expr::BinaryOp { op, .. } => match op {
            B::Xor => Class::Xor,
            B::BitwiseAnd => Class::BitAnd,
            B::BitwiseOr => Class::BitOr,
            B::PGBitwiseShiftLeft | B::PGBitwiseShiftRight => Class::Shift,
            B::BitwiseXor => Class::Caret,
            B::Multiply | B::Divide | B::Modulo | B::MyIntegerDivide => Class::MulDiv,
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship | B::And => Class::Lower,
            _ => Class::Other,
        },
        Expr::UnaryOp { op: UnaryOperator::BitwiseNot, .. } => Class::BitNot,
        Expr::UnaryOp { op: UnaryOperator::Not, .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::RLike { .. }
        | Expr::Between { .. }
        | Expr::InList { .. }
        | Expr::InSubquery { .. } => Class::Lower,
        _ => Class::Other,
    }
}

/// The operands of `e` that it holds without parentheses.
fn operands(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::InList { expr, .. }
        | Expr::InSubquery { expr, .. } => vec![expr],
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } | Expr::RLike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        Expr::Between { expr, low, high, .. } => vec![expr, low, high],
        _ => Vec::new(),
    }
}

/// Whether an operator of class `a` holding one of class `b` (or the reverse) without
/// parentheses may be grouped otherwise by sqlparser than by MySQL, which ranks, high to
/// low: `^`, `~` (unary), `* / DIV %`, `+ -`, `<< >>`, `&`, `|`, comparisons, NOT, AND,
/// XOR, OR.
fn conflicting(a: Class, b: Class) -> bool {
    use Class::*;
    let one_way = |a, b| {
        matches!(
            (a, b),
            (Xor, Lower | BitAnd | BitOr | Shift | Caret | BitNot)
                | (BitAnd, Shift | Caret)
                | (BitOr, Caret)
                | (Shift, Caret)
                | (MulDiv, Caret)
                | (BitNot, MulDiv)
        )
    };
    one_way(a, b) || one_way(b, a)
}

/// Whether any operator of the statements holds, unparenthesized, one that sqlparser and
/// MySQL rank in a different order.
fn misgrouped(statements: &Vec<sqlparser::ast::Statement>) -> bool {
    let found = sqlparser::ast::visit_expressions(statements, |e| {
        let outer = class(e);
        if outer != Class::Other && operands(e).iter().any(|o| conflicting(outer, class(o))) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found.is_break()
}

/// The statement with its operators rewritten, or `None` if it has none (or cannot be).
pub(crate) fn operators(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.iter().any(is_rewritten_operator) || !expression_statement(tokens) || !tokens.iter().all(printable) {
        return None;
    }
    // Printed and read again: words the earlier passes inserted (`AS`) get their keyword.
    let text = super::tokens::mysql_text(tokens);
    let significant: Vec<Token> =
        super::sql_text::tokenize(&text).ok()?.into_iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    let mut statements = Parser::new(&MySqlDialect {}).with_tokens(significant).parse_statements().ok()?;
    if misgrouped(&statements) {
        return None;
    }
    let mut changed = false;
    let _ = sqlparser::ast::visit_expressions_mut(&mut statements, |e| {
        let replaced = match e {
            Expr::BinaryOp { left, op, right } => function_of(op).map(|f| call(f, vec![taken(left), taken(right)])),
            Expr::UnaryOp { op: UnaryOperator::BitwiseNot, expr } => Some(call("marmot_bitnot", vec![taken(expr)])),
            _ => None,
        };
        if let Some(r) = replaced {
            *e = r;
            changed = true;
        }
        ControlFlow::<()>::Continue(())
    });
    if !changed {
        return None;
    }
    let text: Vec<String> = statements.iter().map(ToString::to_string).collect();
    super::sql_text::tokenize(&text.join("; ")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(sql: &str) -> String {
        let toks = super::super::sql_text::tokenize(sql).unwrap();
        operators(&toks).map(|t| t.iter().map(ToString::to_string).collect()).unwrap_or_else(|| "unchanged".into())
    }

    #[test]
    fn operators_become_calls_with_the_parsers_precedence() {
        assert_eq!(tr("SELECT (a AND b) XOR c OR d FROM t"), "SELECT marmot_lxor((a AND b), c) OR d FROM t");
        assert_eq!(tr("SELECT 2 * 7 % 4"), "SELECT mod(2 * 7, 4)");
        assert_eq!(tr("SELECT 1 + 7 DIV 2"), "SELECT 1 + marmot_div(7, 2)");
        assert_eq!(tr("SELECT ~a | 1 << 2 FROM t"), "SELECT marmot_bitor(marmot_bitnot(a), marmot_shl(1, 2)) FROM t");
        assert_eq!(
            tr("SELECT x FROM t WHERE (a = 1) XOR (b = 2)"),
            "SELECT x FROM t WHERE marmot_lxor((a = 1), (b = 2))"
        );
    }

    #[test]
    fn groupings_sqlparser_ranks_otherwise_than_mysql_are_left_alone() {
        // MySQL: (a = 1) XOR (b = 2), (a AND b) XOR c, a & (b << c), (a ^ b) % c.
        for sql in ["SELECT a = 1 XOR b = 2", "SELECT a AND b XOR c", "SELECT a & b << c", "SELECT a ^ b % c"] {
            assert_eq!(tr(sql), "unchanged", "{sql}");
        }
        assert_eq!(tr("UPDATE t SET a = a & 3 WHERE id = 1"), "UPDATE t SET a = marmot_bitand(a, 3) WHERE id = 1");
    }

    #[test]
    fn statements_without_them_or_with_backslashes_are_left_alone() {
        assert_eq!(tr("SELECT a * 2 FROM t WHERE s LIKE '%x%'"), "unchanged");
        assert_eq!(tr("SELECT 'a\\\\b', 5 DIV 2"), "unchanged");
        assert_eq!(tr("CREATE TABLE t (a INT DEFAULT (5 DIV 2))"), "unchanged");
    }

    #[test]
    fn quotes_inside_strings_survive() {
        assert_eq!(tr("SELECT 'it''s', 5 DIV 2"), "SELECT 'it's', marmot_div(5, 2)");
    }
}
