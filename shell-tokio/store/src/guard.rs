//! What a client statement may touch: not marmot's own tables, not SQLite's schema, not
//! the doors SQLite opens to files and extensions.
//!
//! Every connection that runs client SQL (the sessions' read connections and each
//! database's writer) gets an SQLite authorizer, consulted while a statement is being
//! prepared. It is active only while client SQL runs on the calling thread ([`as_client`]):
//! marmot's own statements on the same connections are not checked.
//! A refused statement fails to prepare with SQLite's "not authorized"; the front end
//! reports it as MySQL error 1142.
//!
//! Refused: reading or writing, creating, altering or dropping any `__marmot_*` object or
//! SQLite's schema tables (`sqlite_master` lists marmot's tables; `sqlite_*` tables are
//! SQLite's own); `ATTACH`/`DETACH` (a client must not name a file on the server); every
//! `PRAGMA` but a read-only allow-list that describes tables; `load_extension`. The TEMP
//! triggers marmot installs to capture changes write its `__marmot_cap` table from inside
//! the client's statement: accesses made by a trigger or view of marmot's own are allowed.

use std::cell::Cell;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;

/// PRAGMAs a client may run (read-only ones that describe a table).
const ALLOWED_PRAGMAS: &[&str] =
    &["table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"];

/// Why a client statement is refused before it reaches SQLite, if it is: it names
/// SQLite's schema tables (which list marmot's own), or it is a `VACUUM` (`VACUUM INTO`
/// writes a file anywhere). `words` are the statement's identifiers and keywords.
/// Gives MySQL's error code, SQLSTATE and message.
pub fn refused_statement<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<(u16, &'static str, String)> {
    let mut first = true;
    words.find_map(|w| {
        let hit = if std::mem::take(&mut first) && w.eq_ignore_ascii_case("VACUUM") {
            Some((1142, "42000", "VACUUM command denied: it is not available to clients".to_string()))
        } else if is_schema_table(w) {
            Some((1146, "42S02", format!("Table '{w}' doesn't exist")))
        } else {
            None
        };
        hit
    })
}

/// Whether `name` is an object a client may not touch.
pub fn forbidden_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("__marmot") || n.starts_with("sqlite_")
}

thread_local! {
    /// Set while client SQL runs on this thread. The authorizer is called synchronously
    /// by the preparing thread, so a thread-local flag scopes it exactly.
    static CLIENT_SQL: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, in which client SQL is prepared and run, under the guard (and with marmot's
/// capture triggers recording, see [`super::capture`]).
pub fn as_client<T>(f: impl FnOnce() -> T) -> T {
    /// Restores the flag however `f` ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CLIENT_SQL.set(self.0);
        }
    }
    let _restore = Restore(CLIENT_SQL.replace(true));
    f()
}

/// Whether client SQL is running on this thread.
pub fn client_sql_running() -> bool {
    CLIENT_SQL.get()
}

fn is_schema_table(name: &str) -> bool {
    ["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema", "sqlite_sequence"]
        .iter()
        .any(|t| name.eq_ignore_ascii_case(t))
}

/// Install the guard on `conn`. Installing an authorizer expires the connection's
/// prepared statements: call it once, right after opening.
pub fn install(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.authorizer(Some(|ctx: AuthContext<'_>| {
        if !client_sql_running() || allowed(&ctx) {
            Authorization::Allow
        } else {
            Authorization::Deny
        }
    }))
}

