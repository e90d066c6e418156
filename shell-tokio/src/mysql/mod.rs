//! The MySQL front end: wire protocol, authentication, sessions, SQL translation and
//! metadata. The protocol layer is our own (on tokio), not opensrv-mysql: owning it
//! gives correct status flags, per-column character sets (binary columns arrive as
//! bytes), multi-statements and prepared statements whose malformed parameters end
//! in an error instead of a panic.

pub mod aggregates;
pub mod ast_operators;
pub mod auth;
pub mod backend;
pub mod bitwise;
pub mod bulk_load;
pub mod call_syntax;
pub mod column_types;
pub mod command;
pub mod comments;
pub mod create_table;
pub mod crossdb;
pub mod crypto;
pub mod datetime;
pub mod ddl_check;
pub mod default_values;
pub mod error;
pub mod expr_passes;
pub mod fn_args;
pub mod functions;
pub mod infoschema;
pub mod intervals;
pub mod json;
pub mod json_more;
pub mod json_value;
pub mod load_data;
pub mod locking_read;
pub mod meta;
pub mod multi_table;
pub mod numeric;
pub mod packet;
pub mod proto;
pub mod protocol;
pub mod regexp;
pub mod replay_shape;
pub mod result_types;
pub mod results;
pub mod row_encoding;
pub mod row_locks;
pub mod select_into;
pub mod sequence_tables;
pub mod server;
pub mod session;
pub mod session_functions;
pub mod session_reads;
pub mod sql;
pub mod sql_prepare;
pub mod sql_text;
pub mod statement;
pub mod stmt_cache;
pub mod stmt_params;
pub mod strings;
pub mod time_functions;
pub mod tokens;
pub mod translate;
pub mod uservar_assign;
pub mod views;
pub mod wire_values;
