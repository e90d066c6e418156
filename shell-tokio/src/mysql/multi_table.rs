//! MySQL's multi-table `DELETE` and `UPDATE`, which SQLite lacks.
//!
//! - `DELETE a, b FROM <tables> [WHERE …]` becomes one SELECT of the target rows' rowids
//!   (all targets found before anything is deleted, as in MySQL) and a rowid DELETE per
//!   target table.
//! - `UPDATE t [AS a] JOIN u ON c SET a.x = u.y [WHERE w]` and `UPDATE t, u SET … WHERE …`
//!   become SQLite's `UPDATE t AS a SET x = u.y FROM u WHERE (c) AND (w)`, when every
//!   assignment targets the first table.

use rusqlite::Connection;
use sqlparser::tokenizer::{Token, Whitespace};

use super::sql::{quote_ident, rewrite};
use super::tokens::{kw, significant, text};

/// How to run a multi-table statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiTable {
    /// Run `select` (one rowid column per target), then delete those rowids from each
    /// target table, in target order.
    Delete {
        /// The real table behind each target.
        tables: Vec<String>,
        /// Finds the rows to delete.
        select: String,
    },
    /// One SQLite `UPDATE … FROM …` statement.
    Update(String),
}

/// A table reference in a FROM list: (table, alias).
fn table_refs(toks: &[&Token]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut expect = true;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => expect = true,
            _ if depth == 0 && kw(t).as_deref() == Some("JOIN") => expect = true,
            Token::Word(_) if depth == 0 && expect => {
                let mut name = text(t).unwrap_or_default();
                let mut j = i + 1;
                if let (Some(Token::Period), Some(Token::Word(w))) = (toks.get(j), toks.get(j + 1)) {
                    name = w.value.clone();
                    j += 2;
                }
                if toks.get(j).and_then(|t| kw(t)).as_deref() == Some("AS") {
                    j += 1;
                }
                let alias = match toks.get(j) {
                    Some(Token::Word(w))
                        if w.quote_style.is_some()
                            || !matches!(
                                w.value.to_ascii_uppercase().as_str(),
                                "ON" | "USING"
                                    | "JOIN"
                                    | "LEFT"
                                    | "RIGHT"
                                    | "INNER"
                                    | "CROSS"
                                    | "STRAIGHT_JOIN"
                                    | "NATURAL"
                                    | "WHERE"
                                    | "SET"
                                    | "USE"
                                    | "FORCE"
                                    | "IGNORE"
                            ) =>
                    {
                        j += 1;
                        w.value.clone()
                    }
                    _ => name.clone(),
                };
                out.push((name, alias));
                expect = false;
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Index of the first top-level keyword among `words` at or after `from`.
fn find_top(toks: &[&Token], from: usize, words: &[&str]) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(from) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 && kw(t).is_some_and(|k| words.contains(&k.as_str())) => return Some(i),
            _ => {}
        }
    }
    None
}

/// Significant tokens back to a token list the translator can print, with a space
/// between tokens (none around a qualifying period).
fn owned(toks: &[&Token]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(toks.len() * 2);
    for t in toks {
        if matches!(out.last(), Some(prev) if !matches!(prev, Token::Period | Token::LParen) && !matches!(t, Token::Period | Token::RParen | Token::Comma | Token::LParen))
        {
            out.push(Token::Whitespace(Whitespace::Space));
        }
        out.push((*t).clone());
    }
    out
}

/// Plan a multi-table statement; `None` for single-table statements; `Err` for forms
/// marmot cannot run, with the reason.
pub fn plan(tokens: &[Token]) -> Option<Result<MultiTable, String>> {
    let sig = significant(tokens);
    match sig.first().and_then(|t| kw(t)).as_deref() {
        Some("DELETE") => plan_delete(&sig),
        Some("UPDATE") => plan_update(&sig),
        _ => None,
    }
}

