//! `DEFAULT` as a value in `INSERT … VALUES` (`VALUES (DEFAULT, 1)`, with or without a
//! column list, in some rows and not others). SQLite has no such value: each DEFAULT
//! becomes its column's default expression from the table's schema (NULL where it has
//! none, which an AUTO_INCREMENT key takes as "generate one", as MySQL does), and a
//! missing column list becomes the table's columns in order.
//!
//! The token pass `expr_passes::insert_defaults` handles the schema-free case (a column
//! given DEFAULT in every row is left out); this one needs the table's columns, so the
//! session applies it before translating, when a statement has a DEFAULT value.

use sqlparser::tokenizer::{Token, Whitespace, Word};

use super::expr_passes::{close_of, items, significant};
use super::tokens::kw;

/// A column's name and its default expression as SQLite keeps it (`None`: no default).
pub(crate) type ColumnDefault = (String, Option<String>);

/// Where the parts of an `INSERT … VALUES` statement are, as positions in `sig`.
struct Insert {
    /// The table name's last token.
    table_end: usize,
    table: String,
    /// The column list's parentheses, if written.
    columns: Option<(usize, usize)>,
    /// Each row's parentheses.
    rows: Vec<(usize, usize)>,
}

fn parse(tokens: &[Token], sig: &[usize]) -> Option<Insert> {
    let word_at = |p: usize| sig.get(p).and_then(|i| kw(&tokens[*i]));
    if !matches!(word_at(0).as_deref(), Some("INSERT" | "REPLACE")) {
        return None;
    }
    let mut p = 1;
    while matches!(word_at(p).as_deref(), Some("IGNORE" | "LOW_PRIORITY" | "HIGH_PRIORITY" | "DELAYED" | "INTO")) {
        p += 1;
    }
    let name = |p: usize| match sig.get(p).map(|i| &tokens[*i]) {
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => None,
    };
    let table = name(p)?;
    // `db.t`: the table is the last part (the session looks it up in its database only).
    if sig.get(p + 1).is_some_and(|i| tokens[*i] == Token::Period) {
        return None;
    }
    let table_end = p;
    p += 1;
    let columns = if sig.get(p).is_some_and(|i| tokens[*i] == Token::LParen) {
        let close = close_of(tokens, sig, p)?;
        let open = p;
        p = close + 1;
        Some((open, close))
    } else {
        None
    };
    if !matches!(word_at(p).as_deref(), Some("VALUES" | "VALUE")) {
        return None;
    }
    p += 1;
    let mut rows = Vec::new();
    while sig.get(p).is_some_and(|i| tokens[*i] == Token::LParen) {
        let close = close_of(tokens, sig, p)?;
        rows.push((p, close));
        p = close + 1;
        if sig.get(p).is_some_and(|i| tokens[*i] == Token::Comma) {
            p += 1;
        } else {
            break;
        }
    }
    Some(Insert { table_end, table, columns, rows })
}

