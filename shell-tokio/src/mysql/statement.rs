//! What kind of statement a client sent, decided once from its significant tokens, so
//! that the session dispatches on a type rather than on keyword strings.

use sqlparser::tokenizer::Token;

use super::tokens::{kw, text};

/// A savepoint statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavepointOp {
    /// `SAVEPOINT s`.
    Set,
    /// `ROLLBACK [WORK] TO [SAVEPOINT] s`.
    RollbackTo,
    /// `RELEASE SAVEPOINT s`.
    Release,
}

/// A statement, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// SELECT, WITH, VALUES, TABLE or a parenthesised query.
    Query,
    /// SHOW ….
    Show,
    /// LOAD DATA ….
    LoadData,
    /// DESCRIBE / DESC / EXPLAIN of a table.
    Describe,
    /// USE `db`.
    Use(String),
    /// SET ….
    Set,
    /// BEGIN / START TRANSACTION.
    Begin,
    /// COMMIT.
    Commit,
    /// ROLLBACK (of the whole transaction).
    Rollback,
    /// A savepoint statement and the savepoint's name (lower-cased).
    Savepoint(SavepointOp, String),
    /// INSERT, REPLACE, UPDATE or DELETE.
    Write,
    /// CREATE/DROP DATABASE (or SCHEMA).
    DatabaseDdl,
    /// ALTER DATABASE: options SQLite files do not have; `Some(name)` if it names one.
    AlterDatabase(Option<String>),
    /// TRUNCATE [TABLE] `t` (`None`: no table named).
    Truncate(Option<String>),
    /// ALTER TABLE t DISABLE/ENABLE KEYS (mariadb-dump's brackets around its INSERTs).
    ToggleKeys,
    /// RENAME TABLE a TO b [, c TO d …] (`None`: malformed).
    RenameTables(Option<Vec<(String, String)>>),
    /// ALTER TABLE `t` changing only table options (COMMENT, ENGINE, charset, …).
    TableOptions(String),
    /// DROP INDEX i ON t.
    DropIndexOn,
    /// MariaDB's CREATE OR REPLACE [TEMPORARY] TABLE `t` …: DROP TABLE IF EXISTS `t`, then
    /// the CREATE TABLE.
    CreateOrReplaceTable(String),
    /// CREATE TABLE [IF NOT EXISTS] `table` LIKE `source` (or `(LIKE source)`).
    CreateTableLike {
        /// The table to create.
        table: String,
        /// The table whose definition it copies.
        source: String,
        /// IF NOT EXISTS was written.
        if_not_exists: bool,
    },
    /// Any other CREATE, DROP, ALTER or RENAME, with its first two keywords.
    Ddl(String, String),
    /// Administrative statements accepted and ignored (LOCK, GRANT, FLUSH, …), by keyword.
    Ignored(String),
    /// DO ….
    Do,
    /// PREPARE, EXECUTE, DEALLOCATE PREPARE (see `sql_prepare`).
    PreparedSql,
    /// Nothing marmot knows.
    Unknown,
}

/// Whether `s` changes data or schema, which a read-only replica refuses (MySQL's
/// `--read-only` allows temporary tables, which are the session's own).
pub fn changes_data(s: &Statement) -> bool {
    match s {
        Statement::Ddl(_, what) => !what.eq_ignore_ascii_case("TEMPORARY"),
        Statement::Write
        | Statement::LoadData
        | Statement::DatabaseDdl
        | Statement::Truncate(_)
        | Statement::RenameTables(_)
        | Statement::TableOptions(_)
        | Statement::DropIndexOn
        | Statement::CreateOrReplaceTable(_)
        | Statement::CreateTableLike { .. } => true,
        _ => false,
    }
}

/// `CREATE TABLE [IF NOT EXISTS] t LIKE s` / `… t (LIKE s)`.
fn create_table_like(sig: &[&Token]) -> Option<Statement> {
    let words: Vec<String> =
        sig.iter().skip(2).filter(|t| !matches!(t, Token::LParen | Token::RParen)).filter_map(|t| text(t)).collect();
    let is = |w: &String, k: &str| w.eq_ignore_ascii_case(k);
    let (if_not_exists, rest) = match words.as_slice() {
        [i, n, e, rest @ ..] if is(i, "IF") && is(n, "NOT") && is(e, "EXISTS") => (true, rest),
        rest => (false, rest),
    };
    match rest {
        [table, like, source] if is(like, "LIKE") => {
            Some(Statement::CreateTableLike { table: table.clone(), source: source.clone(), if_not_exists })
        }
        _ => None,
    }
}

