//! The session as the protocol layer sees it: [`Backend`] over [`Session`]. Here the
//! protocol's requests become SQL work: a table's field list is a read of no rows, a
//! prepared statement runs with its parameters bound (see [`super::bound`]), and a query
//! naming a `LOAD DATA LOCAL` file is recognised.

use super::Session;
use crate::mysql::backend::{Backend, PreparedShape};
use crate::mysql::bulk_load::Load;
use crate::mysql::error::MyError;
use crate::mysql::load_data::{self, LoadData};
use crate::mysql::proto::Column;
use crate::mysql::results::{DeferredRead, Outcome, RowSink};
use crate::mysql::sql;
use crate::mysql::stmt_params::Param;

impl Backend for Session {
    type Load = Load;

    fn conn_id(&self) -> u32 {
        self.info.lock().map(|i| i.conn_id).unwrap_or(0)
    }

    fn found_rows(&self) -> bool {
        self.found_rows_flag
    }

    fn set_found_rows(&mut self, on: bool) {
        self.found_rows_flag = on;
    }

    fn status_flags(&self) -> u16 {
        Session::status_flags(self)
    }

    fn warning_count(&self) -> u16 {
        u16::try_from(self.warnings.len()).unwrap_or(u16::MAX)
    }

    fn use_db(&mut self, db: &str) -> Result<(), MyError> {
        Session::use_db(self, db)
    }

    fn reset(&mut self) {
        Session::reset(self)
    }

    fn local_file(&self, text: &str) -> Option<LoadData> {
        // Every query passes here: tokenize only what can be one.
        let head = text.trim_start().get(..4)?;
        if !head.eq_ignore_ascii_case("LOAD") {
            return None;
        }
        let toks = sql::tokenize(text).ok()?;
        match load_data::parse(&toks)? {
            Ok(spec) if spec.local => Some(spec),
            _ => None,
        }
    }

    async fn query(&mut self, text: &str) -> Vec<Outcome> {
        self.query_streaming(text).await
    }

    fn stream(&mut self, read: DeferredRead, sink: &mut dyn RowSink) -> Outcome {
        Session::stream(self, read, sink)
    }

    fn table_columns(&mut self, table: &str) -> Result<Option<Vec<Column>>, MyError> {
        let q = format!("SELECT * FROM {} LIMIT 0", sql::quote_ident(table));
        match self.read(&q)? {
            Outcome::Rows { columns, .. } => Ok(Some(columns)),
            _ => Ok(None),
        }
    }

    fn prepare(&mut self, text: &str) -> Result<PreparedShape, MyError> {
        let toks = sql::tokenize(text).map_err(|e| MyError::new(1064, "42000", e.to_string()))?;
        let params = toks.iter().filter(|t| matches!(t, sqlparser::tokenizer::Token::Placeholder(_))).count();
        Ok(PreparedShape { params, columns: self.prepare_columns(text)? })
    }

    async fn execute(&mut self, text: &str, params: Vec<Param>) -> Vec<Outcome> {
        self.execute_prepared(text, &params).await
    }

    async fn load_begin(&mut self, spec: &LoadData) -> Result<Load, MyError> {
        Session::load_begin(self, spec).await
    }

    async fn load_piece(&mut self, load: &mut Load, bytes: &[u8]) -> Result<(), MyError> {
        Session::load_piece(self, load, bytes).await
    }

    async fn load_end(&mut self, load: Load) -> Result<Outcome, MyError> {
        Session::load_end(self, load).await
    }
}
