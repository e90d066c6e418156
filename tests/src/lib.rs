//! Harness for end-to-end tests against real `marmot` processes.
//!
//! [`marmot_binary`] builds the binary once per test process (with the same cargo and
//! profile as the tests) and returns its path; [`Marmot`] runs one process in its own
//! temporary directory and kills it when dropped, so every test process stops by itself.

pub mod cdc;
pub mod expression_eval;
pub mod expression_grammar;
pub mod kafka_broker;
pub mod mariadb_server;
pub mod mysqltest_results;
pub mod nats_server;
pub mod netns;
pub mod netproxy;
pub mod ns_cluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1, never the same twice in one test process.
///
/// Why not `bind(0)`: the kernel hands the port it just gave back out again, so two calls in a
/// row could return the same port (CI once started a node whose MySQL and gRPC ports were
/// equal), and a port from the ephemeral range can be taken by any outgoing connection before
/// the server binds it. So ports come from below the ephemeral range (32768–60999 on Linux),
/// from a start that depends on the process id, each checked free and handed out once.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    const SPAN: u32 = 22_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(u32::MAX, (std::process::id() * 997) % SPAN, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1 between {LOW} and {}", LOW + SPAN)
}

/// Path of a tool the test needs, or a panic saying what to install.
pub fn require_tool(path: &str, install: &str) -> PathBuf {
    let found = if path.contains('/') {
        Some(PathBuf::from(path)).filter(|p| p.exists())
    } else {
        std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(path)).find(|p| p.exists()))
    };
    found.unwrap_or_else(|| panic!("{path} is missing: install it with `{install}` (./scripts/test-all.sh does)"))
}

/// A marmot node serving MySQL on a free loopback port, with `extra` config appended.
pub fn start_mysql_node(dir: &Path, extra: &str) -> (Marmot, u16) {
    start_node_with(dir, "", extra)
}

/// Like [`start_mysql_node`], with `top` (top-level keys) before the `[mysql]` table.
pub fn start_node_with(dir: &Path, top: &str, extra: &str) -> (Marmot, u16) {
    let port = free_port();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "{top}\n[mysql]\nbind_address = \"127.0.0.1\"\nport = {port}\n{extra}\n\
             [cluster]\ngrpc_bind_address = \"127.0.0.1\"\ngrpc_port = {}\n",
            free_port()
        ),
    )
    .expect("config");
    let m = Marmot::start(dir, &[]);
    m.wait_for_log("MySQL server listening", Duration::from_secs(30));
    (m, port)
}

/// Run the mariadb CLI in batch mode; returns (success, stdout, stderr).
pub fn mariadb(port: u16, user: &str, password: Option<&str>, db: Option<&str>, sql: &str) -> (bool, String, String) {
    let bin = require_tool("mariadb", "apt-get install mariadb-client");
    let mut cmd = Command::new(bin);
    cmd.args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", user, "--batch", "-e", sql]);
    if let Some(p) = password {
        cmd.arg(format!("-p{p}"));
    }
    if let Some(d) = db {
        cmd.arg(d);
    }
    let out = cmd.output().expect("run mariadb");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run a Python script with the test virtualenv's python (PyMySQL and
/// mysql-connector-python installed by ./scripts/test-all.sh); the script gets the port
/// as argv[1]. Returns (success, stdout, stderr).
pub fn python(port: u16, script: &str) -> (bool, String, String) {
    let venv = workspace_root().join("target/e2e-venv/bin/python");
    let py = require_tool(
        venv.to_str().expect("utf-8 path"),
        "python3 -m venv target/e2e-venv && target/e2e-venv/bin/pip install PyMySQL mysql-connector-python",
    );
    let out = Command::new(py).arg("-c").arg(script).arg(port.to_string()).output().expect("run python3");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Path of the `marmot` binary, built on first use.
///
/// Built by the very command the test suite runs (`cargo test --workspace --all-targets`,
/// here with `--no-run`), which builds `target/debug/marmot` for shell-tokio's integration
/// tests: under the suite that is a no-op. A plain `cargo build --bin marmot` resolves features
/// without the dev-dependencies, so it rebuilt a hundred crates (four minutes of CI).
pub fn marmot_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["test", "--quiet", "--workspace", "--all-targets", "--no-run"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the marmot binary failed");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
        let bin = target.join("debug").join("marmot");
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// One running marmot process.
pub struct Marmot {
    child: Option<Child>,
    /// Its working directory.
    pub dir: PathBuf,
    log: PathBuf,
}

impl Marmot {
    /// Start `marmot` with `args` in `dir` (which must exist); output goes to a log file.
    pub fn start(dir: &Path, args: &[&str]) -> Marmot {
        Self::start_env(dir, args, &[], false)
    }

    /// Like [`Marmot::start`] with extra environment variables; with `append`, the log
    /// of an earlier run in `dir` is kept and added to.
    pub fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)], append: bool) -> Marmot {
        Self::start_binary(&marmot_binary(), dir, args, env, append)
    }

    /// Like [`Marmot::start_env`], running the binary at `bin` (another revision's).
    pub fn start_binary(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)], append: bool) -> Marmot {
        let log = dir.join(format!("marmot-{}.log", std::process::id()));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&log)
            .expect("log file");
        let child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn marmot");
        Marmot { child: Some(child), dir: dir.to_path_buf(), log }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Send `signal` (`"STOP"`, `"CONT"`, …) to the process.
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let ok = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
            assert!(ok.is_ok_and(|s| s.success()), "kill -{signal} {pid} failed");
        }
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log contains `needle`, or panic with the log after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("marmot did not log {needle:?} within {timeout:?}; log:\n{}", self.log());
    }

    /// Send SIGTERM and wait for the exit status (killing it after `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let child = self.child.as_ref().expect("running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        self.wait_exit(timeout)
    }

    /// Wait for the process to exit (killing it, and failing, after `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                panic!("marmot did not exit within {timeout:?}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Marmot {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A node of a cluster on loopback: its process, MySQL port and gRPC port.
