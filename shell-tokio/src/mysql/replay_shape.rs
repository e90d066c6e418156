//! The shape of a client statement, as far as it tells which rows it can touch: a point
//! `SELECT`, `UPDATE` or `DELETE` by one column (`WHERE col = lit` or `col IN (lits)`),
//! or an `INSERT`/`REPLACE` of literal rows. The writer uses it to write only the open
//! transaction's earlier rows the statement can see (see [`marmot_store::replay`]).
//!
//! Recognising too little is always safe (the statement then sees every earlier row);
//! so anything unusual — a subquery, a join, a qualified name, an expression where a key
//! literal should be, a clause not listed here — gives [`Replay::All`].

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::tokenizer::Token;

use super::tokens::{kw, significant};
use marmot_store::replay::{loose_text, Literals, Replay};

/// The shape of one statement's tokens.
pub fn shape(toks: &[Token]) -> Replay {
    let s = significant(toks);
    if s.iter().any(|t| matches!(t, Token::Period | Token::Placeholder(_)))
        || s.iter().skip(1).any(|t| matches!(kw(t).as_deref(), Some("SELECT" | "JOIN" | "UNION")))
    {
        return Replay::All;
    }
    let p = Parser { s, i: 0 };
    let out = match kw(p.s.first().copied().unwrap_or(&Token::EOF)).as_deref() {
        Some("SELECT") => p.select(),
        Some("UPDATE") => p.update(),
        Some("DELETE") => p.delete(),
        Some("INSERT" | "REPLACE") => p.insert(),
        _ => None,
    };
    out.unwrap_or_default()
}

struct Parser<'a> {
    s: Vec<&'a Token>,
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.s.get(self.i).copied()
    }

    fn keyword(&self) -> Option<String> {
        self.peek().and_then(kw)
    }

    fn eat(&mut self, word: &str) -> bool {
        let hit = self.keyword().as_deref() == Some(word);
        self.i += hit as usize;
        hit
    }

    fn eat_token(&mut self, t: &Token) -> bool {
        let hit = self.peek() == Some(t);
        self.i += hit as usize;
        hit
    }

    fn skip_words(&mut self, words: &[&str]) {
        while self.keyword().is_some_and(|k| words.contains(&k.as_str())) {
            self.i += 1;
        }
    }

    /// A table or column name (quoted or not).
    fn name(&mut self) -> Option<String> {
        match self.peek()? {
            Token::Word(w) => {
                self.i += 1;
                Some(w.value.clone())
            }
            _ => None,
        }
    }

    /// One value up to the next top-level `,`, `)` or `WHERE`: its loose key form if it
    /// is a plain literal, `None` otherwise. Fails only on unbalanced parentheses.
    fn value(&mut self) -> Option<Option<String>> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => break,
                t if depth == 0 && kw(t).as_deref() == Some("WHERE") => break,
                _ => {}
            }
            self.i += 1;
        }
        if depth != 0 {
            return None;
        }
        Some(literal(&self.s[start..self.i]))
    }

    /// `( v, v, … )`.
    fn values_list(&mut self) -> Option<Vec<Option<String>>> {
        if !self.eat_token(&Token::LParen) {
            return None;
        }
        let mut out = vec![self.value()?];
        while self.eat_token(&Token::Comma) {
            out.push(self.value()?);
        }
        self.eat_token(&Token::RParen).then_some(out)
    }

    /// `WHERE col = lit` or `WHERE col IN (…)`, then only a row limit or locking clause.
    fn point_where(&mut self, table: String, assigned: BTreeSet<String>) -> Option<Replay> {
        if !self.eat("WHERE") {
            return None;
        }
        let column = self.name()?.to_ascii_lowercase();
        let keys = if self.eat_token(&Token::Eq) {
            let sign = matches!(self.peek(), Some(Token::Plus | Token::Minus)) as usize;
            let end = (self.i + 1 + sign).min(self.s.len());
            let key = literal(&self.s[self.i..end])?;
            self.i = end;
            vec![Some(key)]
        } else if self.eat("IN") {
            self.values_list()?
        } else {
            return None;
        };
        let rest_ok = self.s[self.i..].iter().all(|t| {
            matches!(t, Token::Number(..) | Token::Comma)
                || matches!(
                    kw(t).as_deref(),
                    Some("LIMIT" | "FOR" | "UPDATE" | "SHARE" | "LOCK" | "IN" | "MODE" | "NOWAIT")
                )
        });
        rest_ok.then(|| Replay::Keyed { table, literals: BTreeMap::from([(column, keys)]), assigned })
    }

    fn select(mut self) -> Option<Replay> {
        let from = self.s.iter().position(|t| kw(t).as_deref() == Some("FROM"))?;
        self.i = from + 1;
        let table = self.name()?;
        self.point_where(table, BTreeSet::new())
    }

    fn delete(mut self) -> Option<Replay> {
        self.i = 1;
        self.skip_words(&["LOW_PRIORITY", "QUICK", "IGNORE"]);
        if !self.eat("FROM") {
            return None;
        }
        let table = self.name()?;
        self.point_where(table, BTreeSet::new())
    }

    /// `col = expr, …` up to a keyword that ends them; the assigned columns.
    fn assignments(&mut self) -> Option<BTreeSet<String>> {
        let mut assigned = BTreeSet::new();
        loop {
            assigned.insert(self.name()?.to_ascii_lowercase());
            if !self.eat_token(&Token::Eq) {
                return None;
            }
            self.value()?;
            if !self.eat_token(&Token::Comma) {
                return Some(assigned);
            }
        }
    }

    fn update(mut self) -> Option<Replay> {
        self.i = 1;
        self.skip_words(&["LOW_PRIORITY", "IGNORE"]);
        let table = self.name()?;
        if !self.eat("SET") {
            return None;
        }
        let assigned = self.assignments()?;
        self.point_where(table, assigned)
    }

    fn insert(mut self) -> Option<Replay> {
        self.i = 1;
        self.skip_words(&["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"]);
        self.eat("INTO");
        let table = self.name()?;
        if !self.eat_token(&Token::LParen) {
            return None;
        }
        let mut columns = vec![self.name()?.to_ascii_lowercase()];
        while self.eat_token(&Token::Comma) {
            columns.push(self.name()?.to_ascii_lowercase());
        }
        if !self.eat_token(&Token::RParen) || !(self.eat("VALUES") || self.eat("VALUE")) {
            return None;
        }
        let mut literals = Literals::new();
        loop {
            let row = self.values_list()?;
            if row.len() != columns.len() {
                return None;
            }
            for (c, v) in columns.iter().zip(row) {
                literals.entry(c.clone()).or_default().push(v);
            }
            if !self.eat_token(&Token::Comma) {
                break;
            }
        }
        let mut assigned = BTreeSet::new();
        if self.eat("ON") {
            if !(self.eat("DUPLICATE") && self.eat("KEY") && self.eat("UPDATE")) {
                return None;
            }
            assigned = self.assignments()?;
        }
        (self.i == self.s.len()).then_some(Replay::Keyed { table, literals, assigned })
    }
}

