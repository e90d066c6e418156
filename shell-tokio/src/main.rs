//! The `marmot` binary.
//!
//! Today it starts one node on the replication engine: it opens (or creates) the data
//! directory, keeps the node's identity across restarts, recovers unfinished
//! transactions and runs the core's timers until Ctrl-C or SIGTERM. The MySQL front end
//! and the gRPC transport are built on top of this.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use marmot_core::CoreConfig;
use marmot_shell_tokio::admin::{self, AdminState};
use marmot_shell_tokio::auth::Secret;
use marmot_shell_tokio::cli::{self, Cli, Command, ConfigCommand};
use marmot_shell_tokio::config::Config;
use marmot_shell_tokio::dashboard::{self, DashboardState};
use marmot_shell_tokio::engine::{Engine, Network};
use marmot_shell_tokio::ids::IdMode;
use marmot_shell_tokio::metrics::Metrics;
use marmot_shell_tokio::mysql::auth::PasswordHash;
use marmot_shell_tokio::mysql::server::{self, ServerConfig};
use marmot_shell_tokio::peers::Peers;
use marmot_shell_tokio::transport::{self, Checker, Signer, Transport};
use marmot_shell_tokio::verify::{self, VerifyState};
use marmot_store::{Location, Synchronous};

/// mimalloc instead of glibc malloc: allocation was an eighth of a node's CPU, and
/// glibc's per-thread arenas held on to memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(path: Option<PathBuf>, follow: Vec<String>) -> Result<Config, String> {
    let path = match path {
        Some(p) => Some(p),
        None => Some(PathBuf::from("config.toml")).filter(|p| p.exists()),
    };
    let text = match &path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
        None => String::new(),
    };
    let secret = std::env::var("MARMOT_CLUSTER_SECRET").ok();
    Config::parse_with(&text, secret, follow).map_err(|e| match &path {
        Some(p) => format!("{}: {e}", p.display()),
        None => e.to_string(),
    })
}

fn core_config(c: &Config) -> Result<CoreConfig, String> {
    Ok(CoreConfig {
        gossip_interval_ms: c.cluster.gossip_interval_ms,
        gossip_fanout: c.cluster.gossip_fanout,
        suspect_timeout_ms: c.cluster.suspect_timeout_ms,
        dead_timeout_ms: c.cluster.dead_timeout_ms,
        prepare_timeout_ms: c.coordinator.prepare_timeout_ms,
        commit_timeout_ms: c.coordinator.commit_timeout_ms,
        heartbeat_timeout_ms: c.transaction.heartbeat_timeout_seconds * 1000,
        default_consistency: c.replication.default_write_consistency.parse()?,
        conflict_rule: c.replication.conflict_rule.parse()?,
        anti_entropy: c.replication.enable_anti_entropy,
        anti_entropy_interval_ms: c.replication.anti_entropy_interval_seconds * 1000,
        delta_sync_threshold_txns: c.replication.delta_sync_threshold_transactions,
        delta_sync_threshold_ms: c.replication.delta_sync_threshold_seconds * 1000,
        snapshot_bytes_per_sec: c.replication.snapshot_rate_limit_mb_per_sec * 1_000_000,
        snapshot_reuse_ms: c.replica.snapshot_cache_ttl_seconds.saturating_mul(1000),
        gc_min_retention_ms: c.replication.gc_min_retention_hours * 3_600_000,
        gc_max_retention_ms: c.replication.gc_max_retention_hours * 3_600_000,
        gc_interval_ms: c.replication.anti_entropy_interval_seconds * 1000,
        sentinel: c.cluster.sentinel,
        // Each publisher sink holds the log back until it has published it.
        log_readers: if c.publisher.enabled && !c.cluster.sentinel {
            let mut names: Vec<String> = c.publisher.sinks.iter().map(|s| s.name.clone()).collect();
            names.sort();
            names
        } else {
            Vec::new()
        },
        replica: marmot_shell_tokio::replica_mode::core_config(c),
        ..CoreConfig::default()
    })
}

/// TLS settings of the node port, from `[tls]`.
struct TlsFiles {
    server: tonic::transport::ServerTlsConfig,
    client: tonic::transport::ClientTlsConfig,
}

fn tls_files(c: &Config) -> Result<Option<TlsFiles>, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
    let t = &c.tls;
    if !t.enabled {
        return Ok(None);
    }
    let read = |key: &str, path: &str| std::fs::read(path).map_err(|e| format!("tls.{key}: cannot read {path}: {e}"));
    let identity = Identity::from_pem(read("cert_file", &t.cert_file)?, read("key_file", &t.key_file)?);
    let mut client = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read("ca_file", &t.ca_file)?));
    if !t.server_name.is_empty() {
        client = client.domain_name(t.server_name.clone());
    }
    Ok(Some(TlsFiles { server: ServerTlsConfig::new().identity(identity), client }))
}

