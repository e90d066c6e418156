//! Conversions between core values and SQLite values, and the canonical encodings of
//! row keys, row images and transaction ids stored in marmot's own tables.

use marmot_core::{ColumnValue, Hlc, RowKey, Txn, TxnId, Value};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};

use super::StoreError;

/// Core value from a borrowed SQLite value.
pub fn from_ref(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// SQLite value to bind for a core value.
pub fn to_sql(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::Null => ToSqlOutput::Owned(SqlValue::Null),
        Value::Integer(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Value::Real(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

/// A bindable wrapper for a core value.
pub struct Bind<'a>(pub &'a Value);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(to_sql(self.0))
    }
}

/// Canonical key bytes for a list of key values.
pub fn encode_key(values: &[Value]) -> RowKey {
    RowKey(postcard::to_stdvec(values).expect("values always serialize"))
}

/// The key values back from their bytes.
pub fn decode_key(key: &RowKey) -> Result<Vec<Value>, StoreError> {
    postcard::from_bytes(&key.0).map_err(|e| StoreError::Corrupt(format!("row key: {e}")))
}

/// Encode a list of values (a row image without names) as bytes.
pub fn encode_values(values: &[Value]) -> Vec<u8> {
    postcard::to_stdvec(values).expect("values always serialize")
}

/// Decode what [`encode_values`] wrote.
pub fn decode_values(bytes: &[u8]) -> Result<Vec<Value>, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("row image: {e}")))
}

/// Attach column names to values.
pub fn named(columns: &[String], values: Vec<Value>) -> Vec<ColumnValue> {
    columns.iter().cloned().zip(values).map(|(column, value)| ColumnValue { column, value }).collect()
}

/// 20 big-endian bytes that sort like the id.
pub fn txn_id_bytes(id: TxnId) -> Vec<u8> {
    let mut b = Vec::with_capacity(20);
    b.extend_from_slice(&id.wall.to_be_bytes());
    b.extend_from_slice(&id.logical.to_be_bytes());
    b.extend_from_slice(&id.node.to_be_bytes());
    b
}

/// Inverse of [`txn_id_bytes`].
pub fn txn_id_from_bytes(b: &[u8]) -> Result<TxnId, StoreError> {
    if b.len() != 20 {
        return Err(StoreError::Corrupt(format!("transaction id of {} bytes", b.len())));
    }
    let wall = u64::from_be_bytes(b[0..8].try_into().expect("8 bytes"));
    let logical = u32::from_be_bytes(b[8..12].try_into().expect("4 bytes"));
    let node = u64::from_be_bytes(b[12..20].try_into().expect("8 bytes"));
    Ok(Hlc { wall, logical, node })
}

/// Quote an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Serialize anything serde can (transactions, digests) for storage.
pub fn to_blob<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_stdvec(v).expect("in-memory values always serialize")
}

/// Deserialize what [`to_blob`] wrote.
pub fn from_blob<T: serde::de::DeserializeOwned>(b: &[u8], what: &str) -> Result<T, StoreError> {
    postcard::from_bytes(b).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A transaction record (`txns.payload`): the transaction, then its voting members when it
/// has any ([`marmot_core::voting`]). Appended rather than a field of [`Txn`]'s own form, so
/// records written before the rule existed still read (as coordinator-decided), and log
/// entries and snapshots do not carry it.
pub fn txn_record(txn: &Txn) -> Vec<u8> {
    let mut b = to_blob(txn);
    if txn.voting.is_counted() {
        b.extend(to_blob(&txn.voting));
    }
    b
}

/// Read what [`txn_record`] wrote.
pub fn from_txn_record(b: &[u8]) -> Result<Txn, StoreError> {
    let (mut txn, rest): (Txn, _) =
        postcard::take_from_bytes(b).map_err(|e| StoreError::Corrupt(format!("txn: {e}")))?;
    if !rest.is_empty() {
        txn.voting = from_blob(rest, "txn voting")?;
    }
    Ok(txn)
}
