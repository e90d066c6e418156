//! marmot's configuration file: every section and key of Marmot's reference, with its
//! defaults. Unknown keys and invalid values are refused at startup with a message
//! naming the key; the GC retention rules are checked as Marmot documents them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

macro_rules! section {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty = $default:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
        }
        impl Default for $name {
            fn default() -> Self {
                Self { $($field: $default,)* }
            }
        }
    };
}

section!(
    /// `[transaction]`
    Transaction {
        /// Resolve a prepared transaction whose coordinator is silent this long.
        heartbeat_timeout_seconds: u64 = 10,
        /// Conflict resolution window.
        conflict_window_seconds: u64 = 10,
        /// Longest a statement waits for a lock (1205 after).
        lock_wait_timeout_seconds: u64 = 50,
        /// Most rows one transaction may change (1197 past it; 0 = no limit). A
        /// transaction is held in memory until it commits: about 2 KB per row.
        max_transaction_rows: u64 = 50_000,
        /// Most bytes of row data one transaction may carry (1197 past it; 0 = no limit).
        max_transaction_bytes: u64 = 128 << 20,
    }
);

section!(
    /// `[connection_pool]`
    ConnectionPool {
        /// SQLite connections.
        pool_size: u64 = 4,
        /// Idle time before closing.
        max_idle_time_seconds: u64 = 10,
        /// Connection lifetime (0 = unlimited).
        max_lifetime_seconds: u64 = 300,
    }
);

section!(
    /// `[grpc_client]`
    GrpcClient {
        /// Keepalive ping interval.
        keepalive_time_seconds: u64 = marmot_proto::link::DEFAULT_KEEPALIVE.as_secs(),
        /// Keepalive ping timeout.
        keepalive_timeout_seconds: u64 = marmot_proto::link::DEFAULT_KEEPALIVE_TIMEOUT.as_secs(),
        /// Retry attempts.
        max_retries: u64 = 3,
        /// Retry backoff.
        retry_backoff_ms: u64 = marmot_proto::link::DEFAULT_RETRY_BACKOFF.as_millis() as u64,
    }
);

section!(
    /// `[coordinator]`
    Coordinator {
        /// PREPARE phase timeout.
        prepare_timeout_ms: u64 = 2000,
        /// How long COMMIT is resent to a participant that has not confirmed it.
        commit_timeout_ms: u64 = 2000,
        /// ABORT phase timeout.
        abort_timeout_ms: u64 = 2000,
    }
);

section!(
    /// `[cluster]`
    Cluster {
        /// Address the node port binds.
        grpc_bind_address: String = "0.0.0.0".into(),
        /// Node port (gRPC, admin HTTP, metrics).
        grpc_port: u16 = 8080,
        /// The `host:port` peers use to reach this node, when it differs from the bind
        /// address (behind NAT, in a container, behind a proxy); "" = the bind address
        /// (loopback for a wildcard bind).
        advertise_address: String = String::new(),
        /// Where to join.
        seed_nodes: Vec<String> = Vec::new(),
        /// Pre-shared key for node-to-node and admin calls ("" = off).
        cluster_secret: String = String::new(),
        /// Gossip interval.
        gossip_interval_ms: u64 = 1000,
        /// Peers per gossip round.
        gossip_fanout: usize = 3,
        /// ALIVE → SUSPECT after this silence.
        suspect_timeout_ms: u64 = 5000,
        /// SUSPECT → DEAD after this silence.
        dead_timeout_ms: u64 = 10_000,
        /// A sentinel: votes on every transaction and keeps the replication log and row
        /// versions, but holds no table data and serves no MySQL (two data nodes and a
        /// sentinel tolerate the loss of either data node).
        sentinel: bool = false,
    }
);

section!(
    /// `[replica]`
    Replica {
        /// Read-only replica mode.
        enabled: bool = false,
        /// Cluster nodes to follow.
        follow_addresses: Vec<String> = Vec::new(),
        /// PSK for the replica.
        secret: String = String::new(),
        /// Databases to replicate (globs; empty = all).
        replicate_databases: Vec<String> = Vec::new(),
        /// Poll for new databases.
        database_discovery_interval_seconds: u64 = 10,
        /// Poll for membership.
        discovery_interval_seconds: u64 = 30,
        /// Failover timeout.
        failover_timeout_seconds: u64 = 60,
        /// Reconnect delay.
        reconnect_interval_seconds: u64 = 5,
        /// Max reconnect backoff.
        reconnect_max_backoff_seconds: u64 = 30,
        /// Initial snapshot timeout.
        initial_sync_timeout_minutes: u64 = 30,
        /// Parallel snapshot downloads.
        snapshot_concurrency: u64 = 3,
        /// Snapshot cache TTL.
        snapshot_cache_ttl_seconds: u64 = 30,
    }
);

