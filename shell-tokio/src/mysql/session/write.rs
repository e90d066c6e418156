//! The write path of a session: a statement's row changes captured on the writer, row
//! locks taken and waited for, the transaction's pending changes merged, and COMMIT (or an
//! autocommit statement) replicated through the core.

use super::*;
use crate::mysql::default_values;
use marmot_store::capture::CaptureScope;
use marmot_store::codec::Bind;

impl Session {
    pub(super) async fn write(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        let db = self.need_db()?;
        // `VALUES (DEFAULT, …)`: each DEFAULT spelled out from the table's schema.
        let expanded;
        let toks = match default_values::table_needing_defaults(toks) {
            Some(table) => {
                let columns = self.conn(&db).map(|c| default_values::column_defaults(c, &table)).unwrap_or_default();
                expanded = default_values::with_defaults(toks, &columns);
                expanded.as_deref().unwrap_or(toks)
            }
            None => toks,
        };
        let multi = match crate::mysql::multi_table::plan(toks) {
            Some(Err(m)) if m.starts_with("Unknown table") => return Err(MyError::new(1109, "42S02", m)),
            Some(Err(m)) => return Err(MyError::new(1235, "42000", m)),
            Some(Ok(plan)) => Some(plan),
            None => None,
        };
        let sqlite = sql::rowid_limited(toks).unwrap_or_else(|| sql::rewrite(toks));
        let found_rows = self.found_rows_flag;
        // A prepared statement's values (see `bound`): the replay by key reads them as literals.
        let params = self.bound.clone();
        let replay = match (&multi, params.is_empty()) {
            (Some(_), _) => Replay::All,
            (None, true) => crate::mysql::replay_shape::shape(toks),
            (None, false) => crate::mysql::replay_shape::shape(&super::bound::with_literals(toks, &params)),
        };
        let ids = self.engine.ids.clone();
        let res = self
            .on_writer(&db, replay, true, move |c| {
                ids.take_first_issued();
                let matched = match &multi {
                    None if params.is_empty() => c.execute(&sqlite, []).map_err(store_err)? as u64,
                    None => c
                        .prepare_cached(&sqlite)
                        .and_then(|mut s| s.execute(rusqlite::params_from_iter(params.iter().map(Bind))))
                        .map_err(store_err)? as u64,
                    Some(MultiTable::Update(update)) => c.execute(update, []).map_err(store_err)? as u64,
                    Some(MultiTable::Delete { tables, select }) => {
                        delete_multi(c, tables, select).map_err(store_err)?
                    }
                };
                Ok((matched, ids.take_first_issued()))
            })
            .await?;
        let ((matched, generated), changes) = match res {
            Ok(v) => v,
            Err(e) => {
                let err = sqlite_error(&e);
                if err.code == 1062 && self.tx.is_open() && self.concurrent_commit_since_start(&db, &err.msg) {
                    // Another transaction committed to this table since ours began: the
                    // key we saw absent is there now. InnoDB reports this race (gap locks)
                    // as a deadlock and rolls the transaction back; so do we, and the
                    // client retries.
                    self.end_txn();
                    return Err(MyError::new(
                        1213,
                        "40001",
                        "Deadlock found when trying to get lock; try restarting transaction",
                    ));
                }
                return Err(err);
            }
        };
        let changed = changes.len() as u64;
        let affected = if found_rows { matched } else { changed };
        // The insert id of the OK packet: the first integer key this statement inserted
        // (MySQL reports the first id of a multi-row insert, and an explicit key too);
        // LAST_INSERT_ID(): only an id marmot generated.
        let first_id =
            changes.iter().filter(|c| c.op == Op::Insert).find_map(|c| {
                match marmot_store::codec::decode_key(&c.key).ok()?.as_slice() {
                    [Value::Integer(i)] if *i > 0 => Some(*i),
                    _ => None,
                }
            });
        if let Some(id) = generated {
            self.info().last_insert_id = id;
        }
        self.info().row_count = affected as i64;
        let insert_id = first_id.unwrap_or(0) as u64;
        self.finish_write(changes).await?;
        Ok(Outcome::Done { affected, last_insert_id: insert_id })
    }

