//! The session side of SQL prepared statements (see [`crate::mysql::sql_prepare`]): the
//! texts this connection prepared, and EXECUTE running one with its parameters bound.

use super::*;
use crate::mysql::sql_prepare::{self, Arg, PreparedSql, Source};

impl Session {
    pub(super) async fn prepared_sql(&mut self, sig: &[&Token]) -> Result<Outcome, MyError> {
        let parsed = sql_prepare::parse(sig)
            .unwrap_or_else(|| Err(MyError::new(1064, "42000", "You have an error in your SQL syntax near PREPARE")))?;
        match parsed {
            PreparedSql::Prepare { name, source } => {
                let text = self.statement_text(&source).await?;
                // Checked now, as MySQL checks it: exactly one statement.
                let toks = sql::tokenize(&text).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
                if sql::split(toks).len() != 1 {
                    return Err(MyError::new(
                        1064,
                        "42000",
                        "You have an error in your SQL syntax: a prepared statement is one statement",
                    ));
                }
                self.sql_prepared.insert(name, text);
                Ok(done(0))
            }
            PreparedSql::Execute { name, using } => {
                let text = self.sql_prepared.get(&name).cloned().ok_or_else(|| unknown(&name, "EXECUTE"))?;
                self.run_bound(&text, &using).await
            }
            PreparedSql::Immediate { source, using } => {
                let text = self.statement_text(&source).await?;
                self.run_bound(&text, &using).await
            }
            PreparedSql::Deallocate(name) => match self.sql_prepared.remove(&name) {
                Some(_) => Ok(done(0)),
                None => Err(unknown(&name, "DEALLOCATE PREPARE")),
            },
        }
    }

    /// The text a PREPARE or EXECUTE IMMEDIATE names.
    async fn statement_text(&mut self, source: &Source) -> Result<String, MyError> {
        let value = match source {
            Source::Text(t) => return Ok(t.clone()),
            Source::Var(v) => self.info().user_vars.get(v).cloned(),
            Source::Expr(e) => Some(self.value_of(e).await?),
        };
        match value {
            Some(Value::Text(t)) => Ok(t),
            Some(Value::Blob(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Some(Value::Integer(i)) => Ok(i.to_string()),
            Some(Value::Real(r)) => Ok(crate::mysql::wire_values::format_real(r)),
            Some(Value::Null) | None => {
                Err(MyError::new(1064, "42000", "You have an error in your SQL syntax near 'NULL'"))
            }
        }
    }

    /// The value of an expression, evaluated as `SELECT expr` is.
    async fn value_of(&mut self, expr: &[Token]) -> Result<Value, MyError> {
        let mut query = vec![Token::make_keyword("SELECT"), Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)];
        query.extend_from_slice(expr);
        match Box::pin(self.select_inner(&query, false, false)).await? {
            Outcome::Rows { rows, .. } => {
                Ok(rows.into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Value::Null))
            }
            _ => Ok(Value::Null),
        }
    }

    /// Run `text` with its `?` bound to `using`, as if the client had sent it.
    async fn run_bound(&mut self, text: &str, using: &[Arg]) -> Result<Outcome, MyError> {
        let mut values: Vec<Value> = Vec::with_capacity(using.len());
        for a in using {
            values.push(match a {
                Arg::Var(v) => self.info().user_vars.get(v).cloned().unwrap_or(Value::Null),
                Arg::Literal(v) => v.clone(),
                Arg::Expr(e) => self.value_of(e).await?,
            });
        }
        let toks = sql_prepare::bind(text, &values)?;
        Box::pin(self.statement(&toks)).await
    }
}

fn unknown(name: &str, to: &str) -> MyError {
    MyError::new(1243, "HY000", format!("Unknown prepared statement handler ({name}) given to {to}"))
}