section!(
    /// `[replication]`
    Replication {
        /// ONE, QUORUM or ALL.
        default_write_consistency: String = "QUORUM".into(),
        /// LOCAL_ONE, ONE, QUORUM or ALL.
        default_read_consistency: String = "LOCAL_ONE".into(),
        /// How concurrent writes of one row are settled: "first_committer_wins" (QUORUM
        /// and ALL writes over a row changed since they read it get 1213; no lost
        /// updates) or "last_writer_wins" (Marmot's rule: the later HLC silently wins).
        conflict_rule: String = "first_committer_wins".into(),
        /// Write timeout.
        write_timeout_ms: u64 = 5000,
        /// Read timeout.
        read_timeout_ms: u64 = 2000,
        /// Background catch-up.
        enable_anti_entropy: bool = true,
        /// How often to look for lag.
        anti_entropy_interval_seconds: u64 = 60,
        /// Delta sync below this many transactions of lag…
        delta_sync_threshold_transactions: u64 = 10_000,
        /// …and below this many seconds of lag; else a snapshot.
        delta_sync_threshold_seconds: u64 = 3600,
        /// Keep log records at least this long.
        gc_min_retention_hours: u64 = 2,
        /// Delete log records after this long (0 = keep forever).
        gc_max_retention_hours: u64 = 24,
        /// Most snapshot megabytes (10^6 bytes) fetched per second (0 = unlimited).
        snapshot_rate_limit_mb_per_sec: u64 = 100,
    }
);

section!(
    /// `[query_pipeline]`
    QueryPipeline {
        /// Translation cache entries.
        transpiler_cache_size: usize = 10_000,
        /// Validation connections.
        validator_pool_size: usize = 8,
    }
);

/// One `[[mysql.users]]` account.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MysqlUser {
    /// User name.
    pub name: String,
    /// Clear-text password.
    #[serde(default)]
    pub password: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

section!(
    /// `[mysql]`
    Mysql {
        /// Serve the MySQL protocol.
        enabled: bool = true,
        /// Listen address.
        bind_address: String = "0.0.0.0".into(),
        /// Port.
        port: u16 = 3306,
        /// Most concurrent clients.
        max_connections: usize = 1000,
        /// Unix socket path ("" = none).
        unix_socket: String = String::new(),
        /// Socket file permissions.
        unix_socket_perm: u32 = 0o660,
        /// "compact" (53-bit) or "extended" (64-bit) auto-increment ids.
        auto_id_mode: String = "compact".into(),
        /// Accounts (none = root without a password).
        users: Vec<MysqlUser> = Vec::new(),
        /// The only directory server-side `LOAD DATA INFILE` may read ("" = none: only
        /// `LOAD DATA LOCAL`, where the client sends the file).
        secure_file_priv: String = String::new(),
        /// A `LOAD DATA` outside a transaction commits every this many rows, so a file of
        /// any size loads in bounded memory (0 = the whole file as one transaction).
        load_data_batch_rows: u64 = 10_000,
    }
);

pub use crate::publisher::sink_config::Sink;

section!(
    /// `[publisher]`
    Publisher {
        /// CDC publishing.
        enabled: bool = false,
        /// Sinks.
        sinks: Vec<Sink> = Vec::new(),
    }
);

section!(
    /// `[logging]`
    Logging {
        /// Debug-level logs.
        verbose: bool = false,
        /// "console" or "json".
        format: String = "console".into(),
    }
);

section!(
    /// `[prometheus]`
    Prometheus {
        /// Serve /metrics on the node port.
        enabled: bool = true,
    }
);

section!(
    /// `[ddl]`
    Ddl {
        /// DDL lock lease.
        lock_lease_seconds: u64 = 30,
        /// Rewrite DDL for idempotent replay.
        enable_idempotent: bool = true,
    }
);

