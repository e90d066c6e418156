//! Snapshots of one database: a consistent copy taken while writes continue, and its
//! verified, atomic installation on another node.
//!
//! Taking: SQLite's online backup copies the database in one step (under one read
//! transaction) into a private in-memory database, which is serialized to bytes with a
//! SHA-256. Installing: the checksum is verified, the bytes are opened as a private
//! in-memory database and checked (`PRAGMA quick_check`, marmot's tables present), the
//! receiver's log position is carried over, and the whole image is copied into the live
//! database with the backup API — one write transaction, so readers see the old or the
//! new database and never a mix, and SQLite keeps the `-wal`/`-shm` files consistent
//! (nothing is renamed or deleted under open connections; Marmot's issue #8).
//!
//! After installing, this node keeps its own log (peers may still be reading it, and it
//! holds transactions the snapshot may not have yet, which are applied again onto the
//! snapshot's content), its position in the donor's log is the donor's log head in the
//! snapshot, and its positions in the other logs are the donor's.

use std::collections::BTreeMap;
use std::time::Duration;

use marmot_core::NodeId;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OptionalExtension, MAIN_DB};
use sha2::{Digest, Sha256};

use super::apply::log_head;
use super::StoreError;

/// A consistent copy of one database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The database image.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub sha256: [u8; 32],
}

/// What installing a snapshot set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// This node's log head of the database (unchanged by the install).
    pub head: u64,
    /// Positions now consumed in each peer's log of the database.
    pub progress: BTreeMap<NodeId, u64>,
}

/// Bytes 18 and 19 of the header say WAL (2) or rollback journal (1); an image opened in
/// memory must say 1.
fn as_rollback_journal(bytes: &mut [u8]) {
    if bytes.len() > 19 {
        bytes[18] = 1;
        bytes[19] = 1;
    }
}

/// Copy every page of `from` into `to` in one step (one consistent read of `from`, one
/// write transaction on `to`), waiting out brief locks.
fn copy_all(from: &Connection, to: &mut Connection) -> Result<(), StoreError> {
    let backup = Backup::new(from, to)?;
    for _ in 0..5000 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    Err(StoreError::Io("snapshot copy: the database stayed locked".into()))
}

/// Copy `source` into a snapshot.
pub fn take(source: &Connection) -> Result<Snapshot, StoreError> {
    let mut mem = Connection::open_in_memory()?;
    copy_all(source, &mut mem)?;
    let mut bytes = mem.serialize(MAIN_DB)?.to_vec();
    as_rollback_journal(&mut bytes);
    let sha256 = Sha256::digest(&bytes).into();
    Ok(Snapshot { bytes, sha256 })
}

/// How a snapshot is installed.
#[derive(Clone, Copy, Debug)]
pub struct InstallMode {
    /// Install the table contents; a sentinel (false) keeps only the schema, row
    /// versions, markers and log.
    pub images: bool,
    /// Compare the image with its SHA-256 first. Always on, except in the simulator's
    /// control run, which shows that its data checks see what the checksum keeps out.
    pub verify_checksum: bool,
}

/// Verify `bytes` against `sha256` and install them as the content of `target`, for node
/// `me`, the snapshot coming from `donor`.
pub fn install(
    target: &mut Connection,
    database: &str,
    me: NodeId,
    donor: NodeId,
    (bytes, sha256): (&[u8], &[u8]),
    mode: InstallMode,
) -> Result<Installed, StoreError> {
    let images = mode.images;
    let got: [u8; 32] = Sha256::digest(bytes).into();
    if mode.verify_checksum && got.as_slice() != sha256 {
        return Err(StoreError::Corrupt("snapshot checksum mismatch: refused".into()));
    }
    let mut image = bytes.to_vec();
    as_rollback_journal(&mut image);
    let mut mem = Connection::open_in_memory()?;
    let len = image.len();
    mem.deserialize_read_exact(MAIN_DB, std::io::Cursor::new(image), len, false)
        .map_err(|e| StoreError::Corrupt(format!("snapshot does not open as a database: {e}")))?;
    let check: String = mem
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| StoreError::Corrupt(format!("snapshot failed its integrity check: {e}")))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!("snapshot failed its integrity check: {check}")));
    }
    let marmot: i64 = mem.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('__marmot_log', '__marmot_progress', '__marmot_applied')",
        [],
        |r| r.get(0),
    )?;
    if marmot != 3 {
        return Err(StoreError::Corrupt("snapshot is not a marmot database".into()));
    }
    mem.execute_batch(super::schema::DATABASE_TABLES)?;
    let head = log_head(target)?;
    let donor_head = log_head(&mem)?;
    // The log floor is this node's, like its log: not the donor's.
    let own_floor: Option<u64> =
        target.query_row("SELECT seq FROM __marmot_log_floor WHERE id = 0", [], |r| r.get(0)).optional()?;
    let own: Vec<(u64, Vec<u8>, Vec<u8>)> = {
        let mut st = target.prepare("SELECT seq, txn_id, payload FROM __marmot_log ORDER BY seq")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    {
        let tx = mem.transaction()?;
        tx.execute("DELETE FROM __marmot_log", [])?;
        tx.execute("DELETE FROM __marmot_log_floor", [])?;
        if let Some(floor) = own_floor {
            tx.execute("INSERT INTO __marmot_log_floor (id, seq) VALUES (0, ?1)", [floor])?;
        }
        for (seq, id, payload) in &own {
            tx.execute(
                "INSERT INTO __marmot_log (seq, txn_id, payload) VALUES (?1, ?2, ?3)",
                rusqlite::params![seq, id, payload],
            )?;
            let txn: marmot_core::Txn = super::codec::from_blob(payload, "log entry")?;
            match super::apply::apply_unlogged(&tx, database, &txn, images) {
                Ok(_) => {}
                Err(StoreError::SchemaBehind { .. }) => {
                    tracing::warn!(
                        database,
                        "a logged change is newer than the snapshot's schema; it returns by catch-up"
                    )
                }
                Err(e) => return Err(e),
            }
        }
        tx.execute("DELETE FROM __marmot_progress WHERE peer = ?1", [me])?;
        tx.execute("INSERT OR REPLACE INTO __marmot_progress (peer, seq) VALUES (?1, ?2)", [donor, donor_head])?;
        tx.commit()?;
    }
    let mut progress = BTreeMap::new();
    {
        let mut st = mem.prepare("SELECT peer, seq FROM __marmot_progress ORDER BY peer")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            progress.insert(r.get(0)?, r.get(1)?);
        }
    }
    if !images {
        for t in super::schema::user_tables(&mem)? {
            mem.execute_batch(&format!("DELETE FROM {}", super::codec::ident(&t.name)))?;
        }
    }
    copy_all(&mem, target)?;
    Ok(Installed { head, progress })
}
