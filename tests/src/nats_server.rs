//! A real NATS server with JetStream for the CDC publisher tests: Debian's `nats-server`,
//! on a free loopback port, its store in a directory of the test's, stopped when dropped.
//! It can be stopped and started again on the same port and store (a broker outage).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, require_tool};

/// One `nats-server -js`.
pub struct NatsServer {
    child: Option<Child>,
    /// Its client port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl NatsServer {
    /// Start a server keeping its JetStream store under `dir`.
    pub fn start(dir: &Path) -> NatsServer {
        let mut s = NatsServer { child: None, port: free_port(), dir: dir.to_path_buf() };
        s.restart();
        s
    }

    /// `nats://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Start the process again (after [`NatsServer::kill`]) on the same port and store,
    /// and wait until it accepts connections.
    pub fn restart(&mut self) {
        let bin = require_tool("nats-server", "apt-get install nats-server");
        let log = std::fs::File::create(self.dir.join("nats.log")).expect("nats log");
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.join("jetstream"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "nats-server did not listen: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill the process (SIGKILL: an outage, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
