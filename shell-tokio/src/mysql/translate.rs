//! MySQL statements → SQLite statements: the token rewrite of [`super::sql`] for most,
//! and for `CREATE TABLE` a translation of its own — column charsets, collations, comments,
//! `ON UPDATE` clauses and table options dropped; `UNSIGNED`/`ZEROFILL` dropped from types;
//! an `AUTO_INCREMENT` integer key becomes `INTEGER PRIMARY KEY`; inline `KEY`/`INDEX`/
//! `UNIQUE KEY` become `CREATE [UNIQUE] INDEX` statements (prefix lengths dropped) — and
//! the columns' MySQL types as declared, kept for metadata.

use sqlparser::tokenizer::{Token, Whitespace};

use super::sql::{matching_paren, print, quote_ident, quote_str, rewrite, spaced, split_commas};
use super::tokens::{is_space, kw, significant, text};

/// Translate one MySQL statement (its tokens) to SQLite statements (usually one;
/// `CREATE TABLE` with inline indexes gives several).
pub fn translate(tokens: &[Token]) -> Vec<String> {
    let sig = significant(tokens);
    let first = sig.first().and_then(|t| kw(t)).unwrap_or_default();
    let second = sig.get(1).and_then(|t| kw(t)).unwrap_or_default();
    let third_is_table = sig.get(2).and_then(|t| kw(t)).as_deref() == Some("TABLE");
    let names_table = second == "TABLE" || (second == "TEMPORARY" && third_is_table);
    if first == "CREATE" && names_table {
        if let Some(with_as) = select_with_as(tokens) {
            return vec![rewrite(&with_as)];
        }
        return create_table(tokens);
    }
    if first == "DROP" && names_table {
        return drop_tables(&sig);
    }
    if first == "ALTER" && second == "TABLE" {
        if let Some(statements) = alter_table_indexes(&sig) {
            return statements;
        }
    }
    if let Some(view) = super::views::view_ddl(tokens) {
        return view;
    }
    vec![rewrite(tokens)]
}

/// `[CONSTRAINT [n]] UNIQUE|KEY|INDEX [name] (cols)` of table `table` (in CREATE TABLE, or
/// after ALTER TABLE … ADD) as SQLite's `CREATE [UNIQUE] INDEX`, named `table__name` (index
/// names are per table in MySQL, per database in SQLite; SHOW CREATE TABLE strips the
/// prefix). FULLTEXT and SPATIAL indexes have no SQLite form: none.
fn index_statement(table: &str, p: &[&Token]) -> Option<String> {
    let k0 = kw(p.first()?)?;
    if k0 == "FULLTEXT" || k0 == "SPATIAL" {
        return None;
    }
    let unique = k0 == "UNIQUE" || (k0 == "CONSTRAINT" && p.iter().any(|t| kw(t).as_deref() == Some("UNIQUE")));
    let lp = p.iter().position(|t| matches!(t, Token::LParen))?;
    let cols = names_in_parens(&p[lp + 1..p.len().saturating_sub(1)]);
    let keyword = |w: &str| matches!(w.to_ascii_uppercase().as_str(), "KEY" | "INDEX" | "UNIQUE" | "CONSTRAINT");
    let name = p[..lp]
        .iter()
        .rev()
        .find_map(|t| match t {
            Token::Word(w) if !keyword(&w.value) => Some(w.value.clone()),
            _ => None,
        })
        .unwrap_or_else(|| cols.join("_"));
    Some(format!(
        "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        quote_ident(&format!("{table}__{name}")),
        quote_ident(table),
        cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
    ))
}

