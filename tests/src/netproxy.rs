//! A delaying TCP proxy on loopback, in front of one node's node port.
//!
//! The kernel here has no netem, so delay is added in userspace: every chunk read from
//! either side is held until its due time (the one-way delay plus a seeded jitter, never
//! earlier than the chunk before it, so a stream is never reordered) and then written to
//! the other side. A node that advertises the proxy's address (`[cluster]
//! advertise_address`) is reached by its peers only through it, so one proxy per node
//! puts twice its delay on every round trip to that node. `stall` holds all traffic (as
//! a partition does to a TCP connection that keeps retransmitting) until `resume`.
//! Dropping the proxy closes every connection and stops every thread it started.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the proxy does to traffic now; changed while it runs.
struct Shaping {
    delay_ms: AtomicU64,
    jitter_ms: AtomicU64,
    stalled: AtomicBool,
    stopping: AtomicBool,
    /// Bytes forwarded, both directions.
    bytes: AtomicU64,
    /// Every socket of every connection, to close them all on drop.
    sockets: Mutex<Vec<TcpStream>>,
    /// The jitter draws (xorshift64*: seeded, so a run's jitter repeats).
    rng: Mutex<u64>,
}

impl Shaping {
    fn due(&self, last: Instant) -> Instant {
        let jitter = self.jitter_ms.load(Ordering::Relaxed);
        let extra = if jitter == 0 {
            0
        } else {
            let mut x = self.rng.lock().expect("rng");
            *x ^= *x >> 12;
            *x ^= *x << 25;
            *x ^= *x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D) % (jitter + 1)
        };
        let due = Instant::now() + Duration::from_millis(self.delay_ms.load(Ordering::Relaxed) + extra);
        due.max(last)
    }
}

/// A proxy listening on 127.0.0.1:`port`, forwarding to a target address.
pub struct DelayProxy {
    /// The port it listens on (what the node advertises).
    pub port: u16,
    shaping: Arc<Shaping>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Listen on a free loopback port and forward to 127.0.0.1:`target`, adding
    /// `delay_ms` (plus up to `jitter_ms`, drawn from `seed`) each way.
    pub fn start(target: u16, delay_ms: u64, jitter_ms: u64, seed: u64) -> DelayProxy {
        Self::listen(("127.0.0.1", 0), target, delay_ms, jitter_ms, seed).expect("bind the proxy")
    }

    /// Like [`DelayProxy::start`], listening on `listen`.
    pub fn listen(
        listen: impl std::net::ToSocketAddrs,
        target: u16,
        delay_ms: u64,
        jitter_ms: u64,
        seed: u64,
    ) -> std::io::Result<DelayProxy> {
        let listener = TcpListener::bind(listen)?;
        let port = listener.local_addr()?.port();
        let shaping = Arc::new(Shaping {
            delay_ms: AtomicU64::new(delay_ms),
            jitter_ms: AtomicU64::new(jitter_ms),
            stalled: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            bytes: AtomicU64::new(0),
            sockets: Mutex::new(Vec::new()),
            rng: Mutex::new(seed | 1),
        });
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (s, t) = (shaping.clone(), threads.clone());
        let acceptor = std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let mut sockets = s.sockets.lock().expect("sockets");
                for sock in [&client, &server] {
                    if let Ok(c) = sock.try_clone() {
                        sockets.push(c);
                    }
                }
                drop(sockets);
                let mut threads = t.lock().expect("threads");
                for (from, to) in [(&client, &server), (&server, &client)] {
                    if let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) {
                        threads.extend(pump(from, to, s.clone()));
                    }
                }
            }
        });
        Ok(DelayProxy { port, shaping, threads, acceptor: Some(acceptor) })
    }

    /// Change the one-way delay and jitter for traffic read from now on.
    pub fn set_delay(&self, delay_ms: u64, jitter_ms: u64) {
        self.shaping.delay_ms.store(delay_ms, Ordering::SeqCst);
        self.shaping.jitter_ms.store(jitter_ms, Ordering::SeqCst);
    }

    /// Hold all traffic, both ways, until [`DelayProxy::resume`].
    pub fn stall(&self) {
        self.shaping.stalled.store(true, Ordering::SeqCst);
    }

    /// Deliver what was held and carry on.
    pub fn resume(&self) {
        self.shaping.stalled.store(false, Ordering::SeqCst);
    }

    /// Bytes forwarded so far, both directions.
    pub fn bytes(&self) -> u64 {
        self.shaping.bytes.load(Ordering::SeqCst)
    }
}

/// Copy `from` to `to` through a queue of (due time, chunk): one thread reads, one writes.
fn pump(mut from: TcpStream, mut to: TcpStream, shaping: Arc<Shaping>) -> [JoinHandle<()>; 2] {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let s = shaping.clone();
    let reader = std::thread::spawn(move || {
        let mut last = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    last = s.due(last);
                    if tx.send((last, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let writer = std::thread::spawn(move || {
        for (due, chunk) in rx {
            while shaping.stalled.load(Ordering::SeqCst) && !shaping.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
            shaping.bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        // The reading side closed: pass the close on.
        let _ = to.shutdown(Shutdown::Write);
    });
    [reader, writer]
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.shaping.stopping.store(true, Ordering::SeqCst);
        for sock in self.shaping.sockets.lock().expect("sockets").drain(..) {
            let _ = sock.shutdown(Shutdown::Both);
        }
        // Wake the acceptor so it sees `stopping`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for t in self.threads.lock().expect("threads").drain(..) {
            let _ = t.join();
        }
    }
}
