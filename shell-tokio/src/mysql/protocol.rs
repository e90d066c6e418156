//! The MySQL client/server protocol of one connection: the handshake and
//! mysql_native_password authentication, the command loop over typed [`Command`]s,
//! prepared statements' ids, parameters and long data, and result sets in the text and
//! binary encodings. What the commands mean is the [`Backend`]'s business (see
//! [`super::backend`]); nothing here knows SQL. Every malformed input ends in an error
//! packet or a closed connection for that client only.

use std::collections::BTreeMap;
use std::io::Read;

use marmot_core::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::backend::{Backend, Backends, PreparedShape};
use super::command::Command;
use super::error::MyError;
use super::load_data::LoadData;
use super::packet::{put_lenenc_int, put_lenenc_str, PacketError, PacketIo, Reader};
use super::proto::{self, cap, ColType, Column};
use super::results::Outcome;
use super::row_encoding::{binary_row, text_row};
use super::session_functions::SERVER_VERSION;
use super::sql;
use super::stmt_params::decode_values;

fn scramble() -> [u8; 20] {
    let mut s = [0u8; 20];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut s)).is_ok();
    if !ok {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let t = now ^ (std::process::id() as u64).rotate_left(32);
        for (i, b) in s.iter_mut().enumerate() {
            *b = (t.rotate_left(i as u32 * 7) & 0xff) as u8;
        }
    }
    // Printable, never NUL: some clients treat the scramble as a C string.
    for b in s.iter_mut() {
        *b = 33 + (*b % 94);
    }
    s
}

struct Conn<'a, S, B: Backends> {
    io: PacketIo<S>,
    backends: &'a B,
    salt: [u8; 20],
    caps: u32,
    session: B::Session,
    stmts: BTreeMap<u32, Prepared>,
    next_stmt: u32,
}

struct Prepared {
    sql: String,
    params: usize,
    /// Parameter types bound by the last execute (kept for later executes).
    types: Vec<u16>,
    /// Values sent ahead with COM_STMT_SEND_LONG_DATA (JDBC `setBlob`, Connector/Python
    /// file-like parameters), by parameter, until the next execute or COM_STMT_RESET.
    long_data: BTreeMap<u16, Vec<u8>>,
    /// The long data of some parameter grew past `max_allowed_packet`: the next execute
    /// fails rather than store a truncated value.
    long_data_overflow: bool,
}

/// Serve one client on `sock` as connection `id`: the handshake and authentication, then
/// its commands until it quits, the stream ends or a packet is malformed.
pub async fn handle<S: AsyncRead + AsyncWrite + Unpin, B: Backends>(
    sock: S,
    backends: &B,
    id: u32,
) -> Result<(), PacketError> {
    let mut io = PacketIo::new(sock, backends.max_packet());
    let salt = scramble();
    io.send(&proto::handshake(SERVER_VERSION, id, &salt, proto::status::AUTOCOMMIT)).await?;
    let Some(resp) = io.read().await? else { return Ok(()) };
    let mut r = Reader::new(&resp);
    let caps = r.u32()?;
    if caps & cap::PROTOCOL_41 == 0 {
        io.send(&proto::err(1043, "08S01", "Bad handshake: protocol 4.1 required")).await?;
        return Ok(());
    }
    let _max = r.u32()?;
    let _charset = r.u8()?;
    r.take(23)?;
    let user = String::from_utf8_lossy(r.cstr()).into_owned();
    let mut token = if caps & cap::PLUGIN_AUTH_LENENC_DATA != 0 {
        r.lenenc_str()?.to_vec()
    } else if caps & cap::SECURE_CONNECTION != 0 {
        let n = r.u8()? as usize;
        r.take(n)?.to_vec()
    } else {
        r.cstr().to_vec()
    };
    let db =
        if caps & cap::CONNECT_WITH_DB != 0 { String::from_utf8_lossy(r.cstr()).into_owned() } else { String::new() };
    let plugin =
        if caps & cap::PLUGIN_AUTH != 0 { String::from_utf8_lossy(r.cstr()).into_owned() } else { String::new() };
    if !plugin.is_empty() && plugin != "mysql_native_password" {
        // Ask the client to switch to mysql_native_password with our scramble.
        let mut sw = vec![0xfe];
        sw.extend_from_slice(b"mysql_native_password\0");
        sw.extend_from_slice(&salt);
        sw.push(0);
        io.send(&sw).await?;
        let Some(again) = io.read().await? else { return Ok(()) };
        token = again;
    }
    if !backends.allowed(&user, &salt, &token) {
        tracing::warn!(conn = id, user = %user, "authentication failed");
        let using = if token.is_empty() { "NO" } else { "YES" };
        io.send(&proto::err(
            1045,
            "28000",
            &format!("Access denied for user '{user}'@'localhost' (using password: {using})"),
        ))
        .await?;
        return Ok(());
    }
    let mut session = backends.open(user, id);
    session.set_found_rows(caps & cap::FOUND_ROWS != 0);
    if let Err(e) = session.use_db(&db) {
        io.send(&proto::err(e.code, e.state, &e.msg)).await?;
        return Ok(());
    }
    io.send(&proto::ok(0, 0, 0, session.status_flags(), 0, "")).await?;
    let mut conn = Conn { io, backends, salt, caps, session, stmts: BTreeMap::new(), next_stmt: 1 };
    conn.run().await
}

