//! Processes a benchmark starts on loopback (marmot nodes, brokers), killed when dropped,
//! and the small helpers around them.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mysql_async::{Conn, OptsBuilder};

/// A free loopback port.
pub fn port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wall clock in ms since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64
}

/// An environment variable as a number, or `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Processes killed when dropped.
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Start `bin` in `dir`, its output in `dir/log`.
pub fn spawn(bin: &Path, args: &[String], dir: &Path, log: &str) -> Child {
    let out = std::fs::File::create(dir.join(log)).expect("log");
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}

/// Wait (up to 60 s) until something listens on loopback port `p`.
pub fn wait_port(p: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing listens on {p}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A MySQL connection as root to loopback port `p`.
pub async fn connect(p: u16) -> Conn {
    let opts = OptsBuilder::default().ip_or_hostname("127.0.0.1").tcp_port(p).user(Some("root")).prefer_socket(false);
    Conn::new(opts).await.expect("connect")
}

/// The `p` quantile (0..1) of `v` (sorted here).
pub fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(0)
}