section!(
    /// `[tls]` — TLS on the node port (gRPC between nodes, admin API, /metrics). Off by
    /// default. Every node presents `cert_file` and checks its peers against `ca_file`.
    Tls {
        /// Serve and connect with TLS.
        enabled: bool = false,
        /// This node's certificate chain (PEM).
        cert_file: String = String::new(),
        /// Its private key (PEM).
        key_file: String = String::new(),
        /// The CA that signed the nodes' certificates (PEM).
        ca_file: String = String::new(),
        /// The name peers' certificates must carry (empty: the host of the peer's address).
        server_name: String = String::new(),
    }
);

section!(
    /// The whole file.
    Config {
        /// This node's id (0 = generate once and keep).
        node_id: u64 = 0,
        /// Where the SQLite files live.
        data_dir: PathBuf = PathBuf::from("./marmot-data"),
        /// `[transaction]`
        transaction: Transaction = Transaction::default(),
        /// `[connection_pool]`
        connection_pool: ConnectionPool = ConnectionPool::default(),
        /// `[grpc_client]`
        grpc_client: GrpcClient = GrpcClient::default(),
        /// `[coordinator]`
        coordinator: Coordinator = Coordinator::default(),
        /// `[cluster]`
        cluster: Cluster = Cluster::default(),
        /// `[replica]`
        replica: Replica = Replica::default(),
        /// `[replication]`
        replication: Replication = Replication::default(),
        /// `[query_pipeline]`
        query_pipeline: QueryPipeline = QueryPipeline::default(),
        /// `[mysql]`
        mysql: Mysql = Mysql::default(),
        /// `[publisher]`
        publisher: Publisher = Publisher::default(),
        /// `[logging]`
        logging: Logging = Logging::default(),
        /// `[prometheus]`
        prometheus: Prometheus = Prometheus::default(),
        /// `[ddl]`
        ddl: Ddl = Ddl::default(),
        /// `[tls]`
        tls: Tls = Tls::default(),
    }
);

