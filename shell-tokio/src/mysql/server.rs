//! The MySQL server: listens on TCP (and a Unix socket), caps connections, and serves
//! each with the protocol layer ([`super::protocol`]) over a [`Session`] per connection
//! (see [`Backends`]). Nothing a client sends can panic the server.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use super::auth::PasswordHash;
use super::backend::Backends;
use super::packet::{PacketError, PacketIo};
use super::proto;
use super::protocol::handle;
use super::row_locks::RowLocks;
use super::session::Session;
use super::stmt_cache::StatementCache;
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

impl Backends for Shared {
    type Session = Session;

    fn max_packet(&self) -> usize {
        self.cfg.max_packet
    }

    /// A new session of `user` on connection `id`, set up as the server is configured.
    fn open(&self, user: String, id: u32) -> Session {
        let mut session = Session::new(self.engine.clone(), self.cache.clone(), self.locks.clone(), user, id);
        session.secure_file_priv = self.cfg.secure_file_priv.clone();
        session.load_data_batch_rows = self.cfg.load_data_batch_rows;
        session.limits = self.cfg.limits;
        session
    }

    fn allowed(&self, user: &str, salt: &[u8], token: &[u8]) -> bool {
        if self.cfg.users.is_empty() {
            user == "root" && PasswordHash::new("").verify(salt, token)
        } else {
            self.cfg.users.iter().any(|(name, hash)| name == user && hash.verify(salt, token))
        }
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
        handle(sock, &*self.shared, id).await
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
            handle(sock, &*shared, id).await
        };
        shared.active.fetch_sub(1, Ordering::SeqCst);
        metrics.mysql_connections.fetch_sub(1, Ordering::Relaxed);
        match result {
            Ok(()) => tracing::debug!(conn = id, %peer, "connection closed"),
            Err(e) => tracing::debug!(conn = id, %peer, error = %e, "connection ended"),
        }
    });
}
