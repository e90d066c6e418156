//! A model of the store contract in `marmot_core::io` (what `StoreWrite` and `StoreRead`
//! promise), in memory, so protocol tests can run whole clusters of real `Node`s in a
//! few milliseconds. The SQLite store that keeps the same contract in production runs in
//! the simulator (`shell-sim`); this one exists so the core's rules are tested one by
//! one, fast enough for a mutation tool to run them after every injected bug.

use std::collections::{BTreeMap, BTreeSet};

use marmot_core::io::{ReadOutcome, RecoveredTxnState, StoreOutcome};
use marmot_core::lww::{read_is_stale, should_apply};
use marmot_core::membership::MemberDigest;
use marmot_core::message::LogEntry;
use marmot_core::{Hlc, NodeId, RecoveredState, Row, RowKey, StoreRead, StoreWrite, Txn, TxnId, Version};
use serde::{Deserialize, Serialize};

/// A row's identity across databases: (database, table, key).
pub type RowId = (String, String, RowKey);

/// One node's durable state.
#[derive(Clone, Debug, Default)]
pub struct Store {
    /// Every row ever written: its version and image (`None`: deleted).
    pub rows: BTreeMap<RowId, (Version, Option<Row>)>,
    /// The local replication log per database.
    pub logs: BTreeMap<String, Vec<LogEntry>>,
    /// Log heads (sequence numbers are never reused, even after a trim).
    pub heads: BTreeMap<String, u64>,
    /// Transactions applied per database (each exactly once).
    pub applied: BTreeSet<(String, TxnId)>,
    /// Prepared or committing transaction records.
    pub txns: BTreeMap<TxnId, (Txn, RecoveredTxnState)>,
    /// Decided transactions.
    pub decided: BTreeMap<TxnId, bool>,
    /// Transactions refused here (never to be staged).
    pub refused: BTreeSet<TxnId>,
    /// Votes promised to recovery.
    pub promised: BTreeSet<TxnId>,
    /// Position consumed in each peer's log.
    pub progress: BTreeMap<(NodeId, String), u64>,
    /// Schema version per database: how many schema changes it has applied.
    pub schemas: BTreeMap<String, u64>,
    /// Persisted membership.
    pub membership: Option<(u64, Vec<MemberDigest>)>,
    /// Snapshots taken here, by id.
    snapshots: BTreeMap<u64, Vec<u8>>,
}

/// The image a snapshot carries: one database's rows, what was applied to it, and the
/// positions it stands at in every log (the donor's own log included).
#[derive(Serialize, Deserialize)]
struct Image {
    rows: Vec<(RowId, (Version, Option<Row>))>,
    applied: Vec<TxnId>,
    positions: BTreeMap<NodeId, u64>,
}

/// Stand-in for SHA-256 (the core only carries it): FNV-1a.
pub fn checksum(bytes: &[u8]) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h.to_be_bytes().to_vec()
}

impl Store {
    /// What a node finds when it starts on this store.
    pub fn recover(&self) -> RecoveredState {
        let max_hlc = self.rows.values().map(|(v, _)| v.0).chain(self.txns.keys().copied()).max().unwrap_or_default();
        let (incarnation, members) = self.membership.clone().unwrap_or_default();
        RecoveredState {
            incarnation,
            members,
            txns: self.txns.values().cloned().collect(),
            decided: self.decided.iter().map(|(k, v)| (*k, *v)).collect(),
            refused: self.refused.iter().copied().collect(),
            promised: self.promised.iter().copied().collect(),
            heads: self.heads.clone(),
            schemas: self.schemas.clone(),
            progress: self.progress.clone(),
            max_hlc,
        }
    }

    /// The rows of `database` that exist: (table, key) -> image.
    pub fn table_rows(&self, database: &str) -> BTreeMap<(String, RowKey), Row> {
        self.rows
            .iter()
            .filter(|((db, _, _), _)| db == database)
            .filter_map(|((_, t, k), (_, row))| row.clone().map(|r| ((t.clone(), k.clone()), r)))
            .collect()
    }

