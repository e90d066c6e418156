//! INFORMATION_SCHEMA, built on demand: when a query mentions `information_schema`, an
//! in-memory database of that name is attached to the session's connection and filled
//! from every database's SQLite catalog (declared MySQL types included). Queries then
//! run unchanged, with any WHERE / ORDER BY / JOIN SQLite can do.

use rusqlite::{params, Connection};

use crate::engine::Engine;
use marmot_store::schema::is_internal;
use marmot_store::{open_connection, StoreError};

/// The tables. Their `TEXT` columns compare as MariaDB's `utf8mb3_general_ci` does, case
/// blind (`ORDER BY INDEX_NAME`, `WHERE ENGINE = 'sequence'`: see [`CASE_BLIND`]); schema
/// and table names are `VARCHAR`, compared exactly, as file names are on Linux
/// (`lower_case_table_names = 0`).
const TABLES: &str = "
CREATE TABLE information_schema.SCHEMATA (CATALOG_NAME TEXT, SCHEMA_NAME VARCHAR, DEFAULT_CHARACTER_SET_NAME TEXT,
  DEFAULT_COLLATION_NAME TEXT, SQL_PATH TEXT, DEFAULT_ENCRYPTION TEXT);
CREATE TABLE information_schema.TABLES (TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, TABLE_TYPE TEXT,
  ENGINE TEXT, VERSION INTEGER, ROW_FORMAT TEXT, TABLE_ROWS INTEGER, AVG_ROW_LENGTH INTEGER, DATA_LENGTH INTEGER,
  MAX_DATA_LENGTH INTEGER, INDEX_LENGTH INTEGER, DATA_FREE INTEGER, AUTO_INCREMENT INTEGER, CREATE_TIME TEXT,
  UPDATE_TIME TEXT, CHECK_TIME TEXT, TABLE_COLLATION TEXT, CHECKSUM INTEGER, CREATE_OPTIONS TEXT, TABLE_COMMENT TEXT);
CREATE TABLE information_schema.COLUMNS (TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, COLUMN_NAME TEXT,
  ORDINAL_POSITION INTEGER, COLUMN_DEFAULT TEXT, IS_NULLABLE TEXT, DATA_TYPE TEXT, CHARACTER_MAXIMUM_LENGTH INTEGER,
  CHARACTER_OCTET_LENGTH INTEGER, NUMERIC_PRECISION INTEGER, NUMERIC_SCALE INTEGER, DATETIME_PRECISION INTEGER,
  CHARACTER_SET_NAME TEXT, COLLATION_NAME TEXT, COLUMN_TYPE TEXT, COLUMN_KEY TEXT, EXTRA TEXT, PRIVILEGES TEXT,
  COLUMN_COMMENT TEXT, GENERATION_EXPRESSION TEXT);
CREATE TABLE information_schema.STATISTICS (TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR,
  NON_UNIQUE INTEGER, INDEX_SCHEMA VARCHAR, INDEX_NAME TEXT, SEQ_IN_INDEX INTEGER, COLUMN_NAME TEXT, COLLATION TEXT,
  CARDINALITY INTEGER, SUB_PART INTEGER, PACKED TEXT, NULLABLE TEXT, INDEX_TYPE TEXT, COMMENT TEXT,
  INDEX_COMMENT TEXT);
CREATE TABLE information_schema.KEY_COLUMN_USAGE (CONSTRAINT_CATALOG TEXT, CONSTRAINT_SCHEMA VARCHAR,
  CONSTRAINT_NAME TEXT, TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, COLUMN_NAME TEXT,
  ORDINAL_POSITION INTEGER, POSITION_IN_UNIQUE_CONSTRAINT INTEGER, REFERENCED_TABLE_SCHEMA VARCHAR,
  REFERENCED_TABLE_NAME VARCHAR, REFERENCED_COLUMN_NAME TEXT);
CREATE TABLE information_schema.TABLE_CONSTRAINTS (CONSTRAINT_CATALOG TEXT, CONSTRAINT_SCHEMA VARCHAR,
  CONSTRAINT_NAME TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, CONSTRAINT_TYPE TEXT);
