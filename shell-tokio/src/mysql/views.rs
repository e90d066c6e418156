//! MySQL's view DDL in SQLite's words. MySQL writes `CREATE OR REPLACE VIEW`, `ALTER VIEW`
//! and view options (`ALGORITHM = …`, `DEFINER = …`, `SQL SECURITY …`, as mariadb-dump and
//! SHOW CREATE VIEW print them, `WITH CHECK OPTION`); SQLite knows only `CREATE VIEW`. A
//! replacement becomes `DROP VIEW IF EXISTS` then `CREATE VIEW`, run together as one schema
//! change; the options, which SQLite has no place for, are dropped.

use sqlparser::tokenizer::{Token, Whitespace};

use super::sql::{rewrite, tokenize};
use super::tokens::{is_space, kw};

/// The SQLite statements of a `CREATE [OR REPLACE] … VIEW` or `ALTER … VIEW`, or `None` for
/// any other statement (and for a plain `CREATE VIEW v AS …`, which SQLite runs as written).
pub(crate) fn view_ddl(tokens: &[Token]) -> Option<Vec<String>> {
    let sig: Vec<usize> = (0..tokens.len()).filter(|i| !is_space(&tokens[*i])).collect();
    let word = |p: usize| sig.get(p).and_then(|&i| kw(&tokens[i]));
    let alter = match word(0).as_deref() {
        Some("ALTER") => true,
        Some("CREATE") => false,
        _ => return None,
    };
    // Only OR REPLACE and view options may stand between CREATE/ALTER and VIEW.
    if !matches!(word(1).as_deref(), Some("OR" | "ALGORITHM" | "DEFINER" | "SQL" | "VIEW")) {
        return None;
    }
    let view_at = (1..sig.len()).find(|&p| word(p).as_deref() == Some("VIEW"))?;
    if sig[1..view_at].iter().any(|&i| matches!(tokens[i], Token::LParen | Token::Comma)) {
        return None;
    }
    let replace = alter || (word(1).as_deref() == Some("OR") && word(2).as_deref() == Some("REPLACE"));
    if !replace && view_at == 1 && check_option_at(tokens, &sig).is_none() {
        return None;
    }
    // The view's name: `v` or `db.v`.
    let name_end =
        if sig.get(view_at + 2).is_some_and(|&i| tokens[i] == Token::Period) { view_at + 3 } else { view_at + 1 };
    let name = tokens.get(sig[view_at + 1]..=*sig.get(name_end)?)?;
    let body_end = check_option_at(tokens, &sig).map_or(tokens.len(), |p| sig[p]);
    let mut create = vec![Token::make_keyword("CREATE"), Token::Whitespace(Whitespace::Space)];
    create.extend_from_slice(&tokens[sig[view_at]..body_end]);
    let mut out = Vec::new();
    if replace {
        let mut drop = tokenize("DROP VIEW IF EXISTS ").ok()?;
        drop.extend_from_slice(name);
        out.push(rewrite(&drop));
    }
    out.push(rewrite(&create));
    Some(out)
}

/// Where a trailing `WITH [CASCADED | LOCAL] CHECK OPTION` starts (a significant-token index).
fn check_option_at(tokens: &[Token], sig: &[usize]) -> Option<usize> {
    let words: Vec<Option<String>> = sig.iter().map(|&i| kw(&tokens[i])).collect();
    let n = words.len();
    let is = |p: usize, w: &str| words.get(p).and_then(|x| x.as_deref()) == Some(w);
    if n < 3 || !is(n - 1, "OPTION") || !is(n - 2, "CHECK") {
        return None;
    }
    if is(n - 3, "WITH") {
        Some(n - 3)
    } else if n >= 4 && (is(n - 3, "CASCADED") || is(n - 3, "LOCAL")) && is(n - 4, "WITH") {
        Some(n - 4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(sql: &str) -> Option<Vec<String>> {
        view_ddl(&tokenize(sql).unwrap())
    }

    #[test]
    fn replacing_a_view_drops_it_first() {
        assert_eq!(
            tr("CREATE OR REPLACE VIEW v1 AS SELECT a FROM t1").unwrap(),
            vec!["DROP VIEW IF EXISTS v1", "CREATE VIEW v1 AS SELECT a FROM t1"]
        );
        assert_eq!(
            tr("ALTER VIEW test.v1 (x) AS SELECT a FROM t1 WITH LOCAL CHECK OPTION").unwrap(),
            vec!["DROP VIEW IF EXISTS test.v1", "CREATE VIEW test.v1 (x) AS SELECT a FROM t1"]
        );
    }

    #[test]
    fn view_options_are_dropped() {
        assert_eq!(
            tr("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1")
                .unwrap(),
            vec![r#"CREATE VIEW "v" AS select 1"#]
        );
        assert_eq!(tr("CREATE VIEW v AS SELECT 1"), None, "SQLite runs it as written");
        assert_eq!(tr("CREATE TABLE t (a INT)"), None);
        assert_eq!(tr("ALTER TABLE t ADD COLUMN view INT"), None);
    }
}
