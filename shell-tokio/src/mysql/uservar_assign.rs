//! `@x := expr` inside a statement (`SELECT @n := @n + 1, a FROM t`): MySQL assigns the
//! user variable as the expression is evaluated and yields its value. SQLite has no such
//! operator; the assignment becomes `marmot_set_uservar('x', expr)`, a session function
//! that stores the value and returns it.

use sqlparser::tokenizer::Token;

use super::tokens::{is_space, kw};

/// Words that end an expression of a select list or a WHERE clause.
const ENDS: &[&str] =
    &["FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "INTO", "UNION", "AND", "OR", "XOR", "WINDOW", "FOR", "AS"];

/// The statement with each `@x := expr` made a call, or `None` if it has none.
pub(crate) fn assignments(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.contains(&Token::Assignment) {
        return None;
    }
    let mut toks = tokens.to_vec();
    let mut changed = false;
    loop {
        let sig: Vec<usize> = (0..toks.len()).filter(|i| !is_space(&toks[*i])).collect();
        let Some(op) = sig.iter().position(|&i| toks[i] == Token::Assignment) else { break };
        let name = match op.checked_sub(1).map(|p| &toks[sig[p]]) {
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with('@') && w.value.len() > 1 => {
                w.value[1..].to_ascii_lowercase()
            }
            _ => break,
        };
        // The expression: up to a comma, a closing parenthesis or a clause word at its own depth.
        let mut depth = 0i32;
        let mut end = sig.len();
        for (p, &i) in sig.iter().enumerate().skip(op + 1) {
            match &toks[i] {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => {
                    end = p;
                    break;
                }
                Token::RParen => depth -= 1,
                Token::Comma | Token::SemiColon if depth == 0 => {
                    end = p;
                    break;
                }
                t if depth == 0 && kw(t).is_some_and(|k| ENDS.contains(&k.as_str())) => {
                    end = p;
                    break;
                }
                _ => {}
            }
        }
        if end == op + 1 {
            break;
        }
        let mut next = toks[..sig[op - 1]].to_vec();
        next.extend([
            Token::make_word("marmot_set_uservar", None),
            Token::LParen,
            Token::SingleQuotedString(name),
            Token::Comma,
            Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
        ]);
        next.extend_from_slice(&toks[sig[op + 1]..=sig[end - 1]]);
        next.push(Token::RParen);
        next.extend_from_slice(&toks[sig[end - 1] + 1..]);
        toks = next;
        changed = true;
    }
    changed.then_some(toks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql_text::tokenize;

    fn tr(sql: &str) -> String {
        let toks = tokenize(sql).unwrap();
        assignments(&toks).unwrap_or(toks).iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn assignments_become_calls() {
        assert_eq!(
            tr("SELECT @n := @n + 1 AS rank, a FROM t"),
            "SELECT marmot_set_uservar('n', @n + 1) AS rank, a FROM t"
        );
        assert_eq!(
            tr("select @x:=group_concat(x) from t1 group by y"),
            "select marmot_set_uservar('x', group_concat(x)) from t1 group by y"
        );
        assert_eq!(tr("SELECT (@a := 2) + @a"), "SELECT (marmot_set_uservar('a', 2)) + @a");
    }
}
