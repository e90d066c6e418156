//! # marmot-store
//!
//! The SQLite store: one file per database (WAL mode) plus the system database
//! `__marmot_system`, or the same layout in process memory for the simulator.
//!
//! It does exactly what an effect says — no protocol decisions. Both hosts (the production
//! `marmot` binary and the turmoil simulator) execute [`StoreWrite`]s and [`StoreRead`]s
//! through this code and the [`driver`], which is why they live in a crate of their own:
//! the simulator links neither the MySQL front end nor gRPC, and production never links
//! the simulator.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod apply;
pub mod capture;
pub mod checksum;
pub mod codec;
mod connection;
pub mod ddl;
pub mod driver;
pub mod guard;
pub mod host;
pub mod replay;
pub mod schema;
pub mod simclock;
pub mod snapshot;
mod statements;
mod transactions;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use marmot_core::io::{ReadOutcome, RecoveredTxnState, StoreOutcome};
use marmot_core::membership::MemberDigest;
use marmot_core::message::LogEntry;
use marmot_core::{Hlc, NodeId, RecoveredState, StoreRead, StoreWrite, Txn, TxnId};
use rusqlite::{params, Connection, OptionalExtension};

use apply::log_head;
use capture::Capturer;
use codec::{from_blob, from_txn_record, to_blob, txn_id_bytes, txn_id_from_bytes, txn_record};
pub use connection::open_connection;
use connection::{db_uri, fnv, open_conn};
use transactions::{begin_open, commit_open, release_txn, rolled_back, run_cached, write_max_hlc, WriteTxn};

/// The user databases as clients see them: read by the MySQL front end without a trip to
/// the engine thread, written only by the store.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Every database the store holds.
    open: BTreeSet<String>,
    /// Those dropped with DROP DATABASE: hidden from clients, their files kept (emptied) so
    /// their logs and positions go on.
    dropped: BTreeSet<String>,
}

impl Catalog {
    /// The databases clients see, sorted.
    pub fn visible(&self) -> Vec<String> {
        self.open.difference(&self.dropped).filter(|d| !d.starts_with(schema::INTERNAL_PREFIX)).cloned().collect()
    }

    /// Whether `db` exists as a dropped database.
    pub fn is_dropped(&self, db: &str) -> bool {
        self.dropped.contains(db)
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored bytes could not be decoded.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// A table a change refers to does not exist here.
    #[error("no such table: {0}")]
    NoSuchTable(String),
    /// A database name that cannot be a file name.
    #[error("invalid database name {0:?}: use letters, digits and underscores")]
    BadName(String),
    /// File system trouble.
    #[error("io: {0}")]
    Io(String),
    /// A transaction would pass `[transaction] max_transaction_rows` or
    /// `max_transaction_bytes` (the message names which).
    #[error("{0}")]
    TooLarge(String),
    /// A change was captured against a schema this node has not reached yet.
    #[error("schema of {database} is behind here (version {here}, change needs {needed}): catching up first")]
    SchemaBehind {
        /// The database.
        database: String,
        /// Its schema version here.
        here: u64,
        /// The version the change was captured against.
        needed: u64,
    },
}

/// Where the store keeps its databases.
#[derive(Clone, Debug)]
pub enum Location {
    /// Files in a directory (production).
    Dir(PathBuf),
    /// Named in-memory databases under a namespace (simulation): SQLite's `memdb` VFS
    /// with the simulated clock of [`simclock`]. They live as long as the [`Store`]
    /// holding their connections.
    Memory(String),
}

/// Rows past which a write is applied outside the group commit (see [`Store::write`]).
const BIG_WRITE_ROWS: usize = 1000;

/// Name of the system database.
pub const SYSTEM_DB: &str = "__marmot_system";

/// SQLite durability setting for production files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous = NORMAL` (WAL: durable at checkpoint, safe against corruption).
    Normal,
    /// `synchronous = FULL` (fsync every commit).
    Full,
}

/// One database file: its only writing connection, and that connection's capture state.
struct Db {
    writer: Connection,
    capturer: Capturer,
}

/// Sets up every writer connection before use (SQL functions that client statements and
/// their triggers call); run once per connection.
pub type ConnSetup = Arc<dyn Fn(&Connection) -> rusqlite::Result<()> + Send + Sync>;