/// Classify a statement from its significant tokens.
pub fn classify(sig: &[&Token]) -> Statement {
    let k = |i: usize| sig.get(i).and_then(|t| kw(t)).unwrap_or_default();
    let (k0, k1) = (k(0), k(1));
    let name = |t: Option<&&Token>| t.and_then(|t| text(t));
    match k0.as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" => Statement::Query,
        "" if matches!(sig.first(), Some(Token::LParen)) => Statement::Query,
        "SHOW" => Statement::Show,
        "LOAD" => Statement::LoadData,
        "DESCRIBE" | "DESC" | "EXPLAIN"
            if sig.len() >= 2 && !matches!(k1.as_str(), "SELECT" | "UPDATE" | "DELETE" | "INSERT") =>
        {
            Statement::Describe
        }
        "USE" => Statement::Use(name(sig.get(1)).unwrap_or_default()),
        "SET" => Statement::Set,
        "BEGIN" | "START" => Statement::Begin,
        "COMMIT" => Statement::Commit,
        "ROLLBACK" if !sig.iter().any(|t| kw(t).as_deref() == Some("TO")) => Statement::Rollback,
        "SAVEPOINT" | "ROLLBACK" | "RELEASE" => {
            let op = match k0.as_str() {
                "SAVEPOINT" => SavepointOp::Set,
                "ROLLBACK" => SavepointOp::RollbackTo,
                _ => SavepointOp::Release,
            };
            Statement::Savepoint(op, name(sig.last()).unwrap_or_default().to_ascii_lowercase())
        }
        "INSERT" | "REPLACE" | "UPDATE" | "DELETE" => Statement::Write,
        "CREATE" | "DROP" if matches!(k1.as_str(), "DATABASE" | "SCHEMA") => Statement::DatabaseDdl,
        "DROP" if k1 == "PREPARE" => Statement::PreparedSql,
        "ALTER" if matches!(k1.as_str(), "DATABASE" | "SCHEMA") => {
            let named = name(sig.get(2)).filter(|n| {
                !matches!(n.to_ascii_uppercase().as_str(), "CHARACTER" | "CHARSET" | "COLLATE" | "DEFAULT")
            });
            Statement::AlterDatabase(named)
        }
        "TRUNCATE" => {
            Statement::Truncate(sig.iter().skip(1).filter_map(|t| text(t)).find(|n| !n.eq_ignore_ascii_case("TABLE")))
        }
        "ALTER" if sig.len() == 5 && matches!(k(3).as_str(), "DISABLE" | "ENABLE") && k(4) == "KEYS" => {
            Statement::ToggleKeys
        }
        "RENAME" if k1 == "TABLE" => {
            let words: Vec<String> = sig.iter().skip(2).filter_map(|t| text(t)).collect();
            let well_formed = !words.is_empty()
                && words.len().is_multiple_of(3)
                && words.chunks(3).all(|c| c[1].eq_ignore_ascii_case("TO"));
            Statement::RenameTables(
                well_formed.then(|| words.chunks(3).map(|c| (c[0].clone(), c[2].clone())).collect()),
            )
        }
        "ALTER" if k1 == "TABLE" && only_table_options(sig) => {
            Statement::TableOptions(name(sig.get(2)).unwrap_or_default())
        }
        "DROP" if k1 == "INDEX" && sig.iter().any(|t| kw(t).as_deref() == Some("ON")) => Statement::DropIndexOn,
        "CREATE" if k1 == "OR" && k(2) == "REPLACE" && matches!(k(3).as_str(), "TABLE" | "TEMPORARY") => {
            let name_at = if k(3) == "TEMPORARY" { 5 } else { 4 };
            Statement::CreateOrReplaceTable(name(sig.get(name_at)).unwrap_or_default())
        }
        "CREATE" if k1 == "TABLE" && sig.iter().any(|t| kw(t).as_deref() == Some("LIKE")) => {
            create_table_like(sig).unwrap_or(Statement::Ddl(k0, k1))
        }
        "CREATE" | "DROP" | "ALTER" | "RENAME" => Statement::Ddl(k0, k1),
        "LOCK" | "UNLOCK" | "GRANT" | "REVOKE" | "FLUSH" | "ANALYZE" | "OPTIMIZE" | "CHECK" | "REPAIR" | "XA" => {
            Statement::Ignored(k0)
        }
        "DO" => Statement::Do,
        "PREPARE" | "EXECUTE" | "DEALLOCATE" => Statement::PreparedSql,
        _ => Statement::Unknown,
    }
}