    /// Applies `txn`'s rows of `database` by LWW and appends them to the local log, once.
    fn apply(&mut self, txn: &Txn, database: &str) -> bool {
        if !self.applied.insert((database.to_string(), txn.id)) {
            return false;
        }
        let rows: Vec<_> = txn.rows.iter().filter(|r| r.database == database).cloned().collect();
        for r in &rows {
            let id = (r.database.clone(), r.table.clone(), r.key.clone());
            if should_apply(self.rows.get(&id).map(|(v, _)| *v), Version(txn.id)) {
                self.rows.insert(id, (Version(txn.id), r.after.clone()));
            }
        }
        if rows.iter().any(|r| r.is_schema_change()) {
            *self.schemas.entry(database.to_string()).or_default() += 1;
        }
        let head = self.heads.entry(database.to_string()).or_default();
        *head += 1;
        let entry = LogEntry { seq: *head, txn: Txn { rows: rows.into(), ..txn.clone() } };
        self.logs.entry(database.to_string()).or_default().push(entry);
        true
    }

    fn schemas_of(&self, databases: &[String]) -> BTreeMap<String, u64> {
        databases.iter().map(|d| (d.clone(), self.schemas.get(d).copied().unwrap_or(0))).collect()
    }

    fn heads_of(&self, databases: &[String]) -> BTreeMap<String, u64> {
        databases.iter().map(|d| (d.clone(), self.heads.get(d).copied().unwrap_or(0))).collect()
    }

    /// Performs a durable write.
    pub fn write(&mut self, write: StoreWrite) -> Result<StoreOutcome, String> {
        let mut outcome = StoreOutcome::default();
        match write {
            StoreWrite::Prepare { txn } => {
                for db in txn.databases() {
                    let captured = txn.rows.iter().filter(|r| r.database == db).map(|r| r.schema_version).min();
                    let here = self.schemas.get(&db).copied().unwrap_or(0);
                    if here > captured.unwrap_or(0) {
                        outcome.schema_conflict = true;
                        return Ok(outcome);
                    }
                    if here < captured.unwrap_or(0) {
                        return Err(format!("schema of {db} is behind here"));
                    }
                }
                if txn.first_committer_wins {
                    outcome.row_conflict = txn.rows.iter().any(|r| {
                        let id = (r.database.clone(), r.table.clone(), r.key.clone());
                        read_is_stale(self.rows.get(&id).map(|(v, _)| *v), r.read_version, Version(txn.id))
                    });
                }
                if !outcome.row_conflict {
                    self.txns.insert(txn.id, (txn, RecoveredTxnState::Prepared));
                }
            }
            StoreWrite::Commit { txn } => {
                self.txns.remove(&txn.id);
                self.decided.insert(txn.id, true);
                let dbs = txn.databases();
                for db in &dbs {
                    self.apply(&txn, db);
                }
                outcome.heads = self.heads_of(&dbs);
                outcome.schemas = self.schemas_of(&dbs);
            }
            StoreWrite::Abort { txn_id } => {
                self.txns.remove(&txn_id);
                self.refused.remove(&txn_id);
                if self.decided.get(&txn_id) != Some(&true) {
                    self.decided.insert(txn_id, false);
                }
            }
            StoreWrite::Refuse { txn_id } => {
                if !self.txns.contains_key(&txn_id) && !self.decided.contains_key(&txn_id) {
                    self.refused.insert(txn_id);
                }
            }
            StoreWrite::Promise { txn_id } => {
                if !self.txns.contains_key(&txn_id) && !self.decided.contains_key(&txn_id) {
                    self.refused.insert(txn_id);
                }
                self.promised.insert(txn_id);
            }
            StoreWrite::ApplyLog { peer, database, entries } => {
                for e in &entries {
                    self.apply(&e.txn, &database);
                    self.decided.insert(e.txn.id, true);
                    let pos = self.progress.entry((peer, database.clone())).or_default();
                    *pos = (*pos).max(e.seq);
                }
                outcome.heads = self.heads_of(std::slice::from_ref(&database));
                outcome.schemas = self.schemas_of(std::slice::from_ref(&database));
            }
            StoreWrite::InstallSnapshot { database, me, donor: _, bytes, sha256 } => {
                if checksum(&bytes) != sha256 {
                    return Err("snapshot checksum mismatch".into());
                }
                let image: Image = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                self.rows.retain(|(db, _, _), _| *db != database);
                self.rows.extend(image.rows);
                self.applied.retain(|(db, _)| *db != database);
                self.applied.extend(image.applied.into_iter().map(|id| (database.clone(), id)));
                for (peer, pos) in &image.positions {
                    if *peer != me {
                        self.progress.insert((*peer, database.clone()), *pos);
                    }
                }
                outcome.positions = image.positions;
                outcome.positions.remove(&me);
                outcome.heads = self.heads_of(std::slice::from_ref(&database));
            }
            StoreWrite::TrimLog { database, upto, keep_from, force_before } => {
                let log = self.logs.entry(database).or_default();
                let newest = log.last().map(|e| e.seq);
                let before = log.len();
                log.retain(|e| {
                    let old = e.seq <= upto && e.txn.id < keep_from;
                    let expired = force_before.is_some_and(|f| e.txn.id < f);
                    Some(e.seq) == newest || !(old || expired)
                });
                outcome.trimmed = (before - log.len()) as u64;
            }
            StoreWrite::RaiseLogFloor { database, floor } => {
                let head = self.heads.entry(database.clone()).or_default();
                if *head < floor {
                    let log = self.logs.entry(database.clone()).or_default();
                    let mut seq = floor;
                    for e in log.iter_mut().filter(|e| e.seq > 0) {
                        seq += 1;
                        e.seq = seq;
                    }
                    *head = seq;
                }
                outcome.heads = self.heads_of(&[database]);
            }
            StoreWrite::Membership { incarnation, members } => self.membership = Some((incarnation, members)),
        }
        Ok(outcome)
    }

