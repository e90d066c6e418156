//! A session's SELECT: where it runs (the session's read connection, the writer when the
//! open transaction's rows must show, no database at all), its result types, streaming,
//! FOUND_ROWS() bookkeeping, locking reads inside a transaction, and `SELECT … INTO @var`.

use super::*;

impl Session {
    pub(super) async fn select(&mut self, toks: &[Token]) -> Result<Outcome, MyError> {
        if let Some((query, vars)) = crate::mysql::select_into::split(toks) {
            return self.select_into_vars(&query, &vars).await;
        }
        // FOUND_ROWS(): the rows this SELECT returned, or with SQL_CALC_FOUND_ROWS the rows
        // it would have returned without its LIMIT.
        let calc = significant(toks).iter().take(4).any(|t| kw(t).as_deref() == Some("SQL_CALC_FOUND_ROWS"));
        let defer = std::mem::take(&mut self.defer_read) && !calc;
        let mut on_writer = false;
        if let Some(read) = crate::mysql::locking_read::parse(toks) {
            if self.in_transaction() {
                self.lock_read_rows(read).await?;
                on_writer = true;
            }
        }
        let out = self.select_inner(toks, defer, on_writer).await?;
        let found = match (&out, calc) {
            (Outcome::Rows { .. }, true) => match sql::without_limit(toks) {
                Some(inner) => {
                    let count = format!("SELECT count(*) FROM ({})", sql::rewrite(&inner));
                    let toks = sql::tokenize(&count).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                    match self.select_inner(&toks, false, on_writer).await? {
                        Outcome::Rows { rows, .. } => match rows.first().and_then(|r| r.first()) {
                            Some(Value::Integer(n)) => *n,
                            _ => 0,
                        },
                        _ => 0,
                    }
                }
                None => match &out {
                    Outcome::Rows { rows, .. } => rows.len() as i64,
                    _ => 0,
                },
            },
            (Outcome::Rows { rows, .. }, false) => rows.len() as i64,
            _ => return Ok(out),
        };
        self.info().found_rows = found;
        Ok(out)
    }

    /// `SELECT … INTO @a, @b`: the query's one row assigned to the variables, as MySQL
    /// does (more rows: error 1172; none: warning 1329, the variables left as they were).
    pub(super) async fn select_into_vars(&mut self, query: &[Token], vars: &[String]) -> Result<Outcome, MyError> {
        let Outcome::Rows { rows, .. } = self.select_inner(query, false, false).await? else {
            return Ok(done(0));
        };
        match rows.as_slice() {
            [] => self.warning(1329, "No data - zero rows fetched, selected, or processed"),
            [row] if row.len() == vars.len() => {
                for (name, value) in vars.iter().zip(row) {
                    self.info().user_vars.insert(name.clone(), value.clone());
                }
            }
            [_] => {
                return Err(MyError::new(
                    1222,
                    "21000",
                    "The used SELECT statements have a different number of columns",
                ))
            }
            _ => return Err(MyError::new(1172, "42000", "Result consisted of more than one row")),
        }
        Ok(done(1))
    }

    /// Run a read; with `defer`, a plain read of the current database (no open
    /// transaction rows to see, no information_schema) is returned as
    /// [`Outcome::Deferred`] instead. With `on_writer` it reads what the writer holds (a
    /// locking read: the rows as their versions were taken, which may include commits
    /// applied but not yet visible to this session's own connection).
    pub(super) async fn select_inner(
        &mut self,
        toks: &[Token],
        defer: bool,
        on_writer: bool,
    ) -> Result<Outcome, MyError> {
        let sqlite = sql::rewrite(toks);
        let params = self.bound.clone();
        let db = self.db().unwrap_or_else(|| "__none".into());
        let info_schema = crate::mysql::infoschema::mentioned(&sqlite);
        // Types for result expressions SQLite cannot type (see `result_types`); the table
        // lookups only when the select list may hold one.
        let literal;
        let typing = if params.is_empty() {
            toks
        } else {
            literal = bound::with_literals(toks, &params);
            &literal[..]
        };
        let types = if !worth_typing(typing) {
            None
        } else if db == "__none" {
            select_types(typing, &mut |_| Vec::new())
        } else {
            self.conn(&db).ok().and_then(|conn| select_types(typing, &mut |table| table_columns(conn, table)))
        }
        .unwrap_or_default();
        if db == "__none" {
            // No database: expressions only, on an in-memory connection.
            let conn = Connection::open_in_memory().map_err(|e| sqlite_error(&store_err(e)))?;
            register_functions(&conn, InfoSource::Own(self.info.clone())).map_err(|e| sqlite_error(&store_err(e)))?;
            if info_schema {
                crate::mysql::infoschema::attach(&conn, &self.engine).map_err(|e| sqlite_error(&e))?;
            }
            return run_typed_query(&conn, &sqlite, &params, "", &types).map_err(|e| {
                if e.code == 1146 {
                    MyError::new(1046, "3D000", "No database selected")
                } else {
                    e
                }
            });
        }
        if (on_writer || !self.tx.pending().is_empty()) && !info_schema {
            // The open transaction's rows must show: on the writer, written first in a
            // savepoint that is rolled back.
            let res = self
                .on_writer(&db.clone(), crate::mysql::replay_shape::shape(typing), false, move |c| {
                    Ok(run_typed_query(c, &sqlite, &params, &db, &types))
                })
                .await?
                .map(|(v, _)| v)
                .map_err(|e| sqlite_error(&e))?;
            return res;
        }
        // A statement naming other databases runs with them attached, which lasts only
        // while it is being handled: it is not deferred.
        if defer && !info_schema && self.attach.is_empty() {
            return Ok(Outcome::Deferred(DeferredRead { db, sqlite, types, params }));
        }
        let engine = self.engine.clone();
        let conn = self.conn(&db)?;
        if info_schema {
            crate::mysql::infoschema::attach(conn, &engine).map_err(|e| sqlite_error(&e))?;
        }
        blocking(|| as_client(|| run_typed_query(conn, &sqlite, &params, &db, &types)))
    }

    /// Run a deferred read, its rows going to `sink` as SQLite produces them:
    /// [`Outcome::Streamed`], or the error (which may come after some rows).
    pub fn stream(&mut self, read: DeferredRead, sink: &mut dyn RowSink) -> Outcome {
        let conn = match self.conn(&read.db) {
            Ok(c) => c,
            Err(e) => return Outcome::Error(e),
        };
        let out =
            blocking(|| as_client(|| query_rows(conn, &read.sqlite, &read.params, &read.db, &read.types, Some(sink))));
        match out {
            Ok(Outcome::Streamed { rows }) => {
                self.info().found_rows = rows as i64;
                Outcome::Streamed { rows }
            }
            Ok(other) => other,
            Err(e) => Outcome::Error(e),
        }
    }
}
