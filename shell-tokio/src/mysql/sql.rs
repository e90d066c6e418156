//! MySQL → SQLite translation on sqlparser's MySQL tokens.
//!
//! Most MySQL DML is valid SQLite once lexical differences are fixed, so statements are
//! tokenized with sqlparser's MySQL dialect (which unescapes backslash escapes), then
//! re-printed for SQLite with targeted rewrites:
//! - strings (single or double quoted) become standard `'…'` literals;
//! - `@@[session.|global.]name` → `marmot_sysvar('[session.|global.]name')` (as written), `@name` → `marmot_uservar('name')`;
//! - `INSERT IGNORE` → `INSERT OR IGNORE`; `ON DUPLICATE KEY UPDATE` → `ON CONFLICT DO
//!   UPDATE SET` with `VALUES(col)` → `excluded.col`;
//! - dropped: `FOR UPDATE`, `LOCK IN SHARE MODE`, `SQL_CALC_FOUND_ROWS` and other select
//!   modifiers, index hints, `FROM DUAL`, comments (including `/*! … */` table options).
//!
//! `CREATE TABLE` needs more than a token rewrite: see [`super::translate`].

use sqlparser::tokenizer::{Token, Whitespace};

use super::sql_text::word;
pub use super::sql_text::{
    decode_query, hex_literal, quote_ident, quote_str, split, split_commas, tokenize, SyntaxError,
};
pub(crate) use super::sql_text::{is_interval_unit, matching_paren, print, raw_bytes, spaced};
use super::tokens::{is_space, kw, text};

