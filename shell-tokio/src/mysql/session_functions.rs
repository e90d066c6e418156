//! The session's SQL functions (`DATABASE()`, `LAST_INSERT_ID()`, `@@variables`, `@user`
//! variables, `NOW()`, `MD5()` …) and the session facts they read, registered on every
//! connection a session's statements run on: its own read connections, and the writers
//! shared by every session (which answer for whichever session's statement is running).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::functions::need_args;
use marmot_core::Value;
use marmot_store::codec::from_ref;
use marmot_store::ConnSetup;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

use crate::engine::wall_ms;

/// The server version clients see.
pub const SERVER_VERSION: &str = "8.0.35-marmot";

/// Session facts SQL functions read (DATABASE(), LAST_INSERT_ID(), variables …).
#[derive(Clone, Debug, Default)]
pub struct SessionInfo {
    /// Current database.
    pub db: Option<String>,
    /// Authenticated user.
    pub user: String,
    /// Connection id.
    pub conn_id: u32,
    /// LAST_INSERT_ID().
    pub last_insert_id: i64,
    /// ROW_COUNT().
    pub row_count: i64,
    /// FOUND_ROWS().
    pub found_rows: i64,
    /// Autocommit flag.
    pub autocommit: bool,
    /// `@x` user variables.
    pub user_vars: BTreeMap<String, Value>,
    /// Session system variables that were SET.
    pub sys_vars: BTreeMap<String, Value>,
}

pub(crate) fn sysvar(info: &SessionInfo, name: &str) -> Value {
    if let Some(v) = info.sys_vars.get(name) {
        return v.clone();
    }
    match name {
        "version" => Value::Text(SERVER_VERSION.into()),
        "version_comment" => Value::Text("marmot: leaderless distributed SQLite".into()),
        "autocommit" => Value::Integer(info.autocommit as i64),
        "max_allowed_packet" => Value::Integer(64 << 20),
        "sql_mode" => Value::Text("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION".into()),
        "character_set_client"
        | "character_set_connection"
        | "character_set_results"
        | "character_set_server"
        | "character_set_database" => Value::Text("utf8mb4".into()),
        "collation_connection" | "collation_server" | "collation_database" => Value::Text("utf8mb4_general_ci".into()),
        "transaction_isolation" | "tx_isolation" => Value::Text("SERIALIZABLE".into()),
        "lower_case_table_names" => Value::Integer(0),
        "time_zone" | "system_time_zone" => Value::Text("UTC".into()),
        "wait_timeout" | "interactive_timeout" => Value::Integer(28800),
        "net_write_timeout" => Value::Integer(60),
        "license" => Value::Text("MIT".into()),
        "version_compile_os" => Value::Text("Linux".into()),
        "have_ssl" => Value::Text("DISABLED".into()),
        "auto_increment_increment" | "auto_increment_offset" => Value::Integer(1),
        "hostname" => Value::Text("marmot".into()),
        "port" => Value::Integer(3306),
        "session_track_schema" | "session_track_system_variables" | "session_track_state_change" => Value::Null,
        "performance_schema" => Value::Integer(0),
        _ => Value::Null,
    }
}

pub(crate) fn mysql_datetime(ms: u64) -> String {
    super::datetime::DateTime::from_unix((ms / 1000) as i64).to_mysql()
}

pub(crate) fn to_sql(v: Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(s) => rusqlite::types::Value::Text(s),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
    }
}

thread_local! {
    /// The session whose statement the engine thread is running on a writer.
    static RUNNING: RefCell<Option<Arc<Mutex<SessionInfo>>>> = const { RefCell::new(None) };
}

/// Run `f` (on the engine thread) as session `info`: the session functions of the
/// writers (`DATABASE()`, `LAST_INSERT_ID()`, variables …) answer for it.
pub(crate) fn as_session<T>(info: Arc<Mutex<SessionInfo>>, f: impl FnOnce() -> T) -> T {
    RUNNING.with(|r| *r.borrow_mut() = Some(info));
    let out = f();
    RUNNING.with(|r| *r.borrow_mut() = None);
    out
}

/// Where a connection's session functions find their session.
#[derive(Clone)]
pub enum InfoSource {
    /// A session's own (read) connection.
    Own(Arc<Mutex<SessionInfo>>),
    /// A writer shared by every session: whichever statement is running (see `as_session`).
    Running,
}

impl InfoSource {
    fn get(&self) -> Arc<Mutex<SessionInfo>> {
        match self {
            InfoSource::Own(i) => i.clone(),
            InfoSource::Running => RUNNING.with(|r| r.borrow().clone()).unwrap_or_default(),
        }
    }
}

/// What every writer connection needs to run client statements: the session functions.
pub fn writer_setup() -> ConnSetup {
    Arc::new(|conn: &Connection| register_functions(conn, InfoSource::Running))
}

