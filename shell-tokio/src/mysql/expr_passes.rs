//! Rewrites that must know where a construct begins and ends, run on a statement's token
//! list before the token-by-token rewrite of [`super::sql::rewrite`]:
//!
//! - A select-list item that the rewrite will change (`a / b`, `a ^ b`, `doc->'$.x'`) and
//!   that has no alias gets its text as written as its alias: clients label result
//!   columns with it (PyMySQL's dict cursor, the mariadb CLI's headers).
//! - `XOR`, `DIV`, `%` and the other bit operators: see [`super::ast_operators`].
//! - `a ^ b` (MySQL's bitwise XOR; SQLite has no such operator) becomes
//!   `marmot_xor(a, b)`. `^` binds tighter than every other binary operator, so its
//!   operands are the atoms right beside it: a name, a literal, a call or a parenthesized
//!   expression.
//! - `col -> '$.path'` / `col ->> '$.path'` become `json_extract(col, '$.path')` /
//!   `json_unquote(json_extract(col, '$.path'))`, MySQL's meaning (SQLite's own `->>`
//!   returns SQL values, and JSON `null` as NULL).
//! - `x + INTERVAL n UNIT` / `x - INTERVAL n UNIT` become `DATE_ADD(x, INTERVAL n UNIT)` /
//!   `DATE_SUB(…)`, `x` being the atom before the sign.
//! - `(SELECT …) UNION (SELECT …) ORDER BY … LIMIT …`: SQLite allows neither parentheses
//!   nor LIMIT on a compound's members, so each parenthesized member becomes
//!   `SELECT * FROM (SELECT …)`, which keeps its columns, its names and its LIMIT.
//! - `INSERT INTO t (a, b) VALUES (DEFAULT, 1)`: SQLite has no DEFAULT value keyword; a
//!   column given DEFAULT in every row is left out of the column list, which gives it
//!   its default (every column: `DEFAULT VALUES`).
//! - MariaDB's Sequence engine tables (`seq_1_to_10`): see [`super::sequence_tables`].
//! - `@x := expr`: see [`super::uservar_assign`].

use sqlparser::tokenizer::{Token, Whitespace, Word};

use super::sql_text::matching_paren;
use super::tokens::{is_space, kw};

/// The statement with every pass applied, or `None` if none applied.
pub(crate) fn prepare(tokens: &[Token]) -> Option<Vec<Token>> {
    let mut out: Option<Vec<Token>> = None;
    for pass in [
        labels as fn(&[Token]) -> Option<Vec<Token>>,
        super::ast_operators::operators,
        xor,
        arrows,
        interval_arithmetic,
        parenthesized_members,
        insert_defaults,
        super::sequence_tables::sequence_tables,
        super::uservar_assign::assignments,
    ] {
        if let Some(next) = pass(out.as_deref().unwrap_or(tokens)) {
            out = Some(next);
        }
    }
    out
}

/// Indices of the significant (non-space) tokens.
pub(crate) fn significant(tokens: &[Token]) -> Vec<usize> {
    (0..tokens.len()).filter(|i| !is_space(&tokens[*i])).collect()
}

/// In `sig`, the position of the `)` closing the `(` at `open`.
pub(crate) fn close_of(tokens: &[Token], sig: &[usize], open: usize) -> Option<usize> {
    let refs: Vec<&Token> = sig.iter().map(|i| &tokens[*i]).collect();
    matching_paren(&refs, open)
}

/// In `sig`, the position of the `(` opened for the `)` at `close`.
fn open_of(tokens: &[Token], sig: &[usize], close: usize) -> Option<usize> {
    let mut depth = 0i32;
    for p in (0..=close).rev() {
        match tokens[sig[p]] {
            Token::RParen => depth += 1,
            Token::LParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(p);
                }
            }
            _ => {}
        }
    }
    None
}

/// A word that names something (a column, a table, a function), not an SQL keyword that
/// could stand before an operand.
fn is_name(t: &Token) -> bool {
    match t {
        Token::Word(w) => {
            w.quote_style.is_some()
                || !matches!(
                    w.value.to_ascii_uppercase().as_str(),
                    "SELECT"
                        | "WHERE"
                        | "AND"
                        | "OR"
                        | "NOT"
                        | "ON"
                        | "SET"
                        | "BY"
                        | "HAVING"
                        | "WHEN"
                        | "THEN"
                        | "ELSE"
                        | "CASE"
                        | "IN"
                        | "IS"
                        | "LIKE"
                        | "BETWEEN"
                        | "RETURN"
                        | "VALUES"
                        | "DIV"
                        | "MOD"
                        | "XOR"
                )
        }
        _ => false,
    }
}

