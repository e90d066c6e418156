//! A session's SELECT: FOUND_ROWS() bookkeeping, locking reads inside a transaction, and
//! `SELECT … INTO @var`.

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
}
