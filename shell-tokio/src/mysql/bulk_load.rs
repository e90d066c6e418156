//! `LOAD DATA [LOCAL] INFILE` on a session: the file's rows inserted through the capture
//! path (REPLACE / IGNORE as the statement says) a batch at a time.
//!
//! The file is read as it arrives and never held whole. Under autocommit each batch of
//! `[mysql] load_data_batch_rows` rows commits as its own transaction, as Galera's
//! `wsrep_load_data_splitting` did: a load of any size needs memory for one batch, and a
//! failure part way leaves the batches before it committed (the error says how many rows).
//! Inside a transaction the batches join it, and it commits or rolls back whole (bounded
//! by `[transaction] max_transaction_rows`). `load_data_batch_rows = 0` loads every file
//! as one transaction.

use std::sync::Arc;

use marmot_core::Value;

use super::error::MyError;
use super::load_data::{Feed, Field, LoadData, OnDuplicate};
use super::results::Outcome;
use super::session::Session;
use marmot_store::codec::ident;
use marmot_store::ddl::literal;
use marmot_store::replay::Replay;

/// A load under way: where its rows go and what it has done so far.
pub struct Load {
    db: String,
    /// The INSERT of a row's first `n` columns (the others take their defaults).
    insert_of: Arc<dyn Fn(usize) -> String + Send + Sync>,
    width: usize,
    read: u64,
    inserted: u64,
    /// Rows of batches already committed on their own.
    committed: u64,
    feed: Feed,
}

impl Session {
    /// Start a load of `spec`: its table's columns resolved, nothing read yet.
    pub async fn load_begin(&mut self, spec: &LoadData) -> Result<Load, MyError> {
        let db = match &spec.database {
            Some(d) => d.clone(),
            None => self.need_db()?,
        };
        let mut columns = spec.columns.clone();
        if columns.is_empty() {
            let sql = format!("SELECT name FROM pragma_table_info({}) ORDER BY cid", literal(&spec.table));
            if let Outcome::Rows { rows, .. } = self.read_in(&db, &sql)? {
                columns = rows
                    .into_iter()
                    .filter_map(|r| match r.into_iter().next() {
                        Some(Value::Text(t)) => Some(t),
                        _ => None,
                    })
                    .collect();
            }
        }
        if columns.is_empty() {
            return Err(MyError::new(1146, "42S02", format!("Table '{db}.{}' doesn't exist", spec.table)));
        }
        let verb = match spec.on_duplicate {
            OnDuplicate::Replace => "INSERT OR REPLACE",
            OnDuplicate::Ignore => "INSERT OR IGNORE",
            OnDuplicate::Error => "INSERT",
        };
        let idents: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        let table = ident(&spec.table);
        let insert_of = move |n: usize| {
            let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
            format!("{verb} INTO main.{table} ({}) VALUES ({})", idents[..n].join(", "), marks.join(", "))
        };
        Ok(Load {
            db,
            insert_of: Arc::new(insert_of),
            width: columns.len(),
            read: 0,
            inserted: 0,
            committed: 0,
            feed: Feed::new(spec, self.load_data_batch_rows),
        })
    }

    /// The next piece of the file: each batch it completes is loaded.
    pub async fn load_piece(&mut self, load: &mut Load, bytes: &[u8]) -> Result<(), MyError> {
        for rows in load.feed.push(bytes) {
            self.load_rows(load, rows).await?;
        }
        Ok(())
    }

    /// The file ended: load what is left and say what the load did.
    pub async fn load_end(&mut self, mut load: Load) -> Result<Outcome, MyError> {
        let rows = load.feed.finish();
        self.load_rows(&mut load, rows).await?;
        let skipped = load.read - load.inserted.min(load.read);
        if skipped > 0 {
            self.warn(1062, &format!("{skipped} rows skipped: duplicate keys"));
        }
        Ok(Outcome::Done { affected: load.inserted, last_insert_id: 0 })
    }

    /// Insert one batch and hand its rows to the transaction (or commit them, under
    /// autocommit). An error names the rows earlier batches committed.
    async fn load_rows(&mut self, load: &mut Load, rows: Vec<Vec<Field>>) -> Result<(), MyError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (insert_of, width) = (load.insert_of.clone(), load.width);
        load.read += rows.len() as u64;
        let own_transaction = !self.in_transaction();
        let ran = self
            // Not row-locked: a load's rows are mostly new, and a lock per row of a
            // million-row file would cost more memory than the rows; a row another
            // transaction changed meanwhile is still refused at commit (1213).
            .on_writer(&load.db, Replay::All, false, move |c| {
                let mut inserted = 0u64;
                for row in &rows {
                    // Missing trailing fields take the columns' defaults; extra fields are ignored.
                    let n = row.len().clamp(1, width);
                    let mut stmt = c.prepare_cached(&insert_of(n))?;
                    let values: Vec<rusqlite::types::Value> = (0..n)
                        .map(|i| match row.get(i).cloned().flatten() {
                            Some(b) => match String::from_utf8(b) {
                                Ok(t) => rusqlite::types::Value::Text(t),
                                Err(e) => rusqlite::types::Value::Blob(e.into_bytes()),
                            },
                            None => rusqlite::types::Value::Null,
                        })
                        .collect();
                    inserted += stmt.execute(rusqlite::params_from_iter(values))? as u64;
                }
                Ok(inserted)
            })
            .await;
        let out = match ran {
            Ok(Ok((inserted, changes))) => self.finish_write(changes).await.map(|()| inserted),
            Ok(Err(e)) => Err(super::error::sqlite_error(&e)),
            Err(e) => Err(e),
        };
        match out {
            Ok(inserted) => {
                load.inserted += inserted;
                if own_transaction {
                    load.committed += inserted;
                }
                Ok(())
            }
            Err(mut e) if load.committed > 0 => {
                e.msg = format!(
                    "{} ({} rows of this LOAD DATA were committed before it: a load outside a transaction \
                     commits every {} rows, [mysql] load_data_batch_rows)",
                    e.msg, load.committed, self.load_data_batch_rows
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Server-side `LOAD DATA INFILE`: only files inside `secure_file_priv`, read a piece
    /// at a time.
    pub(super) async fn load_server_file(&mut self, spec: LoadData) -> Result<Outcome, MyError> {
        use std::io::Read;
        let refused = || {
            MyError::new(
                1290,
                "HY000",
                "The MariaDB server is running with the --secure-file-priv option so it cannot execute this statement",
            )
        };
        let dir = self.secure_file_priv.clone().ok_or_else(refused)?;
        let dir = dir.canonicalize().map_err(|_| refused())?;
        let path = dir.join(&spec.file);
        let not_found = |e: std::io::Error| {
            MyError::new(29, "HY000", format!("File '{}' not found (Errcode: {e})", path.display()))
        };
        let path = path.canonicalize().map_err(not_found)?;
        if !path.starts_with(&dir) {
            return Err(refused());
        }
        let mut file = std::fs::File::open(&path).map_err(not_found)?;
        let mut load = self.load_begin(&spec).await?;
        let mut piece = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut piece).map_err(not_found)?;
            if n == 0 {
                return self.load_end(load).await;
            }
            self.load_piece(&mut load, &piece[..n]).await?;
        }
    }
}