CREATE TABLE information_schema.VIEWS (TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, VIEW_DEFINITION TEXT,
  CHECK_OPTION TEXT, IS_UPDATABLE TEXT, DEFINER TEXT, SECURITY_TYPE TEXT, CHARACTER_SET_CLIENT TEXT,
  COLLATION_CONNECTION TEXT);
CREATE TABLE information_schema.ROUTINES (SPECIFIC_NAME TEXT, ROUTINE_CATALOG TEXT, ROUTINE_SCHEMA VARCHAR,
  ROUTINE_NAME TEXT, ROUTINE_TYPE TEXT);
CREATE TABLE information_schema.TRIGGERS (TRIGGER_CATALOG TEXT, TRIGGER_SCHEMA VARCHAR, TRIGGER_NAME TEXT,
  EVENT_MANIPULATION TEXT, EVENT_OBJECT_SCHEMA VARCHAR, EVENT_OBJECT_TABLE VARCHAR);
CREATE TABLE information_schema.REFERENTIAL_CONSTRAINTS (CONSTRAINT_CATALOG TEXT, CONSTRAINT_SCHEMA VARCHAR,
  CONSTRAINT_NAME TEXT, UNIQUE_CONSTRAINT_SCHEMA VARCHAR, TABLE_NAME VARCHAR, REFERENCED_TABLE_NAME VARCHAR);
CREATE TABLE information_schema.PARTITIONS (TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR,
  PARTITION_NAME TEXT, SUBPARTITION_NAME TEXT, PARTITION_ORDINAL_POSITION INTEGER,
  SUBPARTITION_ORDINAL_POSITION INTEGER, PARTITION_METHOD TEXT, SUBPARTITION_METHOD TEXT, PARTITION_EXPRESSION TEXT,
  SUBPARTITION_EXPRESSION TEXT, PARTITION_DESCRIPTION TEXT, TABLE_ROWS INTEGER, AVG_ROW_LENGTH INTEGER,
  DATA_LENGTH INTEGER, MAX_DATA_LENGTH INTEGER, INDEX_LENGTH INTEGER, DATA_FREE INTEGER, CREATE_TIME TEXT,
  UPDATE_TIME TEXT, CHECK_TIME TEXT, CHECKSUM INTEGER, PARTITION_COMMENT TEXT, NODEGROUP TEXT, TABLESPACE_NAME TEXT);
CREATE TABLE information_schema.FILES (FILE_ID INTEGER, FILE_NAME TEXT, FILE_TYPE TEXT, TABLESPACE_NAME TEXT,
  TABLE_CATALOG TEXT, TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, LOGFILE_GROUP_NAME TEXT, LOGFILE_GROUP_NUMBER INTEGER,
  ENGINE TEXT, FULLTEXT_KEYS TEXT, DELETED_ROWS INTEGER, UPDATE_COUNT INTEGER, FREE_EXTENTS INTEGER,
  TOTAL_EXTENTS INTEGER, EXTENT_SIZE INTEGER, INITIAL_SIZE INTEGER, MAXIMUM_SIZE INTEGER, AUTOEXTEND_SIZE INTEGER,
  CREATION_TIME TEXT, LAST_UPDATE_TIME TEXT, LAST_ACCESS_TIME TEXT, RECOVER_TIME INTEGER,
  TRANSACTION_COUNTER INTEGER, VERSION INTEGER, ROW_FORMAT TEXT, TABLE_ROWS INTEGER, AVG_ROW_LENGTH INTEGER,
  DATA_LENGTH INTEGER, MAX_DATA_LENGTH INTEGER, INDEX_LENGTH INTEGER, DATA_FREE INTEGER, CREATE_TIME TEXT,
  UPDATE_TIME TEXT, CHECK_TIME TEXT, CHECKSUM INTEGER, STATUS TEXT, EXTRA TEXT);
CREATE TABLE information_schema.EVENTS (EVENT_SCHEMA VARCHAR, EVENT_NAME TEXT);
CREATE TABLE information_schema.ENGINES (ENGINE TEXT, SUPPORT TEXT, COMMENT TEXT, TRANSACTIONS TEXT, XA TEXT,
  SAVEPOINTS TEXT);