fn is_literal(t: &Token) -> bool {
    matches!(
        t,
        Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
    )
}

/// The atom ending at `sig[end]`: its first position.
fn atom_before(tokens: &[Token], sig: &[usize], end: usize) -> Option<usize> {
    let t = &tokens[sig[end]];
    let mut start = if *t == Token::RParen {
        let open = open_of(tokens, sig, end)?;
        // A call: the name before the parenthesis.
        if open > 0 && is_name(&tokens[sig[open - 1]]) {
            open - 1
        } else {
            open
        }
    } else if is_literal(t) || is_name(t) {
        end
    } else {
        return None;
    };
    // Qualified names: `db.t.c`.
    while start >= 2 && tokens[sig[start - 1]] == Token::Period && is_name(&tokens[sig[start - 2]]) {
        start -= 2;
    }
    // Unary signs bind tighter than `^` (`-1 ^ 0` is `(-1) ^ 0`); a sign after an operand
    // is a binary operator instead (`a - 1 ^ 0`).
    let ends_operand = |t: &Token| is_literal(t) || is_name(t) || *t == Token::RParen;
    while start >= 1
        && matches!(tokens[sig[start - 1]], Token::Minus | Token::Plus | Token::Tilde)
        && (start == 1 || !ends_operand(&tokens[sig[start - 2]]))
    {
        start -= 1;
    }
    Some(start)
}

/// The atom starting at `sig[start]` (with any unary signs before it): its last position.
fn atom_after(tokens: &[Token], sig: &[usize], start: usize) -> Option<usize> {
    let mut p = start;
    while matches!(tokens.get(*sig.get(p)?)?, Token::Minus | Token::Plus | Token::Tilde) {
        p += 1;
    }
    let t = &tokens[*sig.get(p)?];
    let mut end = if *t == Token::LParen {
        close_of(tokens, sig, p)?
    } else if is_name(t) && sig.get(p + 1).is_some_and(|i| tokens[*i] == Token::LParen) {
        close_of(tokens, sig, p + 1)?
    } else if is_literal(t) || is_name(t) {
        p
    } else {
        return None;
    };
    while sig.get(end + 2).is_some_and(|i| is_name(&tokens[*i])) && tokens[sig[end + 1]] == Token::Period {
        end += 2;
    }
    Some(end)
}

fn word(value: &str) -> Token {
    Token::Word(Word { value: value.to_string(), quote_style: None, keyword: sqlparser::keywords::Keyword::NoKeyword })
}

/// Tokens whose rewrite changes an expression's text, and so its unaliased label.
fn relabelled(t: &Token) -> bool {
    matches!(t, Token::Div | Token::Caret | Token::Arrow | Token::LongArrow | Token::Spaceship | Token::Assignment)
        || super::ast_operators::is_rewritten_operator(t)
        || matches!(
            kw(t).as_deref(),
            // INTERVAL arithmetic, LIKE's added ESCAPE, COLLATE's names and the call syntax of
            // `super::call_syntax`.
            Some(
                "INTERVAL"
                    | "LIKE"
                    | "COLLATE"
                    | "COUNT"
                    | "GROUP_CONCAT"
                    | "ROW"
                    | "EXTRACT"
                    | "CAST"
                    | "CONVERT"
                    | "TIMESTAMPDIFF"
                    | "TIMESTAMPADD"
                    | "POSITION"
                    | "ISNULL"
                    | "TRIM"
                    | "SUBSTRING"
                    | "INSERT"
            )
        )
}

