//! Per-table checksums that nodes can compare while writes go on (`marmot verify`).
//!
//! A node's tables are never all at the same point as another node's: transactions reach
//! them at different moments. So a checksum covers only rows that are settled: every row
//! whose version (HLC wall clock) is at or before a cutoff the verifier picks in the past,
//! minus the keys the verifier names. A row written after the cutoff is not summed; its key
//! is returned instead, so the verifier can ask every node again to leave that key out
//! (a node that has not yet received the write still holds the older image, which it would
//! otherwise sum). Once no node reports a key the verifier did not exclude, the sums cover
//! the same keys everywhere and must be equal; a difference is a real divergence (or a
//! transaction older than the cutoff still in flight, which the verifier asks again about).
//!
//! The sum is order-independent (the wrapping sum of each row's SHA-256 over its key and
//! values, 128 bits), so no node needs to sort a table to compute it.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::codec::{encode_values, from_ref, ident};
use super::schema::user_tables;
use super::StoreError;

/// Keys to leave out, per table.
pub type Excluded = BTreeMap<String, BTreeSet<Vec<u8>>>;

/// The checksum of one table's settled rows on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableChecksum {
    /// The table.
    pub table: String,
    /// Rows summed.
    pub rows: u64,
    /// The wrapping sum of the rows' hashes.
    pub digest: u128,
    /// Keys written after the cutoff that were not excluded (their rows are not summed).
    pub recent: Vec<Vec<u8>>,
}

/// The checksums of every user table of the database open on `conn`, in one read
/// transaction (one consistent state of this node), by table name.
pub fn checksums(conn: &Connection, cutoff_wall: u64, excluded: &Excluded) -> Result<Vec<TableChecksum>, StoreError> {
    conn.execute_batch("BEGIN")?;
    let result = checksums_in_txn(conn, cutoff_wall, excluded);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn checksums_in_txn(
    conn: &Connection,
    cutoff_wall: u64,
    excluded: &Excluded,
) -> Result<Vec<TableChecksum>, StoreError> {
    let none = BTreeSet::new();
    let mut out = Vec::new();
    for info in user_tables(conn)? {
        let excluded = excluded.get(&info.name).unwrap_or(&none);
        let mut recent_stmt =
            conn.prepare_cached("SELECT key FROM __marmot_row_versions WHERE tbl = ?1 AND wall > ?2")?;
        let recent: BTreeSet<Vec<u8>> = recent_stmt
            .query_map(rusqlite::params![info.name, cutoff_wall as i64], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<_, _>>()?;
        let keys = info.key_exprs("t");
        let columns: Vec<String> = info.columns.iter().map(|c| format!("t.{}", ident(c))).collect();
        let sql = format!("SELECT {}, {} FROM {} AS t", keys.join(", "), columns.join(", "), ident(&info.name));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let (mut count, mut digest) = (0u64, 0u128);
        while let Some(r) = rows.next()? {
            let values: Vec<_> =
                (0..keys.len() + columns.len()).map(|i| r.get_ref(i).map(from_ref)).collect::<Result<_, _>>()?;
            let key = encode_values(&values[..keys.len()]);
            if excluded.contains(&key) || recent.contains(&key) {
                continue;
            }
            let row = encode_values(&values[keys.len()..]);
            let mut h = Sha256::new();
            h.update((key.len() as u64).to_be_bytes());
            h.update(&key);
            h.update(&row);
            let hash = h.finalize();
            digest = digest.wrapping_add(u128::from_be_bytes(hash[..16].try_into().expect("16 bytes")));
            count += 1;
        }
        out.push(TableChecksum {
            table: info.name.clone(),
            rows: count,
            digest,
            recent: recent.into_iter().filter(|k| !excluded.contains(k)).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(rows: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(super::super::schema::DATABASE_TABLES).unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE n (a TEXT, b TEXT)").unwrap();
        c.execute_batch(rows).unwrap();
        c
    }

    fn version(c: &Connection, id: i64, wall: u64) {
        let key = encode_values(&[marmot_core::Value::Integer(id)]);
        c.execute(
            "INSERT OR REPLACE INTO __marmot_row_versions VALUES ('t', ?1, ?2, 0, 1, 0)",
            rusqlite::params![key, wall as i64],
        )
        .unwrap();
    }

    #[test]
    fn equal_rows_in_any_order_sum_equal_and_a_changed_value_does_not() {
        let a = db("INSERT INTO t VALUES (1,'x'),(2,'y'); INSERT INTO n VALUES ('p','q'),('r',NULL)");
        let b = db("INSERT INTO t VALUES (2,'y'),(1,'x'); INSERT INTO n VALUES ('p','q'),('r',NULL)");
        let c = db("INSERT INTO t VALUES (1,'x'),(2,'z'); INSERT INTO n VALUES ('p','q'),('r',NULL)");
        let none = Excluded::new();
        let (a, b, c) =
            (checksums(&a, 10, &none).unwrap(), checksums(&b, 10, &none).unwrap(), checksums(&c, 10, &none).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|t| (t.table.as_str(), t.rows)).collect::<Vec<_>>(), vec![("n", 2), ("t", 2)]);
        assert_eq!(a[0], c[0], "table n is the same");
        assert_ne!(a[1].digest, c[1].digest, "table t differs");
    }

    #[test]
    fn rows_written_after_the_cutoff_are_reported_not_summed_and_excluded_keys_are_left_out() {
        // Node b has a newer image of row 2 (written at 50, after the cutoff 20).
        let a = db("INSERT INTO t VALUES (1,'x'),(2,'y')");
        version(&a, 1, 5);
        version(&a, 2, 5);
        let b = db("INSERT INTO t VALUES (1,'x'),(2,'new')");
        version(&b, 1, 5);
        version(&b, 2, 50);
        let none = Excluded::new();
        let (ta, tb) = (&checksums(&a, 20, &none).unwrap()[1], &checksums(&b, 20, &none).unwrap()[1]);
        assert_eq!((ta.rows, tb.rows), (2, 1));
        assert_eq!(tb.recent, vec![encode_values(&[marmot_core::Value::Integer(2)])]);
        // Asked again without key 2, both sum the same single row and report nothing new.
        let excluded: Excluded = [("t".to_string(), tb.recent.iter().cloned().collect())].into();
        let (ta, tb) = (&checksums(&a, 20, &excluded).unwrap()[1], &checksums(&b, 20, &excluded).unwrap()[1]);
        assert_eq!(ta, tb);
        assert_eq!((ta.rows, ta.recent.len()), (1, 0));
    }
}