fn plan_delete(sig: &[&Token]) -> Option<Result<MultiTable, String>> {
    let mut i = 1;
    while matches!(sig.get(i).and_then(|t| kw(t)).as_deref(), Some("LOW_PRIORITY" | "QUICK" | "IGNORE")) {
        i += 1;
    }
    if sig.get(i).and_then(|t| kw(t)).as_deref() == Some("FROM") {
        return None;
    }
    let from = find_top(sig, i, &["FROM"])?;
    // Targets: `a`, `a.*`, `db.a`.
    let mut targets = Vec::new();
    for part in sig[i..from].split(|t| matches!(t, Token::Comma)) {
        let names: Vec<String> =
            part.iter().filter_map(|t| if let Token::Word(w) = t { Some(w.value.clone()) } else { None }).collect();
        match names.last() {
            Some(n) => targets.push(n.clone()),
            None => return Some(Err("DELETE needs a target table before FROM".into())),
        }
    }
    let where_at = find_top(sig, from + 1, &["WHERE"]).unwrap_or(sig.len());
    if find_top(sig, from + 1, &["ORDER", "LIMIT"]).is_some() {
        return Some(Err("multi-table DELETE cannot use ORDER BY or LIMIT".into()));
    }
    let refs = table_refs(&sig[from + 1..where_at]);
    let mut tables = Vec::new();
    let mut cols = Vec::new();
    for t in &targets {
        let Some((table, alias)) = refs.iter().find(|(_, a)| a.eq_ignore_ascii_case(t)) else {
            return Some(Err(format!("Unknown table '{t}' in MULTI DELETE")));
        };
        tables.push(table.clone());
        cols.push(format!("{}.rowid", quote_ident(alias)));
    }
    let mut select = format!("SELECT {} FROM {}", cols.join(", "), rewrite(&owned(&sig[from + 1..where_at])));
    if where_at < sig.len() {
        select.push(' ');
        select.push_str(&rewrite(&owned(&sig[where_at..])));
    }
    Some(Ok(MultiTable::Delete { tables, select }))
}

fn plan_update(sig: &[&Token]) -> Option<Result<MultiTable, String>> {
    let mut i = 1;
    while matches!(sig.get(i).and_then(|t| kw(t)).as_deref(), Some("LOW_PRIORITY" | "IGNORE")) {
        i += 1;
    }
    let set = find_top(sig, i, &["SET"])?;
    let refs_toks = &sig[i..set];
    let refs = table_refs(refs_toks);
    if refs.len() < 2 {
        return None;
    }
    let (target, alias) = refs[0].clone();
    // Where the first table reference ends: at the first top-level comma or join keyword.
    let first_end = find_top(refs_toks, 1, &["JOIN", "INNER", "CROSS", "LEFT", "RIGHT", "STRAIGHT_JOIN", "NATURAL"])
        .into_iter()
        .chain(refs_toks.iter().position(|t| matches!(t, Token::Comma)))
        .min()?;
    let mut rest = &refs_toks[first_end..];
    if matches!(rest.first(), Some(Token::Comma)) {
        rest = &rest[1..];
    } else {
        match rest.first().and_then(|t| kw(t)).as_deref() {
            Some("JOIN" | "STRAIGHT_JOIN") => rest = &rest[1..],
            Some("INNER" | "CROSS") => rest = &rest[2.min(rest.len())..],
            _ => return Some(Err("multi-table UPDATE supports inner joins after the updated table".into())),
        }
    }
    // The first join's ON condition moves to WHERE; later joins stay in FROM.
    let mut conds = Vec::new();
    let mut from_toks: Vec<&Token> = rest.to_vec();
    if let Some(on) = find_top(rest, 0, &["ON"]) {
        let end = find_top(rest, on + 1, &["JOIN", "INNER", "CROSS", "LEFT", "RIGHT", "STRAIGHT_JOIN", "NATURAL"])
            .unwrap_or(rest.len());
        let end = rest[on..end].iter().position(|t| matches!(t, Token::Comma)).map_or(end, |p| on + p);
        conds.push(format!("({})", rewrite(&owned(&rest[on + 1..end]))));
        from_toks = rest[..on].iter().chain(rest[end..].iter()).copied().collect();
    }
    let where_at = find_top(sig, set + 1, &["WHERE"]);
    let set_end = where_at.or_else(|| find_top(sig, set + 1, &["ORDER", "LIMIT"])).unwrap_or(sig.len());
    if find_top(sig, set + 1, &["ORDER", "LIMIT"]).is_some() {
        return Some(Err("multi-table UPDATE cannot use ORDER BY or LIMIT".into()));
    }
    // Assignments: `[a.]col = expr`; every one must target the first table.
    let mut assigns = Vec::new();
    for part in super::sql::split_commas(&sig[set + 1..set_end]) {
        let eq = part.iter().position(|t| matches!(t, Token::Eq))?;
        let lhs: Vec<String> = part[..eq].iter().filter_map(|t| text(t)).collect();
        if lhs.len() == 2 && !lhs[0].eq_ignore_ascii_case(&alias) {
            return Some(Err(format!(
                "multi-table UPDATE can only assign columns of its first table ('{alias}'), not '{}'",
                lhs[0]
            )));
        }
        let col = lhs.last()?.clone();
        assigns.push(format!("{} = {}", quote_ident(&col), rewrite(&owned(&part[eq + 1..]))));
    }
    if let Some(w) = where_at {
        conds.push(format!("({})", rewrite(&owned(&sig[w + 1..]))));
    }
    let mut out = format!(
        "UPDATE {} AS {} SET {} FROM {}",
        quote_ident(&target),
        quote_ident(&alias),
        assigns.join(", "),
        rewrite(&owned(&from_toks))
    );
    if !conds.is_empty() {
        out.push_str(" WHERE ");
        out.push_str(&conds.join(" AND "));
    }
    Some(Ok(MultiTable::Update(out)))
}