fn generated_id() -> u64 {
    // Below 2^53 so the id survives JSON and JavaScript clients.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    ((nanos as u64) ^ (std::process::id() as u64).rotate_left(40)) & ((1 << 53) - 1)
}

async fn run(config: Config) -> Result<(), String> {
    let seed = generated_id();
    let id_mode = if config.mysql.auto_id_mode == "extended" { IdMode::Extended } else { IdMode::Compact };
    let cluster = &config.cluster;
    let bind = format!("{}:{}", cluster.grpc_bind_address, cluster.grpc_port);
    let advertised = config.advertised_address();
    let connect_timeout = std::time::Duration::from_millis(config.coordinator.prepare_timeout_ms.max(1000));
    let secret = Secret::new(marmot_shell_tokio::replica_mode::secret(&config));
    let signer = Signer::new(secret.clone(), config.node_id);
    let metrics = Arc::new(Metrics::default());
    let tls = tls_files(&config)?;
    let link = transport::LinkConfig {
        connect_timeout,
        keepalive: std::time::Duration::from_secs(config.grpc_client.keepalive_time_seconds.max(1)),
        keepalive_timeout: std::time::Duration::from_secs(config.grpc_client.keepalive_timeout_seconds.max(1)),
        retry_backoff: std::time::Duration::from_millis(config.grpc_client.retry_backoff_ms.max(10)),
        tls: tls.as_ref().map(|t| t.client.clone()),
    };
    let mut peers = Vec::new();
    if config.replica.enabled {
        peers = marmot_shell_tokio::replica_mode::sources(&config, &signer, &advertised, &link).await;
    }
    let seeds = if config.replica.enabled { &[][..] } else { &cluster.seed_nodes[..] };
    for seed_addr in seeds.iter().filter(|s| **s != advertised) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match transport::hello(seed_addr, signer.clone(), &advertised, &link).await {
                Ok(peer) => {
                    tracing::info!(seed = %seed_addr, node_id = peer.0, "reached seed node");
                    peers.push(peer);
                    break;
                }
                Err(e) if e.contains("invalid cluster secret") => {
                    tracing::error!(seed = %seed_addr, error = %e, "the seed node refused this node's cluster secret");
                    break;
                }
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::info!(error = %e, "waiting for seed node");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "seed node unreachable; starting with the members this node knows");
                    break;
                }
            }
        }
    }
    let net = Network {
        addr: advertised.clone(),
        peers,
        transport: Some(Arc::new(Transport::new(
            tokio::runtime::Handle::current(),
            link.clone(),
            signer.clone(),
            metrics.clone(),
        ))),
        metrics: Some(metrics.clone()),
    };
    let (engine, engine_thread) = Engine::start_with(
        Location::Dir(config.data_dir.clone()),
        Synchronous::Normal,
        config.node_id,
        core_config(&config)?,
        seed,
        id_mode,
        net,
        Some(marmot_shell_tokio::mysql::session_functions::writer_setup()),
    )
    .map_err(|e| e.to_string())?;
    // Once a second: the commit counter is sampled (writes/s) and draining looks whether
    // the node has left.
    {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                engine.metrics.sample(std::time::Instant::now());
                if let Ok(s) = engine.status().await {
                    engine.drain.observe(s.local_state());
                }
            }
        });
    }
    let grpc_listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| format!("gRPC port {bind}: {e}"))?;
    tracing::info!(address = %bind, advertised = %advertised, "gRPC server listening");
    let service = transport::Service {
        engine: engine.clone(),
        node_id: engine.node_id,
        addr: advertised,
        metrics: metrics.clone(),
    };
    // One port: gRPC (HTTP/2) for peers, the admin API and /metrics (HTTP/1.1 or 2).
    let grpc = marmot_proto::pb::marmot_server::MarmotServer::new(service)
        .max_decoding_message_size(transport::MAX_MESSAGE)
        .max_encoding_message_size(transport::MAX_MESSAGE);
    let grpc = tonic::service::interceptor::InterceptedService::new(grpc, Checker { secret: secret.clone(), metrics });
    let peers = Arc::new(Peers::new(signer, link));
    let dashboard = DashboardState { engine: engine.clone(), secret: secret.clone(), peers: peers.clone() };
    let verify = VerifyState { engine: engine.clone(), secret: secret.clone(), peers };
    let admin_state = AdminState { engine: engine.clone(), secret, metrics_enabled: config.prometheus.enabled };
    let routes = tonic::service::Routes::new(grpc)
        .into_axum_router()
        .merge(admin::router(Arc::new(admin_state)))
        .merge(dashboard::router(Arc::new(dashboard)))
        .merge(verify::router(Arc::new(verify)));
    let mut builder = tonic::transport::Server::builder();
    if let Some(t) = tls {
        builder = builder.tls_config(t.server).map_err(|e| format!("tls: {e}"))?;
        tracing::info!("node port serves TLS");
    }
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_listener);
        if let Err(e) = builder
            .tcp_nodelay(true)
            .accept_http1(true)
            .add_routes(tonic::service::Routes::from(routes))
            .serve_with_incoming(incoming)
            .await
        {
            tracing::error!(error = %e, "gRPC server failed");
        }
    });
    let engine = engine
        .with_lock_wait(std::time::Duration::from_secs(config.transaction.lock_wait_timeout_seconds))
        .with_idempotent_ddl(config.ddl.enable_idempotent)
        .with_ddl_lease(std::time::Duration::from_secs(config.ddl.lock_lease_seconds));
    tracing::info!(node_id = engine.node_id, data_dir = %config.data_dir.display(), "marmot node started");
    if config.publisher.enabled && !config.cluster.sentinel {
        let sinks = marmot_shell_tokio::publisher::spawn(
            engine.clone(),
            config.data_dir.clone(),
            &config.publisher.sinks,
            tokio::runtime::Handle::current(),
        )?;
        let _ = engine.metrics.publisher_sinks.set(sinks);
    }
    if config.cluster.cluster_secret.is_empty() {
        tracing::warn!(
            "no cluster secret (cluster_secret or MARMOT_CLUSTER_SECRET): node-to-node authentication is off"
        );
    }
    let users: Vec<(String, PasswordHash)> = config
        .mysql_passwords()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(name, pw)| (name, PasswordHash::new(&pw)))
        .collect();
    if users.is_empty() && config.mysql.enabled && !config.cluster.sentinel {
        tracing::warn!("no [[mysql.users]] configured: user root with an empty password is accepted");
    }
    let mysql = ServerConfig {
        bind: config.mysql.bind_address.clone(),
        port: config.mysql.port,
        users,
        max_connections: config.mysql.max_connections,
        max_packet: 64 << 20,
        unix_socket: config.mysql.unix_socket.clone(),
        unix_socket_perm: config.mysql.unix_socket_perm,
        statement_cache: config.query_pipeline.transpiler_cache_size,
        secure_file_priv: Some(config.mysql.secure_file_priv.clone())
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from),
        load_data_batch_rows: config.mysql.load_data_batch_rows as usize,
        limits: marmot_store::capture::TxnLimits {
            max_rows: config.transaction.max_transaction_rows as usize,
            max_bytes: config.transaction.max_transaction_bytes as usize,
        },
    };
    if config.cluster.sentinel {
        tracing::info!("sentinel: votes and keeps row versions and the log; no table data, no MySQL");
    }
    let server = if config.mysql.enabled && !config.cluster.sentinel {
        let cfg = mysql.clone();
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
                Ok(Err(e)) => format!("MySQL server on {}:{}: {e}", mysql.bind, mysql.port),
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
    let cli = Cli::parse();
    // `config check FILE` checks that file; everything else runs on --config's.
    let path = match &cli.command {
        Some(Command::Config { command: ConfigCommand::Check { file: Some(f) } }) => Some(f.clone()),
        _ => cli.config.clone(),
    };
    let config = match load(path, cli.follow_addresses.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("marmot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        None | Some(Command::Serve) => serve(config),
        Some(Command::Config { command: ConfigCommand::Check { .. } }) => {
            print!("{}", config.effective_toml());
            ExitCode::SUCCESS
        }
        Some(Command::Verify { database, node, json }) => {
            let node = node.unwrap_or_else(|| format!("127.0.0.1:{}", config.cluster.grpc_port));
            match cli::verify(&node, &config.cluster.cluster_secret, json, database.as_deref()) {
                Ok((report, agree)) => {
                    println!("{}", report.trim_end());
                    if agree {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(f) => {
                    eprintln!("marmot: {}", f.message);
                    ExitCode::from(f.code)
                }
            }
        }
        Some(Command::Cluster { node, json, command }) => {
            let node = node.unwrap_or_else(|| format!("127.0.0.1:{}", config.cluster.grpc_port));
            match cli::cluster(&node, &config.cluster.cluster_secret, json, &command) {
                Ok(text) => {
                    println!("{}", text.trim_end());
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    eprintln!("marmot: {}", f.message);
                    ExitCode::from(f.code)
                }
            }
        }
    }
}

/// Run a node until it is stopped.
fn serve(config: Config) -> ExitCode {
    let level = if config.logging.verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into());
    if config.logging.format == "json" {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("marmot: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marmot: {e}");
            ExitCode::FAILURE
        }
    }
}
