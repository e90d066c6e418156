//! The boundary between the MySQL protocol and what executes statements, in the shape of
//! msql-srv's `MysqlShim`. The protocol layer ([`super::protocol`]: handshake, framing,
//! the command loop, result and row encodings) drives a [`Backend`] per connection and
//! knows nothing of SQL text, SQLite, translation or the replication engine; the
//! [`Session`](super::session::Session) implements it. A connection's backend is opened by
//! [`Backends`] once the client has authenticated.

use std::future::Future;

use super::error::MyError;
use super::load_data::LoadData;
use super::proto::Column;
use super::results::{DeferredRead, Outcome, RowSink};
use super::stmt_params::Param;

/// What COM_STMT_PREPARE answers about a statement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreparedShape {
    /// How many `?` placeholders it has.
    pub params: usize,
    /// Its result columns (empty for a statement without a result set).
    pub columns: Vec<Column>,
}

/// One connection's executor of statements.
pub trait Backend: Send {
    /// A `LOAD DATA LOCAL INFILE` in progress, carried between the file's packets.
    type Load: Send;

    /// The connection id (as `CONNECTION_ID()` shows it).
    fn conn_id(&self) -> u32;
    /// Whether the client asked for found rather than changed rows (CLIENT_FOUND_ROWS).
    fn found_rows(&self) -> bool;
    /// Set by the handshake from the client's capabilities.
    fn set_found_rows(&mut self, on: bool);
    /// The server status flags of OK and EOF packets (autocommit, in transaction).
    fn status_flags(&self) -> u16;
    /// Warnings of the last statement, for OK and EOF packets.
    fn warning_count(&self) -> u16;
    /// COM_INIT_DB, and the database of the handshake.
    fn use_db(&mut self, db: &str) -> Result<(), MyError>;
    /// COM_RESET_CONNECTION: a fresh session state on the same connection.
    fn reset(&mut self);

    /// The query is one `LOAD DATA LOCAL INFILE`: the protocol asks the client for the file.
    fn local_file(&self, text: &str) -> Option<LoadData>;
    /// COM_QUERY: the outcome of each statement of `text`; the last may be
    /// [`Outcome::Deferred`], a read the protocol layer then streams with [`Backend::stream`].
    fn query(&mut self, text: &str) -> impl Future<Output = Vec<Outcome>> + Send;
    /// Produce a deferred read's rows into `sink` as they are read.
    fn stream(&mut self, read: DeferredRead, sink: &mut dyn RowSink) -> Outcome;
    /// COM_FIELD_LIST: the columns of `table` (`None`: it has none to show).
    fn table_columns(&mut self, table: &str) -> Result<Option<Vec<Column>>, MyError>;
    /// COM_STMT_PREPARE.
    fn prepare(&mut self, text: &str) -> Result<PreparedShape, MyError>;
    /// COM_STMT_EXECUTE of a statement prepared from `text` with these parameter values
    /// (one per placeholder), answered as [`Backend::query`] is.
    fn execute(&mut self, text: &str, params: Vec<Param>) -> impl Future<Output = Vec<Outcome>> + Send;

    /// Start loading the file of a `LOAD DATA LOCAL INFILE`.
    fn load_begin(&mut self, spec: &LoadData) -> impl Future<Output = Result<Self::Load, MyError>> + Send;
    /// One packet of the file.
    fn load_piece(&mut self, load: &mut Self::Load, bytes: &[u8]) -> impl Future<Output = Result<(), MyError>> + Send;
    /// The file has ended: finish the load.
    fn load_end(&mut self, load: Self::Load) -> impl Future<Output = Result<Outcome, MyError>> + Send;
}

/// What a server offers every connection: accounts, and a backend per authenticated user.
pub trait Backends: Sync {
    /// The backend of one connection.
    type Session: Backend;

    /// Largest packet accepted (`max_allowed_packet`).
    fn max_packet(&self) -> usize;
    /// Whether `user` proved its password: `token` is the client's answer to `salt`
    /// (mysql_native_password).
    fn allowed(&self, user: &str, salt: &[u8], token: &[u8]) -> bool;
    /// A fresh backend for `user` on connection `conn_id` (after the handshake, and again
    /// on COM_CHANGE_USER).
    fn open(&self, user: String, conn_id: u32) -> Self::Session;
}
