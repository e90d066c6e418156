//! A real Kafka-protocol broker for the CDC publisher tests: `tansu` (crates.io; installed
//! by `./scripts/test-all.sh` with `cargo install`), its memory storage engine, on a free
//! loopback port, stopped when dropped.
//!
//! Clients reach it through a [`DelayProxy`] that it advertises in its metadata, so a test
//! can cut every client off (a broker outage as the network sees it) and bring it back
//! without the broker losing what it stored: tansu's memory engine keeps nothing across a
//! restart of the process.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netproxy::DelayProxy;
use crate::{free_port, require_tool};

/// How to install the broker (kept in step with `scripts/test-all.sh`).
pub const INSTALL: &str = "cargo install --locked tansu@0.6.0 --features dynostore";

/// One `tansu broker`.
pub struct KafkaBroker {
    child: Option<Child>,
    /// The port clients connect to (the proxy's, which the broker advertises).
    pub port: u16,
    /// The broker's own port.
    backend: u16,
    proxy: Option<DelayProxy>,
    dir: PathBuf,
}

impl KafkaBroker {
    /// Start a broker logging into `dir`, and its proxy.
    pub fn start(dir: &Path) -> KafkaBroker {
        let bin = require_tool("tansu", INSTALL);
        let (port, backend) = (free_port(), free_port());
        let log = std::fs::File::create(dir.join("tansu.log")).expect("tansu log");
        let child = Command::new(bin)
            .arg("broker")
            .args(["--listener-url", &format!("tcp://127.0.0.1:{backend}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu");
        let mut b = KafkaBroker { child: Some(child), port, backend, proxy: None, dir: dir.to_path_buf() };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", backend)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "tansu did not listen: {}", b.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        b.reconnect();
        b
    }

    /// `127.0.0.1:{port}`, as a sink's `brokers` entry.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Cut every client off: connections close and new ones are refused.
    pub fn disconnect(&mut self) {
        self.proxy = None;
    }

    /// Let clients in again (after [`KafkaBroker::disconnect`]).
    pub fn reconnect(&mut self) {
        let start = Instant::now();
        loop {
            match DelayProxy::listen(("127.0.0.1", self.port), self.backend, 0, 0, 1) {
                Ok(p) => {
                    self.proxy = Some(p);
                    return;
                }
                Err(e) => {
                    assert!(start.elapsed() < Duration::from_secs(10), "cannot listen on {} again: {e}", self.port);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// What the broker logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        self.proxy = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
