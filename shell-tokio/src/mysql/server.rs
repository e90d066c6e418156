//! The MySQL server: accepts connections, authenticates, and runs each session's
//! command loop. Every malformed input ends in an error packet or a closed connection
//! for that client only; nothing a client sends can panic the server.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use marmot_core::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use super::row_locks::RowLocks;
use super::stmt_cache::StatementCache;
use super::stmt_params::{bind, decode_values};

use super::auth::PasswordHash;
use super::command::Command;
use super::error::MyError;
use super::load_data::LoadData;
use super::packet::{put_lenenc_int, put_lenenc_str, PacketError, PacketIo, Reader};
use super::proto::{self, cap, ColType, Column};
use super::results::Outcome;
use super::row_encoding::{binary_row, text_row};
use super::session::Session;
use super::session_functions::SERVER_VERSION;
use super::sql;
use crate::engine::Engine;

/// MySQL front-end settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind.
    pub bind: String,
    /// Port.
    pub port: u16,
    /// Accounts; empty = `root` with an empty password.
    pub users: Vec<(String, PasswordHash)>,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Largest packet accepted.
    pub max_packet: usize,
    /// Also listen on this Unix socket (empty = no).
    pub unix_socket: String,
    /// File mode of the Unix socket.
    pub unix_socket_perm: u32,
    /// Query texts kept parsed (`transpiler_cache_size`).
    pub statement_cache: usize,
    /// Directory server-side `LOAD DATA INFILE` is confined to (`secure_file_priv`).
    pub secure_file_priv: Option<std::path::PathBuf>,
    /// Rows per transaction of a `LOAD DATA` outside a transaction (0: one transaction).
    pub load_data_batch_rows: usize,
    /// How big a transaction may grow.
    pub limits: marmot_store::capture::TxnLimits,
}

struct Shared {
    cfg: ServerConfig,
    engine: Engine,
    next_id: AtomicU32,
    active: AtomicUsize,
    cache: Arc<StatementCache>,
    locks: Arc<RowLocks>,
}

impl Shared {
    /// A new session of `user` on connection `id`, set up as the server is configured.
    fn session(&self, user: String, id: u32) -> Session {
        let mut session = Session::new(self.engine.clone(), self.cache.clone(), self.locks.clone(), user, id);
        session.secure_file_priv = self.cfg.secure_file_priv.clone();
        session.load_data_batch_rows = self.cfg.load_data_batch_rows;
        session.limits = self.cfg.limits;
        session
    }

    /// Whether `user` proved its password against `salt`.
    fn allowed(&self, user: &str, salt: &[u8], token: &[u8]) -> bool {
        if self.cfg.users.is_empty() {
            user == "root" && PasswordHash::new("").verify(salt, token)
        } else {
            self.cfg.users.iter().any(|(name, hash)| name == user && hash.verify(salt, token))
        }
    }
}

/// A query that is one `LOAD DATA LOCAL INFILE` statement (the client sends the file).
fn local_infile(text: &str) -> Option<LoadData> {
    // Every query passes here: tokenize only what can be one.
    let head = text.trim_start().get(..4)?;
    if !head.eq_ignore_ascii_case("LOAD") {
        return None;
    }
    let toks = sql::tokenize(text).ok()?;
    match super::load_data::parse(&toks)? {
        Ok(spec) if spec.local => Some(spec),
        _ => None,
    }
}

/// MySQL connections served on streams the caller provides (an in-memory pipe in tests
/// and fuzzing) rather than on a listener.
pub struct Connections {
    shared: Arc<Shared>,
}

impl Connections {
    /// Connections of a server with `cfg` (its address is not used) on `engine`.
    pub fn new(cfg: ServerConfig, engine: Engine) -> Self {
        let cache = Arc::new(StatementCache::new(cfg.statement_cache));
        let shared = Shared {
            cfg,
            engine,
            next_id: AtomicU32::new(1),
            active: AtomicUsize::new(0),
            cache,
            locks: Arc::new(RowLocks::default()),
        };
        Connections { shared: Arc::new(shared) }
    }

    /// Serve one client on `sock` until it quits, the stream ends or a packet is malformed.
    pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&self, sock: S) -> Result<(), PacketError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        handle(sock, &self.shared, id).await
    }
}

/// Bind and serve until the task is dropped.
pub async fn serve(cfg: ServerConfig, engine: Engine) -> std::io::Result<()> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "MySQL server listening");
    let shared = Connections::new(cfg, engine).shared;
    if !shared.cfg.unix_socket.is_empty() {
        let path = std::path::PathBuf::from(&shared.cfg.unix_socket);
        // A socket file left by a previous run would make bind fail.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())) {
            std::fs::remove_file(&path)?;
        }
        let unix = tokio::net::UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(shared.cfg.unix_socket_perm))?;
        tracing::info!(path = %path.display(), "MySQL server listening on Unix socket");
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                match unix.accept().await {
                    Ok((sock, _)) => spawn_connection(shared.clone(), sock, "unix socket".to_string()),
                    Err(e) => tracing::warn!(error = %e, "accept on Unix socket failed"),
                }
            }
        });
    }
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        spawn_connection(shared.clone(), sock, peer.to_string());
    }
}

