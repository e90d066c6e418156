//! The `marmot` command line: `serve` (the default), `config check`, and `cluster
//! status | remove | allow | drain` and `verify`, which talk to a running node's admin API.
//!
//! Exit codes scripts can rely on: 0 success; 1 the node answered with a failure or could
//! not be reached, or (`verify`) the nodes' data differ; 2 a usage or configuration error.

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
    /// Cluster members a read-only replica follows (replaces `[replica] follow_addresses`).
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT,...")]
    pub follow_addresses: Vec<String>,
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
    /// Check that every member holds the same data: per-table checksums taken on all
    /// members at the same logical point while writes go on; exit 0 only when all agree.
    Verify {
        /// Only this database (default: all).
        #[arg(long, value_name = "NAME")]
        database: Option<String>,
        /// The node to ask, as HOST:PORT of its node port (default: this configuration's
        /// node port on 127.0.0.1).
        #[arg(long, value_name = "HOST:PORT")]
        node: Option<String>,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
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
    /// Drain the node asked (--node): refuse new MySQL work (clients get 1053 and
    /// reconnect elsewhere), let open transactions finish, then leave the cluster.
    Drain {
        /// How long open transactions may take to finish before the node leaves anyway.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout_seconds: u64,
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
        ClusterCommand::Drain { timeout_seconds } => {
            ("POST", format!("/admin/cluster/drain?timeout_seconds={timeout_seconds}"))
        }
    };
    let wait = match command {
        ClusterCommand::Drain { timeout_seconds } => timeout_seconds + 30,
        _ => 10,
    };
    let value = call(node, secret, method, &path, &[], wait)?;
    if json {
        return Ok(serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    Ok(match command {
        ClusterCommand::Status => status_table(&value),
        _ => value["message"].as_str().unwrap_or("done").to_string(),
    })
}

/// `marmot verify` against the node at `node`: the report to print and whether every
/// member agrees.
pub fn verify(node: &str, secret: &str, json: bool, database: Option<&str>) -> Result<(String, bool), Failure> {
    let query: Vec<(&str, &str)> = database.map(|db| ("database", db)).into_iter().collect();
    let value = call(node, secret, "GET", "/admin/cluster/verify", &query, 600)?;
    let text = if json { serde_json::to_string_pretty(&value).unwrap_or_default() } else { verify_table(&value) };
    Ok((text, value["agree"].as_bool() == Some(true)))
}

/// `verify` for people: one line per table, the nodes' sums where they differ.
fn verify_table(v: &Value) -> String {
    let checked: Vec<String> = v["checked_nodes"].as_array().into_iter().flatten().map(|n| n.to_string()).collect();
    let mut out = format!("{:<20} {:<24} {:>10} {:>9}  RESULT\n", "DATABASE", "TABLE", "ROWS", "LEFT OUT");
    let tables = v["tables"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut differ = 0;
    for t in tables {
        let nodes = t["nodes"].as_object();
        let rows = nodes.and_then(|n| n.values().find_map(|x| x["rows"].as_u64())).unwrap_or(0);
        let agree = t["agree"].as_bool() == Some(true);
        let result = if agree {
            "same on all".to_string()
        } else {
            differ += 1;
            let per_node: Vec<String> = nodes
                .into_iter()
                .flatten()
                .map(|(id, s)| match s["rows"].as_u64() {
                    Some(r) => {
                        let sum: String = s["checksum"].as_str().unwrap_or("").chars().take(8).collect();
                        format!("node {id}: {r} rows, {sum}")
                    }
                    None => format!("node {id}: missing"),
                })
                .collect();
            format!("DIFFERS ({})", per_node.join("; "))
        };
        out += &format!(
            "{:<20} {:<24} {:>10} {:>9}  {result}\n",
            t["database"].as_str().unwrap_or("?"),
            t["table"].as_str().unwrap_or("?"),
            rows,
            t["left_out"].as_u64().unwrap_or(0)
        );
    }
    for m in v["missing_databases"].as_array().into_iter().flatten() {
        out += &format!("database {} is missing on nodes {}\n", m["database"].as_str().unwrap_or("?"), m["missing_on"]);
    }
    for n in v["not_checked"].as_array().into_iter().flatten() {
        out += &format!("node {} not checked: {}\n", n["node_id"], n["reason"].as_str().unwrap_or("?"));
    }
    if v["settled"].as_bool() == Some(false) {
        out += "writes kept arriving faster than the check could leave them out: run it again\n";
    }
    if tables.iter().any(|t| t["left_out"].as_u64().unwrap_or(0) > 0) {
        out += &format!(
            "(LEFT OUT: rows written after the check's cutoff, {} ms since the epoch, not compared)\n",
            v["cutoff_ms"]
        );
    }
    if v["agree"].as_bool() == Some(true) {
        out += &format!("\nall {} tables agree on nodes {}\n", tables.len(), checked.join(", "));
    } else {
        out += &format!(
            "\nthe nodes do NOT agree: {differ} of {} tables differ (nodes checked: {})\n",
            tables.len(),
            checked.join(", ")
        );
    }
    out
}

/// `method path?query` on the admin API at `node` with `secret`: the JSON of a 200 answer.
fn call(
    node: &str,
    secret: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    timeout_s: u64,
) -> Result<Value, Failure> {
    let url = format!("http://{node}{path}");
    let mut request = ureq::request(method, &url).timeout(std::time::Duration::from_secs(timeout_s));
    for (name, value) in query {
        request = request.query(name, value);
    }
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
    Ok(value)
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
