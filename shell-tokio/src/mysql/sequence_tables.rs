//! MariaDB's Sequence engine: `seq_1_to_10`, `seq_10_to_1`, `seq_0_to_100_step_5` are
//! virtual tables of one column, `seq`, that exist in every database without being
//! created. Applications and test suites use them to generate rows (`INSERT … SELECT seq
//! FROM seq_1_to_1000`). Here such a name after FROM, JOIN or a comma of a FROM list becomes
//! a subquery producing the same rows from a recursive common table expression, keeping
//! the name as its alias (or the alias written after it).

use sqlparser::tokenizer::Token;

use super::sql_text::tokenize;
use super::tokens::{is_space, kw};

/// Start, end and step of a sequence table's name.
fn parse(name: &str) -> Option<(i64, i64, i64)> {
    let lower = name.to_ascii_lowercase();
    let rest = lower.strip_prefix("seq_")?;
    let (start, rest) = rest.split_once("_to_")?;
    let (end, step) = match rest.split_once("_step_") {
        Some((end, step)) => (end, step.parse().ok()?),
        None => (rest, 1),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(start) || !digits(end) || step < 1 {
        return None;
    }
    Some((start.parse().ok()?, end.parse().ok()?, step))
}

/// Words after a table that begin the next clause rather than name an alias.
const CLAUSE_WORDS: &[&str] = &[
    "WHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "CROSS",
    "NATURAL",
    "STRAIGHT_JOIN",
    "ON",
    "USING",
    "UNION",
    "HAVING",
    "WINDOW",
    "FOR",
    "LOCK",
    "INTO",
    "EXCEPT",
    "INTERSECT",
    "FULL",
    "OUTER",
];

/// The rows of `seq_{start}_to_{end}[_step_{step}]`, as MariaDB gives them: ascending when
/// start ≤ end, else descending; the end included when the step reaches it.
fn subquery(start: i64, end: i64, step: i64) -> String {
    let (op, next) = if start <= end { ("<=", format!("seq + {step}")) } else { (">=", format!("seq - {step}")) };
    format!(
        "(WITH RECURSIVE marmot_seq(seq) AS (SELECT {start} UNION ALL SELECT {next} FROM marmot_seq \
         WHERE {next} {op} {end}) SELECT seq FROM marmot_seq)"
    )
}

/// The statement with its sequence tables replaced, or `None` if it names none.
pub(crate) fn sequence_tables(tokens: &[Token]) -> Option<Vec<Token>> {
    let sig: Vec<usize> = (0..tokens.len()).filter(|i| !is_space(&tokens[*i])).collect();
    let mut out: Vec<Token> = Vec::new();
    let mut copied = 0;
    for (p, &i) in sig.iter().enumerate() {
        let Token::Word(w) = &tokens[i] else { continue };
        let Some((start, end, step)) = parse(&w.value) else { continue };
        // `db.seq_1_to_3`: the qualifier goes too (the table is in every database).
        let qualified = p >= 2 && tokens[sig[p - 1]] == Token::Period;
        let before = if qualified { p.checked_sub(3) } else { p.checked_sub(1) };
        let in_from = before.is_some_and(|b| {
            tokens[sig[b]] == Token::Comma || matches!(kw(&tokens[sig[b]]).as_deref(), Some("FROM" | "JOIN"))
        });
        if !in_from {
            continue;
        }
        let first = if qualified { sig[p - 2] } else { i };
        let aliased = sig.get(p + 1).is_some_and(|n| match &tokens[*n] {
            Token::Word(a) => a.quote_style.is_some() || !CLAUSE_WORDS.contains(&a.value.to_ascii_uppercase().as_str()),
            _ => false,
        });
        let mut text = subquery(start, end, step);
        if !aliased {
            text += &format!(" AS `{}`", w.value);
        }
        out.extend_from_slice(&tokens[copied..first]);
        out.extend(tokenize(&text).ok()?);
        copied = i + 1;
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(&tokens[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::rewrite;

    fn tr(sql: &str) -> String {
        let toks = tokenize(sql).unwrap();
        sequence_tables(&toks).map(|t| rewrite(&t)).unwrap_or_else(|| rewrite(&toks))
    }

    #[test]
    fn names_parse_as_mariadb_reads_them() {
        assert_eq!(parse("seq_1_to_10"), Some((1, 10, 1)));
        assert_eq!(parse("SEQ_10_to_1"), Some((10, 1, 1)));
        assert_eq!(parse("seq_0_to_100_step_5"), Some((0, 100, 5)));
        assert_eq!(parse("seq_1_to_x"), None);
        assert_eq!(parse("seq_1_to_3_step_0"), None);
        assert_eq!(parse("sequence"), None);
    }

    #[test]
    fn tables_after_from_join_or_comma_become_subqueries() {
        let s = tr("SELECT seq FROM seq_1_to_3");
        assert!(s.contains("WITH RECURSIVE") && s.ends_with("AS \"seq_1_to_3\""), "{s}");
        let s = tr("SELECT s.seq FROM test.seq_1_to_3 AS s WHERE s.seq > 1");
        assert!(!s.contains("test") && s.contains(") AS s WHERE"), "{s}");
        let s = tr("SELECT * FROM t JOIN seq_1_to_3 ON t.a = seq_1_to_3.seq");
        assert!(s.contains("AS \"seq_1_to_3\" ON t.a = seq_1_to_3.seq"), "{s}");
        assert_eq!(tr("SELECT seq_1_to_3 FROM t"), "SELECT seq_1_to_3 FROM t");
    }
}