/// The columns of `table` in order, with their defaults (none if there is no such table).
pub(crate) fn column_defaults(conn: &rusqlite::Connection, table: &str) -> Vec<ColumnDefault> {
    let sql = "SELECT name, dflt_value FROM pragma_table_info(?1) ORDER BY cid";
    let Ok(mut stmt) = conn.prepare_cached(sql) else { return Vec::new() };
    stmt.query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

fn is_default(tokens: &[Token], sig: &[usize], (a, b): (usize, usize)) -> bool {
    a == b && kw(&tokens[sig[a]]).as_deref() == Some("DEFAULT")
}

/// The table of an `INSERT … VALUES` that has a DEFAULT value, which [`with_defaults`]
/// needs the columns of.
pub(crate) fn table_needing_defaults(tokens: &[Token]) -> Option<String> {
    if !tokens.iter().any(|t| kw(t).as_deref() == Some("DEFAULT")) {
        return None;
    }
    let sig = significant(tokens);
    let insert = parse(tokens, &sig)?;
    let any_default =
        insert.rows.iter().any(|(o, c)| items(tokens, &sig, *o, *c).into_iter().any(|it| is_default(tokens, &sig, it)));
    any_default.then_some(insert.table)
}

/// The statement with each DEFAULT value replaced by its column's default (and the column
/// list written out if it was not), or `None` if it cannot be (a row or a column list of
/// another length than the table's columns: SQLite's error then tells the client).
pub(crate) fn with_defaults(tokens: &[Token], table_columns: &[ColumnDefault]) -> Option<Vec<Token>> {
    let sig = significant(tokens);
    let insert = parse(tokens, &sig)?;
    let names: Vec<String> = match insert.columns {
        Some((open, close)) => items(tokens, &sig, open, close)
            .into_iter()
            .map(|(a, b)| if a == b { super::tokens::text(&tokens[sig[a]]) } else { None })
            .collect::<Option<_>>()?,
        None => table_columns.iter().map(|(n, _)| n.clone()).collect(),
    };
    let default_of = |column: &str| -> Option<Vec<Token>> {
        let (_, dflt) = table_columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(column))?;
        Some(match dflt {
            Some(expr) => {
                let mut t = vec![Token::LParen];
                t.extend(super::sql::tokenize(expr).ok()?);
                t.push(Token::RParen);
                t
            }
            None => vec![word("NULL")],
        })
    };
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut copied = 0; // tokens[..copied] are in `out`
    if insert.columns.is_none() {
        let after_table = sig[insert.table_end] + 1;
        out.extend_from_slice(&tokens[..after_table]);
        out.extend([Token::Whitespace(Whitespace::Space), Token::LParen]);
        for (n, name) in names.iter().enumerate() {
            if n > 0 {
                out.extend([Token::Comma, Token::Whitespace(Whitespace::Space)]);
            }
            out.push(Token::Word(Word {
                value: name.clone(),
                quote_style: Some('`'),
                keyword: sqlparser::keywords::Keyword::NoKeyword,
            }));
        }
        out.push(Token::RParen);
        copied = after_table;
    }
    for (open, close) in &insert.rows {
        let row = items(tokens, &sig, *open, *close);
        if row.len() != names.len() {
            return None;
        }
        for (n, item) in row.into_iter().enumerate() {
            if is_default(tokens, &sig, item) {
                out.extend_from_slice(&tokens[copied..sig[item.0]]);
                out.extend(default_of(&names[n])?);
                copied = sig[item.0] + 1;
            }
        }
    }
    out.extend_from_slice(&tokens[copied..]);
    Some(out)
}

fn word(value: &str) -> Token {
    Token::make_word(value, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(sql: &str) -> Option<String> {
        let toks = super::super::sql::tokenize(sql).unwrap();
        table_needing_defaults(&toks)?;
        let columns = vec![
            ("id".to_string(), None),
            ("v".to_string(), Some("7".to_string())),
            ("at".to_string(), Some("CURRENT_TIMESTAMP".to_string())),
        ];
        with_defaults(&toks, &columns).map(|t| t.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn each_default_becomes_its_columns_default() {
        assert_eq!(
            expand("INSERT INTO u VALUES (DEFAULT, DEFAULT, DEFAULT)").as_deref(),
            Some("INSERT INTO u (`id`, `v`, `at`) VALUES (NULL, (7), (CURRENT_TIMESTAMP))")
        );
        assert_eq!(
            expand("INSERT u (v, id) VALUES (1, DEFAULT), (DEFAULT, 5)").as_deref(),
            Some("INSERT u (v, id) VALUES (1, NULL), ((7), 5)")
        );
        assert_eq!(expand("INSERT INTO u VALUES (1, 2, 3)"), None);
        assert_eq!(expand("UPDATE u SET v = DEFAULT"), None);
        // A row of another length is left for SQLite to reject.
        assert_eq!(expand("INSERT INTO u VALUES (DEFAULT)"), None);
    }
}