pub struct ClusterNode {
    /// The running process (None while stopped).
    pub process: Option<Marmot>,
    /// MySQL port.
    pub mysql: u16,
    /// gRPC / admin port.
    pub grpc: u16,
    /// Its directory (config, data, log).
    pub dir: PathBuf,
    /// `MARMOT_CLUSTER_SECRET` given to the process (empty: none).
    pub secret: String,
    /// The binary it runs (None: this revision's).
    pub binary: Option<PathBuf>,
}

impl ClusterNode {
    /// Write the config of node `n` (1-based) joining through `seed` (none for the seed).
    pub fn configure(dir: &Path, n: u64, seed: Option<u16>, extra: &str) -> ClusterNode {
        let (mysql, grpc) = (free_port(), free_port());
        let seeds = seed.map(|p| format!("\"127.0.0.1:{p}\"")).unwrap_or_default();
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "node_id = {n}\ndata_dir = \"data\"\n[cluster]\ngrpc_bind_address = \"127.0.0.1\"\ngrpc_port = {grpc}\n\
                 seed_nodes = [{seeds}]\ngossip_interval_ms = 200\nsuspect_timeout_ms = 1500\ndead_timeout_ms = 3000\n\
                 [mysql]\nbind_address = \"127.0.0.1\"\nport = {mysql}\n{extra}"
            ),
        )
        .expect("config");
        ClusterNode { process: None, mysql, grpc, dir: dir.to_path_buf(), secret: String::new(), binary: None }
    }

    /// Have peers reach this node at 127.0.0.1:`port` (`[cluster] advertise_address`:
    /// a proxy in front of its node port).
    pub fn advertise(&self, port: u16) {
        let path = self.dir.join("config.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        let text = text.replacen("[cluster]\n", &format!("[cluster]\nadvertise_address = \"127.0.0.1:{port}\"\n"), 1);
        std::fs::write(path, text).expect("config");
    }

    /// Run with `MARMOT_CLUSTER_SECRET` set to `secret`.
    pub fn with_secret(mut self, secret: &str) -> Self {
        self.secret = secret.to_string();
        self
    }

    /// Start (or restart) the process and wait for its MySQL listener.
    pub fn start(&mut self) {
        let env: Vec<(&str, &str)> =
            if self.secret.is_empty() { Vec::new() } else { vec![("MARMOT_CLUSTER_SECRET", self.secret.as_str())] };
        let bin = self.binary.clone().unwrap_or_else(marmot_binary);
        let m = Marmot::start_binary(&bin, &self.dir, &[], &env, true);
        let before = m.log().matches("MySQL server listening").count();
        let start = Instant::now();
        while m.log().matches("MySQL server listening").count() <= before && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(start.elapsed() < Duration::from_secs(60), "node did not start; log:\n{}", m.log());
        self.process = Some(m);
    }

    /// Kill the process with SIGKILL (no chance to flush or say goodbye).
    pub fn kill9(&mut self) {
        if let Some(mut m) = self.process.take() {
            if let Some(c) = m.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            m.child = None;
        }
    }

    /// Everything the node logged (across restarts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("marmot-{}.log", std::process::id()))).unwrap_or_default()
    }

    /// An HTTP/1.1 request to the node port; returns (status, body).
    pub fn http(&self, method: &str, path: &str, secret: Option<&str>) -> (u16, String) {
        http(self.grpc, method, path, secret)
    }
}

