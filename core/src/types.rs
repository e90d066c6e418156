//! Values, rows, captured row changes and transactions: the data the protocol moves.

use serde::{Deserialize, Serialize};

use crate::hlc::TxnId;
use crate::lww::Version;

pub use crate::NodeId;

/// One SQLite value. Kept exactly (no text round trip) so replicas hold identical bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// 64-bit signed integer.
    Integer(i64),
    /// IEEE double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

/// A named column value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnValue {
    /// Column name as declared in the table.
    pub column: String,
    /// Its value.
    pub value: Value,
}

/// A full row image: every column of the table, in declaration order.
pub type Row = Vec<ColumnValue>;

/// The identity of a row inside its table: its primary key values in key order, or
/// `[Integer(rowid)]` for a table without a primary key. Encoded canonically so that
/// equal keys have equal bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RowKey(pub Vec<u8>);

/// What a captured change did to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    /// The row did not exist before and exists after.
    Insert,
    /// The row existed before and after.
    Update,
    /// The row existed before and not after.
    Delete,
}

/// One row change captured from a client statement, ready to replicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowChange {
    /// Database (one SQLite file) the table lives in.
    pub database: String,
    /// Table name.
    pub table: String,
    /// What happened to the row.
    pub op: Op,
    /// The row's identity.
    pub key: RowKey,
    /// Row image before the change (`None` for inserts).
    pub before: Option<Row>,
    /// Row image after the change (`None` for deletes).
    pub after: Option<Row>,
    /// The database's schema version when the change was captured.
    pub schema_version: u64,
    /// The row's version on the capturing node when the transaction first touched it
    /// (`None`: the row had never been written there). Under first-committer-wins a
    /// participant holding a newer version votes conflict: someone committed a change
    /// to the row since this transaction read it.
    pub read_version: Option<Version>,
}

impl RowChange {
    /// Whether this change is a schema change of its database.
    pub fn is_schema_change(&self) -> bool {
        self.table == SCHEMA_TABLE
    }

    /// Whether this change only asserts its row: the same image before and after, the
    /// row as a transaction read it with `SELECT … FOR UPDATE`. Under first-committer-wins
    /// it is checked and locked at PREPARE like any write, so the transaction cannot
    /// commit over a change made to the row since that read.
    pub fn is_check_only(&self) -> bool {
        self.op == Op::Update && self.before == self.after
    }

    /// The intent key this change locks: (database, table, row key).
    pub fn intent_key(&self) -> IntentKey {
        (self.database.clone(), self.table.clone(), self.key.clone())
    }
}

/// What an intent locks: one row of one table of one database.
pub type IntentKey = (String, String, RowKey);

/// The reserved table whose changes are schema changes (DDL) of their database. A
/// transaction carrying one excludes every row write of that database while prepared,
/// and the other way round.
pub const SCHEMA_TABLE: &str = "__marmot_ddl";

/// A write transaction as it travels through 2PC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Txn {
    /// Cluster-unique id, the coordinator's HLC at the start; also the LWW version of every row.
    pub id: TxnId,
    /// The node that coordinates it.
    pub coordinator: crate::NodeId,
    /// Its captured row changes, in capture order. Shared: a transaction is handed to
    /// the store, kept as an intent, sent to every participant and committed, and a
    /// big one must not be copied for each.
    pub rows: std::sync::Arc<Vec<RowChange>>,
    /// Participants check each row's `read_version` at PREPARE (first-committer-wins,
    /// QUORUM and ALL writes under the default rule); otherwise last-writer-wins alone.
    pub first_committer_wins: bool,
    /// Who votes on it and how many yes votes commit it ([`crate::voting`]). Not part of
    /// the serialized form that log entries and snapshots carry: only a prepare record and
    /// a PREPARE need it, and they carry it beside the transaction.
    #[serde(skip)]
    pub voting: crate::voting::Voting,
}

impl Value {
    /// Rough size in bytes.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Value::Text(t) => t.len(),
            Value::Blob(b) => b.len(),
            _ => 8,
        }
    }
}

/// Rough size in bytes of the keys and row images of `rows`.
pub fn approx_bytes(rows: &[RowChange]) -> usize {
    let image = |r: &Option<Row>| r.iter().flatten().map(|c| c.column.len() + c.value.approx_bytes()).sum::<usize>();
    rows.iter().map(|r| r.key.0.len() + image(&r.before) + image(&r.after)).sum()
}

impl Txn {
    /// Rough size in bytes of its keys and row images (for scaling timeouts).
    pub fn approx_bytes(&self) -> usize {
        approx_bytes(&self.rows)
    }

    /// The distinct databases this transaction writes, sorted.
    pub fn databases(&self) -> Vec<String> {
        let mut dbs: Vec<String> = self.rows.iter().map(|r| r.database.clone()).collect();
        dbs.sort();
        dbs.dedup();
        dbs
    }
}