/// How the writers run client statements (see [`Store::set_writer_setup`]).
#[derive(Clone, Default)]
pub struct WriterSetup {
    /// Functions to register on each writer.
    pub setup: Option<ConnSetup>,
    /// MySQL `AUTO_INCREMENT` semantics through `marmot_next_id()` (which `setup` must
    /// register).
    pub generated_ids: bool,
}

/// The node's storage.
pub struct Store {
    loc: Location,
    sync: Synchronous,
    seed: Option<u64>,
    system: Connection,
    dbs: BTreeMap<String, Db>,
    /// Snapshots being served to peers, by id (the newest few).
    served: BTreeMap<u64, snapshot::Snapshot>,
    next_snapshot: u64,
    /// The databases as clients see them (shared with the MySQL front end).
    catalog: Arc<Mutex<Catalog>>,
    /// How writers run client statements.
    writer_setup: WriterSetup,
    /// The open group commit, if any (see [`Store::begin_batch`]).
    batch: Option<Batch>,
    /// A promise broken (see [`Store::fatal`]).
    fatal: Option<String>,
    /// The highest HLC stored, and whether the batch must still write it.
    max_hlc: (Hlc, bool),
    /// Transactions whose rows became durable in the last group commit: released in the
    /// next one's system transaction (after their rows, and without a commit of its own).
    release_next: Vec<Vec<u8>>,
    /// A sentinel's store: versions without row contents (see [`Store::set_sentinel`]).
    sentinel: bool,
    /// Compare snapshot images with their SHA-256 before installing (see
    /// [`Store::skip_snapshot_checksums`]).
    verify_snapshot_checksums: bool,
}

/// A group commit in progress.
#[derive(Default)]
struct Batch {
    /// Transactions committed in this batch whose payload and intents may go only once
    /// their rows are durable in every database.
    cleanups: Vec<Vec<u8>>,
}

/// Snapshots kept for peers still fetching them.
const SERVED_SNAPSHOTS: usize = 8;

/// Whether `name` may name a database (refused names get [`StoreError::BadName`]).
pub fn valid_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__marmot");
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(name.to_string()))
    }
}