/// A plain HTTP/1.1 request to 127.0.0.1:`port` with an optional `X-Marmot-Secret`;
/// returns (status, body), status 0 when there was no answer.
pub fn http(port: u16, method: &str, path: &str, secret: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the node port");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let auth = secret.map(|x| format!("X-Marmot-Secret: {x}\r\n")).unwrap_or_default();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    if let Err(e) = s.write_all(request.as_bytes()) {
        // The server hung up first (a TLS port refusing plain HTTP does): no answer.
        return (0, format!("send failed: {e}"));
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.into() };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A cluster of `n` nodes on loopback (node 1 is the seed of the others), all with
/// `MARMOT_CLUSTER_SECRET` = `secret` (empty: none) and `extra` config appended.
pub struct Cluster {
    /// The nodes, node 1 first.
    pub nodes: Vec<ClusterNode>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    /// Start the nodes and wait until node 1 accepts a write (`CREATE DATABASE IF NOT
    /// EXISTS marmot_ready`).
    pub fn start(n: usize, secret: &str, extra: &str) -> Cluster {
        Self::start_binaries(&vec![None; n], secret, extra)
    }

    /// Like [`Cluster::start`], node i running `binaries[i]` (None: this revision's).
    pub fn start_binaries(binaries: &[Option<PathBuf>], secret: &str, extra: &str) -> Cluster {
        let dirs: Vec<_> = binaries.iter().map(|_| tempfile::tempdir().expect("tempdir")).collect();
        let mut nodes: Vec<ClusterNode> = Vec::new();
        for (i, d) in dirs.iter().enumerate() {
            let seed = nodes.first().map(|s| s.grpc);
            let mut node = ClusterNode::configure(d.path(), i as u64 + 1, seed, extra).with_secret(secret);
            node.binary = binaries[i].clone();
            node.start();
            nodes.push(node);
        }
        let c = Cluster { nodes, _dirs: dirs };
        c.wait_writable(0);
        c.wait_all_alive();
        c
    }

    /// Wait (up to 30 s) until node 1 sees every node ALIVE. Node 1 may accept its first
    /// write while it is still alone (a quorum of one); a test's next write must not race
    /// the other nodes' joining. A node port that speaks only TLS gives no plain-HTTP
    /// answer: then every node must accept a write instead (a node does once it has joined).
    pub fn wait_all_alive(&self) {
        let n = self.nodes.len() as u64;
        let secret = Some(self.nodes[0].secret.as_str()).filter(|s| !s.is_empty());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, body) = self.nodes[0].http("GET", "/admin/cluster/members", secret);
            if code == 0 {
                (1..self.nodes.len()).for_each(|i| self.wait_writable(i));
                return;
            }
            let alive = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["alive_count"].as_u64());
            if code == 200 && alive == Some(n) {
                return;
            }
            assert!(Instant::now() < deadline, "node 1 never saw all {n} nodes ALIVE: {code} {body}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start one more node (with `extra` config) joining through node 1, with node 1's secret.
    pub fn add_node(&mut self, extra: &str) -> usize {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = self.nodes.len() as u64 + 1;
        let secret = self.nodes[0].secret.clone();
        let mut node = ClusterNode::configure(dir.path(), n, Some(self.nodes[0].grpc), extra).with_secret(&secret);
        node.start();
        self.nodes.push(node);
        self._dirs.push(dir);
        self.nodes.len() - 1
    }

    /// Wait (up to 30 s) until node `i` commits a write.
    pub fn wait_writable(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (ok, _, err) =
                mariadb(self.nodes[i].mysql, "root", None, None, "CREATE DATABASE IF NOT EXISTS marmot_ready");
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "node {} never accepted a write: {err}", i + 1);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep the evidence of a failed test: data directories and logs.
            for n in &mut self.nodes {
                n.kill9();
            }
            for d in self._dirs.drain(..) {
                eprintln!("kept node directory {}", d.keep().display());
            }
        }
    }
}

/// Retry `sql` with the mariadb CLI on `port` until its output is `want` (or panic after
/// `within`); returns how long it took.
pub fn eventually(port: u16, db: Option<&str>, sql: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (ok, out, err) = mariadb(port, "root", None, db, sql);
        if ok && out == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{sql} on port {port}: got {out:?} {err}, want {want:?} within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run `sql` with the mariadb CLI and return its output, panicking on error.
pub fn query(port: u16, db: Option<&str>, sql: &str) -> String {
    let (ok, out, err) = mariadb(port, "root", None, db, sql);
    assert!(ok, "{sql} on port {port}: {err}");
    out
}

/// Processes whose command line mentions `path` (a test's own temporary directory):
/// what a test started there and should have stopped. Returns (pid, command line).
pub fn processes_mentioning(path: &Path) -> Vec<(u32, String)> {
    let needle = path.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(&needle) {
            out.push((pid, cmd.trim().to_string()));
        }
    }
    out
}