/// Unaliased select-list items that the rewrite will change get `AS "<as written>"`.
fn labels(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.iter().any(relabelled) {
        return None;
    }
    let sig = significant(tokens);
    // A query, or `CREATE TABLE t [AS] [(]SELECT …` (whose labels name the new columns).
    let select_at = match kw(&tokens[*sig.first()?]).as_deref() {
        Some("SELECT") => 0,
        Some("CREATE") => sig.iter().position(|i| kw(&tokens[*i]).as_deref() == Some("SELECT"))?,
        _ => return None,
    };
    // The select list: after SELECT and its modifiers, up to the first top-level clause.
    let mut start = select_at + 1;
    while sig.get(start).and_then(|i| kw(&tokens[*i])).is_some_and(|k| {
        matches!(k.as_str(), "DISTINCT" | "ALL" | "DISTINCTROW" | "HIGH_PRIORITY" | "STRAIGHT_JOIN")
            || k.starts_with("SQL_")
    }) {
        start += 1;
    }
    let mut depth = 0i32;
    let mut items = Vec::new();
    let mut item_start = start;
    let mut end = sig.len();
    for (p, i) in sig.iter().enumerate().skip(start) {
        match &tokens[*i] {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => {
                // The end of a parenthesized query (`CREATE TABLE t (SELECT …)`).
                end = p;
                break;
            }
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                items.push((item_start, p));
                item_start = p + 1;
            }
            Token::SemiColon if depth == 0 => {
                end = p;
                break;
            }
            t if depth == 0
                && matches!(
                    kw(t).as_deref(),
                    Some(
                        "FROM" | "WHERE" | "GROUP" | "HAVING" | "ORDER" | "LIMIT" | "INTO" | "UNION" | "FOR" | "WINDOW"
                    )
                ) =>
            {
                end = p;
                break;
            }
            _ => {}
        }
    }
    items.push((item_start, end));
    let ends_operand = |t: &Token| is_literal(t) || is_name(t) || *t == Token::RParen;
    let mut inserts = Vec::new();
    for (a, b) in items {
        if b <= a || !sig[a..b].iter().any(|i| relabelled(&tokens[*i])) {
            continue;
        }
        let last = &tokens[sig[b - 1]];
        let before_last = kw(&tokens[sig[b.saturating_sub(2)]]);
        let aliased = b - a >= 2
            && matches!(last, Token::Word(_))
            && before_last.as_deref() != Some("COLLATE")
            && (before_last.as_deref() == Some("AS") || ends_operand(&tokens[sig[b - 2]]));
        if aliased {
            continue;
        }
        let text: String = tokens[sig[a]..=sig[b - 1]].iter().map(|t| t.to_string()).collect();
        inserts.push((sig[b - 1], text));
    }
    if inserts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(tokens.len() + inserts.len() * 4);
    for (i, t) in tokens.iter().enumerate() {
        out.push(t.clone());
        if let Some((_, text)) = inserts.iter().find(|(at, _)| *at == i) {
            let space = Token::Whitespace(Whitespace::Space);
            let alias = Token::Word(Word {
                value: text.clone(),
                quote_style: Some('"'),
                keyword: sqlparser::keywords::Keyword::NoKeyword,
            });
            out.extend([space.clone(), word("AS"), space, alias]);
        }
    }
    Some(out)
}

/// `a ^ b` → `marmot_xor(a, b)`, left to right.
fn xor(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.contains(&Token::Caret) {
        return None;
    }
    let mut toks = tokens.to_vec();
    let mut changed = false;
    loop {
        let sig = significant(&toks);
        let Some(caret) = sig.iter().position(|i| toks[*i] == Token::Caret) else { break };
        let (Some(ls), Some(re)) =
            (caret.checked_sub(1).and_then(|e| atom_before(&toks, &sig, e)), atom_after(&toks, &sig, caret + 1))
        else {
            break;
        };
        let mut next = toks[..sig[ls]].to_vec();
        next.extend([word("marmot_xor"), Token::LParen]);
        next.extend_from_slice(&toks[sig[ls]..=sig[caret - 1]]);
        next.extend([Token::Comma, Token::Whitespace(Whitespace::Space)]);
        next.extend_from_slice(&toks[sig[caret + 1]..=sig[re]]);
        next.push(Token::RParen);
        next.extend_from_slice(&toks[sig[re] + 1..]);
        toks = next;
        changed = true;
    }
    changed.then_some(toks)
}