CREATE TABLE information_schema.GLOBAL_VARIABLES (VARIABLE_NAME TEXT, VARIABLE_VALUE TEXT);
CREATE TABLE information_schema.SESSION_VARIABLES (VARIABLE_NAME TEXT, VARIABLE_VALUE TEXT);
CREATE TABLE information_schema.CHARACTER_SETS (CHARACTER_SET_NAME TEXT, DEFAULT_COLLATE_NAME TEXT,
  DESCRIPTION TEXT, MAXLEN INTEGER);
CREATE TABLE information_schema.COLLATIONS (COLLATION_NAME TEXT, CHARACTER_SET_NAME TEXT, ID INTEGER,
  IS_DEFAULT TEXT, IS_COMPILED TEXT, SORTLEN INTEGER);
INSERT INTO information_schema.ENGINES VALUES ('InnoDB', 'DEFAULT', 'SQLite, replicated by marmot', 'YES', 'NO', 'YES');
INSERT INTO information_schema.ENGINES VALUES ('SEQUENCE', 'YES', 'Generated tables of integers (seq_1_to_10)', 'YES', 'NO', 'YES');
INSERT INTO information_schema.CHARACTER_SETS VALUES ('utf8mb4', 'utf8mb4_general_ci', 'UTF-8 Unicode', 4);
INSERT INTO information_schema.COLLATIONS VALUES ('utf8mb4_general_ci', 'utf8mb4', 45, 'Yes', 'Yes', 1);
";

/// What a `TEXT` column of [`TABLES`] is declared as.
const CASE_BLIND: &str = " TEXT COLLATE NOCASE";

/// (cid, name, type, not null, default, pk position, extra) of one column.
type ColumnRow = (i64, String, String, bool, Option<String>, i64, String);

/// Whether a query text mentions INFORMATION_SCHEMA.
pub fn mentioned(sql: &str) -> bool {
    sql.to_ascii_lowercase().contains("information_schema")
}

/// MySQL's DATA_TYPE (the type name without length or attributes).
fn data_type(column_type: &str) -> String {
    column_type.split(['(', ' ']).next().unwrap_or("").to_ascii_lowercase()
}

fn char_len(column_type: &str) -> Option<i64> {
    let t = column_type.to_ascii_lowercase();
    if t.starts_with("varchar") || t.starts_with("char") || t.starts_with("varbinary") || t.starts_with("binary") {
        t.split('(').nth(1).and_then(|r| r.split(')').next()).and_then(|n| n.trim().parse().ok())
    } else if t.starts_with("tinytext") || t.starts_with("tinyblob") {
        Some(255)
    } else if t == "text" || t == "blob" {
        Some(65_535)
    } else if t.starts_with("mediumtext") || t.starts_with("mediumblob") {
        Some(16_777_215)
    } else if t.starts_with("longtext") || t.starts_with("longblob") {
        Some(4_294_967_295)
    } else {
        None
    }
}