/// Whether `ALTER TABLE t …` (significant tokens) changes only table options (COMMENT,
/// ENGINE, character set, collation, row format, AUTO_INCREMENT), nothing SQLite stores.
pub fn only_table_options(sig: &[&Token]) -> bool {
    const OPTIONS: [&str; 8] =
        ["COMMENT", "ENGINE", "DEFAULT", "CHARSET", "CHARACTER", "COLLATE", "ROW_FORMAT", "AUTO_INCREMENT"];
    const CHANGES: [&str; 9] = ["ADD", "DROP", "MODIFY", "CHANGE", "RENAME", "ALTER", "CONVERT", "DISABLE", "ENABLE"];
    let rest = sig.get(3..).unwrap_or_default();
    rest.first().and_then(|t| kw(t)).is_some_and(|k| OPTIONS.contains(&k.as_str()))
        && !rest.iter().any(|t| kw(t).is_some_and(|k| CHANGES.contains(&k.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::tokenize;
    use crate::mysql::tokens::significant;

    fn of(sql: &str) -> Statement {
        let toks = tokenize(sql).unwrap();
        classify(&significant(&toks))
    }

    #[test]
    fn statements_are_classified_with_what_they_name() {
        assert_eq!(of("select 1"), Statement::Query);
        assert_eq!(of("(SELECT 1) UNION (SELECT 2)"), Statement::Query);
        assert_eq!(of("EXPLAIN t"), Statement::Describe);
        assert_eq!(of("EXPLAIN SELECT 1"), Statement::Unknown);
        assert_eq!(of("USE `shop`"), Statement::Use("shop".into()));
        assert_eq!(of("START TRANSACTION"), Statement::Begin);
        assert_eq!(of("ROLLBACK"), Statement::Rollback);
        assert_eq!(of("ROLLBACK TO SAVEPOINT Sp1"), Statement::Savepoint(SavepointOp::RollbackTo, "sp1".into()));
        assert_eq!(of("RELEASE SAVEPOINT a"), Statement::Savepoint(SavepointOp::Release, "a".into()));
        assert_eq!(of("REPLACE INTO t VALUES (1)"), Statement::Write);
        assert_eq!(of("DROP SCHEMA x"), Statement::DatabaseDdl);
        assert_eq!(of("ALTER DATABASE CHARACTER SET utf8mb4"), Statement::AlterDatabase(None));
        assert_eq!(of("ALTER DATABASE d CHARACTER SET utf8mb4"), Statement::AlterDatabase(Some("d".into())));
        assert_eq!(of("TRUNCATE TABLE t"), Statement::Truncate(Some("t".into())));
        assert_eq!(of("ALTER TABLE `t` DISABLE KEYS"), Statement::ToggleKeys);
        assert_eq!(
            of("RENAME TABLE a TO b, c TO d"),
            Statement::RenameTables(Some(vec![("a".into(), "b".into()), ("c".into(), "d".into())]))
        );
        assert_eq!(of("RENAME TABLE a b"), Statement::RenameTables(None));
        let like =
            |t: &str, s: &str, i| Statement::CreateTableLike { table: t.into(), source: s.into(), if_not_exists: i };
        assert_eq!(of("CREATE TABLE t2 LIKE t1"), like("t2", "t1", false));
        assert_eq!(of("CREATE OR REPLACE TABLE t (a INT)"), Statement::CreateOrReplaceTable("t".into()));
        assert_eq!(of("create table if not exists `t2` (like `t1`)"), like("t2", "t1", true));
        assert_eq!(of("ALTER TABLE t COMMENT 'x'"), Statement::TableOptions("t".into()));
        assert_eq!(of("ALTER TABLE t ADD COLUMN c INT COMMENT 'x'"), Statement::Ddl("ALTER".into(), "TABLE".into()));
        assert_eq!(of("DROP INDEX i ON t"), Statement::DropIndexOn);
        assert_eq!(of("LOCK TABLES t WRITE"), Statement::Ignored("LOCK".into()));
        assert_eq!(of("FROBNICATE"), Statement::Unknown);
    }
}