/// `a -> p` → `json_extract(a, p)`, `a ->> p` → `json_unquote(json_extract(a, p))`.
fn arrows(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.iter().any(|t| matches!(t, Token::Arrow | Token::LongArrow)) {
        return None;
    }
    let mut toks = tokens.to_vec();
    let mut changed = false;
    loop {
        let sig = significant(&toks);
        let Some(arrow) = sig.iter().position(|i| matches!(toks[*i], Token::Arrow | Token::LongArrow)) else { break };
        let (Some(ls), Some(re)) =
            (arrow.checked_sub(1).and_then(|e| atom_before(&toks, &sig, e)), atom_after(&toks, &sig, arrow + 1))
        else {
            break;
        };
        let unquote = toks[sig[arrow]] == Token::LongArrow;
        let mut next = toks[..sig[ls]].to_vec();
        if unquote {
            next.extend([word("json_unquote"), Token::LParen]);
        }
        next.extend([word("json_extract"), Token::LParen]);
        next.extend_from_slice(&toks[sig[ls]..=sig[arrow - 1]]);
        next.extend([Token::Comma, Token::Whitespace(Whitespace::Space)]);
        next.extend_from_slice(&toks[sig[arrow + 1]..=sig[re]]);
        next.push(Token::RParen);
        if unquote {
            next.push(Token::RParen);
        }
        next.extend_from_slice(&toks[sig[re] + 1..]);
        toks = next;
        changed = true;
    }
    changed.then_some(toks)
}

/// `x + INTERVAL n UNIT` → `DATE_ADD(x, INTERVAL n UNIT)` (and `-` → `DATE_SUB`).
fn interval_arithmetic(tokens: &[Token]) -> Option<Vec<Token>> {
    if !tokens.iter().any(|t| kw(t).as_deref() == Some("INTERVAL")) {
        return None;
    }
    let mut toks = tokens.to_vec();
    let mut changed = false;
    loop {
        let sig = significant(&toks);
        let sign = (1..sig.len()).find(|p| {
            matches!(toks[sig[*p]], Token::Plus | Token::Minus)
                && sig.get(p + 1).is_some_and(|i| kw(&toks[*i]).as_deref() == Some("INTERVAL"))
        });
        let Some(sign) = sign else { break };
        let Some(ls) = atom_before(&toks, &sig, sign - 1) else { break };
        // The interval runs to its unit, outside any parenthesis of its amount.
        let mut depth = 0i32;
        let mut unit = None;
        for (p, i) in sig.iter().enumerate().skip(sign + 2) {
            match &toks[*i] {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                t if depth == 0 && kw(t).is_some_and(|k| super::sql_text::is_interval_unit(&k)) => {
                    unit = Some(p);
                    break;
                }
                _ => {}
            }
            if depth < 0 {
                break;
            }
        }
        let Some(unit) = unit else { break };
        let function = if toks[sig[sign]] == Token::Plus { "DATE_ADD" } else { "DATE_SUB" };
        let mut next = toks[..sig[ls]].to_vec();
        next.extend([word(function), Token::LParen]);
        next.extend_from_slice(&toks[sig[ls]..=sig[sign - 1]]);
        next.extend([Token::Comma, Token::Whitespace(Whitespace::Space)]);
        next.extend_from_slice(&toks[sig[sign + 1]..=sig[unit]]);
        next.push(Token::RParen);
        next.extend_from_slice(&toks[sig[unit] + 1..]);
        toks = next;
        changed = true;
    }
    changed.then_some(toks)
}

/// Each parenthesized compound member `(SELECT …)` → `SELECT * FROM (SELECT …)`.
fn parenthesized_members(tokens: &[Token]) -> Option<Vec<Token>> {
    let sig = significant(tokens);
    let starts_select = |p: usize| {
        tokens[sig[p]] == Token::LParen && sig.get(p + 1).is_some_and(|i| kw(&tokens[*i]).as_deref() == Some("SELECT"))
    };
    let mut members = Vec::new();
    let mut depth = 0i32;
    for p in 0..sig.len() {
        let at_member = if p == 0 {
            true
        } else {
            let before = kw(&tokens[sig[p - 1]]).unwrap_or_default();
            let before2 = if p >= 2 { kw(&tokens[sig[p - 2]]).unwrap_or_default() } else { String::new() };
            depth == 0
                && (matches!(before.as_str(), "UNION" | "INTERSECT" | "EXCEPT")
                    || (matches!(before.as_str(), "ALL" | "DISTINCT")
                        && matches!(before2.as_str(), "UNION" | "INTERSECT" | "EXCEPT")))
        };
        if at_member && starts_select(p) {
            members.push(sig[p]);
        }
        match tokens[sig[p]] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
    }
    if members.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(tokens.len() + members.len() * 6);
    for (i, t) in tokens.iter().enumerate() {
        if members.contains(&i) {
            let space = Token::Whitespace(Whitespace::Space);
            out.extend([word("SELECT"), space.clone(), Token::Mul, space.clone(), word("FROM"), space]);
        }
        out.push(t.clone());
    }
    Some(out)
}