/// The general token rewrite.
pub fn rewrite(tokens: &[Token]) -> String {
    let prepared = super::expr_passes::prepare(tokens);
    let tokens = prepared.as_deref().unwrap_or(tokens);
    let toks: Vec<&Token> = tokens.iter().collect();
    let mut out = String::with_capacity(tokens.len() * 6);
    let mut i = 0;
    let mut in_upsert = false;
    let next_sig = |from: usize| -> Option<(usize, &Token)> {
        (from..toks.len()).find(|j| !is_space(toks[*j])).map(|j| (j, toks[j]))
    };
    while i < toks.len() {
        let t = toks[i];
        if let Some((text, next)) = super::call_syntax::call(tokens, i, rewrite) {
            out.push_str(&text);
            i = next;
            continue;
        }
        if *t == Token::Div {
            // MySQL's `/` divides exactly (7 / 2 is 3.5, never 3); SQLite's divides two
            // integers as integers. `* 1.0` has `/`'s precedence and binds left, so it
            // applies to the whole left operand.
            out.push_str(if out.ends_with(' ') { "* 1.0 /" } else { " * 1.0 /" });
            i += 1;
            continue;
        }
        if *t == Token::Spaceship {
            // NULL-safe equality.
            out.push_str(" IS ");
            i += 1;
            continue;
        }
        if let Token::Number(n, _) = t {
            // `LIMIT 18446744073709551615` / `LIMIT 2, 18446744073709551615`: MySQL's idiom
            // for "all the rest"; past SQLite's integers, where -1 means the same.
            if n.len() > 18 && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<i64>().is_err() {
                let before: Vec<&Token> = toks[..i].iter().rev().filter(|t| !is_space(t)).take(3).copied().collect();
                let after_limit = |t: Option<&&Token>| t.and_then(|t| kw(t)).as_deref() == Some("LIMIT");
                if after_limit(before.first())
                    || (matches!(before.first(), Some(Token::Comma))
                        && matches!(before.get(1), Some(Token::Number(..)))
                        && after_limit(before.get(2)))
                {
                    out.push_str("-1");
                    i += 1;
                    continue;
                }
            }
        }
        if *t == Token::LParen {
            // INSERT INTO t () VALUES (): a row of defaults.
            if let Some((a, Token::RParen)) = next_sig(i + 1) {
                if let Some((b, v)) = next_sig(a + 1).filter(|(_, v)| kw(v).as_deref() == Some("VALUES")) {
                    let _ = v;
                    if let Some((c, Token::LParen)) = next_sig(b + 1) {
                        if let Some((d, Token::RParen)) = next_sig(c + 1) {
                            if next_sig(d + 1).is_none_or(|(_, t)| matches!(t, Token::SemiColon)) {
                                out.push_str(" DEFAULT VALUES");
                                i = d + 1;
                                continue;
                            }
                        }
                    }
                }
            }
        }
        let k = kw(t);
        match k.as_deref() {
            Some("DATE" | "TIME" | "TIMESTAMP")
                if matches!(next_sig(i + 1), Some((_, Token::SingleQuotedString(_)))) =>
            {
                // A typed literal, `DATE '2001-01-02'`: the string is the value SQLite keeps.
                i += 1;
                continue;
            }
            Some("INSERT" | "REPLACE") if out.trim().is_empty() => {
                // `INSERT t VALUES …`: MySQL's INTO is optional, SQLite's is not.
                let next = next_sig(i + 1).and_then(|(_, t)| kw(t));
                let modifier = matches!(
                    next.as_deref(),
                    Some("INTO" | "IGNORE" | "LOW_PRIORITY" | "HIGH_PRIORITY" | "DELAYED" | "OR")
                );
                if !modifier && next_sig(i + 1).is_some_and(|(_, t)| matches!(t, Token::Word(_))) {
                    out.push_str(&print(t));
                    out.push_str(" INTO");
                    i += 1;
                    continue;
                }
            }
            Some("COLLATE") => {
                // MySQL collations: `…_bin` / `…_cs` compare bytes, `…_ci` ignore case.
                if let Some((n, name)) = next_sig(i + 1) {
                    let name = text(name).unwrap_or_default().to_ascii_lowercase();
                    let sqlite = if name.ends_with("_ci") {
                        Some("NOCASE")
                    } else if name.ends_with("_bin") || name.ends_with("_cs") || name == "binary" {
                        Some("BINARY")
                    } else {
                        None
                    };
                    if let Some(c) = sqlite {
                        out.push_str(" COLLATE ");
                        out.push_str(c);
                        i = n + 1;
                        continue;
                    }
                }
            }
            Some("BINARY") => {
                // `BINARY x` in an expression: compare x byte for byte.
                let prev = out.trim_end();
                let in_expr = prev.ends_with(['=', '<', '>', '(', ',']) || {
                    let last = prev.rsplit(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
                    matches!(
                        last.to_ascii_uppercase().as_str(),
                        "WHERE" | "AND" | "OR" | "ON" | "SELECT" | "NOT" | "LIKE"
                    )
                };
                if let Some((n, operand)) = next_sig(i + 1).filter(|_| in_expr) {
                    let single = matches!(operand, Token::SingleQuotedString(_) | Token::DoubleQuotedString(_))
                        || matches!(operand, Token::Word(_))
                            && next_sig(n + 1).is_none_or(|(_, t)| *t != Token::LParen && *t != Token::Period);
                    if single {
                        out.push(' ');
                        out.push_str(&print(operand));
                        out.push_str(" COLLATE BINARY");
                        i = n + 1;
                        continue;
                    }
                }
            }
            Some("DIV") => {
                // Integer division (exact for integer operands).
                out.push('/');
                i += 1;
                continue;
            }
            Some("IGNORE") if out.trim_end().to_ascii_uppercase().ends_with("INSERT") => {
                out.truncate(out.trim_end().len());
                out.push_str(" OR IGNORE");
                i += 1;
                continue;
            }
            Some("ON") => {
                // ON DUPLICATE KEY UPDATE
                let seq = ["DUPLICATE", "KEY", "UPDATE"];
                let mut j = i + 1;
                let mut ok = true;
                for s in seq {
                    match next_sig(j) {
                        Some((n, tok)) if kw(tok).as_deref() == Some(s) => j = n + 1,
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    out.push_str("ON CONFLICT DO UPDATE SET");
                    in_upsert = true;
                    i = j;
                    continue;
                }
            }
            Some("VALUES") if in_upsert => {
                // VALUES(col) → excluded.col
                if let Some((p, Token::LParen)) = next_sig(i + 1) {
                    if let Some((c, Token::Word(col))) = next_sig(p + 1) {
                        if let Some((r, Token::RParen)) = next_sig(c + 1) {
                            out.push_str("excluded.");
                            out.push_str(&word(col));
                            i = r + 1;
                            continue;
                        }
                    }
                }
            }
            Some(
                "SQL_CALC_FOUND_ROWS"
                | "SQL_NO_CACHE"
                | "SQL_CACHE"
                | "HIGH_PRIORITY"
                | "LOW_PRIORITY"
                | "DELAYED"
                | "SQL_SMALL_RESULT"
                | "SQL_BIG_RESULT"
                | "SQL_BUFFER_RESULT",
            ) => {
                i += 1;
                continue;
            }
            Some("FOR") => {
                // FOR UPDATE / FOR SHARE [NOWAIT | SKIP LOCKED]
                if let Some((n, tok)) = next_sig(i + 1) {
                    if matches!(kw(tok).as_deref(), Some("UPDATE" | "SHARE")) {
                        i = n + 1;
                        while let Some((m, tok)) = next_sig(i) {
                            match kw(tok).as_deref() {
                                Some("NOWAIT" | "SKIP" | "LOCKED") => i = m + 1,
                                _ => break,
                            }
                        }
                        continue;
                    }
                }
            }
            Some("LOCK") => {
                // LOCK IN SHARE MODE
                if let Some((a, x)) = next_sig(i + 1) {
                    if kw(x).as_deref() == Some("IN") {
                        if let (Some((_, y)), Some((c, z))) =
                            (next_sig(a + 1), next_sig(a + 1).and_then(|(b, _)| next_sig(b + 1)))
                        {
                            if kw(y).as_deref() == Some("SHARE") && kw(z).as_deref() == Some("MODE") {
                                i = c + 1;
                                continue;
                            }
                        }
                    }
                }
            }
            Some("USE" | "FORCE") | Some("IGNORE") => {
                // index hints: USE|FORCE|IGNORE INDEX|KEY [FOR …] (list)
                if let Some((n, tok)) = next_sig(i + 1) {
                    if matches!(kw(tok).as_deref(), Some("INDEX" | "KEY")) {
                        let mut j = n + 1;
                        if let Some((f, tok)) = next_sig(j) {
                            if kw(tok).as_deref() == Some("FOR") {
                                j = f + 1;
                                while let Some((m, tok)) = next_sig(j) {
                                    if matches!(tok, Token::LParen) {
                                        break;
                                    }
                                    j = m + 1;
                                }
                            }
                        }
                        if let Some((p, Token::LParen)) = next_sig(j) {
                            i = matching_paren(&toks, p).unwrap_or(toks.len()) + 1;
                            continue;
                        }
                    }
                }
            }
            Some("IF") if matches!(next_sig(i + 1), Some((_, Token::LParen))) => {
                // MySQL's IF(cond, a, b) is SQLite's iif.
                out.push_str("iif");
                i += 1;
                continue;
            }
            Some("LIKE") => {
                // MySQL's LIKE escapes with a backslash by default; SQLite's has no escape.
                if let Some((n, operand)) = next_sig(i + 1) {
                    let end = match (operand, next_sig(n + 1)) {
                        (Token::LParen, _) => matching_paren(&toks, n),
                        (Token::Word(_), Some((p, Token::LParen))) => matching_paren(&toks, p),
                        // A signed number (`LIKE -7`): the sign and the number.
                        (Token::Minus | Token::Plus, Some((p, Token::Number(..)))) => Some(p),
                        _ => Some(n),
                    };
                    let escaped =
                        end.and_then(|e| next_sig(e + 1)).is_some_and(|(_, t)| kw(t).as_deref() == Some("ESCAPE"));
                    if let (Some(end), false) = (end, escaped) {
                        let operand: Vec<Token> = toks[n..=end].iter().map(|t| (*t).clone()).collect();
                        out.push_str(&format!("LIKE {} ESCAPE '\\'", rewrite(&operand)));
                        i = end + 1;
                        continue;
                    }
                }
            }
            Some("INTERVAL") => {
                // INTERVAL expr UNIT → expr, 'UNIT' (the arguments of our DATE_ADD/DATE_SUB).
                let mut depth = 0i32;
                let mut j = i + 1;
                let mut expr = Vec::new();
                let mut translated = false;
                while let Some((n, tok)) = next_sig(j) {
                    match tok {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 && !expr.is_empty() && kw(tok).as_deref().is_some_and(is_interval_unit) {
                        out.push_str(&format!("{}, '{}'", rewrite(&expr), kw(tok).unwrap_or_default()));
                        i = n + 1;
                        translated = true;
                        break;
                    }
                    expr.push(tok.clone());
                    j = n + 1;
                }
                if translated {
                    continue;
                }
            }
            Some("RLIKE") => {
                out.push_str("REGEXP");
                i += 1;
                continue;
            }
            Some(
                name @ ("CURRENT_TIMESTAMP" | "LOCALTIME" | "LOCALTIMESTAMP" | "CURRENT_DATE" | "CURRENT_TIME"
                | "UTC_DATE" | "UTC_TIME"),
            ) if matches!(t, Token::Word(w) if w.quote_style.is_none()) => {
                // MySQL's niladic time functions, with or without parentheses; SQLite knows
                // three of them and only without.
                let function = match name {
                    "CURRENT_DATE" | "UTC_DATE" => "curdate",
                    "CURRENT_TIME" | "UTC_TIME" => "curtime",
                    _ => "now",
                };
                out.push_str(function);
                if !matches!(next_sig(i + 1), Some((_, Token::LParen))) {
                    out.push_str("()");
                }
                i += 1;
                continue;
            }
            Some("FROM") => {
                if let Some((n, tok)) = next_sig(i + 1) {
                    if kw(tok).as_deref() == Some("DUAL") {
                        i = n + 1;
                        continue;
                    }
                }
            }
            _ => {}
        }
        if let Token::Word(w) = t {
            // Character set introducers: _binary'…' is exact bytes; the others are text.
            if w.quote_style.is_none() && w.value.starts_with('_') {
                if let Some((n, Token::SingleQuotedString(s) | Token::DoubleQuotedString(s))) = next_sig(i + 1) {
                    if w.value.eq_ignore_ascii_case("_binary") {
                        out.push_str(&hex_literal(&raw_bytes(s)));
                    } else {
                        out.push_str(&print(toks[n]));
                    }
                    i = n + 1;
                    continue;
                }
            }
            if w.quote_style.is_none() && w.value.starts_with("@@") {
                // As written (`SESSION.sql_mode`): the result column is labelled so.
                let mut name = w.value.trim_start_matches('@').to_string();
                let mut j = i + 1;
                if matches!(name.to_ascii_lowercase().as_str(), "session" | "global" | "local") {
                    if let (Some(Token::Period), Some(Token::Word(v))) = (toks.get(i + 1), toks.get(i + 2)) {
                        name = format!("{name}.{}", v.value);
                        j = i + 3;
                    }
                }
                out.push_str(&format!("marmot_sysvar({})", quote_str(&name)));
                i = j;
                continue;
            }
            if w.quote_style.is_none() && w.value.starts_with('@') && w.value.len() > 1 {
                out.push_str(&format!("marmot_uservar({})", quote_str(&w.value[1..].to_ascii_lowercase())));
                i += 1;
                continue;
            }
        }
        if is_space(t) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            if *t == Token::Minus && out.ends_with('-') {
                // `--7` is two minus signs in MySQL; in SQLite it would start a comment.
                out.push(' ');
            }
            out.push_str(&print(t));
        }
        i += 1;
    }
    out.trim().to_string()
}

/// MySQL's single-table `DELETE … [ORDER BY …] LIMIT n` and `UPDATE … [ORDER BY …] LIMIT
/// n`, which SQLite lacks, as `… WHERE rowid IN (SELECT rowid FROM t [WHERE …] [ORDER BY
/// …] LIMIT n)`. `None` when the statement has neither clause at top level.
pub fn rowid_limited(tokens: &[Token]) -> Option<String> {
    let sig: Vec<Token> = tokens.iter().filter(|t| !is_space(t)).cloned().collect();
    let k0 = sig.first().and_then(kw)?;
    let mut depth = 0i32;
    let (mut where_at, mut order_at, mut limit_at, mut set_at) = (None, None, None, None);
    for (i, t) in sig.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 => match kw(t).as_deref() {
                Some("WHERE") if where_at.is_none() => where_at = Some(i),
                Some("ORDER") if sig.get(i + 1).and_then(kw).as_deref() == Some("BY") => order_at = Some(i),
                Some("LIMIT") => limit_at = Some(i),
                Some("SET") if set_at.is_none() => set_at = Some(i),
                _ => {}
            },
            _ => {}
        }
    }
    order_at.or(limit_at)?;
    let tail_start = [where_at, order_at, limit_at].into_iter().flatten().min()?;
    let join = |ts: &[Token]| -> String {
        let mut v: Vec<Token> = Vec::new();
        for t in ts {
            if !v.is_empty() {
                v.push(Token::Whitespace(Whitespace::Space));
            }
            v.push(t.clone());
        }
        rewrite(&v)
    };
    let (head, table) = match k0.as_str() {
        "DELETE" => {
            let from = sig.iter().position(|t| kw(t).as_deref() == Some("FROM"))?;
            if from >= tail_start || tail_start - from < 2 {
                return None;
            }
            (join(&sig[..tail_start]), join(&sig[from + 1..tail_start]))
        }
        "UPDATE" => {
            let set = set_at?;
            let mut t = 1;
            while matches!(sig.get(t).and_then(kw).as_deref(), Some("LOW_PRIORITY" | "IGNORE")) {
                t += 1;
            }
            if set <= t || tail_start < set {
                return None;
            }
            (join(&sig[..tail_start]), join(&sig[t..set]))
        }
        _ => return None,
    };
    Some(format!("{head} WHERE rowid IN (SELECT rowid FROM {table} {})", join(&sig[tail_start..])))
}

