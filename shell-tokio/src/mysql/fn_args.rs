//! Reading the arguments of the SQL functions marmot registers on SQLite connections, and
//! the errors they answer with; shared by every module of functions (string, math, JSON,
//! time, crypto), below all of them.

use rusqlite::functions::Context;
use rusqlite::types::ValueRef;

/// Argument `i` as text (numbers printed), `None` for NULL.
pub(crate) fn text(ctx: &Context<'_>, i: usize) -> Option<String> {
    match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Argument `i` as the bytes MySQL would hash or encode: a string's or blob's own bytes
/// (not made valid UTF-8 first), a number's digits; `None` for NULL.
pub(crate) fn bytes(ctx: &Context<'_>, i: usize) -> Option<Vec<u8>> {
    match ctx.get_raw(i) {
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(t.to_vec()),
        _ => text(ctx, i).map(String::into_bytes),
    }
}

/// Longest string result of REPEAT, SPACE, LPAD, RPAD, HEX (MySQL's max_allowed_packet):
/// longer ones are NULL, as in MySQL, instead of memory the server does not have.
pub(crate) const MAX_RESULT: usize = 64 << 20;

/// Check a function of several arities got between `min` and `max` arguments: MySQL's error
/// (1582, worded as SQLite words its own, so one mapping serves both), not an argument read
/// past the end.
pub(crate) fn need_args(ctx: &Context<'_>, min: usize, max: usize, name: &str) -> rusqlite::Result<()> {
    if (min..=max).contains(&ctx.len()) {
        Ok(())
    } else {
        Err(rusqlite::Error::UserFunctionError(format!("wrong number of arguments to function {name}()").into()))
    }
}

/// The error of a DOUBLE result out of range (ER_DATA_OUT_OF_RANGE, 1690).
pub(crate) fn out_of_range(what: &str) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("DOUBLE value is out of range in '{what}'").into())
}