    /// Run `body` on the engine thread, on the writer of `db` as this session sees it (the
    /// open transaction's rows written first, those a statement of shape `replay` can
    /// see; the databases the statement names attached), and capture the rows it changes
    /// (see [`Store::capture`]). With `lock_rows`, the rows it changed are locked for
    /// the open transaction; if another transaction of this node holds one, the session
    /// waits for it to end and runs the statement again (see [`crate::mysql::row_locks`]). The
    /// outer error is the engine's or the lock wait's (a deadlock also rolls the
    /// transaction back, as InnoDB does); the inner one the statement's (the open
    /// transaction's rows stay as they were either way).
    pub(crate) async fn on_writer<T: Send + 'static>(
        &mut self,
        db: &str,
        replay: Replay,
        lock_rows: bool,
        body: impl Fn(&Connection) -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Result<Result<(T, Vec<RowChange>), StoreError>, MyError> {
        let (body, replay) = (Arc::new(body), Arc::new(replay));
        let deadline = Instant::now() + self.engine.lock_wait;
        let mut pause = std::time::Duration::from_millis(2);
        loop {
            let pending = self.tx.get_mut().map(|t| std::mem::take(&mut t.pending)).unwrap_or_default();
            let (info, attach, db, body, replay) =
                (self.info.clone(), self.attach.clone(), db.to_string(), body.clone(), replay.clone());
            let (locks, owner, limits) = (lock_rows.then(|| self.locks.clone()), self.owner(), self.limits);
            let ran = self
                .engine
                .run(move |store: &mut Store| {
                    let scope = CaptureScope { pending: &pending, replay: &replay, attach: &attach, limits };
                    let out = as_session(info, || store.capture(&db, scope, |c| body(c)));
                    // Locked in the same engine step as the capture: commits apply on this
                    // thread too, so a capture either saw the holder's commit applied or
                    // finds the holder's lock still there — never a stale row unlocked.
                    let blocked = match (&locks, &out) {
                        (Some(l), Ok((_, changes))) => l.try_lock(owner, &row_ids(changes)).err(),
                        _ => None,
                    };
                    (pending, out, blocked)
                })
                .await;
            let (out, blocked) = match ran {
                Ok((pending, out, blocked)) => {
                    if let Some(t) = self.tx.get_mut() {
                        t.pending = pending;
                    }
                    (out, blocked)
                }
                Err(e) => return Err(MyError::new(1105, "HY000", e.to_string())),
            };
            // A program outside marmot holds the file's write lock: the engine thread does
            // not wait for it (it carries the cluster's traffic); this session does, up to
            // the lock wait, then gets 1205.
            if locked_out(&out) && Instant::now() + pause < deadline {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
                continue;
            }
            if let (Some(holder), Ok((_, changes))) = (blocked, &out) {
                self.wait_for_lock(holder, &row_ids(changes), deadline).await?;
                continue;
            }
            return Ok(out);
        }
    }