/// Attach and fill `information_schema` on `conn` (replacing a previous copy).
pub fn attach(conn: &Connection, engine: &Engine) -> Result<(), StoreError> {
    let attached: bool = conn
        .query_row("SELECT count(*) FROM pragma_database_list WHERE name = 'information_schema'", [], |r| r.get(0))
        .map(|n: i64| n > 0)?;
    if attached {
        conn.execute_batch("DETACH DATABASE information_schema")?;
    }
    conn.execute_batch("ATTACH DATABASE ':memory:' AS information_schema")?;
    conn.execute_batch(&TABLES.replace(" TEXT", CASE_BLIND))?;
    conn.execute(
        "INSERT INTO information_schema.SCHEMATA VALUES ('def', 'information_schema', 'utf8mb4', 'utf8mb4_general_ci', NULL, 'NO')",
        [],
    )?;
    // The variables as this session reads them (marmot has no per-session overrides of
    // these, so the global and the session tables agree).
    for name in super::meta::SHOWN_VARIABLES {
        for table in ["GLOBAL_VARIABLES", "SESSION_VARIABLES"] {
            conn.execute(
                &format!("INSERT INTO information_schema.{table} VALUES (upper(?1), CAST(marmot_sysvar(?1) AS TEXT))"),
                [name],
            )?;
        }
    }
    for db in engine.databases() {
        conn.execute(
            "INSERT INTO information_schema.SCHEMATA VALUES ('def', ?1, 'utf8mb4', 'utf8mb4_general_ci', NULL, 'NO')",
            [&db],
        )?;
        let src = open_connection(&engine.location, engine.sync, &db)?;
        let tables: Vec<(String, String)> = {
            let mut st =
                src.prepare("SELECT name, type FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")?;
            let v = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            v
        };
        // Comments (see `comments`): (table, column) → comment, the table's own under "".
        let comments: std::collections::BTreeMap<(String, String), String> = src
            .prepare("SELECT lower(tbl), lower(col), comment FROM __marmot_comments")
            .and_then(|mut st| st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?.collect())
            .unwrap_or_default();
        let comment_of = |table: &str, col: &str| {
            comments.get(&(table.to_lowercase(), col.to_lowercase())).cloned().unwrap_or_default()
        };
        for (table, kind) in tables.into_iter().filter(|(t, _)| !is_internal(t)) {
            let rows: i64 =
                src.query_row(&format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\"")), [], |r| r.get(0))?;
            conn.execute(
                "INSERT INTO information_schema.TABLES VALUES ('def', ?1, ?2, ?3, ?4, 10, 'Dynamic', ?5, 0, 0, 0, 0, 0,
                   NULL, NULL, NULL, NULL, 'utf8mb4_general_ci', NULL, '', ?6)",
                params![
                    db,
                    table,
                    if kind == "view" { "VIEW" } else { "BASE TABLE" },
                    if kind == "view" { None } else { Some("InnoDB") },
                    rows,
                    comment_of(&table, "")
                ],
            )?;
            let mut st = src.prepare(&marmot_store::schema::columns_sql("?1"))?;
            let cols: Vec<ColumnRow> = st
                .query_map([&table], |r| {
                    Ok((r.get(6)?, r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect::<Result<_, _>>()?;
            for (cid, name, ty, notnull, default, pk, extra) in cols {
                let ty = if ty.is_empty() { "text".to_string() } else { super::column_types::display_type(&ty) };
                let chars = char_len(&ty);
                let textual = chars.is_some() && !ty.contains("blob") && !ty.contains("binary");
                conn.execute(
                    "INSERT INTO information_schema.COLUMNS VALUES ('def', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL, NULL,
                       ?10, ?11, ?12, ?13, ?14, 'select,insert,update,references', ?15, '')",
                    params![
                        db,
                        table,
                        name,
                        cid + 1,
                        default.map(|d| d.trim_matches('\'').to_string()),
                        if notnull || pk > 0 { "NO" } else { "YES" },
                        data_type(&ty),
                        chars,
                        chars.map(|c| if textual { c * 4 } else { c }),
                        if textual { Some("utf8mb4") } else { None },
                        if textual { Some("utf8mb4_general_ci") } else { None },
                        ty,
                        if pk > 0 { "PRI" } else { "" },
                        extra,
                        comment_of(&table, &name),
                    ],
                )?;
                if pk > 0 {
                    conn.execute(
                        "INSERT INTO information_schema.STATISTICS VALUES ('def', ?1, ?2, 0, ?1, 'PRIMARY', ?3, ?4, 'A', NULL, NULL, NULL, '', 'BTREE', '', '')",
                        params![db, table, pk, name],
                    )?;
                }
            }
            let mut st = src.prepare(
                "SELECT il.name, il.\"unique\", ii.seqno, ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii
                 WHERE il.name NOT LIKE 'sqlite_autoindex%' ORDER BY il.name, ii.seqno",
            )?;
            let idx: Vec<(String, bool, i64, String)> = st
                .query_map([&table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            for (index, unique, seq, col) in idx {
                let short = index.strip_prefix(&format!("{table}__")).unwrap_or(&index).to_string();
                conn.execute(
                    "INSERT INTO information_schema.STATISTICS VALUES ('def', ?1, ?2, ?3, ?1, ?4, ?5, ?6, 'A', NULL, NULL, NULL, 'YES', 'BTREE', '', '')",
                    params![db, table, !unique as i64, short, seq + 1, col],
                )?;
            }
        }
    }
    Ok(())
}