impl Config {
    /// The effective configuration as TOML, every key with its value, secrets and
    /// passwords masked (`marmot config check`).
    pub fn effective_toml(&self) -> String {
        let mut shown = self.clone();
        let mask = |s: &mut String| {
            if !s.is_empty() {
                *s = "<set>".into();
            }
        };
        mask(&mut shown.cluster.cluster_secret);
        mask(&mut shown.replica.secret);
        for u in &mut shown.mysql.users {
            if let Some(p) = u.password.as_mut() {
                mask(p);
            }
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot show the configuration: {e}\n"))
    }

    /// Parse and validate a configuration text. `secret_env` is the value of
    /// `MARMOT_CLUSTER_SECRET`, which wins over `cluster.cluster_secret`.
    pub fn parse(text: &str, secret_env: Option<String>) -> Result<Config, ConfigError> {
        Self::parse_with(text, secret_env, Vec::new())
    }

    /// [`Config::parse`], with `--follow-addresses` (when given) replacing
    /// `[replica] follow_addresses` before validation.
    pub fn parse_with(text: &str, secret_env: Option<String>, follow: Vec<String>) -> Result<Config, ConfigError> {
        // Marmot's reference writes `unix_socket_perm = 0660`, which TOML spells 0o660.
        let text = normalize_octal(text);
        let mut c: Config = toml::from_str(&text).map_err(|e| ConfigError(e.to_string().trim().to_string()))?;
        if let Some(s) = secret_env.filter(|s| !s.is_empty()) {
            c.cluster.cluster_secret = s;
        }
        if !follow.is_empty() {
            c.replica.follow_addresses = follow;
        }
        c.validate()?;
        Ok(c)
    }

    /// Keys of the seed's configuration that this marmot parses but does not act on:
    /// accepted at their defaults (what the node does anyway), refused otherwise, so a
    /// setting is never silently ignored.
    fn refuse_unsupported(&self) -> Result<(), ConfigError> {
        let (t, p, g, c) =
            (Transaction::default(), ConnectionPool::default(), GrpcClient::default(), Coordinator::default());
        let (r, q) = (Replication::default(), QueryPipeline::default());
        let read = self.replication.default_read_consistency.to_ascii_uppercase();
        let checks: [(&str, bool, String); 10] = [
            (
                "replication.default_read_consistency",
                read == r.default_read_consistency,
                "\"LOCAL_ONE\": reads are served by the local copy".into(),
            ),
            (
                "replication.write_timeout_ms",
                self.replication.write_timeout_ms == r.write_timeout_ms,
                format!("{} (writes time out by coordinator.prepare_timeout_ms)", r.write_timeout_ms),
            ),
            (
                "replication.read_timeout_ms",
                self.replication.read_timeout_ms == r.read_timeout_ms,
                r.read_timeout_ms.to_string(),
            ),
            (
                "transaction.conflict_window_seconds",
                self.transaction.conflict_window_seconds == t.conflict_window_seconds,
                t.conflict_window_seconds.to_string(),
            ),
            (
                "coordinator.abort_timeout_ms",
                self.coordinator.abort_timeout_ms == c.abort_timeout_ms,
                format!("{} (an abort waits for no acknowledgement)", c.abort_timeout_ms),
            ),
            ("connection_pool.pool_size", self.connection_pool.pool_size == p.pool_size, p.pool_size.to_string()),
            (
                "connection_pool.max_idle_time_seconds",
                self.connection_pool.max_idle_time_seconds == p.max_idle_time_seconds,
                p.max_idle_time_seconds.to_string(),
            ),
            (
                "connection_pool.max_lifetime_seconds",
                self.connection_pool.max_lifetime_seconds == p.max_lifetime_seconds,
                p.max_lifetime_seconds.to_string(),
            ),
            ("grpc_client.max_retries", self.grpc_client.max_retries == g.max_retries, g.max_retries.to_string()),
            (
                "query_pipeline.validator_pool_size",
                self.query_pipeline.validator_pool_size == q.validator_pool_size,
                q.validator_pool_size.to_string(),
            ),
        ];
        match checks.into_iter().find(|(_, is_default, _)| !is_default) {
            Some((key, _, default)) => Err(ConfigError(format!(
                "{key}: not supported by this version of marmot; remove the key or set it to its default, {default}"
            ))),
            None => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        if !matches!(self.replication.default_write_consistency.to_ascii_uppercase().as_str(), "ONE" | "QUORUM" | "ALL")
        {
            return bad(
                "replication.default_write_consistency",
                format!("{:?} is not ONE, QUORUM or ALL", self.replication.default_write_consistency),
            );
        }
        if !matches!(
            self.replication.default_read_consistency.to_ascii_uppercase().as_str(),
            "LOCAL_ONE" | "ONE" | "QUORUM" | "ALL"
        ) {
            return bad(
                "replication.default_read_consistency",
                format!("{:?} is not LOCAL_ONE, ONE, QUORUM or ALL", self.replication.default_read_consistency),
            );
        }
        self.refuse_unsupported()?;
        if let Err((key, why)) = crate::replica_mode::check(self) {
            return bad(&key, why);
        }
        if self.publisher.enabled {
            if let Err((key, why)) = crate::publisher::sink_config::check(&self.publisher.sinks) {
                return bad(&key, why);
            }
        }
        if let Err(why) = self.replication.conflict_rule.parse::<marmot_core::ConflictRule>() {
            return bad("replication.conflict_rule", why);
        }
        if !matches!(self.mysql.auto_id_mode.as_str(), "compact" | "extended") {
            return bad(
                "mysql.auto_id_mode",
                format!("{:?} is not \"compact\" or \"extended\"", self.mysql.auto_id_mode),
            );
        }
        if !matches!(self.logging.format.as_str(), "console" | "json") {
            return bad("logging.format", format!("{:?} is not \"console\" or \"json\"", self.logging.format));
        }
        if self.mysql.port == 0 {
            return bad("mysql.port", "must be 1-65535".into());
        }
        if self.cluster.grpc_port == 0 {
            return bad("cluster.grpc_port", "must be 1-65535".into());
        }
        if !self.cluster.advertise_address.is_empty() {
            if let Err(why) = check_peer_address(&self.cluster.advertise_address) {
                return bad("cluster.advertise_address", why);
            }
            let host = self.cluster.advertise_address.rsplit_once(':').map_or("", |(h, _)| h);
            if matches!(host, "0.0.0.0" | "[::]") {
                return bad("cluster.advertise_address", format!("{host} is a wildcard: peers cannot reach it"));
            }
        }
        for (i, seed) in self.cluster.seed_nodes.iter().enumerate() {
            if let Err(why) = check_peer_address(seed) {
                return bad(&format!("cluster.seed_nodes[{i}]"), why);
            }
        }
        if self.mysql.max_connections == 0 {
            return bad("mysql.max_connections", "must be at least 1".into());
        }
        if self.cluster.gossip_fanout == 0 {
            return bad("cluster.gossip_fanout", "must be at least 1".into());
        }
        if self.cluster.suspect_timeout_ms >= self.cluster.dead_timeout_ms {
            return bad("cluster.suspect_timeout_ms", "must be less than cluster.dead_timeout_ms".into());
        }
        if self.tls.enabled {
            for (key, path) in [
                ("tls.cert_file", &self.tls.cert_file),
                ("tls.key_file", &self.tls.key_file),
                ("tls.ca_file", &self.tls.ca_file),
            ] {
                if path.is_empty() {
                    return bad(key, "must be set when tls.enabled = true".into());
                }
                if let Err(e) = std::fs::metadata(path) {
                    return bad(key, format!("cannot read {path}: {e}"));
                }
            }
        }
        for (i, u) in self.mysql.users.iter().enumerate() {
            if u.name.is_empty() {
                return bad(&format!("mysql.users[{i}].name"), "must not be empty".into());
            }
            if u.password.is_some() && u.password_env.is_some() {
                return bad(&format!("mysql.users[{i}]"), "set password or password_env, not both".into());
            }
        }
        let r = &self.replication;
        let delta_h = r.delta_sync_threshold_seconds.div_ceil(3600);
        if r.gc_min_retention_hours * 3600 < r.delta_sync_threshold_seconds {
            return bad(
                "replication.gc_min_retention_hours",
                format!(
                    "{} h is shorter than replication.delta_sync_threshold_seconds ({} s = {delta_h} h): a lagging peer could need records already deleted",
                    r.gc_min_retention_hours, r.delta_sync_threshold_seconds
                ),
            );
        }
        if r.gc_max_retention_hours != 0 && r.gc_max_retention_hours * 3600 < 2 * r.delta_sync_threshold_seconds {
            return bad(
                "replication.gc_max_retention_hours",
                format!(
                    "{} h must be 0 (keep forever) or at least twice replication.delta_sync_threshold_seconds ({} s)",
                    r.gc_max_retention_hours, r.delta_sync_threshold_seconds
                ),
            );
        }
        if r.gc_max_retention_hours != 0 && r.gc_max_retention_hours < r.gc_min_retention_hours {
            return bad(
                "replication.gc_max_retention_hours",
                "must not be less than replication.gc_min_retention_hours".into(),
            );
        }
        Ok(())
    }

    /// The `host:port` peers reach this node at: `cluster.advertise_address`, else the
    /// bind address (loopback for a wildcard bind).
    pub fn advertised_address(&self) -> String {
        let c = &self.cluster;
        if !c.advertise_address.is_empty() {
            return c.advertise_address.clone();
        }
        let host = if c.grpc_bind_address == "0.0.0.0" { "127.0.0.1" } else { c.grpc_bind_address.as_str() };
        format!("{host}:{}", c.grpc_port)
    }

    /// Password of each MySQL account, resolving `password_env`.
    pub fn mysql_passwords(&self) -> Result<Vec<(String, String)>, ConfigError> {
        self.mysql
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let pw = match (&u.password, &u.password_env) {
                    (Some(p), _) => p.clone(),
                    (None, Some(var)) => std::env::var(var).map_err(|_| {
                        ConfigError(format!("mysql.users[{i}].password_env: environment variable {var} is not set"))
                    })?,
                    (None, None) => String::new(),
                };
                Ok((u.name.clone(), pw))
            })
            .collect()
    }
}