/// `INSERT … (cols) VALUES (…DEFAULT…)`: columns given DEFAULT in every row left out.
fn insert_defaults(tokens: &[Token]) -> Option<Vec<Token>> {
    let sig = significant(tokens);
    let first = kw(&tokens[*sig.first()?])?;
    if !matches!(first.as_str(), "INSERT" | "REPLACE") {
        return None;
    }
    let values = sig.iter().position(|i| matches!(kw(&tokens[*i]).as_deref(), Some("VALUES" | "VALUE")))?;
    // The column list: the parenthesized group right before VALUES.
    let cols_close = values.checked_sub(1).filter(|p| tokens[sig[*p]] == Token::RParen)?;
    let cols_open = open_of(tokens, &sig, cols_close)?;
    let columns = items(tokens, &sig, cols_open, cols_close);
    // The rows: `(…)` separated by commas.
    let mut rows = Vec::new();
    let mut p = values + 1;
    while sig.get(p).is_some_and(|i| tokens[*i] == Token::LParen) {
        let close = close_of(tokens, &sig, p)?;
        rows.push((p, close, items(tokens, &sig, p, close)));
        p = close + 1;
        if sig.get(p).is_some_and(|i| tokens[*i] == Token::Comma) {
            p += 1;
        } else {
            break;
        }
    }
    let is_default = |(a, b): (usize, usize)| a == b && kw(&tokens[sig[a]]).as_deref() == Some("DEFAULT");
    let defaults: Vec<usize> = (0..columns.len())
        .filter(|c| !rows.is_empty() && rows.iter().all(|(_, _, r)| r.len() == columns.len() && is_default(r[*c])))
        .collect();
    if defaults.is_empty() {
        return None;
    }
    let keep = |i: usize| !defaults.contains(&i);
    let list = |items: &[(usize, usize)]| -> Vec<Token> {
        let mut out = vec![Token::LParen];
        for (a, b) in items.iter().enumerate().filter(|(n, _)| keep(*n)).map(|(_, item)| item) {
            if out.len() > 1 {
                out.extend([Token::Comma, Token::Whitespace(Whitespace::Space)]);
            }
            out.extend_from_slice(&tokens[sig[*a]..=sig[*b]]);
        }
        out.push(Token::RParen);
        out
    };
    let mut out = tokens[..sig[cols_open]].to_vec();
    if defaults.len() == columns.len() {
        if rows.len() > 1 {
            return None;
        }
        out.extend([word("DEFAULT"), Token::Whitespace(Whitespace::Space), word("VALUES")]);
    } else {
        out.extend(list(&columns));
        out.push(Token::Whitespace(Whitespace::Space));
        out.push(tokens[sig[values]].clone());
        for (n, (_, _, row)) in rows.iter().enumerate() {
            out.push(if n == 0 { Token::Whitespace(Whitespace::Space) } else { Token::Comma });
            out.extend(list(row));
        }
    }
    let (_, last_close, _) = rows.last()?;
    out.extend_from_slice(&tokens[sig[*last_close] + 1..]);
    Some(out)
}

