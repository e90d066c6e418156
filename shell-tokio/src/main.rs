//! The `marmot` binary.
//!
//! Today it starts one node on the replication engine: it opens (or creates) the data
//! directory, keeps the node's identity across restarts, recovers unfinished
//! transactions and runs the core's timers until Ctrl-C or SIGTERM. The MySQL front end
//! and the gRPC transport are built on top of this.

use std::path::PathBuf;
use std::process::ExitCode;

use marmot_core::CoreConfig;
use marmot_shell_tokio::engine::Engine;
use marmot_shell_tokio::mysql::auth::PasswordHash;
use marmot_shell_tokio::mysql::server::{self, ServerConfig};
use marmot_shell_tokio::store::{Location, Synchronous};

const HELP: &str = "marmot — leaderless distributed SQLite replication

Usage: marmot [--config FILE]

Options:
  -c, --config FILE   configuration file (default: config.toml if present, else built-in defaults)
  -h, --help          print this help
  -V, --version       print the version

Configuration keys read today:
  node_id                 this node's id; 0 = generate once and keep (default 0)
  data_dir                where the SQLite files live (default ./marmot-data)
  [mysql] enabled         serve the MySQL protocol (default true)
  [mysql] bind_address    address to listen on (default 0.0.0.0)
  [mysql] port            MySQL port (default 3306)
  [mysql] max_connections most concurrent clients (default 1000)
  [[mysql.users]]         accounts: name, and password or password_env (default: root, no password)
";

struct Settings {
    node_id: u64,
    data_dir: PathBuf,
    mysql_enabled: bool,
    mysql: ServerConfig,
}

fn load(path: Option<PathBuf>) -> Result<Settings, String> {
    let mut s = Settings {
        node_id: 0,
        data_dir: PathBuf::from("./marmot-data"),
        mysql_enabled: true,
        mysql: ServerConfig {
            bind: "0.0.0.0".into(),
            port: 3306,
            users: Vec::new(),
            max_connections: 1000,
            max_packet: 64 << 20,
        },
    };
    let path = match path {
        Some(p) => Some(p),
        None => Some(PathBuf::from("config.toml")).filter(|p| p.exists()),
    };
    let Some(path) = path else { return Ok(s) };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(v) = doc.get("node_id") {
        let id = v.as_integer().filter(|i| *i >= 0).ok_or("node_id: expected a non-negative integer")?;
        s.node_id = id as u64;
    }
    if let Some(v) = doc.get("data_dir") {
        s.data_dir = PathBuf::from(v.as_str().ok_or("data_dir: expected a string")?);
    }
    if let Some(m) = doc.get("mysql") {
        let m = m.as_table().ok_or("mysql: expected a table")?;
        if let Some(v) = m.get("enabled") {
            s.mysql_enabled = v.as_bool().ok_or("mysql.enabled: expected true or false")?;
        }
        if let Some(v) = m.get("bind_address") {
            s.mysql.bind = v.as_str().ok_or("mysql.bind_address: expected a string")?.to_string();
        }
        if let Some(v) = m.get("port") {
            let p = v.as_integer().filter(|p| (1..=65535).contains(p)).ok_or("mysql.port: expected 1-65535")?;
            s.mysql.port = p as u16;
        }
        if let Some(v) = m.get("max_connections") {
            let n = v.as_integer().filter(|n| *n > 0).ok_or("mysql.max_connections: expected a positive integer")?;
            s.mysql.max_connections = n as usize;
        }
        if let Some(v) = m.get("users") {
            let users = v.as_array().ok_or("mysql.users: expected an array of tables")?;
            for (i, u) in users.iter().enumerate() {
                let name = u
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| format!("mysql.users[{i}].name: expected a string"))?;
                let password = match (u.get("password"), u.get("password_env")) {
                    (Some(p), _) => {
                        p.as_str().ok_or_else(|| format!("mysql.users[{i}].password: expected a string"))?.to_string()
                    }
                    (None, Some(env)) => {
                        let var =
                            env.as_str().ok_or_else(|| format!("mysql.users[{i}].password_env: expected a string"))?;
                        std::env::var(var)
                            .map_err(|_| format!("mysql.users[{i}].password_env: variable {var} is not set"))?
                    }
                    (None, None) => String::new(),
                };
                s.mysql.users.push((name.to_string(), PasswordHash::new(&password)));
            }
        }
    }
    Ok(s)
}

fn generated_id() -> u64 {
    // Below 2^53 so the id survives JSON and JavaScript clients.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    ((nanos as u64) ^ (std::process::id() as u64).rotate_left(40)) & ((1 << 53) - 1)
}

async fn run(settings: Settings) -> Result<(), String> {
    let seed = generated_id();
    let (engine, engine_thread) = Engine::start(
        Location::Dir(settings.data_dir.clone()),
        Synchronous::Normal,
        settings.node_id,
        CoreConfig::default(),
        seed,
    )
    .map_err(|e| e.to_string())?;
    tracing::info!(node_id = engine.node_id, data_dir = %settings.data_dir.display(), "marmot node started");
    if settings.mysql.users.is_empty() && settings.mysql_enabled {
        tracing::warn!("no [[mysql.users]] configured: user root with an empty password is accepted");
    }
    let server = if settings.mysql_enabled {
        let cfg = settings.mysql.clone();
        let listener_engine = engine.clone();
        Some(tokio::spawn(async move { server::serve(cfg, listener_engine).await }))
    } else {
        None
    };
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    let failed = match server {
        Some(mut server) => tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            _ = term.recv() => None,
            r = &mut server => Some(match r {
                Ok(Ok(())) => "MySQL server stopped".to_string(),
                Ok(Err(e)) => format!("MySQL server on {}:{}: {e}", settings.mysql.bind, settings.mysql.port),
                Err(e) => format!("MySQL server task: {e}"),
            }),
        },
        None => tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            _ = term.recv() => None,
        },
    };
    // Stop the engine after everything already queued to it; committed data is on disk.
    engine.stop();
    let _ = tokio::task::spawn_blocking(move || engine_thread.join()).await;
    tracing::info!(node_id = engine.node_id, "marmot node stopped");
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut config = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("marmot {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-c" | "--config" => match args.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => {
                    eprintln!("marmot: --config needs a file name");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("marmot: unknown argument {other:?} (see --help)");
                return ExitCode::from(2);
            }
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let settings = match load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("marmot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("marmot: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marmot: {e}");
            ExitCode::FAILURE
        }
    }
}
