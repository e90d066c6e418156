//! Capturing the row changes of client statements, on the database's one writer.
//!
//! Every database file has exactly one connection that writes it: the store's writer,
//! owned by the node's engine thread. Client statements run there too (between the
//! engine's group commits), each inside a savepoint that is rolled back once the
//! statement's row changes are captured: the rows then reach this node's tables (and every other
//! node's) through the same commit path. There is no second writer of the file, so no
//! lock to wait for and nothing to reconcile.
//!
//! On the writer, every user table gets TEMP triggers (per connection, invisible to other
//! programs) that record each inserted, updated or deleted row into `temp.__marmot_cap`,
//! with key and before-image encoded by the connection-local function `marmot_row(…)` —
//! exact typed values, no text round trip, no SQLite preupdate hook (which would need
//! bindgen/libclang at build time). The triggers fire only while a statement is being
//! captured (`marmot_capturing()`): the engine's own applies on the same connection stay
//! silent. `recursive_triggers` is on so rows removed by `REPLACE` conflict handling are
//! seen. Temporary storage (the capture table, savepoint journals) stays in memory.
//!
//! After the statement ran, changes are coalesced per row (first before-image, final
//! after-image read back by key), and the savepoint is rolled back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use marmot_core::types::approx_bytes;
use marmot_core::{Op, RowChange, RowKey, Value};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

use super::codec::{decode_values, encode_values, from_ref, ident, named, Bind};
use super::replay::{rows_to_write, Replay};
use super::schema::{user_tables, TableInfo};
use super::StoreError;

const CAP_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS __marmot_cap (
  seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, old_key BLOB, new_key BLOB, old_row BLOB)";

/// Stops a statement at the first captured row past its transaction's row limit, so a
/// statement far over it is not run to the end first (see `marmot_cap_check`).
const LIMIT_TRIGGER: &str = "CREATE TEMP TRIGGER IF NOT EXISTS __marmot_cap_limit BEFORE INSERT ON __marmot_cap
  WHEN marmot_cap_check() BEGIN SELECT 1; END;";

/// The error `marmot_cap_check` stops a statement with.
const OVER_LIMIT: &str = "marmot: transaction row limit reached";

/// How a client statement sees its database when it is captured
/// ([`Store::capture`](crate::Store::capture)): the default is a statement alone, outside
/// any transaction, with no limits — what the simulator and tools run.
#[derive(Clone, Copy, Debug)]
pub struct CaptureScope<'a> {
    /// The open transaction's earlier changes, written first so the statement sees them.
    pub pending: &'a [RowChange],
    /// Which of `pending` the statement can see (see [`crate::replay`]).
    pub replay: &'a Replay,
    /// Other databases the statement names, attached under their names.
    pub attach: &'a [String],
    /// How big the transaction may grow.
    pub limits: TxnLimits,
}

impl Default for CaptureScope<'_> {
    fn default() -> Self {
        CaptureScope { pending: &[], replay: &Replay::All, attach: &[], limits: TxnLimits::default() }
    }
}

/// How big one transaction's captured changes may grow (0: no limit): a statement that
/// would take its transaction past either gets [`StoreError::TooLarge`] before its
/// changes are gathered into memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnLimits {
    /// Rows changed (`[transaction] max_transaction_rows`).
    pub max_rows: usize,
    /// Bytes of keys and row images (`[transaction] max_transaction_bytes`).
    pub max_bytes: usize,
}

impl TxnLimits {
    /// The error of a transaction past `max_rows`.
    pub fn too_many_rows(&self) -> StoreError {
        StoreError::TooLarge(format!(
            "the transaction would change more than [transaction] max_transaction_rows = {} rows: split it into \
             smaller transactions, or raise the limit",
            self.max_rows
        ))
    }

    fn check_bytes(&self, bytes: usize) -> Result<(), StoreError> {
        if self.max_bytes > 0 && bytes > self.max_bytes {
            return Err(StoreError::TooLarge(format!(
                "the transaction would carry more than [transaction] max_transaction_bytes = {} bytes of rows: \
                 split it into smaller transactions, or raise the limit",
                self.max_bytes
            )));
        }
        Ok(())
    }
}