/// The comma-separated items inside the parentheses at `open`..`close` (positions in
/// `sig`), each as its first and last position.
pub(crate) fn items(tokens: &[Token], sig: &[usize], open: usize, close: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    for p in open + 1..close {
        match tokens[sig[p]] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                if p > start {
                    out.push((start, p - 1));
                }
                start = p + 1;
            }
            _ => {}
        }
    }
    if close > start {
        out.push((start, close - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::sql::{rewrite, tokenize};

    fn tr(sql: &str) -> String {
        rewrite(&tokenize(sql).unwrap())
    }

    #[test]
    fn xor_takes_the_atoms_beside_it() {
        assert_eq!(tr("SELECT a ^ 5 x FROM t"), "SELECT marmot_xor(a, 5) x FROM t");
        assert_eq!(tr("SELECT 1 + t.a ^ f(2, 3) * 2 AS x"), "SELECT 1 + marmot_xor(t.a, f(2, 3)) * 2 AS x");
        assert_eq!(tr("SELECT (a + 1) ^ -b ^ 3 x"), "SELECT marmot_xor(marmot_xor((a + 1), -b), 3) x");
        assert_eq!(tr("SELECT -1 ^ 0 x, a - 1 ^ 0 y"), "SELECT marmot_xor(-1, 0) x, a - marmot_xor(1, 0) y");
        assert_eq!(tr("SELECT '^' FROM t"), "SELECT '^' FROM t");
    }

    #[test]
    fn json_arrows_are_mysql_extracts() {
        assert_eq!(
            tr("SELECT t.doc -> '$.a' a, doc ->> '$.b[0]' b FROM t WHERE doc->>'$.c' = 'x'"),
            "SELECT json_extract(t.doc, '$.a') a, json_unquote(json_extract(doc, '$.b[0]')) b FROM t \
             WHERE json_unquote(json_extract(doc, '$.c')) = 'x'"
        );
    }

    #[test]
    fn rewritten_items_keep_their_text_as_their_label() {
        assert_eq!(
            tr("SELECT 'a' = 'A' COLLATE utf8mb4_bin"),
            "SELECT 'a' = 'A'  COLLATE BINARY AS \"'a' = 'A' COLLATE utf8mb4_bin\""
        );
        assert_eq!(
            tr("SELECT a/b, a ^ 1 AS x, a / 2 y, (a), doc->'$.k' FROM t WHERE a / b > 1"),
            r#"SELECT a * 1.0 /b AS "a/b", marmot_xor(a, 1) AS x, a * 1.0 / 2 y, (a), json_extract(doc, '$.k') AS "doc->'$.k'" FROM t WHERE a * 1.0 / b > 1"#
        );
    }

    #[test]
    fn call_syntax_keeps_its_text_as_its_label() {
        let s = tr("SELECT EXTRACT(DAY FROM d), a <=> b, CAST(x AS SIGNED) c FROM t");
        assert!(
            s.starts_with(r#"SELECT marmot_extract('DAY', d) AS "EXTRACT(DAY FROM d)", a  IS b AS "a <=> b", marmot_cast_int(x, 0) c"#),
            "{s}"
        );
    }

    #[test]
    fn interval_arithmetic_is_date_add_and_date_sub() {
        assert_eq!(
            tr("SELECT d FROM t WHERE d > NOW() - INTERVAL 7 DAY AND '2024-03-05' + INTERVAL (1 + 1) WEEK < d"),
            "SELECT d FROM t WHERE d > DATE_SUB(NOW(), 7, 'DAY') AND DATE_ADD('2024-03-05', (1+1), 'WEEK') < d"
        );
        assert_eq!(tr("SELECT t.d + INTERVAL 1 MONTH x FROM t"), "SELECT DATE_ADD(t.d, 1, 'MONTH') x FROM t");
    }

    #[test]
    fn parenthesized_compound_members_become_subqueries() {
        assert_eq!(
            tr("(SELECT id FROM a LIMIT 1) UNION ALL (SELECT id FROM b LIMIT 1) ORDER BY id LIMIT 2"),
            "SELECT * FROM (SELECT id FROM a LIMIT 1) UNION ALL SELECT * FROM (SELECT id FROM b LIMIT 1) ORDER BY id LIMIT 2"
        );
        assert_eq!(tr("SELECT 1 UNION (SELECT 2)"), "SELECT 1 UNION SELECT * FROM (SELECT 2)");
        // Subqueries elsewhere stay as they are.
        assert_eq!(
            tr("SELECT * FROM (SELECT 1) x WHERE a IN (SELECT 2)"),
            "SELECT * FROM (SELECT 1) x WHERE a IN (SELECT 2)"
        );
    }

    #[test]
    fn columns_given_default_are_left_out() {
        assert_eq!(tr("INSERT INTO t (a, b, c) VALUES (DEFAULT, 1, 'x')"), "INSERT INTO t (b, c) VALUES (1, 'x')");
        assert_eq!(tr("INSERT INTO t (a, b) VALUES (1, DEFAULT), (2, DEFAULT)"), "INSERT INTO t (a) VALUES (1),(2)");
        assert_eq!(tr("INSERT INTO t (a) VALUES (DEFAULT)"), "INSERT INTO t DEFAULT VALUES");
        // Not DEFAULT in every row: left for SQLite to refuse.
        assert_eq!(tr("INSERT INTO t (a) VALUES (DEFAULT), (1)"), "INSERT INTO t (a) VALUES (DEFAULT), (1)");
    }
}
