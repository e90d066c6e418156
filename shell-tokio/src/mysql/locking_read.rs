//! Locking reads: `SELECT … FOR UPDATE`, `FOR SHARE` and `LOCK IN SHARE MODE`.
//!
//! An application reads a row with `FOR UPDATE`, computes a new value from it and writes
//! it back: InnoDB makes that safe by locking the row at the read. marmot does the same
//! in two parts (see the session): the rows the read returns are locked against this
//! node's other transactions (the row locks of [`super::row_locks`]), and each row's
//! version at the read becomes the version the transaction's later write of it was based
//! on, so that under first-committer-wins a commit of that row by another node in
//! between gets this transaction a 1213 instead of being overwritten.
//!
//! Which rows: those of every table named in the `FROM` clause that the `SELECT`'s own
//! `FROM … WHERE …` (joins, `ORDER BY` and `LIMIT` included) returns. Shared locks are
//! taken as exclusive ones (safe, sometimes a wait more than InnoDB). A grouped or
//! compound select, a derived table or another database's table locks nothing of its own
//! rows; a write of them is still checked at commit.

use sqlparser::tokenizer::Token;

use super::tokens::{is_space, kw};

/// A locking read's tables and the text its row keys are read with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockingRead {
    /// Each table the rows come from, with the name the statement refers to it by
    /// (its alias, or the table's name).
    pub tables: Vec<(String, String)>,
    /// `SELECT 1 FROM …` with the statement's own `FROM` clause and everything after it
    /// (MySQL tokens): its select list replaced by each table's key gives the keys.
    pub keys_query: Vec<Token>,
    /// `NOWAIT`: fail at once (3572) instead of waiting for a lock.
    pub nowait: bool,
}

/// Words that end a table reference's alias position.
const NOT_ALIAS: &[&str] = &[
    "ON",
    "USING",
    "WHERE",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "CROSS",
    "NATURAL",
    "STRAIGHT_JOIN",
    "OUTER",
    "GROUP",
    "ORDER",
    "LIMIT",
    "FOR",
    "LOCK",
    "HAVING",
    "WINDOW",
    "USE",
    "FORCE",
    "IGNORE",
    "UNION",
    "PARTITION",
    "INTO",
];

/// The locking read `toks` is, if it is one.
pub fn parse(toks: &[Token]) -> Option<LockingRead> {
    let sig: Vec<(usize, &Token)> = toks.iter().enumerate().filter(|(_, t)| !is_space(t)).collect();
    let word = |k: usize| sig.get(k).and_then(|(_, t)| kw(t));
    if word(0).as_deref() != Some("SELECT") {
        return None;
    }
    // Top-level positions: the FROM, and whether the statement locks.
    let (mut depth, mut from, mut locks, mut nowait) = (0i32, None, false, false);
    for (k, (_, t)) in sig.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 => match word(k).as_deref() {
                Some("FROM") if from.is_none() => from = Some(k),
                Some("FOR") if matches!(word(k + 1).as_deref(), Some("UPDATE" | "SHARE")) => locks = true,
                Some("LOCK") if word(k + 1).as_deref() == Some("IN") && word(k + 2).as_deref() == Some("SHARE") => {
                    locks = true
                }
                Some("NOWAIT") if locks => nowait = true,
                Some("GROUP" | "HAVING" | "UNION") => return None,
                _ => {}
            },
            _ => {}
        }
    }
    let from = from.filter(|_| locks)?;
    let mut tables = Vec::new();
    let mut k = from + 1;
    let mut depth = 0i32;
    let mut expect_table = true;
    while let Some((_, t)) = sig.get(k) {
        match t {
            Token::LParen => {
                // A derived table or a parenthesised join: not a table of its own.
                expect_table &= depth > 0;
                depth += 1
            }
            Token::RParen => depth -= 1,
            _ if depth > 0 => {}
            Token::Comma => expect_table = true,
            Token::Word(w) => {
                let upper = kw(t);
                match upper.as_deref() {
                    Some("WHERE" | "ORDER" | "LIMIT" | "FOR" | "LOCK" | "WINDOW") => break,
                    Some("JOIN" | "STRAIGHT_JOIN") => expect_table = true,
                    _ if expect_table => {
                        expect_table = false;
                        if matches!(sig.get(k + 1), Some((_, Token::Period))) {
                            k += 3; // another database's table: not locked here
                            continue;
                        }
                        let name = w.value.clone();
                        let mut alias = name.clone();
                        let mut next = k + 1;
                        if word(next).as_deref() == Some("AS") {
                            next += 1;
                        }
                        if let Some((_, Token::Word(a))) = sig.get(next) {
                            let reserved = kw(sig[next].1).is_some_and(|u| NOT_ALIAS.contains(&u.as_str()));
                            if !reserved {
                                alias = a.value.clone();
                                k = next;
                            }
                        }
                        tables.push((name, alias));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        k += 1;
    }
    let start = sig[from].0;
    let mut keys_query = crate::mysql::sql::tokenize("SELECT 1 ").ok()?;
    keys_query.retain(|t| !matches!(t, Token::EOF));
    keys_query.extend(toks[start..].iter().cloned());
    Some(LockingRead { tables, keys_query, nowait })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::{rewrite, tokenize};

    fn tables(sql: &str) -> Option<Vec<(String, String)>> {
        parse(&tokenize(sql).unwrap()).map(|r| r.tables)
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn finds_the_tables_of_a_locking_read_and_only_of_one() {
        assert_eq!(tables("SELECT n FROM c WHERE id = 1 FOR UPDATE"), Some(vec![pair("c", "c")]));
        assert_eq!(tables("select * from `Acc` a where a.id in (1, 2) for share nowait"), Some(vec![pair("Acc", "a")]));
        assert_eq!(
            tables("SELECT * FROM a AS x JOIN b ON b.id = x.id, c LEFT JOIN d y USING (k) LOCK IN SHARE MODE"),
            Some(vec![pair("a", "x"), pair("b", "b"), pair("c", "c"), pair("d", "y")])
        );
        assert_eq!(
            tables("SELECT * FROM t WHERE id = (SELECT max(id) FROM u) ORDER BY id LIMIT 1 FOR UPDATE"),
            Some(vec![pair("t", "t")])
        );
        assert_eq!(tables("SELECT * FROM other.t, (SELECT 1) z FOR UPDATE"), Some(vec![]));
        assert_eq!(tables("SELECT * FROM t WHERE id = 1"), None, "not a locking read");
        assert_eq!(tables("SELECT * FROM t WHERE x IN (SELECT y FROM u FOR UPDATE)"), None, "only the inner one locks");
        assert_eq!(tables("SELECT k, count(*) FROM t GROUP BY k FOR UPDATE"), None);
        assert!(parse(&tokenize("SELECT * FROM t FOR UPDATE NOWAIT").unwrap()).unwrap().nowait);
    }

    #[test]
    fn the_keys_query_keeps_the_from_clause_and_drops_the_lock() {
        let r = parse(&tokenize("SELECT a, b FROM t x WHERE x.a > 2 ORDER BY a LIMIT 3 FOR UPDATE").unwrap()).unwrap();
        assert_eq!(rewrite(&r.keys_query), "SELECT 1 FROM t x WHERE x.a > 2 ORDER BY a LIMIT 3");
    }
}
