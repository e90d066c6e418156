//! The `marmot` binary.
//!
//! Today it starts one node on the replication engine: it opens (or creates) the data
//! directory, keeps the node's identity across restarts, recovers unfinished
//! transactions and runs the core's timers until Ctrl-C or SIGTERM. The MySQL front end
//! and the gRPC transport are built on top of this.

use std::path::PathBuf;
use std::process::ExitCode;

use marmot_core::{CoreConfig, Node};
use marmot_shell_tokio::driver::{Driver, Output};
use marmot_shell_tokio::store::{Location, Store, Synchronous};

const HELP: &str = "marmot — leaderless distributed SQLite replication

Usage: marmot [--config FILE]

Options:
  -c, --config FILE   configuration file (default: config.toml if present, else built-in defaults)
  -h, --help          print this help
  -V, --version       print the version

Configuration keys read today:
  node_id             this node's id; 0 = generate once and keep (default 0)
  data_dir            where the SQLite files live (default ./marmot-data)
";

struct Settings {
    node_id: u64,
    data_dir: PathBuf,
}

fn load(path: Option<PathBuf>) -> Result<Settings, String> {
    let mut s = Settings { node_id: 0, data_dir: PathBuf::from("./marmot-data") };
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
    Ok(s)
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn generated_id() -> u64 {
    // Below 2^53 so the id survives JSON and JavaScript clients.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    ((nanos as u64) ^ (std::process::id() as u64).rotate_left(40)) & ((1 << 53) - 1)
}

async fn run(settings: Settings) -> Result<(), String> {
    let mut store =
        Store::open(Location::Dir(settings.data_dir.clone()), Synchronous::Normal, None).map_err(|e| e.to_string())?;
    let id = store.node_identity(settings.node_id, generated_id).map_err(|e| e.to_string())?;
    let recovered = store.recover().map_err(|e| e.to_string())?;
    let node = Node::new(CoreConfig::default(), id, format!("node-{id}"), Vec::new(), generated_id(), recovered);
    let mut driver = Driver::new(node, false);
    tracing::info!(node_id = id, data_dir = %settings.data_dir.display(), "marmot node started");
    let mut outs = driver.handle(&mut store, wall_ms(), marmot_core::Input::Start);
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    loop {
        for o in outs.drain(..) {
            if let Output::Observe(o) = o {
                tracing::debug!(?o, "observation");
            }
        }
        let wait = driver.next_timer().map_or(1000, |at| at.saturating_sub(wall_ms()));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {
                outs = driver.fire_due(&mut store, wall_ms());
            }
        }
    }
    tracing::info!(node_id = id, "marmot node stopped");
    Ok(())
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