    /// Wait for transaction `holder` to let go of `rows`. A wait that would deadlock rolls
    /// this session's transaction back (1213, as InnoDB does); one past `deadline` is 1205
    /// and leaves the transaction open.
    pub(super) async fn wait_for_lock(
        &mut self,
        holder: Owner,
        rows: &[RowId],
        deadline: Instant,
    ) -> Result<(), MyError> {
        match self.locks.wait_for(self.owner(), holder, rows, deadline).await {
            Ok(()) => Ok(()),
            Err(LockError::Deadlock) => {
                self.end_txn();
                Err(MyError::new(1213, "40001", "Deadlock found when trying to get lock; try restarting transaction"))
            }
            Err(LockError::Timeout) => {
                Err(MyError::new(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction"))
            }
        }
    }

    /// A locking read in a transaction: lock the rows it returns and keep them as checks
    /// of the rows as read, in one engine step (see [`crate::mysql::locking_read`]); waits, as a
    /// write does, for a transaction of this node holding one of them.
    pub(super) async fn lock_read_rows(&mut self, read: LockingRead) -> Result<(), MyError> {
        let db = self.need_db()?;
        let select = sql::rewrite(&read.keys_query);
        let from = Arc::new(select.strip_prefix("SELECT 1 ").unwrap_or(&select).to_string());
        let tables = Arc::new(read.tables);
        let deadline = Instant::now() + self.engine.lock_wait;
        loop {
            let (db, from, tables, locks, owner) =
                (db.clone(), from.clone(), tables.clone(), self.locks.clone(), self.owner());
            let held = self.tx.get().map_or(0, |t| t.pending.len() + t.locked_reads.len());
            let limits = self.limits;
            let ran = self
                .engine
                .run(move |store: &mut Store| {
                    let mut checks: Vec<RowChange> = Vec::new();
                    for (table, alias) in tables.iter() {
                        checks.extend(store.locking_read(&db, table, alias, &from, limits, held + checks.len())?);
                    }
                    let blocked = locks.try_lock(owner, &row_ids(&checks)).err();
                    Ok::<_, StoreError>((checks, blocked))
                })
                .await
                .map_err(|e| MyError::new(1105, "HY000", e.to_string()))?
                .map_err(|e| sqlite_error(&e))?;
            let (checks, blocked) = ran;
            self.tx.open(wall_ms());
            if let Some(holder) = blocked {
                if read.nowait {
                    return Err(MyError::new(
                        3572,
                        "HY000",
                        "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is set.",
                    ));
                }
                self.wait_for_lock(holder, &row_ids(&checks), deadline).await?;
                continue;
            }
            let t = self.tx.open(wall_ms());
            for check in checks {
                t.locked_reads.entry(row_id(&check)).or_insert(check);
            }
            return Ok(());
        }
    }

    /// A captured write's rows: into the open transaction, or (autocommit) replicated now.
    pub(crate) async fn finish_write(&mut self, mut changes: Vec<RowChange>) -> Result<(), MyError> {
        // A row read FOR UPDATE earlier: its write is based on what that read saw.
        if let Some(t) = self.tx.get().filter(|t| !t.locked_reads.is_empty()) {
            for c in changes.iter_mut() {
                if let Some(read) = t.locked_reads.get(&row_id(c)) {
                    c.read_version = read.read_version;
                }
            }
        }
        if self.in_transaction() {
            let t = self.tx.open(wall_ms());
            t.pending = merge(std::mem::take(&mut t.pending), changes);
            return Ok(());
        }
        let out = self.replicate(changes).await;
        self.locks.release(self.owner());
        out
    }

    /// Whether any transaction committed a row of the table named in a constraint error
    /// since the open transaction started.
    pub(super) fn concurrent_commit_since_start(&mut self, db: &str, msg: &str) -> bool {
        let Some(table) = msg.rsplit(": ").next().and_then(|c| c.split('.').next()) else { return false };
        let since = self.tx.get().map_or(0, |t| t.started_ms);
        let Ok(conn) = self.conn(db) else { return false };
        conn.query_row(
            "SELECT 1 FROM __marmot_row_versions WHERE tbl = ?1 AND wall >= ?2 LIMIT 1",
            rusqlite::params![table, since],
            |_| Ok(()),
        )
        .is_ok()
    }

    pub(super) async fn replicate(&mut self, changes: Vec<RowChange>) -> Result<(), MyError> {
        if changes.is_empty() {
            return Ok(());
        }
        let consistency = self.write_consistency()?;
        match self.engine.write(changes, consistency).await {
            Ok(Reply::Committed { .. }) => Ok(()),
            Ok(Reply::Failed(e)) => {
                let (code, state) = e.mysql_code();
                Err(MyError::new(code, state, e.to_string()))
            }
            Ok(other) => Err(MyError::new(1105, "HY000", format!("unexpected engine reply {other:?}"))),
            Err(e) => Err(MyError::new(1105, "HY000", e.to_string())),
        }
    }

    /// `SET marmot_write_consistency = 'ONE' | 'QUORUM' | 'ALL'` overrides
    /// `[replication] default_write_consistency` for this session.
    pub(super) fn write_consistency(&self) -> Result<Option<marmot_core::Consistency>, MyError> {
        match self.info().sys_vars.get("marmot_write_consistency") {
            None => Ok(None),
            Some(Value::Text(t)) => t.parse().map(Some).map_err(|e: String| MyError::new(1231, "42000", e)),
            Some(other) => Err(MyError::new(
                1231,
                "42000",
                format!("Variable 'marmot_write_consistency' can't be set to the value of {other:?}"),
            )),
        }
    }

    pub(super) async fn commit(&mut self) -> Result<(), MyError> {
        // The transaction ends here; its drain token is kept until the outcome is known.
        let mut txn = self.tx.end().unwrap_or_default();
        let mut changes = std::mem::take(&mut txn.pending);
        // Rows read FOR UPDATE and not written (or written with their own values, which
        // captures nothing) commit as checks: the transaction's outcome rests on them.
        let checks = std::mem::take(&mut txn.locked_reads);
        if !checks.is_empty() {
            let written: std::collections::BTreeSet<RowId> = row_ids(&changes).into_iter().collect();
            changes.extend(checks.into_iter().filter(|(id, _)| !written.contains(id)).map(|(_, c)| c));
        }
        // Locks are held until the outcome is known: a waiting session must run its
        // statement on the rows this commit leaves, not on those before it.
        let out = self.replicate(changes).await;
        self.end_txn();
        drop(txn);
        out
    }
}

/// Merge new changes into a transaction's pending changes: one change per row, keeping
/// the first before-image and the last after-image.
pub(super) fn merge(mut pending: Vec<RowChange>, new: Vec<RowChange>) -> Vec<RowChange> {
    // A statement's changes name each row once, so only the earlier changes are searched:
    // by key when both are big (a load's batches), else by a scan.
    let earlier = pending.len();
    let index: BTreeMap<RowId, usize> = if new.len().saturating_mul(earlier) > 100_000 {
        row_ids(&pending).into_iter().enumerate().map(|(i, id)| (id, i)).collect()
    } else {
        BTreeMap::new()
    };
    for c in new {
        let at = if index.is_empty() {
            pending[..earlier].iter().position(|p| p.database == c.database && p.table == c.table && p.key == c.key)
        } else {
            index.get(&row_id(&c)).copied()
        };
        match at.map(|i| &mut pending[i]) {
            Some(p) => {
                p.after = c.after;
                p.op = match (p.before.is_some(), p.after.is_some()) {
                    (true, true) => Op::Update,
                    (false, true) => Op::Insert,
                    _ => Op::Delete,
                };
            }
            None => pending.push(c),
        }
    }
    pending.retain(|p| p.before.is_some() || p.after.is_some());
    pending
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn merging_keeps_one_change_per_row_whether_scanned_or_looked_up() {
        let change = |k: u32, before: Option<i64>, after: Option<i64>| {
            let image = |v: Option<i64>| {
                v.map(|n| vec![marmot_core::ColumnValue { column: "n".into(), value: Value::Integer(n) }])
            };
            RowChange {
                database: "d".into(),
                table: "t".into(),
                op: Op::Update,
                key: marmot_core::RowKey(k.to_be_bytes().to_vec()),
                before: image(before),
                after: image(after),
                schema_version: 0,
                read_version: None,
            }
        };
        for n in [3u32, 2000] {
            // Earlier: rows 0..n inserted. Now: each updated, row 0 deleted, row n inserted.
            let earlier: Vec<RowChange> = (0..n).map(|k| change(k, None, Some(1))).collect();
            let mut now: Vec<RowChange> = (1..n).map(|k| change(k, Some(1), Some(2))).collect();
            now.push(change(0, Some(1), None));
            now.push(change(n, None, Some(3)));
            let merged = merge(earlier, now);
            assert_eq!(merged.len(), n as usize, "row 0 was inserted and deleted: nothing to write");
            assert!(merged[..n as usize - 1].iter().all(|c| c.op == Op::Insert && c.before.is_none()), "n = {n}");
            assert_eq!(merged[0].key, change(1, None, None).key);
            assert_eq!(merged.last().map(|c| c.key.clone()), Some(change(n, None, None).key));
        }
    }
}