/// The capture state of one writer connection.
pub struct Capturer {
    /// `PRAGMA schema_version` the triggers were built for.
    triggers_for: Option<i64>,
    tables: BTreeMap<String, TableInfo>,
    /// Tables whose rows nothing else links (see [`super::replay`]).
    alone: BTreeSet<String>,
    zero_is_auto: bool,
    /// Rows the running statement may still capture (`None`: no limit), counted down
    /// by `marmot_cap_check` as the capture triggers record rows.
    room: Arc<Mutex<Option<usize>>>,
}

impl Capturer {
    /// Prepare `conn` for capture: register its functions and the capture table. With
    /// `seed`, `random()` and `randomblob()` become deterministic (simulation). With
    /// `generated_ids`, MySQL semantics for `AUTO_INCREMENT` keys: a row inserted into an
    /// `INTEGER PRIMARY KEY` table with the key NULL, 0 or omitted gets its id from the SQL
    /// function `marmot_next_id()` (which must be registered on `conn` before) — never from
    /// the table's current maximum, which concurrent sessions would all see alike.
    pub fn install(conn: &Connection, seed: Option<u64>, generated_ids: bool) -> Result<Self, StoreError> {
        conn.create_scalar_function(
            "marmot_row",
            -1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                let vals: Vec<Value> = (0..ctx.len()).map(|i| from_ref(ctx.get_raw(i))).collect();
                Ok(encode_values(&vals))
            },
        )?;
        // The triggers record only while client SQL runs (the same flag that arms the
        // guard, see [`super::guard::as_client`]); the engine's own applies stay silent.
        conn.create_scalar_function("marmot_capturing", 0, FunctionFlags::SQLITE_UTF8, |_| {
            Ok(super::guard::client_sql_running())
        })?;
        let room: Arc<Mutex<Option<usize>>> = Arc::default();
        let left = room.clone();
        conn.create_scalar_function("marmot_cap_check", 0, FunctionFlags::SQLITE_UTF8, move |_| {
            match left.lock().expect("capture room").as_mut() {
                Some(0) => Err(rusqlite::Error::UserFunctionError(OVER_LIMIT.into())),
                Some(n) => {
                    *n -= 1;
                    Ok(false)
                }
                None => Ok(false),
            }
        })?;
        if let Some(seed) = seed {
            let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed)));
            let r1 = rng.clone();
            conn.create_scalar_function("random", 0, FunctionFlags::SQLITE_UTF8, move |_| {
                Ok(r1.lock().expect("rng lock").next_u64() as i64)
            })?;
            conn.create_scalar_function("randomblob", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
                let n = ctx.get::<i64>(0).unwrap_or(1).clamp(1, 1 << 20) as usize;
                let mut g = rng.lock().expect("rng lock");
                Ok((0..n).map(|_| g.next_u64() as u8).collect::<Vec<u8>>())
            })?;
        }
        // Set once: changing a flag pragma expires every prepared statement of the
        // connection. It also lets the engine's REPLACE of a row image fire delete
        // triggers, which record nothing outside capture.
        conn.execute_batch("PRAGMA recursive_triggers = ON; PRAGMA temp_store = MEMORY;")?;
        conn.execute_batch(CAP_TABLE)?;
        Ok(Self {
            triggers_for: None,
            tables: BTreeMap::new(),
            alone: BTreeSet::new(),
            zero_is_auto: generated_ids,
            room,
        })
    }

    /// Drop the capture triggers (rebuilt at the next capture). Schema changes run without
    /// them: SQLite checks every trigger, TEMP ones included, against a table it alters,
    /// and a trigger naming a column being dropped would make the change fail.
    pub fn drop_triggers(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let old: Vec<String> = {
            let mut s = conn.prepare("SELECT name FROM temp.sqlite_master WHERE type = 'trigger'")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            v
        };
        for t in old {
            conn.execute_batch(&format!("DROP TRIGGER IF EXISTS temp.{}", ident(&t)))?;
        }
        self.tables.clear();
        self.alone.clear();
        self.triggers_for = None;
        Ok(())
    }

    /// Make the triggers match the current schema. Runs outside the capture savepoint, so
    /// the triggers outlive it.
    fn ensure_triggers(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let version: i64 = conn.prepare_cached("PRAGMA main.schema_version")?.query_row([], |r| r.get(0))?;
        if self.triggers_for == Some(version) {
            return Ok(());
        }
        self.drop_triggers(conn)?;
        conn.execute_batch(LIMIT_TRIGGER)?;
        let linked = super::replay::linked_tables(conn)?;
        for t in user_tables(conn)? {
            let generated = self.zero_is_auto && t.integer_pk;
            if generated {
                conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS __marmot_gen (n INTEGER)")?;
            }
            conn.execute_batch(&trigger_sql(&t, generated))?;
            if generated {
                // In a BEFORE INSERT trigger SQLite shows a key it will assign itself as -1.
                // SQLite fires TEMP triggers in an unspecified order, so the AFTER trigger
                // that moves the row to its generated id records the insert itself, and
                // the capture triggers stay silent while a generated id is pending.
                let (tbl, k) = (ident(&t.name), ident(&t.pk[0]));
                let name_lit = format!("'{}'", t.name.replace('\'', "''"));
                // MySQL generates a key for an explicit 0 only in an AUTO_INCREMENT column: a
                // plain INTEGER PRIMARY KEY stores 0. (A table created outside MySQL, with no
                // declared columns, keeps the AUTO_INCREMENT behaviour.)
                let declared: Option<String> = conn
                    .query_row(
                        "SELECT extra FROM main.__marmot_columns WHERE tbl = ?1 AND col = ?2",
                        [&t.name, &t.pk[0]],
                        |r| r.get(0),
                    )
                    .optional()?;
                let zero = if declared.is_none_or(|e| e.to_ascii_lowercase().contains("auto_increment")) {
                    format!(" OR NEW.{k} = 0")
                } else {
                    String::new()
                };
                conn.execute_batch(&format!(
                    "CREATE TEMP TRIGGER {} BEFORE INSERT ON main.{tbl}
                       WHEN marmot_capturing() AND (NEW.{k} IS NULL{zero} OR NEW.{k} = -1) BEGIN
                       DELETE FROM temp.__marmot_gen; INSERT INTO temp.__marmot_gen VALUES (NULL); END;
                     CREATE TEMP TRIGGER {} BEFORE INSERT ON main.{tbl}
                       WHEN marmot_capturing() AND NOT (NEW.{k} IS NULL{zero} OR NEW.{k} = -1) BEGIN
                       DELETE FROM temp.__marmot_gen; END;
                     CREATE TEMP TRIGGER {} AFTER INSERT ON main.{tbl}
                       WHEN marmot_capturing() AND EXISTS (SELECT 1 FROM temp.__marmot_gen) BEGIN
                       UPDATE temp.__marmot_gen SET n = marmot_next_id();
                       UPDATE main.{tbl} SET {k} = (SELECT n FROM temp.__marmot_gen) WHERE {k} = NEW.{k};
                       INSERT INTO temp.__marmot_cap (tbl, op, new_key)
                         VALUES ({name_lit}, 'I', marmot_row((SELECT n FROM temp.__marmot_gen)));
                       DELETE FROM temp.__marmot_gen; END;",
                    ident(&format!("__marmot_genb_{}", t.name)),
                    ident(&format!("__marmot_genx_{}", t.name)),
                    ident(&format!("__marmot_gena_{}", t.name))
                ))?;
            }
            if !linked.contains(&t.name.to_ascii_lowercase()) {
                self.alone.insert(t.name.clone());
            }
            self.tables.insert(t.name.clone(), t);
        }
        self.triggers_for = Some(version);
        Ok(())
    }

    /// Run `f` on `conn` (the writer of `database`) inside a savepoint, with the open
    /// transaction's earlier changes `pending` written first (those a statement of shape
    /// `replay` can see), capture the row changes `f` makes, then roll the savepoint back.
    /// Returns `f`'s result and the changes, each stamped with the schema version they
    /// were captured against.
    pub fn capture<T>(
        &mut self,
        conn: &Connection,
        database: &str,
        pending: &[RowChange],
        replay: &Replay,
        limits: TxnLimits,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, Vec<RowChange>), StoreError> {
        self.ensure_triggers(conn)?;
        super::rolled_back(conn, |c| self.capture_in_savepoint(c, database, pending, replay, limits, f))
    }

    fn capture_in_savepoint<T>(
        &mut self,
        conn: &Connection,
        database: &str,
        pending: &[RowChange],
        replay: &Replay,
        limits: TxnLimits,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, Vec<RowChange>), StoreError> {
        let schema_version = super::schema::version(conn)?;
        match rows_to_write(&self.tables, &self.alone, database, pending, replay)? {
            Some(rows) => super::apply::apply_images(conn, database, rows)?,
            None => super::apply::apply_images(conn, database, pending)?,
        }
        super::run_cached(conn, "DELETE FROM temp.__marmot_cap")?;
        // The statement stops at the first row past the limit: one far over it costs
        // neither this process's memory nor SQLite's for the rest of its rows.
        let room = (limits.max_rows > 0).then(|| limits.max_rows.saturating_sub(pending.len()));
        *self.room.lock().expect("capture room") = room;
        let ran = super::guard::as_client(|| f(conn));
        *self.room.lock().expect("capture room") = None;
        let v = match ran {
            Err(e) if e.to_string().contains(OVER_LIMIT) => {
                return Err(limits.too_many_rows());
            }
            other => other?,
        };
        let held_bytes = if limits.max_bytes > 0 { approx_bytes(pending) } else { 0 };
        // A statement may have changed the schema; capture still uses the old triggers,
        // which is right for the rows it wrote.
        let changes = self.collect(conn, database, schema_version, limits, held_bytes)?;
        Ok((v, changes))
    }

    fn collect(
        &self,
        conn: &Connection,
        database: &str,
        schema_version: u64,
        limits: TxnLimits,
        held_bytes: usize,
    ) -> Result<Vec<RowChange>, StoreError> {
        struct Touch {
            table: String,
            key: Vec<u8>,
            before: Option<Vec<u8>>,
            existed: bool,
        }
        let mut order: Vec<Touch> = Vec::new();
        let mut index: BTreeMap<(String, Vec<u8>), usize> = BTreeMap::new();
        {
            let mut stmt =
                conn.prepare_cached("SELECT tbl, op, old_key, new_key, old_row FROM temp.__marmot_cap ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let table: String = r.get(0)?;
                let op: String = r.get(1)?;
                let old_key: Option<Vec<u8>> = r.get(2)?;
                let new_key: Option<Vec<u8>> = r.get(3)?;
                let old_row: Option<Vec<u8>> = r.get(4)?;
                let mut touch = |key: Vec<u8>, before: Option<Vec<u8>>, existed: bool| {
                    index.entry((table.clone(), key.clone())).or_insert_with(|| {
                        order.push(Touch { table: table.clone(), key, before, existed });
                        order.len() - 1
                    });
                };
                match op.as_str() {
                    "I" => touch(new_key.unwrap_or_default(), None, false),
                    "U" => {
                        touch(old_key.unwrap_or_default(), old_row, true);
                        touch(new_key.unwrap_or_default(), None, false);
                    }
                    _ => touch(old_key.unwrap_or_default(), old_row, true),
                }
            }
        }
        let mut out = Vec::new();
        let mut bytes = held_bytes;
        for t in order {
            let info = self.tables.get(&t.table).ok_or_else(|| StoreError::NoSuchTable(t.table.clone()))?;
            let key_vals = decode_values(&t.key)?;
            let after = read_row(conn, info, &key_vals)?;
            let before = t.before.as_deref().map(decode_values).transpose()?;
            let op = match (t.existed, after.is_some()) {
                (true, true) => Op::Update,
                (false, true) => Op::Insert,
                (true, false) => Op::Delete,
                (false, false) => continue,
            };
            if op == Op::Update && before.as_ref() == after.as_ref() {
                continue;
            }
            // Versions change only when a commit applies, never inside the savepoint, so
            // this is the row as the transaction found it.
            let read_version = super::apply::row_version(conn, &t.table, &t.key)?;
            let change = RowChange {
                database: database.to_string(),
                table: t.table.clone(),
                op,
                key: RowKey(t.key),
                before: before.map(|v| named(&info.columns, v)),
                after: after.map(|v| named(&info.columns, v)),
                schema_version,
                read_version,
            };
            // With the transaction's earlier rows, measured the same way.
            bytes += approx_bytes(std::slice::from_ref(&change));
            limits.check_bytes(bytes)?;
            out.push(change);
        }
        Ok(out)
    }
}

