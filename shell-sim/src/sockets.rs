//! A host's TCP connections, closed in the order they were opened when the host crashes.
//!
//! turmoil crashes a host by dropping its tokio runtime, which drops the runtime's tasks
//! shard by shard, and tokio picks a task's shard from its task id, a counter global to
//! the process. So the order in which a crashed host's connections sent their FINs (and
//! with it which of turmoil's seeded latency draws each peer got) depended on how many
//! tasks the process had spawned before: the same seed gave another trace after other
//! seeds had run (seed 49 after 46 vs alone), and a failing seed's replay could differ
//! from the run that failed. Every connection the host's gRPC client and server use is
//! an [`OwnedStream`] registered here; the first one dropped while the host is crashing
//! closes all of them, oldest first.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo};
use turmoil::net::TcpStream;

type Slot = Arc<Mutex<Option<TcpStream>>>;

/// The open connections of one run of a host's software.
#[derive(Default)]
pub struct Sockets {
    crashing: AtomicBool,
    open: Mutex<Vec<Weak<Mutex<Option<TcpStream>>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sockets {
    /// Take ownership of a connection.
    pub fn own(self: &Arc<Self>, stream: TcpStream) -> OwnedStream {
        let slot: Slot = Arc::new(Mutex::new(Some(stream)));
        let mut open = lock(&self.open);
        open.retain(|w| w.strong_count() > 0);
        open.push(Arc::downgrade(&slot));
        OwnedStream { slot, sockets: self.clone() }
    }

    /// The host is about to be crashed: its next dropped connection closes them all.
    pub fn crashing(&self) {
        self.crashing.store(true, Ordering::SeqCst);
    }

    /// Close every connection still open, oldest first.
    fn close_all(&self) {
        let open = std::mem::take(&mut *lock(&self.open));
        for slot in open.iter().filter_map(Weak::upgrade) {
            let stream = lock(&slot).take();
            drop(stream);
        }
    }
}

/// A connection of the host, readable and writable until the host crashes.
pub struct OwnedStream {
    slot: Slot,
    sockets: Arc<Sockets>,
}

impl Drop for OwnedStream {
    fn drop(&mut self) {
        if self.sockets.crashing.load(Ordering::SeqCst) {
            self.sockets.close_all();
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the host crashed")
}

impl OwnedStream {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut TcpStream>) -> Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match lock(&self.slot).as_mut() {
            Some(s) => f(Pin::new(s)),
            None => Poll::Ready(Err(closed())),
        }
    }
}

impl Connected for OwnedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        let guard = lock(&self.slot);
        let s = guard.as_ref();
        TcpConnectInfo {
            local_addr: s.and_then(|s| s.local_addr().ok()),
            remote_addr: s.and_then(|s| s.peer_addr().ok()),
        }
    }
}

impl AsyncRead for OwnedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for OwnedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}
