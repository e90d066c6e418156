//! Opening connections to a database, on disk (WAL files) or in the simulator's memory.

use rusqlite::{Connection, OpenFlags};

use crate::{guard, simclock, valid_name, Location, StoreError, Synchronous};

/// FNV-1a of `s` (stable across builds and platforms, unlike std's hasher).
pub(crate) fn fnv(s: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

/// Where database `name` lives, as `ATTACH` names it.
pub(crate) fn db_uri(loc: &Location, name: &str) -> String {
    match loc {
        Location::Dir(dir) => dir.join(format!("{name}.db")).to_string_lossy().into_owned(),
        Location::Memory(ns) => format!("file:/{ns}/{name}?vfs={}", simclock::VFS_NAME.to_str().expect("ascii")),
    }
}

/// Open a connection to database `name` (WAL mode for files), as sessions do.
pub fn open_connection(loc: &Location, sync: Synchronous, name: &str) -> Result<Connection, StoreError> {
    valid_name(name)?;
    open_conn(loc, sync, name)
}

pub(crate) fn open_conn(loc: &Location, sync: Synchronous, name: &str) -> Result<Connection, StoreError> {
    let mut conn = match loc {
        Location::Dir(dir) => {
            let c = Connection::open(dir.join(format!("{name}.db")))?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Io(format!("{name}: could not enable WAL mode (got {mode})")));
            }
            c.execute_batch(match sync {
                Synchronous::Normal => "PRAGMA synchronous = NORMAL;",
                Synchronous::Full => "PRAGMA synchronous = FULL;",
            })?;
            // Checkpoint every 4,000 WAL pages (16 MB) instead of 1,000: a page rewritten
            // often is copied into the database file once per checkpoint, and checkpoints
            // run on the writer, between group commits.
            c.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
            c
        }
        Location::Memory(ns) => Connection::open_with_flags(
            {
                simclock::register().map_err(StoreError::Io)?;
                format!("file:/{ns}/{name}?vfs={}", simclock::VFS_NAME.to_str().expect("ascii"))
            },
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
        )?,
    };
    // Row images, captures and reads each prepare per-table statements: keep them all.
    conn.set_prepared_statement_cache_capacity(256);
    guard::install(&mut conn)?;
    Ok(conn)
}
