//! Expressions generated across MySQL's operand types and its operators and functions,
//! for differential tests against a real MariaDB: every operator and function form below
//! is applied to operands of every type, so nobody picks the cases that happen to work.
//!
//! The generation is a fixed product (no randomness): the same list on every run, so a
//! change in the count of agreeing expressions is a change in marmot, not in the sample.

/// Operands, one or more of each type MySQL converts between: integers, exact decimals,
/// floats, strings that are numbers, strings that are not, NULL, temporal strings and
/// booleans.
pub const OPERANDS: &[&str] = &[
    "0",
    "1",
    "-7",
    "42",
    "2.5",
    "-0.125",
    "10.00",
    "1e3",
    "-2.5e-3",
    "'12'",
    "'3.5'",
    "' 7x'",
    "'abc'",
    "''",
    "NULL",
    "'2024-03-05'",
    "'2024-03-05 10:20:30'",
    "TRUE",
    "FALSE",
];

/// Binary operators (arithmetic, comparison, logical, bitwise, pattern).
const BINARY: &[&str] = &[
    "+", "-", "*", "/", "DIV", "%", "=", "<>", "<", "<=", ">", ">=", "<=>", "AND", "OR", "XOR", "&", "|", "^", "<<",
    ">>", "LIKE",
];

/// Forms of one operand (`{}`).
const UNARY: &[&str] = &[
    "-{}",
    "NOT {}",
    "~{}",
    "{} IS NULL",
    "{} IS NOT NULL",
    "{} IS TRUE",
    "ISNULL({})",
    "ABS({})",
    "SIGN({})",
    "CEIL({})",
    "FLOOR({})",
    "ROUND({})",
    "ROUND({}, 1)",
    "ROUND({}, -1)",
    "TRUNCATE({}, 1)",
    "SQRT({})",
    "LENGTH({})",
    "CHAR_LENGTH({})",
    "UPPER({})",
    "LOWER({})",
    "REVERSE({})",
    "HEX({})",
    "QUOTE({})",
    "CONCAT({}, '|')",
    "LPAD({}, 4, '*')",
    "SPACE({})",
    "FORMAT({}, 1)",
    "CONV({}, 10, 2)",
    "CAST({} AS SIGNED)",
    "CAST({} AS UNSIGNED)",
    "CAST({} AS CHAR)",
    "CAST({} AS DECIMAL(10,2))",
    "CAST({} AS DATE)",
    "COALESCE({}, 'd')",
    "IFNULL({}, 0)",
    "IF({}, 'y', 'n')",
    "{} BETWEEN 0 AND 10",
    "{} IN (1, '2', 2.5)",
    "{} + 0",
    "{} * 1.0",
    "CASE {} WHEN 1 THEN 'one' WHEN 'abc' THEN 'abc' ELSE 'other' END",
    "YEAR({})",
    "DAYOFWEEK({})",
    "DATE_FORMAT({}, '%Y-%m-%d %H')",
    "DATE_ADD({}, INTERVAL 1 DAY)",
    "{} + INTERVAL 1 MONTH",
    "DATEDIFF({}, '2024-01-01')",
    "LAST_DAY({})",
];

/// Forms of two operands.
const BINARY_FUNCTIONS: &[&str] = &[
    "GREATEST({}, {})",
    "LEAST({}, {})",
    "NULLIF({}, {})",
    "IFNULL({}, {})",
    "CONCAT({}, {})",
    "CONCAT_WS('-', {}, {})",
    "ROUND({}, {})",
    "POW({}, {})",
    "MOD({}, {})",
    "STRCMP({}, {})",
    "REPEAT({}, {})",
    "LEFT({}, {})",
    "CASE WHEN {} THEN {} ELSE 'no' END",
    "{} IN ({}, 1)",
];

/// Every generated expression, in a fixed order, without repeats.
pub fn expressions() -> Vec<String> {
    let n = OPERANDS.len();
    let mut out: Vec<String> = Vec::new();
    for (k, op) in BINARY.iter().enumerate() {
        for (i, a) in OPERANDS.iter().enumerate() {
            // Two right-hand operands per left one, walking the list at different strides so
            // every pair of types meets somewhere across the operators.
            for step in [3, 8] {
                let b = OPERANDS[(i * 5 + k + step) % n];
                out.push(format!("{a} {op} {b}"));
            }
        }
    }
    for form in UNARY {
        for a in OPERANDS {
            out.push(form.replacen("{}", a, 1));
        }
    }
    for (k, form) in BINARY_FUNCTIONS.iter().enumerate() {
        for (i, a) in OPERANDS.iter().enumerate() {
            let b = OPERANDS[(i * 3 + k + 2) % n];
            out.push(form.replacen("{}", a, 1).replacen("{}", b, 1));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|e| seen.insert(e.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_a_thousand_distinct_expressions() {
        let all = expressions();
        assert!(all.len() >= 1000, "{}", all.len());
        // Every operand meets every binary operator on the left.
        for op in BINARY {
            for a in OPERANDS {
                assert!(all.iter().any(|e| e.starts_with(&format!("{a} {op} "))), "{a} {op}");
            }
        }
    }
}