/// Multi-table DELETE: find every target row first, then delete them table by table.
pub fn delete_multi(c: &Connection, tables: &[String], select: &str) -> rusqlite::Result<u64> {
    let mut ids: Vec<std::collections::BTreeSet<i64>> = vec![Default::default(); tables.len()];
    let mut st = c.prepare(select)?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        for (k, set) in ids.iter_mut().enumerate() {
            if let Some(id) = r.get::<_, Option<i64>>(k)? {
                set.insert(id);
            }
        }
    }
    let mut deleted = 0;
    for (table, set) in tables.iter().zip(ids) {
        let set: Vec<String> = set.into_iter().map(|i| i.to_string()).collect();
        for chunk in set.chunks(500) {
            let sql = format!("DELETE FROM {} WHERE rowid IN ({})", quote_ident(table), chunk.join(","));
            deleted += c.execute(&sql, [])? as u64;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::tokenize;

    fn p(sql: &str) -> Option<Result<MultiTable, String>> {
        plan(&tokenize(sql).unwrap())
    }

    #[test]
    fn single_table_statements_are_left_alone() {
        assert_eq!(p("DELETE FROM t WHERE a = 1"), None);
        assert_eq!(p("UPDATE t SET a = 1 WHERE b = 2"), None);
        assert_eq!(p("UPDATE t AS x SET x.a = 1"), None);
    }

    #[test]
    fn wordpress_self_join_delete() {
        let plan = p("DELETE a, b FROM wp_options a, wp_options b WHERE a.option_name LIKE '\\_transient\\_%' \
                      AND b.option_name = CONCAT('_transient_timeout_', SUBSTRING(a.option_name, 12))")
        .unwrap()
        .unwrap();
        let MultiTable::Delete { tables, select } = plan else { panic!() };
        assert_eq!(tables, vec!["wp_options", "wp_options"]);
        assert!(
            select.starts_with("SELECT \"a\".rowid, \"b\".rowid FROM wp_options a, wp_options b WHERE"),
            "{select}"
        );
    }

    #[test]
    fn joined_update_becomes_update_from() {
        let plan = p("UPDATE items i JOIN prices p ON p.id = i.id SET i.price = p.amount WHERE p.amount > 0").unwrap();
        assert_eq!(
            plan,
            Ok(MultiTable::Update(
                "UPDATE \"items\" AS \"i\" SET \"price\" = p.amount FROM prices p WHERE (p.id = i.id) AND (p.amount > 0)"
                    .into()
            ))
        );
        let plan = p("UPDATE a, b SET a.x = b.y WHERE a.id = b.id").unwrap();
        assert_eq!(
            plan,
            Ok(MultiTable::Update("UPDATE \"a\" AS \"a\" SET \"x\" = b.y FROM b WHERE (a.id = b.id)".into()))
        );
        assert!(p("UPDATE a JOIN b ON a.id = b.id SET a.x = 1, b.y = 2").unwrap().is_err());
    }
}
