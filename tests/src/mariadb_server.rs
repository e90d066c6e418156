//! A real MariaDB server for differential tests: Debian's `mariadbd`, in a temporary
//! data directory, on a free loopback port, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, require_tool};

/// One running `mariadbd`.
pub struct MariaDbServer {
    child: Option<Child>,
    /// Its MySQL port on 127.0.0.1.
    pub port: u16,
    log: std::path::PathBuf,
}

impl MariaDbServer {
    /// Initialise a data directory under `dir` and start the server (root, no password).
    pub fn start(dir: &Path) -> MariaDbServer {
        let install = require_tool("mariadb-install-db", "apt-get install mariadb-server");
        let server = require_tool("/usr/sbin/mariadbd", "apt-get install mariadb-server");
        let data = dir.join("mariadb-data");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout)
            .expect("utf-8")
            .trim()
            .to_string();
        let out = Command::new(install)
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .output()
            .expect("run mariadb-install-db");
        assert!(out.status.success(), "mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let log = dir.join("mariadb.log");
        let child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--user={user}"))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mariadb.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--innodb-buffer-pool-size=64M", "--skip-log-bin"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mariadbd");
        let mut s = MariaDbServer { child: Some(child), port, log };
        s.wait_ready(Duration::from_secs(60));
        s
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().expect("wait")) {
                panic!(
                    "mariadbd exited with {st}; its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if crate::mariadb(self.port, "root", None, None, "SELECT 1").0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("mariadbd did not answer within {timeout:?}");
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