/// A peer address as peers dial it: `host:port` (`[v6]:port`), port 1-65535.
fn check_peer_address(addr: &str) -> Result<(), String> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(format!("{addr:?} is not host:port"));
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{addr:?} has no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("{addr:?}: the port must be 1-65535")),
    }
}

fn normalize_octal(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if let Some(rest) = t.strip_prefix("unix_socket_perm") {
                if let Some(v) = rest.trim_start().strip_prefix('=') {
                    let v = v.trim_start();
                    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
                    if digits.len() > 1 && digits.starts_with('0') {
                        return format!("unix_socket_perm = 0o{}{}", &digits[1..], &v[digits.len()..]);
                    }
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_seed_defaults() {
        let c = Config::parse("", None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./marmot-data"));
        assert_eq!((c.mysql.port, c.cluster.grpc_port), (3306, 8080));
        assert_eq!(c.replication.default_write_consistency, "QUORUM");
        assert_eq!(c.ddl.lock_lease_seconds, 30);
    }

    #[test]
    fn the_seed_reference_parses() {
        let text = r#"
node_id = 0
data_dir = "./marmot-data"
[transaction]
heartbeat_timeout_seconds = 10
conflict_window_seconds = 10
lock_wait_timeout_seconds = 50
[connection_pool]
pool_size = 4
max_idle_time_seconds = 10
max_lifetime_seconds = 300
[grpc_client]
keepalive_time_seconds = 10
keepalive_timeout_seconds = 3
max_retries = 3
retry_backoff_ms = 100
[coordinator]
prepare_timeout_ms = 2000
commit_timeout_ms = 2000
abort_timeout_ms = 2000
[cluster]
grpc_bind_address = "0.0.0.0"
grpc_port = 8080
seed_nodes = []
cluster_secret = ""
gossip_interval_ms = 1000
gossip_fanout = 3
suspect_timeout_ms = 5000
dead_timeout_ms = 10000
[replication]
default_write_consistency = "QUORUM"
default_read_consistency = "LOCAL_ONE"
write_timeout_ms = 5000
read_timeout_ms = 2000
enable_anti_entropy = true
anti_entropy_interval_seconds = 60
delta_sync_threshold_transactions = 10000
delta_sync_threshold_seconds = 3600
gc_min_retention_hours = 2
gc_max_retention_hours = 24
[query_pipeline]
transpiler_cache_size = 10000
validator_pool_size = 8
[mysql]
enabled = true
bind_address = "0.0.0.0"
port = 3306
max_connections = 1000
unix_socket = ""
unix_socket_perm = 0660
auto_id_mode = "compact"
[publisher]
enabled = false
[[publisher.sinks]]
name = "kafka-main"
type = "kafka"
format = "debezium"
brokers = ["localhost:9092"]
topic_prefix = "marmot.cdc"
filter_tables = ["*"]
filter_databases = ["*"]
batch_size = 100
poll_interval_ms = 10
retry_initial_ms = 100
retry_max_ms = 30000
retry_multiplier = 2.0
[logging]
verbose = false
format = "console"
[prometheus]
enabled = true
[ddl]
lock_lease_seconds = 30
enable_idempotent = true
[replica]
enabled = false
follow_addresses = ["node1:8080"]
secret = "replica-secret"
replicate_databases = []
"#;
        let c = Config::parse(text, None).unwrap();
        assert_eq!(c.mysql.unix_socket_perm, 0o660);
        assert_eq!(c.publisher.sinks[0].kind, "kafka");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = Config::parse("[mysql]\nprot = 3306\n", None).unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
        let e = Config::parse("[mysql]\nport = \"x\"\n", None).unwrap_err().to_string();
        assert!(e.contains("port"), "{e}");
        for (text, key) in [
            ("[connection_pool]\npool_size = 9\n", "connection_pool.pool_size"),
            ("[replication]\ndefault_read_consistency = \"QUORUM\"\n", "replication.default_read_consistency"),
            ("[replication]\nwrite_timeout_ms = 1\n", "replication.write_timeout_ms"),
            ("[replication]\nread_timeout_ms = 1\n", "replication.read_timeout_ms"),
            ("[coordinator]\nabort_timeout_ms = 1\n", "coordinator.abort_timeout_ms"),
            ("[transaction]\nconflict_window_seconds = 1\n", "transaction.conflict_window_seconds"),
        ] {
            let e = Config::parse(text, None).unwrap_err().to_string();
            assert!(e.starts_with(key) && e.contains("not supported"), "{text}: {e}");
        }
        for (text, key) in [
            ("[replica]\nenabled = true\n", "replica.follow_addresses"),
            (
                "[replica]\nenabled = true\nfollow_addresses = [\"a:1\"]\nsnapshot_concurrency = 0\n",
                "replica.snapshot_concurrency",
            ),
            (
                "[cluster]\nsentinel = true\n[replica]\nenabled = true\nfollow_addresses = [\"a:1\"]\n",
                "cluster.sentinel",
            ),
        ] {
            let e = Config::parse(text, None).unwrap_err().to_string();
            assert!(e.starts_with(key), "{text}: {e}");
        }
        let ok = Config::parse("[replica]\nenabled = true\nfollow_addresses = [\"a:1\"]\n", None).expect("a replica");
        assert_eq!(crate::replica_mode::core_config(&ok).map(|r| r.failover_timeout_ms), Some(60_000));
        let e = Config::parse("[publisher]\nenabled = true\n", None).unwrap_err().to_string();
        assert!(e.starts_with("publisher.sinks") && e.contains("at least one"), "{e}");
        let kafka = "[publisher]\nenabled = true\n[[publisher.sinks]]\nname = \"k\"\ntype = \"kafka\"\nbrokers = [\"localhost:9092\"]\n";
        assert!(Config::parse(kafka, None).is_ok(), "a Kafka sink with the seed's keys");
        let e = Config::parse(&kafka.replace("localhost:9092", "localhost"), None).unwrap_err().to_string();
        assert!(e.starts_with("publisher.sinks[0].brokers[0]"), "{e}");
        let e = Config::parse("[replication]\nconflict_rule = \"mine_wins\"\n", None).unwrap_err().to_string();
        assert!(e.contains("replication.conflict_rule") && e.contains("last_writer_wins"), "{e}");
        let e = Config::parse("[replication]\ndefault_write_consistency = \"MOST\"\n", None).unwrap_err().to_string();
        assert!(e.contains("replication.default_write_consistency"), "{e}");
        let e = Config::parse("[mysql]\nauto_id_mode = \"tiny\"\n", None).unwrap_err().to_string();
        assert!(e.contains("mysql.auto_id_mode"), "{e}");
        let e = Config::parse("[tls]\nenabled = true\n", None).unwrap_err().to_string();
        assert!(e.contains("tls.cert_file") && e.contains("must be set"), "{e}");
        let e = Config::parse(
            "[tls]\nenabled = true\ncert_file = \"/nonexistent/c.pem\"\nkey_file = \"k\"\nca_file = \"c\"\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tls.cert_file") && e.contains("/nonexistent/c.pem"), "{e}");
    }

    #[test]
    fn peer_addresses_are_host_port_and_the_advertised_one_wins() {
        for (text, key) in [
            ("advertise_address = \"10.0.0.1\"", "cluster.advertise_address"),
            ("advertise_address = \"0.0.0.0:8080\"", "cluster.advertise_address"),
            ("advertise_address = \":8080\"", "cluster.advertise_address"),
            ("seed_nodes = [\"a:1\", \"b:0\"]", "cluster.seed_nodes[1]"),
        ] {
            let e = Config::parse(&format!("[cluster]\n{text}\n"), None).unwrap_err().to_string();
            assert!(e.starts_with(key), "{text}: {e}");
        }
        let c = Config::parse("[cluster]\ngrpc_port = 9\n", None).unwrap();
        assert_eq!(c.advertised_address(), "127.0.0.1:9");
        let c = Config::parse("[cluster]\nadvertise_address = \"[fd00::1]:7000\"\n", None).unwrap();
        assert_eq!(c.advertised_address(), "[fd00::1]:7000");
    }

    #[test]
    fn gc_rules_are_enforced() {
        let e = Config::parse("[replication]\ngc_min_retention_hours = 0\n", None).unwrap_err().to_string();
        assert!(e.contains("replication.gc_min_retention_hours"), "{e}");
        let e = Config::parse("[replication]\ngc_max_retention_hours = 1\n", None).unwrap_err().to_string();
        assert!(e.contains("replication.gc_max_retention_hours"), "{e}");
        assert!(Config::parse("[replication]\ngc_max_retention_hours = 0\n", None).is_ok());
    }

    #[test]
    fn the_environment_secret_wins() {
        let c = Config::parse("[cluster]\ncluster_secret = \"file\"\n", Some("env".into())).unwrap();
        assert_eq!(c.cluster.cluster_secret, "env");
    }
}