/// The loose key form of a value's tokens if they are one plain literal: a string, or a
/// number with an optional sign. `NULL` and expressions are not (`NULL` may become a
/// generated key, which depends on the table's other rows).
fn literal(toks: &[&Token]) -> Option<String> {
    match toks {
        [Token::SingleQuotedString(s)] | [Token::DoubleQuotedString(s)] => Some(loose_text(s)),
        [Token::Number(n, _)] | [Token::Plus, Token::Number(n, _)] => Some(loose_text(n)),
        [Token::Minus, Token::Number(n, _)] => Some(loose_text(&format!("-{n}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::tokenize;

    fn keyed(sql: &str) -> Option<(String, Literals, BTreeSet<String>)> {
        match shape(&tokenize(sql).unwrap()) {
            Replay::Keyed { table, literals, assigned } => Some((table, literals, assigned)),
            Replay::All => None,
        }
    }

    fn keys(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn point_statements_name_their_keys() {
        let (t, l, a) = keyed("SELECT * FROM benchmarks WHERE id = 'K1' FOR UPDATE").unwrap();
        assert_eq!((t.as_str(), l["id"].clone(), a.is_empty()), ("benchmarks", keys(&["k1"]), true));
        let (_, l, a) = keyed("UPDATE `t` SET v = v + 1, w = 'x' WHERE id IN (1, -2, '3')").unwrap();
        assert_eq!(l["id"], keys(&["1", "-2", "3"]));
        assert_eq!(a, BTreeSet::from(["v".to_string(), "w".to_string()]));
        let (_, l, _) = keyed("DELETE FROM t WHERE id = 7 LIMIT 1").unwrap();
        assert_eq!(l["id"], keys(&["7"]));
        let (_, l, a) =
            keyed("INSERT INTO t (id, v) VALUES (1, now()), (2, 'b') ON DUPLICATE KEY UPDATE v = 'c'").unwrap();
        assert_eq!(l["id"], keys(&["1", "2"]));
        assert_eq!(l["v"], vec![None, Some("b".into())]);
        assert!(a.contains("v"));
        let (_, l, _) = keyed("INSERT INTO t (id) VALUES (NULL)").unwrap();
        assert_eq!(l["id"], vec![None], "a NULL key may be generated: not a literal");
    }

    #[test]
    fn anything_else_sees_every_earlier_row() {
        for sql in [
            "SELECT * FROM t WHERE id = (SELECT max(id) FROM u)",
            "SELECT * FROM t JOIN u ON t.id = u.id WHERE id = 1",
            "SELECT * FROM t WHERE id = 1 OR v = 2",
            "SELECT * FROM t WHERE id > 1",
            "SELECT * FROM t, u WHERE id = 1",
            "SELECT count(*) FROM t WHERE id = 1 ORDER BY v",
            "UPDATE t SET v = (SELECT 1) WHERE id = 1",
            "UPDATE t SET v = 1 WHERE id = 1 ORDER BY v",
            "UPDATE t SET v = 1",
            "DELETE FROM db.t WHERE id = 1",
            "DELETE t FROM t JOIN u WHERE id = 1",
            "INSERT INTO t VALUES (1, 2)",
            "INSERT INTO t (id, v) SELECT id, v FROM u",
            "INSERT INTO t SET id = 1",
            "INSERT INTO t (id, v) VALUES (1, 2) AS new ON DUPLICATE KEY UPDATE v = new.v",
            "INSERT INTO t (id, v) VALUES (1, 2, 3)",
            "UPDATE t SET v = ? WHERE id = ?",
        ] {
            assert_eq!(keyed(sql), None, "{sql}");
        }
    }
}
