//! MySQL errors for clients, and the mapping of SQLite's errors onto MySQL's codes and
//! SQLSTATEs (what an application written for MySQL checks for).

use marmot_store::StoreError;

/// A MySQL error for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyError {
    /// Error number.
    pub code: u16,
    /// SQLSTATE.
    pub state: &'static str,
    /// Message.
    pub msg: String,
}

impl MyError {
    /// Build one.
    pub fn new(code: u16, state: &'static str, msg: impl Into<String>) -> Self {
        MyError { code, state, msg: msg.into() }
    }
}

/// Map a store / SQLite error to a MySQL error.
pub fn sqlite_error(e: &StoreError) -> MyError {
    if let StoreError::TooLarge(why) = e {
        return MyError::new(
            1197,
            "HY000",
            format!("Multi-statement transaction required more than 'max_binlog_cache_size' bytes of storage: {why}"),
        );
    }
    let msg = e.to_string();
    let m = msg.trim_start_matches("sqlite: ");
    // Newer SQLite appends " in <sql> at offset N" to name errors; MySQL names only the object.
    let m = m.split(" in ").next().filter(|_| m.starts_with("no such ")).unwrap_or(m);
    if m.contains("UNIQUE constraint failed") || m.contains("PRIMARY KEY") && m.contains("constraint failed") {
        MyError::new(1062, "23000", format!("Duplicate entry: {m}"))
    } else if m.contains("NOT NULL constraint failed") {
        let col = m.rsplit('.').next().unwrap_or("");
        MyError::new(1048, "23000", format!("Column '{col}' cannot be null"))
    } else if m.contains("FOREIGN KEY constraint failed") {
        MyError::new(1452, "23000", format!("Cannot add or update a child row: a foreign key constraint fails ({m})"))
    } else if m.contains("CHECK constraint failed") {
        MyError::new(3819, "HY000", format!("Check constraint is violated ({m})"))
    } else if let Some(t) = m.strip_prefix("no such table: ") {
        MyError::new(1146, "42S02", format!("Table '{t}' doesn't exist"))
    } else if let Some(c) = m.strip_prefix("no such column: ") {
        MyError::new(1054, "42S22", format!("Unknown column '{c}' in 'field list'"))
    } else if let Some(c) = m.strip_prefix("duplicate column name: ") {
        MyError::new(1060, "42S21", format!("Duplicate column name '{c}'"))
    } else if m.contains("already exists") && m.contains("table") {
        MyError::new(1050, "42S01", m.to_string())
    } else if m.contains("not authorized") || m.contains("is prohibited") {
        MyError::new(
            1142,
            "42000",
            format!("Command denied: marmot's internal tables and SQLite's own interfaces are not available to clients ({m})"),
        )
    } else if m.contains("database is locked") || m.contains("busy") {
        MyError::new(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction")
    } else if m.starts_with("Got error '") && m.ends_with("from regexp") {
        MyError::new(1139, "42000", m.to_string())
    } else if let Some(f) = m.strip_prefix("no such function: ") {
        MyError::new(1305, "42000", format!("FUNCTION {f} does not exist"))
    } else if let Some(f) = m.strip_prefix("wrong number of arguments to function ") {
        let f = f.split("()").next().unwrap_or(f).to_uppercase();
        MyError::new(1582, "42000", format!("Incorrect parameter count in the call to native function '{f}'"))
    } else if m.starts_with("DOUBLE value is out of range") {
        MyError::new(1690, "22003", m.to_string())
    } else if m == "row value misused" {
        // A row where one value belongs (`ROW(1, 2) + 1`).
        MyError::new(4079, "HY000", "Illegal parameter data type row for operation")
    } else if m.contains("syntax error") || m.contains("incomplete input") || m.contains("unrecognized token") {
        MyError::new(1064, "42000", format!("You have an error in your SQL syntax: {m}"))
    } else {
        MyError::new(1105, "HY000", m.to_string())
    }
}

pub(crate) fn store_err(e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(e)
}

/// Whether a statement failed because another program holds the database's lock.
pub(crate) fn locked_out<T>(r: &Result<T, StoreError>) -> bool {
    matches!(
        r,
        Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