/// `ALTER TABLE t …` adding indexes (`ADD INDEX|KEY|UNIQUE … (cols)`, `ADD CONSTRAINT n
/// UNIQUE (cols)`), which SQLite's ALTER TABLE cannot: one statement per change, the
/// indexes as `CREATE INDEX`, every other change as an `ALTER TABLE` of its own. None when
/// no index is added (the statement is rewritten as it is).
fn alter_table_indexes(sig: &[&Token]) -> Option<Vec<String>> {
    let Some(Token::Word(table)) = sig.get(2) else { return None };
    if matches!(sig.get(3), Some(Token::Period)) {
        return None;
    }
    let changes = split_commas(&sig[3..]);
    let adds_index = |c: &[&Token]| {
        let word = |i: usize| c.get(i).and_then(|t| kw(t)).unwrap_or_default();
        word(0) == "ADD"
            && match word(1).as_str() {
                "INDEX" | "KEY" | "UNIQUE" | "FULLTEXT" | "SPATIAL" => true,
                "CONSTRAINT" => c.iter().any(|t| kw(t).as_deref() == Some("UNIQUE")),
                _ => false,
            }
    };
    if !changes.iter().any(|c| adds_index(c)) {
        return None;
    }
    let alter = format!("ALTER TABLE {}", quote_ident(&table.value));
    let statements = changes
        .iter()
        .filter_map(|c| {
            if adds_index(c) {
                index_statement(&table.value, &c[1..])
            } else {
                Some(format!("{alter} {}", rewrite(&spaced(c))))
            }
        })
        .collect();
    Some(statements)
}

/// Whether a CREATE TABLE's first parenthesis (at `open`) belongs to a query rather than
/// opening its column list: `CREATE TABLE t [AS] SELECT f(…)`, `CREATE TABLE t (SELECT …)`.
fn selects_first(sig: &[&Token], open: usize) -> bool {
    sig[..(open + 2).min(sig.len())].iter().any(|t| matches!(kw(t).as_deref(), Some("SELECT" | "AS" | "LIKE" | "WITH")))
}

/// `CREATE TABLE t SELECT …` (MySQL's AS is optional; SQLite's is not) with the AS written
/// in; `None` when the statement has its AS or no SELECT.
fn select_with_as(tokens: &[Token]) -> Option<Vec<Token>> {
    let sig: Vec<usize> = (0..tokens.len()).filter(|i| !is_space(&tokens[*i])).collect();
    let at = sig.iter().position(|&i| matches!(kw(&tokens[i]).as_deref(), Some("SELECT" | "WITH" | "AS" | "LIKE")))?;
    let word = kw(&tokens[sig[at]]);
    let column_list_first = sig[..at].iter().any(|&i| tokens[i] == Token::LParen && i + 1 < sig[at]);
    if word.as_deref() == Some("AS") || word.as_deref() == Some("LIKE") || column_list_first {
        return None;
    }
    // `CREATE TABLE t (SELECT …)`: the AS goes before the parenthesis.
    let at = if at > 0 && tokens[sig[at - 1]] == Token::LParen { at - 1 } else { at };
    let mut out = tokens[..sig[at]].to_vec();
    out.extend([Token::make_keyword("AS"), Token::Whitespace(Whitespace::Space)]);
    out.extend_from_slice(&tokens[sig[at]..]);
    Some(out)
}

/// `DROP TABLE [IF EXISTS] a, b, c` as one SQLite `DROP TABLE` per table (SQLite drops
/// one at a time); the schema change runs them together, so a missing table (without IF
/// EXISTS) drops none of them, as MySQL 8's atomic DDL does.
fn drop_tables(sig: &[&Token]) -> Vec<String> {
    let names_at = sig
        .iter()
        .position(|t| !matches!(kw(t).as_deref(), Some("DROP" | "TEMPORARY" | "TABLE" | "TABLES" | "IF" | "EXISTS")))
        .unwrap_or(sig.len());
    // Words apart, `db.t` kept whole.
    let owned = |toks: &[&Token]| -> Vec<Token> {
        let mut out: Vec<Token> = Vec::new();
        for t in toks {
            if !out.is_empty() && **t != Token::Period && out.last() != Some(&Token::Period) {
                out.push(Token::Whitespace(Whitespace::Space));
            }
            out.push((*t).clone());
        }
        out.push(Token::Whitespace(Whitespace::Space));
        out
    };
    split_commas(&sig[names_at..])
        .iter()
        .map(|name| {
            let name: Vec<&Token> =
                name.iter().copied().filter(|t| !matches!(kw(t).as_deref(), Some("RESTRICT" | "CASCADE"))).collect();
            rewrite(&[owned(&sig[..names_at]), owned(&name)].concat())
        })
        .collect()
}

/// A column's type as the client declared it, for metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredColumn {
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// MySQL type as written, lower-cased (`bigint(20) unsigned`).
    pub mysql_type: String,
    /// `auto_increment` or empty.
    pub extra: String,
    /// Its `COMMENT '…'`, or empty.
    pub comment: String,
}

