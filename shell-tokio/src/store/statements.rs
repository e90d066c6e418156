//! Client statements on the writers: each database file has one connection that writes
//! it, owned with the [`Store`] by the node's engine thread, and client statements run
//! there, captured in a savepoint that is rolled back (see [`super::capture`]).

use marmot_core::RowChange;
use rusqlite::{params, Connection};

use super::capture::Capturer;
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

    /// Run `f` against database `db` and capture the row changes it makes; the local
    /// effect is rolled back (the changes then commit through the protocol).
    pub fn capture<T>(
        &mut self,
        db: &str,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, Vec<RowChange>), StoreError> {
        self.capture_in(db, &[], &Replay::All, &[], f)
    }

    /// Run a client statement `f` on the writer of `db` as its session sees the database:
    /// the open transaction's earlier changes `pending` written first (those a statement
    /// of shape `replay` can see, see [`super::replay`]), and the databases `attach`
    /// attached under their names (for statements naming them). Captures the row changes
    /// `f` makes and rolls everything back (see [`capture`]).
    ///
    /// Runs in a savepoint: inside a group commit, if one is open, it sees what the batch
    /// has applied so far (the engine runs client statements between group commits).
    /// SQLite cannot attach a database inside a transaction: with `attach`, an open batch
    /// is committed first (and a new one begun after).
    pub fn capture_in<T>(
        &mut self,
        db: &str,
        pending: &[RowChange],
        replay: &Replay,
        attach: &[String],
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, Vec<RowChange>), StoreError> {
        self.ensure_database(db)?;
        if attach.is_empty() {
            let d = self.dbs.get_mut(db).expect("ensured");
            return d.capturer.capture(&d.writer, db, pending, replay, f);
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
            Ok(()) => d.capturer.capture(&d.writer, db, pending, &Replay::All, f),
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