fn spawn_connection<S>(shared: Arc<Shared>, sock: S, peer: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let n = shared.active.fetch_add(1, Ordering::SeqCst) + 1;
        let metrics = shared.engine.metrics.clone();
        metrics.mysql_connections_total.fetch_add(1, Ordering::Relaxed);
        metrics.mysql_connections.fetch_add(1, Ordering::Relaxed);
        let result = if n > shared.cfg.max_connections {
            let mut io = PacketIo::new(sock, 1 << 20);
            io.send(&proto::err(1040, "08004", "Too many connections")).await.map(|_| ())
        } else {
            handle(sock, &shared, id).await
        };
        shared.active.fetch_sub(1, Ordering::SeqCst);
        metrics.mysql_connections.fetch_sub(1, Ordering::Relaxed);
        match result {
            Ok(()) => tracing::debug!(conn = id, %peer, "connection closed"),
            Err(e) => tracing::debug!(conn = id, %peer, error = %e, "connection ended"),
        }
    });
}

fn scramble() -> [u8; 20] {
    let mut s = [0u8; 20];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut s)).is_ok();
    if !ok {
        let t = crate::engine::wall_ms() ^ (std::process::id() as u64).rotate_left(32);
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

struct Conn<'a, S> {
    io: PacketIo<S>,
    shared: &'a Shared,
    salt: [u8; 20],
    caps: u32,
    session: Session,
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

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(sock: S, shared: &Shared, id: u32) -> Result<(), PacketError> {
    let mut io = PacketIo::new(sock, shared.cfg.max_packet);
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
    if !shared.allowed(&user, &salt, &token) {
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
    let mut session = shared.session(user, id);
    session.found_rows_flag = caps & cap::FOUND_ROWS != 0;
    if let Err(e) = session.use_db(&db) {
        io.send(&proto::err(e.code, e.state, &e.msg)).await?;
        return Ok(());
    }
    io.send(&proto::ok(0, 0, 0, session.status_flags(), 0, "")).await?;
    let mut conn = Conn { io, shared, salt, caps, session, stmts: BTreeMap::new(), next_stmt: 1 };
    conn.run().await
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<'_, S> {
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
                tracing::debug!(conn = self.session.info.lock().map(|i| i.conn_id).unwrap_or(0), cmd = pkt[0], body = %shown, "command");
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
                    if let Some(spec) = local_infile(&text) {
                        let outcome = self.local_infile(spec).await?;
                        self.results(vec![outcome], false, false);
                        self.io.flush().await?;
                        continue;
                    }
                    let outcomes = self.session.query_streaming(&text).await;
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
        if !self.shared.allowed(&user, &self.salt, &token) {
            self.error(&MyError::new(1045, "28000", format!("Access denied for user '{user}'@'localhost'")));
            self.io.flush().await?;
            return Err(PacketError::Malformed("authentication failed on COM_CHANGE_USER"));
        }
        let id = self.session.info.lock().map(|i| i.conn_id).unwrap_or(0);
        let found = self.session.found_rows_flag;
        self.session = self.shared.session(user, id);
        self.session.found_rows_flag = found;
        self.stmts.clear();
        match self.session.use_db(&db) {
            Ok(()) => self.ok(0, 0),
            Err(e) => self.error(&e),
        }
        Ok(())
    }

    fn ok(&mut self, affected: u64, last_id: u64) {
        let status = self.session.status_flags();
        let w = self.session.warnings.len() as u16;
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
            let w = self.session.warnings.len() as u16;
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
        let q = format!("SELECT * FROM {} LIMIT 0", sql::quote_ident(&table));
        match self.session.read(&q) {
            Ok(Outcome::Rows { columns, .. }) => {
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
            Ok(_) => self.ok(0, 0),
            Err(e) => self.error(&e),
        }
        Ok(())
    }

    fn prepare(&mut self, body: &[u8]) -> Result<(), PacketError> {
        let text = String::from_utf8_lossy(body).into_owned();
        let params = match sql::tokenize(&text) {
            Ok(toks) => toks.iter().filter(|t| matches!(t, sqlparser::tokenizer::Token::Placeholder(_))).count(),
            Err(e) => {
                self.error(&MyError::new(1064, "42000", e.to_string()));
                return Ok(());
            }
        };
        let columns = match self.session.prepare_columns(&text) {
            Ok(c) => c,
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
        let max = self.shared.cfg.max_packet;
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
        let text = match bind(&stmt.sql, &values) {
            Ok(t) => t,
            Err(e) => {
                self.error(&e);
                return Ok(());
            }
        };
        tracing::debug!(conn = self.session.info.lock().map(|i| i.conn_id).unwrap_or(0), statement = %text, "execute");
        let outcomes = self.session.query_streaming(&text).await;
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

/// A result set written as the session's query produces it (see [`Session::stream`]).
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
