//! What the metadata statements (SHOW, DESCRIBE, SHOW CREATE TABLE) need from a session:
//! its current database, the databases it may see, and read-only queries. A trait, so that
//! metadata does not depend on the session that dispatches to it.

use marmot_core::Value;

use super::error::MyError;
use super::results::Outcome;

/// Read access to the databases, as one session sees them.
pub trait SessionReads {
    /// The current database.
    fn db(&self) -> Option<String>;
    /// The user databases.
    fn databases(&self) -> Vec<String>;
    /// Run a read-only query (SQLite text) on the current database (1046 without one).
    fn read(&mut self, sqlite: &str) -> Result<Outcome, MyError>;
    /// Run a read-only query on database `db` (1049 if there is none).
    fn read_in(&mut self, db: &str, sqlite: &str) -> Result<Outcome, MyError>;
    /// The first column of the first row of a query, NULL if none.
    fn query_value(&mut self, sqlite: &str) -> Value;
    /// Make `db` the current database for a moment; returns the one it replaced (give it
    /// back with [`SessionReads::restore_db`]).
    fn swap_db(&mut self, db: String) -> Option<String>;
    /// Give back the current database [`SessionReads::swap_db`] replaced.
    fn restore_db(&mut self, db: Option<String>);
    /// The warnings of the last statement: (level, code, message).
    fn warnings(&self) -> Vec<(String, u16, String)>;
    /// The connection's id and user.
    fn connection(&self) -> (u32, String);
}
