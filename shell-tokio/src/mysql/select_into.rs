//! `SELECT … INTO @a, @b`: a query whose one row goes into user variables instead of to the
//! client. MySQL allows the INTO before FROM or at the end; SQLite has no such clause, so
//! it is cut out here and the session assigns the row.

use sqlparser::tokenizer::Token;

use super::tokens::{is_space, kw};

/// The statement without its `INTO @var, …` and the variables (lower-cased, without `@`),
/// or `None` for a statement with no such clause (`INSERT … SELECT`, `INTO OUTFILE`).
pub(crate) fn split(tokens: &[Token]) -> Option<(Vec<Token>, Vec<String>)> {
    let sig: Vec<usize> = (0..tokens.len()).filter(|i| !is_space(&tokens[*i])).collect();
    if !matches!(sig.first().and_then(|&i| kw(&tokens[i])).as_deref(), Some("SELECT" | "WITH")) {
        return None;
    }
    let mut depth = 0i32;
    let into = sig.iter().position(|&i| {
        match &tokens[i] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        depth == 0 && kw(&tokens[i]).as_deref() == Some("INTO")
    })?;
    let var = |p: usize| match sig.get(p).map(|&i| &tokens[i]) {
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with('@') && !w.value.starts_with("@@") => {
            Some(w.value[1..].to_ascii_lowercase())
        }
        _ => None,
    };
    let mut vars = vec![var(into + 1)?];
    let mut end = into + 2;
    while sig.get(end).is_some_and(|&i| tokens[i] == Token::Comma) {
        vars.push(var(end + 1)?);
        end += 2;
    }
    let cut_to = sig.get(end).copied().unwrap_or(tokens.len());
    let mut out = tokens[..sig[into]].to_vec();
    out.push(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
    out.extend_from_slice(&tokens[cut_to..]);
    Some((out, vars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::{rewrite, tokenize};

    fn cut(sql: &str) -> Option<(String, Vec<String>)> {
        split(&tokenize(sql).unwrap()).map(|(t, v)| (rewrite(&t).split_whitespace().collect::<Vec<_>>().join(" "), v))
    }

    #[test]
    fn the_into_clause_is_cut_wherever_it_stands() {
        assert_eq!(
            cut("SELECT a, b INTO @x, @Y FROM t WHERE id = 1"),
            Some(("SELECT a, b FROM t WHERE id = 1".into(), vec!["x".into(), "y".into()]))
        );
        assert_eq!(cut("SELECT a FROM t LIMIT 1 INTO @v"), Some(("SELECT a FROM t LIMIT 1".into(), vec!["v".into()])));
        assert_eq!(cut("SELECT 1 INTO OUTFILE '/tmp/x'"), None);
        assert_eq!(cut("SELECT (SELECT 1 INTO @a)"), None, "only a top-level INTO");
        assert_eq!(cut("INSERT INTO t SELECT 1"), None);
    }
}