/// The policy: whether a client statement may do what `ctx` says.
fn allowed(ctx: &AuthContext<'_>) -> bool {
    if ctx.accessor.is_some_and(|a| a.to_ascii_lowercase().starts_with("__marmot")) {
        return true;
    }
    let names: &[&str] = match ctx.action {
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => return false,
        AuthAction::Pragma { pragma_name, pragma_value } => {
            return ALLOWED_PRAGMAS.contains(&pragma_name.to_ascii_lowercase().as_str())
                && !pragma_value.is_some_and(forbidden_name);
        }
        AuthAction::Function { function_name } => return !function_name.eq_ignore_ascii_case("load_extension"),
        // SQLite reports the schema table read and written by every CREATE and DROP, and
        // refuses direct writes to it itself. A client naming it is refused by the front
        // end (`refused_statement`), like VACUUM, which has no authorizer action. SQLite's
        // table-valued PRAGMA functions read as tables.
        AuthAction::Read { table_name, .. }
        | AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
            if is_schema_table(table_name) =>
        {
            &[]
        }
        AuthAction::Read { table_name, .. } if table_name.to_ascii_lowercase().starts_with("pragma_") => return false,
        AuthAction::Read { table_name, .. }
        | AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
        | AuthAction::CreateTable { table_name }
        | AuthAction::CreateTempTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::DropTempTable { table_name }
        | AuthAction::AlterTable { table_name, .. }
        | AuthAction::Analyze { table_name } => &[table_name],
        AuthAction::CreateIndex { index_name, table_name }
        | AuthAction::CreateTempIndex { index_name, table_name }
        | AuthAction::DropIndex { index_name, table_name }
        | AuthAction::DropTempIndex { index_name, table_name } => {
            // SQLite names the indexes of UNIQUE and PRIMARY KEY constraints itself.
            return !forbidden_name(table_name)
                && (index_name.starts_with("sqlite_autoindex_") || !forbidden_name(index_name));
        }
        AuthAction::CreateTrigger { trigger_name, table_name }
        | AuthAction::CreateTempTrigger { trigger_name, table_name }
        | AuthAction::DropTrigger { trigger_name, table_name }
        | AuthAction::DropTempTrigger { trigger_name, table_name } => &[trigger_name, table_name],
        AuthAction::CreateView { view_name }
        | AuthAction::CreateTempView { view_name }
        | AuthAction::DropView { view_name }
        | AuthAction::DropTempView { view_name } => &[view_name],
        AuthAction::CreateVtable { table_name, .. } | AuthAction::DropVtable { table_name, .. } => &[table_name],
        AuthAction::Reindex { index_name } => &[index_name],
        _ => &[],
    };
    !names.iter().any(|n| forbidden_name(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE __marmot_log (seq INTEGER PRIMARY KEY); CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE TEMP TABLE __marmot_cap (x); CREATE VIEW sneaky AS SELECT * FROM __marmot_log;
             CREATE TEMP TRIGGER __marmot_cap_i_t AFTER INSERT ON main.t BEGIN INSERT INTO temp.__marmot_cap VALUES (NEW.id); END;",
        )
        .unwrap();
        install(&mut c).unwrap();
        c
    }

    #[test]
    fn clients_cannot_touch_internals() {
        let c = guarded();
        c.prepare("SELECT * FROM __marmot_log").expect("marmot's own statements are not checked");
        for sql in [
            "SELECT * FROM __marmot_log",
            "SELECT * FROM t JOIN __MARMOT_LOG ON 1",
            "DROP TABLE __marmot_log",
            "DELETE FROM __marmot_log",
            "INSERT INTO temp.__marmot_cap VALUES (1)",
            "SELECT * FROM sneaky",
            "CREATE TABLE __marmot_mine (x)",
            "CREATE INDEX __marmot_i ON t (v)",
            "ATTACH DATABASE '/tmp/x.db' AS x",
            "PRAGMA writable_schema = 1",
            "PRAGMA journal_mode = DELETE",
            "PRAGMA database_list",
            "PRAGMA table_info(__marmot_log)",
            "SELECT * FROM pragma_table_list",
            "SELECT * FROM pragma_table_info('__marmot_log')",
            "SELECT load_extension('x')",
        ] {
            let e = as_client(|| c.prepare(sql).err()).unwrap_or_else(|| panic!("{sql} was allowed"));
            assert!(e.to_string().contains("not authorized") || e.to_string().contains("prohibited"), "{sql}: {e}");
        }
    }

    #[test]
    fn schema_tables_and_vacuum_are_refused_by_name() {
        let refused = |sql: &str| refused_statement(sql.split_whitespace());
        assert!(refused("SELECT name FROM SQLITE_MASTER").is_some());
        assert!(refused("VACUUM INTO '/tmp/x'").is_some());
        assert!(refused("SELECT vacuum FROM t").is_none());
        assert!(refused("SELECT * FROM t").is_none());
    }

    #[test]
    fn clients_keep_their_own_tables_and_marmots_triggers_still_capture() {
        let c = guarded();
        as_client(|| {
            c.execute("INSERT INTO t (id, v) VALUES (1, 'a')", []).unwrap();
            c.query_row("SELECT v FROM t WHERE id = 1", [], |_| Ok(())).unwrap();
            c.prepare("PRAGMA table_info(t)").unwrap();
            c.execute_batch("CREATE INDEX t_v ON t (v); DROP INDEX t_v; CREATE VIEW w AS SELECT v FROM t").unwrap();
            c.execute_batch("CREATE TABLE u (id INT PRIMARY KEY, e TEXT UNIQUE); DROP TABLE u").unwrap();
        });
        let captured: i64 = c.query_row("SELECT count(*) FROM temp.__marmot_cap", [], |r| r.get(0)).unwrap();
        assert_eq!(captured, 1, "marmot's capture trigger wrote its table from inside the client's INSERT");
    }
}
