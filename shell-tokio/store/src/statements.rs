//! Client statements on the writers: each database file has one connection that writes
//! it, owned with the [`Store`] by the node's engine thread, and client statements run
//! there, captured in a savepoint that is rolled back (see [`super::capture`]).

use marmot_core::{Op, RowChange, RowKey, Value};
use rusqlite::{params, Connection, OptionalExtension};

use super::capture::{CaptureScope, Capturer, TxnLimits};
use super::codec::{from_ref, ident, named};
use super::replay::Replay;
use super::{db_uri, fnv, rolled_back, valid_name, Store, StoreError, WriterSetup};

impl Store {
    /// Register what client statements need on a writer and prepare it for capture.
    pub(super) fn set_up_writer(&self, writer: &Connection, name: &str) -> Result<Capturer, StoreError> {
        if let Some(setup) = &self.writer_setup.setup {
            setup(writer)?;
        }
        Capturer::install(writer, self.seed.map(|s| s ^ fnv(name)), self.writer_setup.generated_ids)
    }

    /// Set up every writer, those open now and those opened later, to run client
    /// statements (production: the MySQL session functions and generated ids).
    pub fn set_writer_setup(&mut self, setup: WriterSetup) -> Result<(), StoreError> {
        self.writer_setup = setup;
        let names = self.databases();
        for name in names {
            let capturer = self.set_up_writer(&self.dbs[&name].writer, &name)?;
            self.dbs.get_mut(&name).expect("listed").capturer = capturer;
        }
        Ok(())
    }

    /// The rows a locking read returns of one of its tables, as checks: each row's image
    /// as both before and after, with its version here as the read version (see
    /// [`RowChange::is_check_only`]). `from` is the read's SQLite text from its `FROM` on,
    /// in which the table goes by `alias`. The rows are read as client SQL (the guard
    /// applies) from what the writer holds, in the same engine step as the caller takes
    /// their locks (see `mysql::locking_read`). More rows than `limits` leaves room for
    /// beside the `held` ones already in the transaction: [`StoreError::TooLarge`].
    pub fn locking_read(
        &mut self,
        db: &str,
        table: &str,
        alias: &str,
        from: &str,
        limits: TxnLimits,
        held: usize,
    ) -> Result<Vec<RowChange>, StoreError> {
        self.ensure_database(db)?;
        let conn = &self.dbs[db].writer;
        let name: String = conn
            .prepare_cached("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE")?
            .query_row([table], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NoSuchTable(table.to_string()))?;
        let info = super::schema::table_info_cached(conn, &name)?;
        // The rows it returns join the transaction (as checks): the transaction's row
        // limit holds for them too, and they are not read past it.
        let room = if limits.max_rows == 0 { usize::MAX - 1 } else { limits.max_rows.saturating_sub(held) };
        let alias = ident(alias);
        let columns: Vec<String> = info.columns.iter().map(|c| format!("{alias}.{}", ident(c))).collect();
        let sql = format!("SELECT marmot_row({}), {} {from}", info.key_exprs(&alias).join(", "), columns.join(", "));
        let rows: Vec<(Vec<u8>, Vec<Value>)> = super::guard::as_client(|| -> rusqlite::Result<_> {
            let mut stmt = conn.prepare(&sql)?;
            let width = info.columns.len();
            let rows = stmt
                .query_map([], |r| {
                    let values = (1..=width).map(|i| r.get_ref(i).map(from_ref)).collect::<Result<_, _>>()?;
                    Ok((r.get(0)?, values))
                })?
                .take(room.saturating_add(1))
                .collect();
            rows
        })?;
        if rows.len() > room {
            return Err(limits.too_many_rows());
        }
        let schema_version = super::schema::version(conn)?;
        let mut checks = Vec::with_capacity(rows.len());
        for (key, values) in rows {
            let read_version = super::apply::row_version(conn, &name, &key)?;
            let image = Some(named(&info.columns, values));
            checks.push(RowChange {
                database: db.to_string(),
                table: name.clone(),
                op: Op::Update,
                key: RowKey(key),
                before: image.clone(),
                after: image,
                schema_version,
                read_version,
            });
        }
        Ok(checks)
    }

    /// Run a client statement `f` on the writer of `db` as its session sees the database
    /// (`scope`, see [`CaptureScope`]): the open transaction's earlier changes written
    /// first, and other databases attached. Captures the row changes `f` makes and rolls
    /// everything back (see [`capture`]): the changes then commit through the protocol.
    /// Fails with [`StoreError::TooLarge`] if they would take the transaction past the
    /// scope's limits.
    ///
    /// Runs in a savepoint: inside a group commit, if one is open, it sees what the batch
    /// has applied so far (the engine runs client statements between group commits).
    /// SQLite cannot attach a database inside a transaction: with `attach`, an open batch
    /// is committed first (and a new one begun after).
    pub fn capture<T>(
        &mut self,
        db: &str,
        scope: CaptureScope<'_>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, Vec<RowChange>), StoreError> {
        let CaptureScope { pending, replay, attach, limits } = scope;
        self.ensure_database(db)?;
        if attach.is_empty() {
            let d = self.dbs.get_mut(db).expect("ensured");
            return d.capturer.capture(&d.writer, db, pending, replay, limits, f);
        }
        for other in attach {
            valid_name(other)?;
        }
        let batching = self.batch.is_some();
        if let Err(e) = self.commit_batch() {
            self.fatal = Some(e.to_string());
            return Err(e);
        }
        let d = self.dbs.get_mut(db).expect("ensured");
        let mut attached = Vec::new();
        let mut result = Ok(());
        for other in attach {
            let uri = db_uri(&self.loc, other);
            result = d.writer.execute("ATTACH DATABASE ?1 AS ?2", params![uri, other]).map(|_| ());
            if result.is_err() {
                break;
            }
            attached.push(other);
        }
        let out = match result {
            Ok(()) => d.capturer.capture(&d.writer, db, pending, &Replay::All, limits, f),
            Err(e) => Err(e.into()),
        };
        for other in attached {
            let _ = d.writer.execute("DETACH DATABASE ?1", [other]);
        }
        if batching {
            self.begin_batch();
        }
        out
    }

    /// Run `f` on the writer of `db` without capture triggers, in a savepoint that is
    /// rolled back: a dry run of a schema change.
    pub fn dry_run<T>(
        &mut self,
        db: &str,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.ensure_database(db)?;
        let d = self.dbs.get_mut(db).expect("ensured");
        d.capturer.drop_triggers(&d.writer)?;
        rolled_back(&d.writer, f)
    }

    /// Set when the store could not keep a promise it made (a group commit failed while
    /// serving a client statement): the node must stop, as when the engine's own commit
    /// fails.
    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }
}