    /// Performs a read.
    pub fn read(&mut self, read: StoreRead, me: NodeId) -> Result<ReadOutcome, String> {
        match read {
            StoreRead::LogRange { database, after, limit } => {
                let entries: Vec<LogEntry> = self
                    .logs
                    .get(&database)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.seq > after)
                    .take(limit as usize)
                    .cloned()
                    .collect();
                let head = self.heads.get(&database).copied().unwrap_or(0);
                Ok(ReadOutcome::Log { entries, head })
            }
            StoreRead::SnapshotBytes { database, snapshot, offset, limit } => {
                let id = if snapshot == 0 {
                    let mut positions: BTreeMap<NodeId, u64> = self
                        .progress
                        .iter()
                        .filter(|((_, db), _)| *db == database)
                        .map(|((peer, _), pos)| (*peer, *pos))
                        .collect();
                    positions.insert(me, self.heads.get(&database).copied().unwrap_or(0));
                    let image = Image {
                        rows: self
                            .rows
                            .iter()
                            .filter(|((db, _, _), _)| *db == database)
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        applied: self.applied.iter().filter(|(db, _)| *db == database).map(|(_, id)| *id).collect(),
                        positions,
                    };
                    let id = self.snapshots.len() as u64 + 1;
                    self.snapshots.insert(id, serde_json::to_vec(&image).expect("an image encodes"));
                    id
                } else {
                    snapshot
                };
                let bytes = self.snapshots.get(&id).ok_or_else(|| format!("no snapshot {id}"))?;
                let start = (offset as usize).min(bytes.len());
                let end = (start + limit as usize).min(bytes.len());
                Ok(ReadOutcome::Snapshot {
                    snapshot: id,
                    total: bytes.len() as u64,
                    sha256: checksum(bytes),
                    data: bytes[start..end].to_vec(),
                })
            }
        }
    }

    /// The newest HLC this store has seen (for checks on clocks).
    pub fn newest_version(&self) -> Hlc {
        self.rows.values().map(|(v, _)| v.0).max().unwrap_or_default()
    }
}