/// The statement without its top-level `LIMIT …` clause (for SQL_CALC_FOUND_ROWS), or
/// `None` if it has none.
pub fn without_limit(tokens: &[Token]) -> Option<Vec<Token>> {
    let mut depth = 0i32;
    let mut cut = None;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 && kw(t).as_deref() == Some("LIMIT") => cut = Some(i),
            _ => {}
        }
    }
    cut.map(|i| tokens[..i].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(sql: &str) -> Vec<String> {
        split(tokenize(sql).unwrap()).iter().map(|s| rewrite(s)).collect()
    }

    #[test]
    fn like_escapes_with_backslash_as_mysql_does() {
        assert_eq!(
            tr("SELECT 1 FROM t WHERE a LIKE '\\_x%' AND b NOT LIKE CONCAT(c, '%') AND d LIKE 'q' ESCAPE '|'"),
            vec!["SELECT 1 FROM t WHERE a LIKE '\\_x%' ESCAPE '\\' AND b NOT LIKE CONCAT(c, '%') ESCAPE '\\' AND d LIKE 'q' ESCAPE '|'"]
        );
    }

    #[test]
    fn intervals_become_function_arguments_and_nul_strings_blobs() {
        assert_eq!(
            tr("SELECT DATE_SUB(NOW(), INTERVAL (1 + 2) DAY), 'a\\0b'"),
            // (Labelled as written, as MySQL labels it.)
            vec![r#"SELECT DATE_SUB(NOW(), (1+2), 'DAY') AS "DATE_SUB(NOW(), INTERVAL (1 + 2) DAY)", X'610062'"#]
        );
    }

    #[test]
    fn mysql_call_syntax_becomes_function_calls() {
        assert_eq!(
            tr("SELECT ISNULL(a), POSITION('c' IN b), SUBSTRING(s FROM 2 FOR 3), TRIM(LEADING 'x' FROM s)"),
            vec![
                r#"SELECT (a IS NULL) AS "ISNULL(a)", instr(b, 'c') AS "POSITION('c' IN b)", substr(s, 2, 3) AS "SUBSTRING(s FROM 2 FOR 3)", ltrim(s, 'x') AS "TRIM(LEADING 'x' FROM s)""#
            ]
        );
        assert_eq!(
            tr("SELECT CAST(x AS SIGNED), CAST(d AS DATE), CAST(p AS DECIMAL(10,2)), CONVERT(n, CHAR), a <=> b"),
            vec![
                r#"SELECT marmot_cast_int(x, 0) AS "CAST(x AS SIGNED)", marmot_cast_date(d, 0) AS "CAST(d AS DATE)", marmot_cast_decimal(p, 2) AS "CAST(p AS DECIMAL(10,2))", marmot_cast_char(n, -1) AS "CONVERT(n, CHAR)", a  IS b AS "a <=> b""#
            ]
        );
        assert_eq!(
            tr("SELECT TIMESTAMPDIFF(DAY, a, b), INSERT('abc', 1, 1, 'x') FROM t WHERE n = BINARY 'A'"),
            vec![
                r#"SELECT marmot_timestampdiff('DAY', a, b) AS "TIMESTAMPDIFF(DAY, a, b)", marmot_insert('abc', 1, 1, 'x') AS "INSERT('abc', 1, 1, 'x')" FROM t WHERE n =  'A' COLLATE BINARY"#
            ]
        );
        // A statement's INSERT is left alone.
        assert_eq!(tr("INSERT INTO t (a) VALUES (1)"), vec!["INSERT INTO t (a) VALUES (1)"]);
    }

    #[test]
    fn niladic_time_functions_with_or_without_parentheses() {
        assert_eq!(
            tr("SELECT CURRENT_TIMESTAMP(), LOCALTIME, CURRENT_DATE, utc_time(), CURRENT_TIMESTAMP(6)"),
            vec!["SELECT now(), now(), curdate(), curtime(), now(6)"]
        );
    }

    #[test]
    fn typed_literals_and_insert_without_into() {
        assert_eq!(tr("SELECT b'101', B'0'"), vec!["SELECT 5, 0"]);
        assert_eq!(
            tr("SELECT a IN ('x', DATE'2001-01-02', TIME '10:20:30') i FROM t WHERE d < TIMESTAMP '2001-01-01 00:00:00'"),
            vec!["SELECT a IN ('x', '2001-01-02', '10:20:30') i FROM t WHERE d < '2001-01-01 00:00:00'"]
        );
        assert_eq!(tr("insert t1 values (1)"), vec!["insert INTO t1 values (1)"]);
        assert_eq!(tr("REPLACE t1 (a) VALUES (1)"), vec!["REPLACE INTO t1 (a) VALUES (1)"]);
        assert_eq!(tr("SELECT date FROM t"), vec!["SELECT date FROM t"]);
    }

    #[test]
    fn strings_escapes_and_variables() {
        assert_eq!(tr(r#"SELECT 'o\'brien', "dq", @@version_comment, @@session.autocommit, @x"#), vec![
            "SELECT 'o''brien', 'dq', marmot_sysvar('version_comment'), marmot_sysvar('session.autocommit'), marmot_uservar('x')"
        ]);
        assert_eq!(tr("select `weird``name` from `t`"), vec![r#"select "weird`name" from "t""#]);
    }

    #[test]
    fn upsert_ignore_and_locking_clauses() {
        assert_eq!(
            tr("INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b), a = a + 1"),
            vec!["INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT DO UPDATE SET b = excluded.b, a = a + 1"]
        );
        assert_eq!(tr("INSERT IGNORE INTO t VALUES (1)"), vec!["INSERT OR IGNORE INTO t VALUES (1)"]);
        assert_eq!(
            tr("SELECT SQL_CALC_FOUND_ROWS * FROM t USE INDEX (a) WHERE x = 1 FOR UPDATE"),
            vec!["SELECT * FROM t WHERE x = 1"]
        );
        assert_eq!(tr("SELECT 1 FROM DUAL LOCK IN SHARE MODE"), vec!["SELECT 1"]);
    }

    #[test]
    fn binary_strings_keep_their_exact_bytes() {
        let q = decode_query(b"INSERT INTO t VALUES (_binary'\xff\x00\\0\xfe', 'ok', '\xc3\xa9')");
        assert_eq!(tr(&q), vec!["INSERT INTO t VALUES (X'FF0000FE', 'ok', '\u{e9}')"]);
        let q = decode_query(b"SELECT '\x80abc'");
        assert_eq!(tr(&q), vec!["SELECT X'80616263'"]);
    }

    #[test]
    fn delete_and_update_with_limit_select_rowids() {
        let t = |s: &str| rowid_limited(&tokenize(s).unwrap());
        assert_eq!(
            t("DELETE FROM t WHERE a = 'x' ORDER BY k DESC LIMIT 1").unwrap(),
            "DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE a = 'x' ORDER BY k DESC LIMIT 1)"
        );
        assert_eq!(
            t("UPDATE t SET v = 9 ORDER BY k LIMIT 2").unwrap(),
            "UPDATE t SET v = 9 WHERE rowid IN (SELECT rowid FROM t ORDER BY k LIMIT 2)"
        );
        assert_eq!(t("DELETE FROM t WHERE k IN (SELECT k FROM u LIMIT 1)"), None);
    }

    #[test]
    fn if_function_becomes_iif() {
        assert_eq!(tr("SELECT IF(a > 1, 'x', 'y') FROM t"), vec!["SELECT iif(a > 1, 'x', 'y') FROM t"]);
        assert_eq!(tr("DROP TABLE IF EXISTS t"), vec!["DROP TABLE IF EXISTS t"]);
    }

    #[test]
    fn multi_statements_split() {
        assert_eq!(tr("SELECT 1; SELECT 'a;b';"), vec!["SELECT 1", "SELECT 'a;b'"]);
    }

    #[test]
    fn mysql_idioms_sqlite_lacks() {
        let one = |sql: &str| tr(sql).join(";").split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(one("SELECT a FROM t LIMIT 2, 18446744073709551615"), "SELECT a FROM t LIMIT 2, -1");
        assert_eq!(one("SELECT a FROM t LIMIT 18446744073709551615"), "SELECT a FROM t LIMIT -1");
        assert_eq!(one("SELECT 18446744073709551615"), "SELECT 18446744073709551615");
        assert_eq!(one("INSERT INTO t () VALUES ()"), "INSERT INTO t DEFAULT VALUES");
        assert_eq!(
            one("SELECT a FROM t WHERE a = 'X' COLLATE utf8mb4_bin"),
            "SELECT a FROM t WHERE a = 'X' COLLATE BINARY"
        );
        assert_eq!(
            one("SELECT a FROM t ORDER BY a COLLATE utf8mb4_general_ci"),
            "SELECT a FROM t ORDER BY a COLLATE NOCASE"
        );
    }
}