/// The declared columns of a `CREATE TABLE` (empty for anything else).
pub fn declared_columns(tokens: &[Token]) -> Vec<DeclaredColumn> {
    let sig = significant(tokens);
    if sig.first().and_then(|t| kw(t)).as_deref() != Some("CREATE")
        || !sig.iter().take(3).any(|t| kw(t).as_deref() == Some("TABLE"))
    {
        return Vec::new();
    }
    let Some(open) = sig.iter().position(|t| matches!(t, Token::LParen)) else { return Vec::new() };
    if selects_first(&sig, open) {
        return Vec::new();
    }
    let Some(table) =
        sig[..open].iter().rev().find_map(|t| if let Token::Word(w) = t { Some(w.value.clone()) } else { None })
    else {
        return Vec::new();
    };
    let close = matching_paren(&sig, open).unwrap_or(sig.len());
    let mut out = Vec::new();
    for p in split_commas(&sig[(open + 1).min(close)..close]) {
        let Some(Token::Word(name)) = p.first() else { continue };
        if name.quote_style.is_none()
            && matches!(
                name.value.to_ascii_uppercase().as_str(),
                "PRIMARY" | "KEY" | "INDEX" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "CONSTRAINT" | "FOREIGN" | "CHECK"
            )
        {
            continue;
        }
        let mut ty = String::new();
        let mut i = 1;
        while i < p.len() {
            match p[i] {
                Token::Word(w) if w.quote_style.is_none() && !is_column_option(&w.value) => {
                    if !ty.is_empty() {
                        ty.push(' ');
                    }
                    ty.push_str(&w.value.to_ascii_lowercase());
                    i += 1;
                }
                Token::LParen => {
                    let mut depth = 0;
                    while i < p.len() {
                        match p[i] {
                            Token::LParen => depth += 1,
                            Token::RParen => depth -= 1,
                            _ => {}
                        }
                        ty.push_str(&match p[i] {
                            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => quote_str(s),
                            Token::Comma => ",".to_string(),
                            t => print(t),
                        });
                        i += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        let auto = p.iter().any(|t| kw(t).as_deref() == Some("AUTO_INCREMENT"));
        out.push(DeclaredColumn {
            table: table.clone(),
            column: name.value.clone(),
            mysql_type: ty,
            extra: if auto { "auto_increment".into() } else { String::new() },
            comment: super::comments::comment_in(&p[i..]).unwrap_or_default(),
        });
    }
    out
}

fn names_in_parens(toks: &[&Token]) -> Vec<String> {
    // (a(10), b DESC) → ["a", "b"]
    let mut out = Vec::new();
    let inner: Vec<&Token> = toks.to_vec();
    for part in split_commas(&inner) {
        if let Some(Token::Word(w)) = part.iter().find(|t| !is_space(t)) {
            out.push(w.value.clone());
        }
    }
    out
}

/// CREATE TABLE: MySQL column and table syntax → SQLite, plus index statements.
fn create_table(tokens: &[Token]) -> Vec<String> {
    let toks: Vec<&Token> = tokens.iter().filter(|t| !is_space(t)).collect();
    let Some(open) = toks.iter().position(|t| matches!(t, Token::LParen)).filter(|&open| !selects_first(&toks, open))
    else {
        // CREATE TABLE … AS SELECT: pass through.
        return vec![rewrite(tokens)];
    };
    let close = matching_paren(&toks, open).unwrap_or(toks.len());
    if close == toks.len() {
        return vec![rewrite(tokens)];
    }
    let head = &toks[..open];
    let table = match head.iter().rev().find_map(|t| if let Token::Word(w) = t { Some(w.value.clone()) } else { None })
    {
        Some(t) => t,
        None => return vec![rewrite(tokens)],
    };
    let if_not_exists = head.iter().any(|t| kw(t).as_deref() == Some("EXISTS"));
    let parts = split_commas(&toks[open + 1..close]);
    // Which column is the single-column primary key (declared separately)?
    let mut pk_cols: Vec<String> = Vec::new();
    for p in &parts {
        let k0 = p.first().and_then(|t| kw(t));
        let k1 = p.get(1).and_then(|t| kw(t));
        if k0.as_deref() == Some("PRIMARY")
            || (k0.as_deref() == Some("CONSTRAINT") && p.iter().any(|t| kw(t).as_deref() == Some("PRIMARY")))
        {
            if let Some(lp) = p.iter().position(|t| matches!(t, Token::LParen)) {
                pk_cols = names_in_parens(&p[lp + 1..p.len().saturating_sub(1)]);
            }
        }
        let _ = k1;
    }
    let mut cols_sql: Vec<String> = Vec::new();
    let mut indexes: Vec<String> = Vec::new();
    let mut rowid_pk: Option<String> = None;
    for p in &parts {
        if p.is_empty() {
            continue;
        }
        let k0 = kw(p[0]).unwrap_or_default();
        match k0.as_str() {
            "PRIMARY" | "CONSTRAINT" if p.iter().any(|t| kw(t).as_deref() == Some("PRIMARY")) => {
                cols_sql.push(format!(
                    "PRIMARY KEY ({})",
                    pk_cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
                ));
            }
            "KEY" | "INDEX" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "CONSTRAINT"
                if !matches!(p.get(1), Some(Token::LParen)) || k0 != "CONSTRAINT" =>
            {
                if k0 == "CONSTRAINT" && !p.iter().any(|t| kw(t).as_deref() == Some("UNIQUE")) {
                    // FOREIGN KEY / CHECK constraints: keep as written.
                    cols_sql.push(rewrite(&spaced(p)));
                    continue;
                }
                indexes.extend(index_statement(&table, p));
            }
            "FOREIGN" | "CHECK" => cols_sql.push(rewrite(&spaced(p))),
            _ => {
                // A column: name type [options…]
                let Token::Word(name) = p[0] else {
                    cols_sql.push(rewrite(&spaced(p)));
                    continue;
                };
                let mut def: Vec<String> = vec![quote_ident(&name.value)];
                let auto = p.iter().any(|t| kw(t).as_deref() == Some("AUTO_INCREMENT"));
                let inline_pk =
                    p.windows(2).any(|w| kw(w[0]).as_deref() == Some("PRIMARY") && kw(w[1]).as_deref() == Some("KEY"));
                let is_pk = inline_pk || (pk_cols.len() == 1 && pk_cols[0].eq_ignore_ascii_case(&name.value));
                let mut i = 1;
                // the type: words and a parenthesized part
                let mut ty: Vec<String> = Vec::new();
                while i < p.len() {
                    match p[i] {
                        Token::Word(w) if w.quote_style.is_none() && !is_column_option(&w.value) => {
                            let u = w.value.to_ascii_uppercase();
                            if u != "UNSIGNED" && u != "ZEROFILL" && u != "SIGNED" {
                                ty.push(w.value.clone());
                            }
                            i += 1;
                        }
                        Token::LParen => {
                            let mut depth = 0;
                            let mut s = String::new();
                            while i < p.len() {
                                match p[i] {
                                    Token::LParen => depth += 1,
                                    Token::RParen => depth -= 1,
                                    _ => {}
                                }
                                s.push_str(&print(p[i]));
                                i += 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            let base = ty.first().map(|t| t.to_ascii_uppercase()).unwrap_or_default();
                            if base != "ENUM" && base != "SET" {
                                if let Some(last) = ty.last_mut() {
                                    last.push_str(&s);
                                }
                            }
                        }
                        _ => break,
                    }
                }
                let integer = ty.first().is_some_and(|t| t.to_ascii_uppercase().contains("INT"));
                // MySQL's default collations compare text case-insensitively; `_bin`
                // collations and binary types compare bytes.
                let base = ty.first().map(|t| t.to_ascii_uppercase()).unwrap_or_default();
                let textual = ["CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET"]
                    .iter()
                    .any(|k| base.starts_with(k));
                let binary_collation = p.windows(2).any(|w| {
                    kw(w[0]).as_deref() == Some("COLLATE")
                        && text(w[1]).is_some_and(|c| c.to_ascii_lowercase().ends_with("_bin"))
                }) || p.iter().any(|t| kw(t).as_deref() == Some("BINARY"));
                if auto && is_pk && integer {
                    def.push("INTEGER PRIMARY KEY".into());
                    rowid_pk = Some(name.value.clone());
                } else if base == "SET" && ty.len() == 1 {
                    // SET is an SQLite keyword: quoted, the declared type SQLite reports is
                    // still `SET` (which types the column for clients).
                    def.push("\"SET\"".into());
                } else {
                    def.push(if ty.is_empty() { String::new() } else { ty.join(" ") });
                }
                // options
                while i < p.len() {
                    let k = kw(p[i]).unwrap_or_default();
                    match k.as_str() {
                        "AUTO_INCREMENT" | "UNSIGNED" | "ZEROFILL" | "SIGNED" => i += 1,
                        "PRIMARY" if rowid_pk.as_deref() == Some(&name.value) => i += 2,
                        "CHARACTER" => i += 3, // CHARACTER SET x
                        "CHARSET" | "COLLATE" => i += 2,
                        "COMMENT" => i += 2,
                        "ON" if p.get(i + 1).and_then(|t| kw(t)).as_deref() == Some("UPDATE") => {
                            i += 3;
                            if matches!(p.get(i), Some(Token::LParen)) {
                                i += 2;
                            }
                        }
                        _ => {
                            def.push(print(p[i]));
                            i += 1;
                        }
                    }
                }
                if textual && !binary_collation {
                    def.push("COLLATE NOCASE".into());
                }
                cols_sql.push(def.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "));
            }
        }
    }
    if let Some(pk) = &rowid_pk {
        // The key is declared on the column itself now.
        cols_sql.retain(|c| !(c.starts_with("PRIMARY KEY (") && c.contains(&quote_ident(pk))));
    }
    let mut out = vec![format!(
        "CREATE TABLE {}{} ({})",
        if if_not_exists { "IF NOT EXISTS " } else { "" },
        quote_ident(&table),
        cols_sql.join(", ")
    )];
    out.extend(indexes);
    out
}

fn is_column_option(w: &str) -> bool {
    matches!(
        w.to_ascii_uppercase().as_str(),
        "NOT"
            | "NULL"
            | "DEFAULT"
            | "PRIMARY"
            | "KEY"
            | "UNIQUE"
            | "AUTO_INCREMENT"
            | "COMMENT"
            | "CHARACTER"
            | "CHARSET"
            | "COLLATE"
            | "ON"
            | "REFERENCES"
            | "CHECK"
            | "GENERATED"
            | "AS"
            | "STORED"
            | "VIRTUAL"
            | "CONSTRAINT"
            | "INVISIBLE"
            | "VISIBLE"
    )
}

#[cfg(test)]
mod tests {
    use super::super::sql::{split, tokenize};
    use super::*;

    fn tr(sql: &str) -> Vec<String> {
        split(tokenize(sql).unwrap()).iter().flat_map(|s| translate(s)).collect()
    }

    #[test]
    fn create_table_wordpress_style() {
        let out = tr("CREATE TABLE `wp_posts` (
          `ID` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
          `post_title` text COLLATE utf8mb4_unicode_520_ci NOT NULL,
          `post_date` datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
          `post_name` varchar(200) NOT NULL DEFAULT '' COMMENT 'slug',
          PRIMARY KEY (`ID`),
          KEY `post_name` (`post_name`(191)),
          UNIQUE KEY `uniq` (`post_title`(10), `post_date`)
        ) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 /*!40101 COLLATE=x */");
        assert_eq!(
            out[0],
            r#"CREATE TABLE "wp_posts" ("ID" INTEGER PRIMARY KEY NOT NULL, "post_title" text NOT NULL COLLATE NOCASE, "post_date" datetime NOT NULL DEFAULT '0000-00-00 00:00:00', "post_name" varchar(200) NOT NULL DEFAULT '' COLLATE NOCASE)"#
        );
        assert_eq!(out[1], r#"CREATE INDEX IF NOT EXISTS "wp_posts__post_name" ON "wp_posts" ("post_name")"#);
        assert_eq!(
            out[2],
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "wp_posts__uniq" ON "wp_posts" ("post_title", "post_date")"#
        );
    }

    #[test]
    fn declared_types_are_kept_for_metadata() {
        let toks = tokenize("CREATE TABLE `t` (`id` bigint(20) unsigned NOT NULL AUTO_INCREMENT, `s` enum('a','b') DEFAULT 'a', PRIMARY KEY (`id`))").unwrap();
        let cols = declared_columns(&toks);
        assert_eq!(cols.len(), 2);
        assert_eq!((cols[0].mysql_type.as_str(), cols[0].extra.as_str()), ("bigint(20) unsigned", "auto_increment"));
        assert_eq!(cols[1].mysql_type, "enum('a','b')");
    }

    #[test]
    fn table_constraints_keep_their_words_apart() {
        let out = tr("CREATE TABLE users (user_id INT AUTO_INCREMENT PRIMARY KEY, parent_user_id INT, test2 INT, \
             CONSTRAINT zz_gt_zero CHECK (test2 > 0), CHECK (test2 <= 1000), CHECK (test2 = 1 OR (test2 > 2 AND test2 < 5000)), \
             CONSTRAINT user_id_fk FOREIGN KEY(parent_user_id) REFERENCES users (user_id))");
        assert_eq!(
            out,
            vec![
                r#"CREATE TABLE "users" ("user_id" INTEGER PRIMARY KEY, "parent_user_id" INT, "test2" INT, CONSTRAINT zz_gt_zero CHECK ( test2 > 0 ), CHECK ( test2 <= 1000 ), CHECK ( test2 = 1 OR ( test2 > 2 AND test2 < 5000 ) ), CONSTRAINT user_id_fk FOREIGN KEY ( parent_user_id ) REFERENCES users ( user_id ))"#
            ]
        );
    }

    #[test]
    fn alter_table_adding_indexes_creates_them() {
        let out = tr("ALTER TABLE `test` ADD INDEX `idx_station` (`station`), ADD COLUMN z INT, \
             ADD UNIQUE KEY u (a, b(10)), ADD CONSTRAINT c1 UNIQUE (z), ADD FULLTEXT f (t)");
        assert_eq!(
            out,
            vec![
                r#"CREATE INDEX IF NOT EXISTS "test__idx_station" ON "test" ("station")"#,
                r#"ALTER TABLE "test" ADD COLUMN z INT"#,
                r#"CREATE UNIQUE INDEX IF NOT EXISTS "test__u" ON "test" ("a", "b")"#,
                r#"CREATE UNIQUE INDEX IF NOT EXISTS "test__c1" ON "test" ("z")"#,
            ]
        );
        // Without an index, the statement is left whole.
        assert_eq!(tr("ALTER TABLE t ADD COLUMN z INT").len(), 1);
    }

    #[test]
    fn composite_keys_stay_table_constraints() {
        let out = tr("create table if not exists m (a int, b varchar(10), primary key (a, b))");
        assert_eq!(
            out,
            vec![r#"CREATE TABLE IF NOT EXISTS "m" ("a" int, "b" varchar(10) COLLATE NOCASE, PRIMARY KEY ("a", "b"))"#]
        );
    }

    #[test]
    fn create_table_select_needs_no_as() {
        assert_eq!(
            tr("CREATE TABLE t2 SELECT GROUP_CONCAT(f1) FROM t1"),
            vec![r#"CREATE TABLE t2 AS SELECT marmot_group_concat(f1, ',', 0) AS "GROUP_CONCAT(f1)" FROM t1"#]
        );
        assert!(tr("create table t3 (select 1 as a)")[0].starts_with("create table t3 AS ("));
        assert_eq!(tr("CREATE TABLE t AS SELECT 1"), vec!["CREATE TABLE t AS SELECT 1"]);
        assert_eq!(
            tr("CREATE TABLE t1 AS SELECT COALESCE(a) AS c FROM t0"),
            vec!["CREATE TABLE t1 AS SELECT COALESCE(a) AS c FROM t0"]
        );
        let toks = tokenize("CREATE TABLE t2 SELECT GROUP_CONCAT(f1 ORDER BY f2) FROM t1").unwrap();
        assert!(declared_columns(&toks).is_empty(), "GROUP_CONCAT is a call, not a table");
    }

    #[test]
    fn dropping_several_tables_drops_each() {
        assert_eq!(tr("DROP TABLE t1,`t2`"), vec![r#"DROP TABLE t1"#, r#"DROP TABLE "t2""#]);
        assert_eq!(
            tr("drop table if exists t1, db.t2 cascade"),
            vec!["drop table if exists t1", "drop table if exists db.t2"]
        );
        assert_eq!(tr("DROP TABLE t1"), vec!["DROP TABLE t1"]);
    }
}
