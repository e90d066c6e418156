//! The bodies of marmot's fuzz targets, one per untrusted input, and seed inputs for each.
//!
//! `tests/fuzz` (cargo fuzz, libFuzzer) calls these for real, coverage-guided fuzzing;
//! `tests/smoke.rs` here runs each over its seeds and random mutations of them for a
//! few seconds in every CI run. A body returns normally for any input, also a
//! malformed one (that gets an error); a panic, a hang (the MySQL target times out after
//! 10 s) or an allocation past libFuzzer's limit is a finding.

use std::sync::OnceLock;
use std::time::Duration;

use marmot_shell_tokio::mysql::packet::Reader;

pub mod seeds;

/// A target's body.
pub type Body = fn(&[u8]);

/// The targets, by name (as `tests/fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: [(&str, Body); 7] = [
    ("mysql_connection", mysql_connection),
    ("stmt_execute_params", stmt_execute_params),
    ("sql_translation", sql_translation),
    ("load_data", load_data),
    ("config_toml", config_toml),
    ("peer_message", peer_message),
    ("snapshot_install", snapshot_install),
];

/// A whole client connection: `data` is everything the client sends (handshake response,
/// then commands), fed to the real MySQL front end on a real engine and store (one per
/// process, in a temporary directory). The server's answers are read and dropped.
pub fn mysql_connection(data: &[u8]) {
    let h = harness();
    h.rt.block_on(async {
        let (client, server) = tokio::io::duplex(64 << 10);
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let input = data.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = client_write.write_all(&input).await;
            let _ = client_write.shutdown().await;
        });
        let reader = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut tokio::io::sink()).await;
        });
        let served = tokio::time::timeout(Duration::from_secs(10), h.connections.serve(server)).await;
        assert!(served.is_ok(), "the server hung on a connection's input");
        writer.abort();
        reader.abort();
    });
}

/// COM_STMT_EXECUTE's parameter block for a statement of `data[0] % 17` parameters,
/// then binding the values into a statement with that many placeholders.
pub fn stmt_execute_params(data: &[u8]) {
    let Some((&n, body)) = data.split_first() else { return };
    let n = (n % 17) as usize;
    let mut types = Vec::new();
    let mut r = Reader::new(body);
    let long = std::collections::BTreeMap::new();
    if let Ok(values) = marmot_shell_tokio::mysql::stmt_params::decode_values(&mut r, n, &mut types, &long) {
        let sql = format!("SELECT {}", vec!["?"; n.max(1)].join(", "));
        let literals: Vec<String> = values.iter().map(|v| v.literal()).collect();
        let _ = marmot_shell_tokio::mysql::stmt_params::bind(&sql, &literals);
    }
}

/// A MySQL statement through the tokenizer and the rewrite to SQLite; the SQLite text
/// must prepare or fail cleanly on a connection with marmot's functions and a schema.
pub fn sql_translation(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(toks) = marmot_shell_tokio::mysql::sql::tokenize(text) else { return };
    let sqlite = marmot_shell_tokio::mysql::sql::rewrite(&toks);
    thread_local! {
        static CONN: rusqlite::Connection = {
            let c = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
            marmot_shell_tokio::mysql::session_functions::writer_setup()(&c).expect("marmot's functions");
            c.execute_batch(seeds::SCHEMA).expect("schema");
            c
        };
    }
    CONN.with(|c| {
        let _ = c.prepare(&sqlite);
    });
}

/// `LOAD DATA` statement (the first line) and the file's bytes (the rest).
pub fn load_data(data: &[u8]) {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(text) = std::str::from_utf8(&data[..split]) else { return };
    let Ok(toks) = marmot_shell_tokio::mysql::sql::tokenize(text) else { return };
    if let Some(Ok(spec)) = marmot_shell_tokio::mysql::load_data::parse(&toks) {
        let file = data.get(split + 1..).unwrap_or_default();
        let rows = spec.rows(file);
        assert!(rows.len() <= file.len() + 1, "more rows than bytes");
    }
}

/// The configuration file.
pub fn config_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = marmot_shell_tokio::config::Config::parse(text, None);
    }
}

/// A peer's message as it arrives over gRPC: protobuf decode, then the conversion into
/// the core's types (which refuses what the core could not act on).
pub fn peer_message(data: &[u8]) {
    use prost::Message;
    if let Ok(env) = marmot_proto::pb::Envelope::decode(data) {
        if let Ok(e) = marmot_proto::convert::from_envelope(env) {
            // What converted must encode again.
            let _ = marmot_proto::convert::envelope(&e).encode_to_vec();
        }
    }
}

/// A snapshot image as a donor sends it, installed into a database of a real store: the
/// checksum is right when `data[0]` is even (so the image itself is checked), wrong
/// otherwise. Nothing may panic, and a refused image must leave the database usable.
pub fn snapshot_install(data: &[u8]) {
    use sha2::Digest;
    let Some((&mode, image)) = data.split_first() else { return };
    let mut sha = sha2::Sha256::digest(image).to_vec();
    if mode % 2 == 1 {
        sha[0] ^= 1;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let loc = marmot_store::Location::Dir(dir.path().to_path_buf());
    let mut store = marmot_store::Store::open(loc, marmot_store::Synchronous::Normal, None).expect("store");
    store.ensure_database("app").expect("database");
    if store.install_snapshot("app", 1, 2, image, &sha).is_err() {
        let conn = store.conn("app").expect("the database after a refused snapshot");
        conn.execute_batch("CREATE TABLE IF NOT EXISTS still_ok (id INTEGER PRIMARY KEY)")
            .expect("a refused snapshot left the database unusable");
    }
}

struct Harness {
    rt: tokio::runtime::Runtime,
    connections: marmot_shell_tokio::mysql::server::Connections,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _thread) = rt.block_on(async {
            marmot_shell_tokio::engine::Engine::start_with(
                marmot_store::Location::Dir(dir.path().to_path_buf()),
                marmot_store::Synchronous::Normal,
                1,
                marmot_core::CoreConfig::default(),
                1,
                marmot_shell_tokio::ids::IdMode::Compact,
                Default::default(),
                Some(marmot_shell_tokio::mysql::session_functions::writer_setup()),
            )
            .expect("engine")
        });
        let engine = engine.with_lock_wait(Duration::from_secs(2));
        let cfg = marmot_shell_tokio::mysql::server::ServerConfig {
            bind: "127.0.0.1".into(),
            port: 0,
            users: Vec::new(),
            max_connections: 100,
            max_packet: 1 << 20,
            unix_socket: String::new(),
            unix_socket_perm: 0o600,
            statement_cache: 1000,
            secure_file_priv: None,
            load_data_batch_rows: 100,
            limits: marmot_store::capture::TxnLimits { max_rows: 10_000, max_bytes: 1 << 20 },
        };
        let connections = marmot_shell_tokio::mysql::server::Connections::new(cfg, engine);
        Harness { rt, connections, _dir: dir }
    })
}
