//! A clock for SQLite under simulation.
//!
//! SQLite asks its VFS for the current time (`'now'`, `CURRENT_TIMESTAMP`). In-memory
//! stores opened for the simulator use the VFS `marmot-sim`: a copy of SQLite's `memdb`
//! VFS whose current time is whatever the host set with [`set_now_ms`] on this thread —
//! the simulated, skewed clock of the node doing the work — so a seed replays exactly.

use std::cell::Cell;
use std::ffi::{c_int, CStr};
use std::sync::OnceLock;

use rusqlite::ffi;

/// Name of the simulated-clock VFS.
pub const VFS_NAME: &CStr = c"marmot-sim";

/// Milliseconds between the Julian day epoch and the Unix epoch.
const UNIX_EPOCH_JD_MS: i64 = 210_866_760_000_000;

thread_local! {
    static NOW_MS: Cell<i64> = const { Cell::new(0) };
}

/// Set the wall clock (Unix ms) SQLite sees on this thread.
pub fn set_now_ms(ms: u64) {
    NOW_MS.with(|n| n.set(ms as i64));
}

unsafe extern "C" fn current_time_int64(_vfs: *mut ffi::sqlite3_vfs, out: *mut ffi::sqlite3_int64) -> c_int {
    let now = NOW_MS.with(Cell::get);
    // SAFETY: SQLite passes a valid pointer to write the result to.
    unsafe { *out = UNIX_EPOCH_JD_MS + now };
    ffi::SQLITE_OK
}

unsafe extern "C" fn current_time(_vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let now = NOW_MS.with(Cell::get);
    // SAFETY: SQLite passes a valid pointer to write the result to.
    unsafe { *out = (UNIX_EPOCH_JD_MS + now) as f64 / 86_400_000.0 };
    ffi::SQLITE_OK
}

/// Register the VFS once per process. Errors if SQLite has no `memdb` VFS.
pub fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: sqlite3_initialize and sqlite3_vfs_find are thread-safe; the copied
        // struct is leaked so it outlives every connection, and SQLite owns the list.
        unsafe {
            if ffi::sqlite3_initialize() != ffi::SQLITE_OK {
                return Err("sqlite3_initialize failed".into());
            }
            let base = ffi::sqlite3_vfs_find(c"memdb".as_ptr());
            if base.is_null() {
                return Err("SQLite was built without the memdb VFS".into());
            }
            let mut vfs: ffi::sqlite3_vfs = std::ptr::read(base);
            vfs.zName = VFS_NAME.as_ptr();
            vfs.pNext = std::ptr::null_mut();
            vfs.iVersion = vfs.iVersion.max(2);
            vfs.xCurrentTime = Some(current_time);
            vfs.xCurrentTimeInt64 = Some(current_time_int64);
            let rc = ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0);
            if rc != ffi::SQLITE_OK {
                return Err(format!("registering the simulated-clock VFS failed ({rc})"));
            }
        }
        Ok(())
    })
    .clone()
}