impl<S: AsyncRead + AsyncWrite + Unpin, B: Backends> Conn<'_, S, B> {
    fn deprecate_eof(&self) -> bool {
        self.caps & cap::DEPRECATE_EOF != 0
    }

    async fn run(&mut self) -> Result<(), PacketError> {
        loop {
            let Some(pkt) = self.io.read().await? else { return Ok(()) };
            let Some(command) = Command::parse(&pkt) else {
                return Err(PacketError::Malformed("empty command"));
            };
            if tracing::enabled!(tracing::Level::DEBUG) {
                let body = &pkt[1..];
                let shown: String = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                tracing::debug!(conn = self.session.conn_id(), cmd = pkt[0], body = %shown, "command");
            }
            let result = match command {
                Command::Quit => return Ok(()),
                Command::InitDb(db) => {
                    let db = String::from_utf8_lossy(db).into_owned();
                    match self.session.use_db(&db) {
                        Ok(()) => self.ok(0, 0),
                        Err(e) => self.error(&e),
                    }
                    Ok(())
                }
                Command::Query(body) => {
                    let text = sql::decode_query(body);
                    if let Some(spec) = self.session.local_file(&text) {
                        let outcome = self.local_infile(spec).await?;
                        self.results(vec![outcome], false, false);
                        self.io.flush().await?;
                        continue;
                    }
                    let outcomes = self.session.query(&text).await;
                    self.answer(outcomes, false);
                    Ok(())
                }
                Command::FieldList(body) => self.field_list(body),
                Command::Ping => {
                    self.ok(0, 0);
                    Ok(())
                }
                Command::ChangeUser(body) => self.change_user(body).await,
                Command::StmtPrepare(body) => self.prepare(body),
                Command::StmtExecute(body) => self.execute(body).await,
                Command::StmtSendLongData(body) => {
                    // COM_STMT_SEND_LONG_DATA has no reply, not even an error: problems
                    // surface at the execute.
                    self.long_data(body);
                    Ok(())
                }
                Command::StmtClose(id) => {
                    if let Some(id) = id {
                        self.stmts.remove(&id);
                    }
                    Ok(())
                }
                Command::StmtReset(id) => {
                    // Forget the long data sent so far.
                    if let Some(stmt) = id.and_then(|id| self.stmts.get_mut(&id)) {
                        stmt.long_data.clear();
                        stmt.long_data_overflow = false;
                    }
                    self.ok(0, 0);
                    Ok(())
                }
                Command::SetOption(multi_statements) => {
                    match multi_statements {
                        Some(true) => self.caps |= cap::MULTI_STATEMENTS,
                        Some(false) => self.caps &= !cap::MULTI_STATEMENTS,
                        None => {}
                    }
                    let status = self.session.status_flags();
                    self.io.queue(&proto::eof(status, 0));
                    Ok(())
                }
                Command::ResetConnection => {
                    self.session.reset();
                    self.stmts.clear();
                    self.ok(0, 0);
                    Ok(())
                }
                Command::Unknown(cmd) => {
                    self.error(&MyError::new(1047, "08S01", format!("Unknown command {cmd:#04x}")));
                    Ok(())
                }
            };
            if let Err(e) = result {
                // A malformed command: answer with an error and drop only this client.
                self.error(&MyError::new(1835, "HY000", format!("Malformed communication packet: {e}")));
                self.io.flush().await?;
                return Err(e);
            }
            self.io.flush().await?;
        }
    }

    /// COM_CHANGE_USER: authenticate again (against this connection's scramble), then
    /// start a fresh session as that user. A wrong password ends the connection (1045).
    async fn change_user(&mut self, body: &[u8]) -> Result<(), PacketError> {
        let mut r = Reader::new(body);
        let user = String::from_utf8_lossy(r.cstr()).into_owned();
        let token = if self.caps & cap::SECURE_CONNECTION != 0 {
            let n = r.u8()? as usize;
            r.take(n)?.to_vec()
        } else {
            r.cstr().to_vec()
        };
        let db = String::from_utf8_lossy(r.cstr()).into_owned();
        if !self.backends.allowed(&user, &self.salt, &token) {
            self.error(&MyError::new(1045, "28000", format!("Access denied for user '{user}'@'localhost'")));
            self.io.flush().await?;
            return Err(PacketError::Malformed("authentication failed on COM_CHANGE_USER"));
        }
        let found = self.session.found_rows();
        self.session = self.backends.open(user, self.session.conn_id());
        self.session.set_found_rows(found);
        self.stmts.clear();
        match self.session.use_db(&db) {
            Ok(()) => self.ok(0, 0),
            Err(e) => self.error(&e),
        }
        Ok(())
    }

    fn ok(&mut self, affected: u64, last_id: u64) {
        let status = self.session.status_flags();
        let w = self.session.warning_count();
        self.io.queue(&proto::ok(0, affected, last_id, status, w, ""));
    }

    fn error(&mut self, e: &MyError) {
        self.io.queue(&proto::err(e.code, e.state, &e.msg));
    }

    /// `LOAD DATA LOCAL INFILE`: ask the client for the file, take its packets up to the
    /// empty one, and load them.
    async fn local_infile(&mut self, spec: LoadData) -> Result<Outcome, PacketError> {
        if self.caps & cap::LOCAL_FILES == 0 {
            return Ok(Outcome::Error(MyError::new(
                1148,
                "42000",
                "The used command is not allowed with this MariaDB version: the client has not enabled LOAD DATA \
                 LOCAL (mariadb --local-infile=1)",
            )));
        }
        let mut request = vec![0xfb];
        request.extend_from_slice(spec.file.as_bytes());
        self.io.queue(&request);
        self.io.flush().await?;
        // The file is loaded as its packets come; after an error the rest is read and
        // dropped, so the connection stays in step.
        let mut load = self.session.load_begin(&spec).await;
        loop {
            let Some(pkt) = self.io.read().await? else {
                return Err(PacketError::Malformed("connection closed while sending a LOAD DATA LOCAL file"));
            };
            if pkt.is_empty() {
                break;
            }
            if let Ok(l) = load.as_mut() {
                if let Err(e) = self.session.load_piece(l, &pkt).await {
                    load = Err(e);
                }
            }
        }
        let done = match load {
            Ok(l) => self.session.load_end(l).await,
            Err(e) => Err(e),
        };
        Ok(done.unwrap_or_else(Outcome::Error))
    }

    /// Answer a query's outcomes; a deferred read (always the last) is streamed: its
    /// rows go out in batches, the buffer flushed past [`STREAM_FLUSH`] bytes, so a big
    /// result never sits in memory whole.
    fn answer(&mut self, mut outcomes: Vec<Outcome>, binary: bool) {
        let Some(Outcome::Deferred(read)) = outcomes.last().cloned() else {
            return self.results(outcomes, binary, false);
        };
        outcomes.pop();
        self.results(outcomes, binary, true);
        let status = self.session.status_flags();
        let deprecate_eof = self.deprecate_eof();
        let mut sink = IoSink { io: &mut self.io, binary, deprecate_eof, status, columns: None };
        // An error may come after some rows: its ERR packet ends the result either way.
        let out = self.session.stream(read, &mut sink);
        self.results(vec![out], binary, false);
    }

    /// Queue the packets of `outcomes`; `more_after`: another result follows them.
    fn results(&mut self, outcomes: Vec<Outcome>, binary: bool, more_after: bool) {
        let n = outcomes.len();
        for (i, o) in outcomes.into_iter().enumerate() {
            let more = if i + 1 < n || more_after { proto::status::MORE_RESULTS } else { 0 };
            let status = self.session.status_flags() | more;
            let w = self.session.warning_count();
            match o {
                Outcome::Done { affected, last_insert_id } => {
                    self.io.queue(&proto::ok(0, affected, last_insert_id, status, w, ""));
                }
                Outcome::Error(e) => self.error(&e),
                Outcome::Rows { columns, rows } => self.rows(columns, rows, status, w, binary),
                Outcome::Streamed { .. } => self.io.queue(&result_end(self.deprecate_eof(), status, w)),
                Outcome::Deferred(_) => self.error(&MyError::new(1105, "HY000", "internal: a read was not run")),
            }
        }
    }

    fn rows(&mut self, columns: Vec<Column>, rows: Vec<Vec<Value>>, status: u16, warnings: u16, binary: bool) {
        let deprecate_eof = self.deprecate_eof();
        queue_header(&mut self.io, &columns, deprecate_eof, status, warnings);
        queue_rows(&mut self.io, &columns, rows, binary);
        self.io.queue(&result_end(deprecate_eof, status, warnings));
    }

    fn field_list(&mut self, body: &[u8]) -> Result<(), PacketError> {
        let mut r = Reader::new(body);
        let table = String::from_utf8_lossy(r.cstr()).into_owned();
        match self.session.table_columns(&table) {
            Ok(Some(columns)) => {
                for mut c in columns {
                    c.table = table.clone();
                    c.org_table = table.clone();
                    let mut p = c.encode();
                    put_lenenc_str(&mut p, b"");
                    self.io.queue(&p);
                }
                let status = self.session.status_flags();
                self.io.queue(&proto::eof(status, 0));
            }
            Ok(None) => self.ok(0, 0),
            Err(e) => self.error(&e),
        }
        Ok(())
    }

    fn prepare(&mut self, body: &[u8]) -> Result<(), PacketError> {
        let text = String::from_utf8_lossy(body).into_owned();
        let PreparedShape { params, columns } = match self.session.prepare(&text) {
            Ok(shape) => shape,
            Err(e) => {
                self.error(&e);
                return Ok(());
            }
        };
        let id = self.next_stmt;
        self.next_stmt += 1;
        self.stmts.insert(
            id,
            Prepared { sql: text, params, types: Vec::new(), long_data: BTreeMap::new(), long_data_overflow: false },
        );
        let mut b = vec![0u8];
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&(columns.len() as u16).to_le_bytes());
        b.extend_from_slice(&(params as u16).to_le_bytes());
        b.push(0);
        b.extend_from_slice(&0u16.to_le_bytes());
        self.io.queue(&b);
        if params > 0 {
            for i in 0..params {
                self.io.queue(&Column::new(&format!("?{i}"), ColType::VarString).encode());
            }
            if !self.deprecate_eof() {
                let status = self.session.status_flags();
                self.io.queue(&proto::eof(status, 0));
            }
        }
        if !columns.is_empty() {
            for c in columns {
                self.io.queue(&c.encode());
            }
            if !self.deprecate_eof() {
                let status = self.session.status_flags();
                self.io.queue(&proto::eof(status, 0));
            }
        }
        Ok(())
    }

    /// COM_STMT_SEND_LONG_DATA: statement id, parameter id, then a piece of the value;
    /// pieces of one parameter are appended.
    fn long_data(&mut self, body: &[u8]) {
        let max = self.backends.max_packet();
        let (Some(id), Some(param)) = (body.get(..4), body.get(4..6)) else { return };
        let Some(stmt) = self.stmts.get_mut(&u32::from_le_bytes(id.try_into().expect("4"))) else { return };
        let param = u16::from_le_bytes(param.try_into().expect("2"));
        if param as usize >= stmt.params {
            return;
        }
        let value = stmt.long_data.entry(param).or_default();
        if value.len() + body.len() - 6 > max {
            stmt.long_data_overflow = true;
            value.clear();
            return;
        }
        value.extend_from_slice(&body[6..]);
    }

    async fn execute(&mut self, body: &[u8]) -> Result<(), PacketError> {
        let mut r = Reader::new(body);
        let id = r.u32()?;
        let _flags = r.u8()?;
        let _iterations = r.u32()?;
        let Some(stmt) = self.stmts.get_mut(&id) else {
            self.error(&MyError::new(
                1243,
                "HY000",
                format!("Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"),
            ));
            return Ok(());
        };
        let n = stmt.params;
        let long_data = std::mem::take(&mut stmt.long_data);
        if std::mem::take(&mut stmt.long_data_overflow) {
            self.error(&MyError::new(
                1153,
                "08S01",
                "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
            ));
            return Ok(());
        }
        let values = decode_values(&mut r, n, &mut stmt.types, &long_data)?;
        let text = stmt.sql.clone();
        let outcomes = self.session.execute(&text, values).await;
        self.answer(outcomes, true);
        Ok(())
    }
}