/// Read one row's values (declaration order) by key.
pub fn read_row(conn: &Connection, info: &TableInfo, key: &[Value]) -> Result<Option<Vec<Value>>, StoreError> {
    let mut stmt = conn.prepare_cached(&info.sql.select)?;
    let binds: Vec<Bind<'_>> = key.iter().map(Bind).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(binds.iter()))?;
    match rows.next()? {
        Some(r) => Ok(Some((0..info.columns.len()).map(|i| r.get_ref(i).map(from_ref)).collect::<Result<_, _>>()?)),
        None => Ok(None),
    }
}

/// The capture triggers of one table. With `generated`, inserts and updates made while a
/// generated id is pending (see `generated_ids`) are recorded by the id trigger instead.
fn trigger_sql(t: &TableInfo, generated: bool) -> String {
    let name_lit = format!("'{}'", t.name.replace('\'', "''"));
    let tbl = ident(&t.name);
    let row = |alias: &str| {
        let cols: Vec<String> = t.columns.iter().map(|c| format!("{alias}.{}", ident(c))).collect();
        format!("marmot_row({})", cols.join(", "))
    };
    let key = |alias: &str| format!("marmot_row({})", t.key_exprs(alias).join(", "));
    let trig = |kind: &str| ident(&format!("__marmot_cap_{kind}_{}", t.name));
    let (quiet_i, quiet_u) = if generated {
        (
            "WHEN marmot_capturing() AND NOT EXISTS (SELECT 1 FROM temp.__marmot_gen)",
            "WHEN marmot_capturing() AND NOT EXISTS (SELECT 1 FROM temp.__marmot_gen WHERE n IS NOT NULL)",
        )
    } else {
        ("WHEN marmot_capturing()", "WHEN marmot_capturing()")
    };
    format!(
        "CREATE TEMP TRIGGER {ti} AFTER INSERT ON main.{tbl} {quiet_i} BEGIN
           INSERT INTO temp.__marmot_cap (tbl, op, new_key) VALUES ({name_lit}, 'I', {nk}); END;
         CREATE TEMP TRIGGER {tu} AFTER UPDATE ON main.{tbl} {quiet_u} BEGIN
           INSERT INTO temp.__marmot_cap (tbl, op, old_key, new_key, old_row) VALUES ({name_lit}, 'U', {ok}, {nk}, {orow}); END;
         CREATE TEMP TRIGGER {td} AFTER DELETE ON main.{tbl} WHEN marmot_capturing() BEGIN
           INSERT INTO temp.__marmot_cap (tbl, op, old_key, old_row) VALUES ({name_lit}, 'D', {ok}, {orow}); END;",
        ti = trig("i"),
        tu = trig("u"),
        td = trig("d"),
        nk = key("NEW"),
        ok = key("OLD"),
        orow = row("OLD"),
    )
}
