//! The `marmot` command line: `serve` (the default), `config check`, and `cluster
//! status | remove | allow`, which talk to a running node's admin API.
//!
//! Exit codes scripts can rely on: 0 success; 1 the node answered with a failure or could
//! not be reached; 2 a usage or configuration error.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::Value;

/// Leaderless distributed SQLite replication, spoken to over the MySQL protocol.
#[derive(Debug, Parser)]
#[command(name = "marmot", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file (default: config.toml if present, else built-in defaults: data in
    /// ./marmot-data, MySQL on 3306, node port 8080).
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

const AFTER_HELP: &str = "Environment:
  MARMOT_CLUSTER_SECRET   cluster secret; wins over [cluster] cluster_secret
  RUST_LOG                log filter (overrides [logging] verbose)

Every key of Marmot's configuration reference is accepted ([transaction], [connection_pool],
[grpc_client], [coordinator], [cluster], [replica], [replication], [query_pipeline], [mysql],
[publisher], [logging], [prometheus], [ddl]); unknown keys are refused.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node (what `marmot` alone does).
    Serve,
    /// Work with configuration files.
    Config {
        /// The configuration command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Ask a running node about its cluster, or change its membership.
    Cluster {
        /// The node's port (gRPC, admin and metrics) as HOST:PORT (default: this
        /// configuration's node port on 127.0.0.1).
        #[arg(long, value_name = "HOST:PORT")]
        node: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The cluster command.
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

/// `marmot config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration and print the effective values (exit 2 if invalid).
    Check {
        /// The file (default: --config, else config.toml).
        file: Option<PathBuf>,
    },
}

/// `marmot cluster …`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Members with their state and incarnation, replication lag and schema versions.
    Status,
    /// Mark node N REMOVED: it no longer counts toward the quorum nor receives writes.
    Remove {
        /// The node id.
        node_id: u64,
    },
    /// Let a REMOVED node N rejoin.
    Allow {
        /// The node id.
        node_id: u64,
    },
}

/// A failed command: its message and exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The process's exit code.
    pub code: u8,
}

impl Failure {
    fn node(message: String) -> Self {
        Failure { message, code: 1 }
    }
}

/// Run a `cluster` command against the admin API at `node`, with `secret` (may be
/// empty); the text to print.
pub fn cluster(node: &str, secret: &str, json: bool, command: &ClusterCommand) -> Result<String, Failure> {
    let (method, path) = match command {
        ClusterCommand::Status => ("GET", "/admin/cluster/status".to_string()),
        ClusterCommand::Remove { node_id } => ("POST", format!("/admin/cluster/remove/{node_id}")),
        ClusterCommand::Allow { node_id } => ("POST", format!("/admin/cluster/allow/{node_id}")),
    };
    let url = format!("http://{node}{path}");
    let mut request = ureq::request(method, &url).timeout(std::time::Duration::from_secs(10));
    if !secret.is_empty() {
        request = request.set("X-Marmot-Secret", secret);
    }
    let (status, body) = match request.call() {
        Ok(r) => (r.status(), r.into_string()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string()),
        Err(e) => return Err(Failure::node(format!("cannot reach {url}: {e}"))),
    };
    let body = body.map_err(|e| Failure::node(format!("{url}: reading the answer: {e}")))?;
    let value: Value = serde_json::from_str(&body)
        .map_err(|e| Failure::node(format!("{url} answered {status} with no JSON ({e}): {body}")))?;
    if status != 200 {
        let why = value["message"].as_str().unwrap_or(&body).to_string();
        return Err(Failure::node(format!("{url}: {status}: {why}")));
    }
    if json {
        return Ok(serde_json::to_string_pretty(&value).unwrap_or(body));
    }
    Ok(match command {
        ClusterCommand::Status => status_table(&value),
        _ => value["message"].as_str().unwrap_or("done").to_string(),
    })
}

/// `cluster status` for people: members, then lag per peer and database.
fn status_table(v: &Value) -> String {
    let mut out = format!(
        "node {} sees {} of {} members ALIVE; a quorum is {}; it commits {} writes/s\n\n{:<6} {:<10} {:<12} {}\n",
        v["local_node_id"],
        v["alive_count"],
        v["total_membership"],
        v["quorum_size"],
        v["writes_per_second"],
        "NODE",
        "STATE",
        "INCARNATION",
        "ADDRESS"
    );
    for m in v["members"].as_array().into_iter().flatten() {
        out += &format!(
            "{:<6} {:<10} {:<12} {}\n",
            m["NodeID"],
            m["Status"].as_str().unwrap_or("?"),
            m["Incarnation"],
            m["Address"].as_str().unwrap_or("?")
        );
    }
    let lag = v["lag"].as_array().map(Vec::as_slice).unwrap_or_default();
    if !lag.is_empty() {
        out += &format!("\n{:<6} {:<20} {:>14} {:>12}\n", "PEER", "DATABASE", "BEHIND (TXNS)", "FOR (S)");
        for l in lag {
            out += &format!(
                "{:<6} {:<20} {:>14} {:>12.1}\n",
                l["peer"],
                l["database"].as_str().unwrap_or("?"),
                l["transactions"],
                l["behind_ms"].as_f64().unwrap_or(0.0) / 1000.0
            );
        }
    }
    if let Some(schemas) = v["schema_versions"].as_object().filter(|s| !s.is_empty()) {
        out += "\nDATABASE             SCHEMA VERSION\n";
        for (db, version) in schemas {
            out += &format!("{db:<20} {version}\n");
        }
    }
    out
}