impl Store {
    /// Open (creating if needed) a store. `seed` makes SQLite's `random()` deterministic.
    pub fn open(loc: Location, sync: Synchronous, seed: Option<u64>) -> Result<Self, StoreError> {
        if let Location::Dir(dir) = &loc {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(format!("creating {}: {e}", dir.display())))?;
        }
        let system = open_conn(&loc, sync, SYSTEM_DB)?;
        system.execute_batch(schema::SYSTEM_TABLES)?;
        let mut store = Self {
            loc,
            sync,
            seed,
            system,
            dbs: BTreeMap::new(),
            served: BTreeMap::new(),
            next_snapshot: 1,
            catalog: Arc::default(),
            writer_setup: WriterSetup::default(),
            batch: None,
            fatal: None,
            max_hlc: (Hlc::default(), false),
            release_next: Vec::new(),
            sentinel: false,
            verify_snapshot_checksums: true,
        };
        if let Some(b) = store.meta("max_hlc")? {
            store.max_hlc.0 = from_blob::<Hlc>(&b, "max_hlc")?;
        }
        let names: Vec<String> = {
            let mut s = store.system.prepare("SELECT name FROM databases ORDER BY name")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            v
        };
        for n in names {
            store.ensure_database(&n)?;
        }
        Ok(store)
    }

    /// Where this store lives.
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// The node id: the configured one, or (configured 0) the one generated on first
    /// start and kept since; `generate` is called only when none is stored.
    pub fn node_identity(
        &mut self,
        configured: NodeId,
        generate: impl FnOnce() -> NodeId,
    ) -> Result<NodeId, StoreError> {
        if configured != 0 {
            self.set_meta("node_id", &configured.to_be_bytes())?;
            return Ok(configured);
        }
        if let Some(b) = self.meta("node_id")? {
            let arr: [u8; 8] = b.as_slice().try_into().map_err(|_| StoreError::Corrupt("node_id".into()))?;
            return Ok(u64::from_be_bytes(arr));
        }
        let id = generate().max(1);
        self.set_meta("node_id", &id.to_be_bytes())?;
        Ok(id)
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.system.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.system.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, value])?;
        Ok(())
    }

    /// The system database connection (for checks and diagnostics).
    pub fn system_conn(&self) -> &Connection {
        &self.system
    }

    /// Create a database (file and marmot tables) if it does not exist yet.
    pub fn ensure_database(&mut self, name: &str) -> Result<(), StoreError> {
        if self.dbs.contains_key(name) {
            return Ok(());
        }
        valid_name(name)?;
        let writer = open_conn(&self.loc, self.sync, name)?;
        writer.execute_batch(schema::DATABASE_TABLES)?;
        let capturer = self.set_up_writer(&writer, name)?;
        self.system.execute("INSERT OR IGNORE INTO databases (name) VALUES (?1)", [name])?;
        self.dbs.insert(name.to_string(), Db { writer, capturer });
        self.catalog.lock().unwrap_or_else(|p| p.into_inner()).open.insert(name.to_string());
        self.refresh_dropped(name)
    }

    /// The databases as clients see them, kept current as databases open and schema
    /// changes apply.
    pub fn catalog(&self) -> Arc<Mutex<Catalog>> {
        self.catalog.clone()
    }

    /// Re-read whether `db` carries the dropped marker.
    fn refresh_dropped(&self, db: &str) -> Result<(), StoreError> {
        let Some(d) = self.dbs.get(db) else { return Ok(()) };
        let dropped = ddl::is_dropped(&d.writer)?;
        let mut catalog = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        let set = &mut catalog.dropped;
        if dropped {
            set.insert(db.to_string());
        } else {
            set.remove(db);
        }
        Ok(())
    }

    /// Names of all databases, sorted.
    pub fn databases(&self) -> Vec<String> {
        self.dbs.keys().cloned().collect()
    }

    /// The writer connection of a database (schema setup, reads, checks).
    pub fn conn(&mut self, name: &str) -> Result<&Connection, StoreError> {
        self.ensure_database(name)?;
        Ok(&self.dbs[name].writer)
    }

    /// Make this the store of a sentinel (`[cluster] sentinel`): replicated changes record
    /// row versions, markers and the log but no row contents, and no snapshot is served.
    pub fn set_sentinel(&mut self, sentinel: bool) {
        self.sentinel = sentinel;
    }

    /// Install snapshots without comparing them with their SHA-256. Only for the
    /// simulator's control run, which must show that its data checks catch the corrupt
    /// snapshots the checksum keeps out; nothing in production calls it.
    pub fn skip_snapshot_checksums(&mut self) {
        self.verify_snapshot_checksums = false;
    }

    /// A consistent snapshot of database `db`.
    pub fn snapshot(&mut self, db: &str) -> Result<snapshot::Snapshot, StoreError> {
        if self.sentinel {
            return Err(StoreError::Io(format!("{db}: a sentinel holds no table data to take a snapshot of")));
        }
        let conn = self.conn(db)?;
        snapshot::take(conn)
    }

    /// Verify and install a snapshot of `db` taken by `donor`, as node `me`.
    pub fn install_snapshot(
        &mut self,
        db: &str,
        me: NodeId,
        donor: NodeId,
        bytes: &[u8],
        sha256: &[u8],
    ) -> Result<snapshot::Installed, StoreError> {
        self.ensure_database(db)?;
        let target = &mut self.dbs.get_mut(db).expect("ensured").writer;
        let mode = snapshot::InstallMode { images: !self.sentinel, verify_checksum: self.verify_snapshot_checksums };
        let installed = snapshot::install(target, db, me, donor, (bytes, sha256), mode);
        schema::forget_table_shapes();
        let installed = installed?;
        self.refresh_dropped(db)?;
        Ok(installed)
    }

    /// Start a group commit. Until [`Store::commit_batch`], writes join one SQLite
    /// transaction per file, each write in a savepoint of its own (a failed write still
    /// leaves nothing behind).
    ///
    /// The caller must let nothing that a write enabled — a reply, an acknowledgement —
    /// leave the process before `commit_batch` has returned `Ok`: until then the writes
    /// are not durable, though their completions have been handed out.
    pub fn begin_batch(&mut self) {
        self.batch.get_or_insert_with(Batch::default);
    }

    /// Commit the open group commit, if any: the system database first (decisions before
    /// the rows they commit), then each database. The clean-up of the transactions it
    /// committed (which must never be durable before their rows) joins the next group
    /// commit's system transaction. On error the node must stop: what was handed out as
    /// durable may not be; recovery sorts it out.
    pub fn commit_batch(&mut self) -> Result<(), StoreError> {
        let Some(batch) = self.batch.take() else { return Ok(()) };
        if !self.release_next.is_empty() {
            begin_open(&self.system)?;
            for id in std::mem::take(&mut self.release_next) {
                release_txn(&self.system, &id)?;
            }
        }
        if self.max_hlc.1 {
            begin_open(&self.system)?;
            write_max_hlc(&self.system, self.max_hlc.0)?;
            self.max_hlc.1 = false;
        }
        let mut result = commit_open(&self.system);
        for d in self.dbs.values() {
            if result.is_ok() {
                result = commit_open(&d.writer);
            } else if !d.writer.is_autocommit() {
                let _ = d.writer.execute_batch("ROLLBACK");
            }
        }
        result?;
        self.release_next = batch.cleanups;
        Ok(())
    }

    /// Raise the stored highest HLC (the clock's floor after a restart) to `id`: at once,
    /// or in a group commit once, with the batch's system transaction.
    fn bump_max_hlc(&mut self, id: Hlc) -> Result<(), StoreError> {
        if id <= self.max_hlc.0 {
            return Ok(());
        }
        self.max_hlc = (id, true);
        if self.batch.is_none() {
            write_max_hlc(&self.system, id)?;
            self.max_hlc.1 = false;
        }
        Ok(())
    }

    /// Perform a durable write (or, in a group commit, add it to the batch).
    pub fn write(&mut self, w: &StoreWrite) -> Result<StoreOutcome, StoreError> {
        let dbs: BTreeSet<String> = match w {
            StoreWrite::Commit { txn } => txn.databases().into_iter().collect(),
            StoreWrite::ApplyLog { database, .. }
            | StoreWrite::TrimLog { database, .. }
            | StoreWrite::RaiseLogFloor { database, .. }
            | StoreWrite::InstallSnapshot { database, .. } => BTreeSet::from([database.clone()]),
            // The system database only: no session writes it.
            StoreWrite::Prepare { .. }
            | StoreWrite::Abort { .. }
            | StoreWrite::Refuse { .. }
            | StoreWrite::Promise { .. }
            | StoreWrite::Membership { .. } => BTreeSet::new(),
        };
        if matches!(w, StoreWrite::InstallSnapshot { .. }) {
            // Replaces the whole file: never inside a batch.
            self.commit_batch()?;
        }
        // A big transaction applies in a transaction of its own, the batch committed
        // before it and resumed after: nested in the batch's transaction (a savepoint),
        // each of its row writes made SQLite walk the savepoint's whole in-memory
        // statement journal, so applying it cost time quadratic in its size.
        let rows = match w {
            StoreWrite::Commit { txn } => txn.rows.len(),
            StoreWrite::ApplyLog { entries, .. } => entries.iter().map(|e| e.txn.rows.len()).sum(),
            _ => 0,
        };
        let resume_batch = rows > BIG_WRITE_ROWS && self.batch.is_some();
        if resume_batch {
            self.commit_batch()?;
        }
        let schema_changes: Vec<&str> = match w {
            StoreWrite::Commit { txn } => {
                txn.rows.iter().filter(|r| r.is_schema_change()).map(|r| r.database.as_str()).collect()
            }
            StoreWrite::ApplyLog { database, entries, .. }
                if entries.iter().any(|e| e.txn.rows.iter().any(|r| r.is_schema_change())) =>
            {
                vec![database.as_str()]
            }
            StoreWrite::InstallSnapshot { database, .. } => vec![database.as_str()],
            _ => Vec::new(),
        };
        for db in schema_changes {
            if let Some(d) = self.dbs.get_mut(db) {
                d.capturer.drop_triggers(&d.writer)?;
            }
        }
        self.enter(&dbs)?;
        let mut outcome = self.write_inner(w)?;
        for db in outcome.heads.keys() {
            outcome.schemas.insert(db.clone(), self.schema_version(db)?);
        }
        if resume_batch {
            self.begin_batch();
        }
        Ok(outcome)
    }

    fn write_inner(&mut self, w: &StoreWrite) -> Result<StoreOutcome, StoreError> {
        match w {
            StoreWrite::Prepare { txn } => self.prepare(txn),
            StoreWrite::Commit { txn } => self.commit(txn),
            StoreWrite::Abort { txn_id } => self.abort(*txn_id),
            StoreWrite::Refuse { txn_id } => self.refuse(*txn_id),
            StoreWrite::Promise { txn_id } => self.promise(*txn_id),
            StoreWrite::ApplyLog { peer, database, entries } => self.apply_log(*peer, database, entries),
            StoreWrite::Membership { incarnation, members } => self.save_membership(*incarnation, members),
            StoreWrite::RaiseLogFloor { database, floor } => {
                let Some(db) = self.dbs.get(database.as_str()) else { return Ok(StoreOutcome::default()) };
                let head = apply::raise_log_floor(&db.writer, *floor)?;
                Ok(StoreOutcome { heads: BTreeMap::from([(database.clone(), head)]), ..Default::default() })
            }
            StoreWrite::TrimLog { database, upto, keep_from, force_before } => {
                let Some(db) = self.dbs.get(database.as_str()) else { return Ok(StoreOutcome::default()) };
                let trimmed = apply::trim_log(&db.writer, *upto, *keep_from, *force_before)?;
                Ok(StoreOutcome { trimmed, ..Default::default() })
            }
            StoreWrite::InstallSnapshot { database, me, donor, bytes, sha256 } => {
                let installed = self.install_snapshot(database, *me, *donor, bytes, sha256)?;
                Ok(StoreOutcome {
                    heads: BTreeMap::from([(database.clone(), installed.head)]),
                    positions: installed.progress,
                    ..Default::default()
                })
            }
        }
    }

    /// In a batch, open the batch's transaction on the system database and on each
    /// file of `dbs` (once).
    fn enter(&mut self, dbs: &BTreeSet<String>) -> Result<(), StoreError> {
        if self.batch.is_none() {
            return Ok(());
        }
        begin_open(&self.system)?;
        for db in dbs {
            if let Some(d) = self.dbs.get(db) {
                begin_open(&d.writer)?;
            }
        }
        Ok(())
    }

    /// Bytes of a snapshot served to a peer (`snapshot` 0: take a new one).
    fn snapshot_bytes(&mut self, db: &str, snapshot: u64, offset: u64, limit: u32) -> Result<ReadOutcome, StoreError> {
        let id = if snapshot == 0 {
            if !self.dbs.contains_key(db) {
                return Err(StoreError::Io(format!("no database {db} here to snapshot")));
            }
            let snap = self.snapshot(db)?;
            let id = self.next_snapshot;
            self.next_snapshot += 1;
            self.served.insert(id, snap);
            while self.served.len() > SERVED_SNAPSHOTS {
                self.served.pop_first();
            }
            id
        } else {
            snapshot
        };
        let snap = self.served.get(&id).ok_or_else(|| StoreError::Io(format!("snapshot {id} is no longer kept")))?;
        let start = (offset as usize).min(snap.bytes.len());
        let end = (start + limit as usize).min(snap.bytes.len());
        Ok(ReadOutcome::Snapshot {
            snapshot: id,
            total: snap.bytes.len() as u64,
            sha256: snap.sha256.to_vec(),
            data: snap.bytes[start..end].to_vec(),
        })
    }

    /// Perform a read.
    pub fn read(&mut self, r: &StoreRead) -> Result<ReadOutcome, StoreError> {
        match r {
            StoreRead::LogRange { database, after, limit } => {
                self.ensure_database(database)?;
                let conn = &self.dbs[database].writer;
                let entries = apply::read_log(conn, *after, u64::from(*limit))?;
                let head = log_head(conn)?;
                Ok(ReadOutcome::Log { entries, head })
            }
            StoreRead::SnapshotBytes { database, snapshot, offset, limit } => {
                // A snapshot shows committed state only.
                self.commit_batch()?;
                self.snapshot_bytes(database, *snapshot, *offset, *limit)
            }
        }
    }

    /// The schema version of `db` (0 for a database this node does not have yet).
    pub fn schema_version(&self, db: &str) -> Result<u64, StoreError> {
        match self.dbs.get(db) {
            Some(d) => Ok(schema::version(&d.writer)?),
            None => Ok(0),
        }
    }

    fn prepare(&mut self, txn: &Txn) -> Result<StoreOutcome, StoreError> {
        // Captured against another schema than this node's? Newer here: a schema change
        // committed since the capture — conflict. Older here: this node must catch up first.
        for db in txn.databases() {
            let captured = txn.rows.iter().filter(|r| r.database == db).map(|r| r.schema_version).min().unwrap_or(0);
            let here = self.schema_version(&db)?;
            if here > captured {
                return Ok(StoreOutcome { schema_conflict: true, ..Default::default() });
            }
            if here < captured {
                return Err(StoreError::SchemaBehind { database: db, here, needed: captured });
            }
            if txn.first_committer_wins {
                if let Some(d) = self.dbs.get(&db) {
                    if apply::has_stale_read(&d.writer, &db, txn)? {
                        return Ok(StoreOutcome { row_conflict: true, ..Default::default() });
                    }
                }
            }
        }
        let tx = self.system.write_txn()?;
        let id = txn_id_bytes(txn.id);
        tx.prepare_cached("INSERT OR REPLACE INTO txns (id, state, payload) VALUES (?1, 'PREPARED', ?2)")?
            .execute(params![id, txn_record(txn)])?;
        // No rows of its own for the write intents: the core rebuilds them from the
        // prepared records at recovery.
        tx.commit()?;
        self.bump_max_hlc(txn.id)?;
        Ok(StoreOutcome::default())
    }

    fn commit(&mut self, txn: &Txn) -> Result<StoreOutcome, StoreError> {
        let id = txn_id_bytes(txn.id);
        // 1. The decision, durable before any database sees the rows.
        {
            let tx = self.system.write_txn()?;
            // A transaction prepared here keeps the payload its prepare record stored.
            tx.prepare_cached(
                "INSERT INTO txns (id, state, payload) VALUES (?1, 'COMMITTED', ?2)
                 ON CONFLICT (id) DO UPDATE SET state = 'COMMITTED'",
            )?
            .execute(params![id, txn_record(txn)])?;
            tx.commit()?;
            self.bump_max_hlc(txn.id)?;
        }
        // 2. Apply per database, each atomically with its marker and log entry.
        let mut heads = BTreeMap::new();
        for db in txn.databases() {
            self.ensure_database(&db)?;
            let conn = &self.dbs[&db].writer;
            let tx = conn.write_txn()?;
            apply::apply_txn(&tx, &db, txn, !self.sentinel)?;
            let head = log_head(&tx)?;
            tx.commit()?;
            if txn.rows.iter().any(|r| r.database == db && r.is_schema_change()) {
                self.refresh_dropped(&db)?;
            }
            heads.insert(db, head);
        }
        // 3. Done: drop the payload and release intents — in a batch, once it committed.
        match self.batch.as_mut() {
            Some(batch) => batch.cleanups.push(id),
            None => {
                let tx = self.system.write_txn()?;
                release_txn(&tx, &id)?;
                tx.commit()?;
            }
        }
        Ok(StoreOutcome { heads, ..Default::default() })
    }

    fn abort(&mut self, txn_id: TxnId) -> Result<StoreOutcome, StoreError> {
        let id = txn_id_bytes(txn_id);
        let tx = self.system.write_txn()?;
        let state: Option<String> =
            tx.query_row("SELECT state FROM txns WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
        if state.as_deref() != Some("COMMITTED") {
            tx.prepare_cached("INSERT OR REPLACE INTO txns (id, state, payload) VALUES (?1, 'ABORTED', NULL)")?
                .execute([&id])?;
        }
        tx.commit()?;
        Ok(StoreOutcome::default())
    }

    fn refuse(&mut self, txn_id: TxnId) -> Result<StoreOutcome, StoreError> {
        let tx = self.system.write_txn()?;
        tx.prepare_cached("INSERT OR IGNORE INTO txns (id, state, payload) VALUES (?1, 'REFUSED', NULL)")?
            .execute([txn_id_bytes(txn_id)])?;
        tx.commit()?;
        Ok(StoreOutcome::default())
    }

    fn promise(&mut self, txn_id: TxnId) -> Result<StoreOutcome, StoreError> {
        let id = txn_id_bytes(txn_id);
        let tx = self.system.write_txn()?;
        tx.prepare_cached("UPDATE txns SET state = 'PROMISED' WHERE id = ?1 AND state = 'PREPARED'")?.execute([&id])?;
        tx.prepare_cached("UPDATE txns SET state = 'FENCED' WHERE id = ?1 AND state = 'REFUSED'")?.execute([&id])?;
        tx.prepare_cached("INSERT OR IGNORE INTO txns (id, state, payload) VALUES (?1, 'FENCED', NULL)")?
            .execute([&id])?;
        tx.commit()?;
        Ok(StoreOutcome::default())
    }

    fn apply_log(&mut self, peer: NodeId, database: &str, entries: &[LogEntry]) -> Result<StoreOutcome, StoreError> {
        self.ensure_database(database)?;
        let conn = &self.dbs[database].writer;
        let tx = conn.write_txn()?;
        let mut last = None;
        for e in entries {
            apply::apply_txn(&tx, database, &e.txn, !self.sentinel)?;
            last = Some(e.seq);
        }
        if let Some(seq) = last {
            tx.prepare_cached(
                "INSERT INTO __marmot_progress (peer, seq) VALUES (?1, ?2)
                 ON CONFLICT (peer) DO UPDATE SET seq = max(seq, excluded.seq)",
            )?
            .execute(params![peer, seq])?;
        }
        let head = log_head(&tx)?;
        tx.commit()?;
        if entries.iter().any(|e| e.txn.rows.iter().any(|r| r.is_schema_change())) {
            self.refresh_dropped(database)?;
        }
        if let Some(max) = entries.iter().map(|e| e.txn.id).max() {
            self.bump_max_hlc(max)?;
        }
        Ok(StoreOutcome { heads: BTreeMap::from([(database.to_string(), head)]), ..Default::default() })
    }

    fn save_membership(&mut self, incarnation: u64, members: &[MemberDigest]) -> Result<StoreOutcome, StoreError> {
        let tx = self.system.write_txn()?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?1)",
            [incarnation.to_be_bytes().to_vec()],
        )?;
        tx.execute("DELETE FROM members", [])?;
        for m in members {
            tx.execute("INSERT INTO members (id, digest) VALUES (?1, ?2)", params![m.id, to_blob(m)])?;
        }
        tx.commit()?;
        Ok(StoreOutcome::default())
    }

    /// Everything the core needs to resume after a restart.
    pub fn recover(&mut self) -> Result<RecoveredState, StoreError> {
        let mut st = RecoveredState::default();
        if let Some(b) = self.meta("incarnation")? {
            st.incarnation =
                u64::from_be_bytes(b.as_slice().try_into().map_err(|_| StoreError::Corrupt("incarnation".into()))?);
        }
        if let Some(b) = self.meta("max_hlc")? {
            st.max_hlc = from_blob::<Hlc>(&b, "max_hlc")?;
        }
        {
            let mut s = self.system.prepare("SELECT digest FROM members ORDER BY id")?;
            let mut rows = s.query([])?;
            while let Some(r) = rows.next()? {
                let b: Vec<u8> = r.get(0)?;
                st.members.push(from_blob(&b, "member")?);
            }
        }
        {
            let mut s = self.system.prepare("SELECT id, state, payload FROM txns ORDER BY id")?;
            let mut rows = s.query([])?;
            while let Some(r) = rows.next()? {
                let id = txn_id_from_bytes(&r.get::<_, Vec<u8>>(0)?)?;
                let state: String = r.get(1)?;
                let payload: Option<Vec<u8>> = r.get(2)?;
                match (state.as_str(), payload) {
                    ("PREPARED", Some(p)) => st.txns.push((from_txn_record(&p)?, RecoveredTxnState::Prepared)),
                    ("PROMISED", Some(p)) => {
                        st.txns.push((from_txn_record(&p)?, RecoveredTxnState::Prepared));
                        st.promised.push(id);
                    }
                    ("REFUSED", _) => st.refused.push(id),
                    ("FENCED", _) => {
                        st.refused.push(id);
                        st.promised.push(id);
                    }
                    ("COMMITTED", Some(p)) => st.txns.push((from_txn_record(&p)?, RecoveredTxnState::Committing)),
                    ("COMMITTED", None) => st.decided.push((id, true)),
                    (_, _) => st.decided.push((id, false)),
                }
            }
        }
        for (name, db) in &self.dbs {
            st.heads.insert(name.clone(), log_head(&db.writer)?);
            st.schemas.insert(name.clone(), self.schema_version(name)?);
            let mut s = db.writer.prepare("SELECT peer, seq FROM __marmot_progress ORDER BY peer")?;
            let mut rows = s.query([])?;
            while let Some(r) = rows.next()? {
                st.progress.insert((r.get(0)?, name.clone()), r.get(1)?);
            }
        }
        Ok(st)
    }
}