/// Queue a result set's header: column count, column definitions, and the EOF after
/// them unless the client deprecated it.
fn queue_header<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketIo<S>,
    columns: &[Column],
    deprecate_eof: bool,
    status: u16,
    warnings: u16,
) {
    let mut b = Vec::new();
    put_lenenc_int(&mut b, columns.len() as u64);
    io.queue(&b);
    for c in columns {
        io.queue(&c.encode());
    }
    if !deprecate_eof {
        io.queue(&proto::eof(status, warnings));
    }
}

/// Queue result rows in the text or binary protocol.
fn queue_rows<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketIo<S>,
    columns: &[Column],
    rows: Vec<Vec<Value>>,
    binary: bool,
) {
    for row in rows {
        let payload = if binary { binary_row(columns, &row) } else { text_row(columns, &row) };
        io.queue(&payload);
    }
}

/// The packet ending a result set's rows.
fn result_end(deprecate_eof: bool, status: u16, warnings: u16) -> Vec<u8> {
    if deprecate_eof {
        proto::ok(0xfe, 0, 0, status, warnings, "")
    } else {
        proto::eof(status, warnings)
    }
}

/// Queued bytes past which a streamed result is flushed to the client.
const STREAM_FLUSH: usize = 1 << 20;

/// Longest a streamed result waits for the client to take its bytes.
const NET_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A result set written as the backend's query produces it (see [`Backend::stream`]).
struct IoSink<'a, S> {
    io: &'a mut PacketIo<S>,
    binary: bool,
    deprecate_eof: bool,
    status: u16,
    /// The columns as sent, once the header is out.
    columns: Option<Vec<Column>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> super::results::RowSink for IoSink<'_, S> {
    fn rows(&mut self, columns: &[Column], rows: Vec<Vec<Value>>) -> Result<(), MyError> {
        if self.columns.is_none() {
            let columns = columns.to_vec();
            queue_header(self.io, &columns, self.deprecate_eof, self.status, 0);
            self.columns = Some(columns);
        }
        queue_rows(self.io, self.columns.as_deref().unwrap_or_default(), rows, self.binary);
        // The query runs on a blocking section of a multi-threaded runtime (see
        // `session::blocking`), which may wait for the socket; elsewhere it just queues.
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi && self.io.buffered() > STREAM_FLUSH {
            // A client that stops reading must not hold the read (and with it the WAL's
            // checkpoints) open forever: MySQL's net_write_timeout, 60 s.
            let flushed = tokio::runtime::Handle::current()
                .block_on(async { tokio::time::timeout(NET_WRITE_TIMEOUT, self.io.flush()).await });
            match flushed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(MyError::new(1160, "08S01", format!("Got an error writing communication packets: {e}")))
                }
                Err(_) => return Err(MyError::new(1161, "08S01", "Got timeout writing communication packets")),
            }
        }
        Ok(())
    }
}