/// Register the MySQL functions a session's SQL can call.
pub fn register_functions(conn: &Connection, info: InfoSource) -> rusqlite::Result<()> {
    let seed = wall_ms() ^ (info.get().lock().expect("info").conn_id as u64).rotate_left(32);
    super::functions::register(conn, seed)?;
    super::crypto::register(conn, seed)?;
    super::regexp::register(conn)?;
    super::numeric::register(conn)?;
    super::bitwise::register(conn)?;
    super::aggregates::register(conn)?;
    super::time_functions::register(conn)?;
    super::json::register(conn)?;
    super::json_more::register(conn)?;
    super::strings::register(conn)?;
    let f = FunctionFlags::SQLITE_UTF8;
    let i = info.clone();
    conn.create_scalar_function("marmot_sysvar", 1, f, move |ctx| {
        let name = ctx.get::<String>(0)?.to_ascii_lowercase();
        let name = ["session.", "global.", "local."].iter().find_map(|p| name.strip_prefix(p)).unwrap_or(&name);
        Ok(to_sql(sysvar(&i.get().lock().expect("info"), name)))
    })?;
    let i = info.clone();
    conn.create_scalar_function("marmot_uservar", 1, f, move |ctx| {
        let name: String = ctx.get(0)?;
        Ok(to_sql(i.get().lock().expect("info").user_vars.get(&name).cloned().unwrap_or(Value::Null)))
    })?;
    let i = info.clone();
    // `@x := v` (see `super::uservar_assign`): stores v and yields it.
    conn.create_scalar_function("marmot_set_uservar", 2, f, move |ctx| {
        let name: String = ctx.get(0)?;
        let value = from_ref(ctx.get_raw(1));
        i.get().lock().expect("info").user_vars.insert(name, value.clone());
        Ok(to_sql(value))
    })?;
    let i = info.clone();
    let db_fn = move |_: &rusqlite::functions::Context<'_>| Ok(i.get().lock().expect("info").db.clone());
    conn.create_scalar_function("database", 0, f, db_fn.clone())?;
    conn.create_scalar_function("schema", 0, f, db_fn)?;
    for name in ["user", "current_user", "session_user", "system_user"] {
        let i = info.clone();
        conn.create_scalar_function(name, 0, f, move |_| {
            Ok(format!("{}@localhost", i.get().lock().expect("info").user))
        })?;
    }
    conn.create_scalar_function("version", 0, f, |_| Ok(SERVER_VERSION))?;
    let i = info.clone();
    conn.create_scalar_function("connection_id", 0, f, move |_| Ok(i.get().lock().expect("info").conn_id as i64))?;
    let i = info.clone();
    conn.create_scalar_function("last_insert_id", 0, f, move |_| Ok(i.get().lock().expect("info").last_insert_id))?;
    let i = info.clone();
    conn.create_scalar_function("row_count", 0, f, move |_| Ok(i.get().lock().expect("info").row_count))?;
    let i = info;
    conn.create_scalar_function("found_rows", 0, f, move |_| Ok(i.get().lock().expect("info").found_rows))?;
    conn.create_scalar_function("now", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("sysdate", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("curdate", 0, f, |_| Ok(mysql_datetime(wall_ms())[..10].to_string()))?;
    conn.create_scalar_function("curtime", -1, f, |_| Ok(mysql_datetime(wall_ms())[11..].to_string()))?;
    conn.create_scalar_function("utc_timestamp", -1, f, |_| Ok(mysql_datetime(wall_ms())))?;
    conn.create_scalar_function("concat", -1, f | FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        need_args(ctx, 1, usize::MAX, "CONCAT")?;
        let mut s = String::new();
        for i in 0..ctx.len() {
            match ctx.get_raw(i) {
                rusqlite::types::ValueRef::Null => return Ok(None),
                v => s.push_str(&match from_ref(v) {
                    Value::Integer(i) => i.to_string(),
                    Value::Real(f) => f.to_string(),
                    Value::Text(t) => t,
                    Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                    Value::Null => String::new(),
                }),
            }
        }
        Ok(Some(s))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_sql_matches_known_vectors() {
        let conn = Connection::open_in_memory().unwrap();
        register_functions(&conn, InfoSource::Running).unwrap();
        let md5 = |s: &str| -> Option<String> { conn.query_row("SELECT md5(?1)", [s], |r| r.get(0)).unwrap() };
        assert_eq!(md5("").as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(
            md5("The quick brown fox jumps over the lazy dog").as_deref(),
            Some("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(conn.query_row("SELECT md5(NULL)", [], |r| r.get::<_, Option<String>>(0)).unwrap(), None);
    }

    #[test]
    fn dates_format_like_mysql() {
        assert_eq!(mysql_datetime(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(mysql_datetime(951_782_400_000), "2000-02-29 00:00:00");
    }
}
