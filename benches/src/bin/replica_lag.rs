//! Read-only replica lag under the seed's mixed workload, on loopback:
//!
//! - three members and one replica (following member 1) run the release `marmot`;
//! - the seed's `workload` driver loads `ROWS` rows, then runs its mix (read 20, update
//!   30, insert 35, delete 5, upsert 10; 16 threads, 10 operations per transaction,
//!   QUORUM) against the three members for `DURATION` seconds;
//! - meanwhile a probe commits one marker row every 100 ms, on each member in turn, and
//!   times from the commit's answer until the row is visible on the replica, and — the
//!   baseline, measured the same way in the same run — until it is visible on the next
//!   member (which applies it by the protocol's own commit path);
//! - `/metrics` of the replica (`marmot_replica_lag_transactions`) is sampled every 500 ms.
//!
//! `benches/replica-lag.sh` builds and runs it. Everything it starts it stops.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use marmot_benches::procs::{connect, env, percentile, port, spawn, wait_port, Procs};
use mysql_async::prelude::Queryable;

/// Wait until `id` is visible in `probe.p` on MySQL port `p`; how long it took.
async fn visible(p: u16, id: u64, since: Instant) -> Duration {
    let mut c = connect(p).await;
    loop {
        let n: Option<u64> =
            c.query_first(format!("SELECT COUNT(*) FROM probe.p WHERE id = {id}")).await.ok().flatten();
        if n == Some(1) {
            return since.elapsed();
        }
        if since.elapsed() > Duration::from_secs(60) {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `marmot_replica_lag_transactions` summed over databases, from the node port `p`.
async fn replica_lag(p: u16) -> u64 {
    let out =
        tokio::process::Command::new("curl").args(["-s", &format!("http://127.0.0.1:{p}/metrics")]).output().await;
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("marmot_replica_lag_transactions{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn show(name: &str, v: &mut [u64]) {
    println!(
        "{name:<28} n={:<5} P50 {:>6.1} ms  P90 {:>6.1} ms  P99 {:>6.1} ms  max {:>6.1} ms",
        v.len(),
        percentile(v, 0.50) as f64 / 1000.0,
        percentile(v, 0.90) as f64 / 1000.0,
        percentile(v, 0.99) as f64 / 1000.0,
        percentile(v, 1.0) as f64 / 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let (rows, seconds) = (env("ROWS", 20_000), env("DURATION", 30));
    let release = |name: &str| {
        let bin = PathBuf::from(format!("target/release/{name}"));
        std::fs::canonicalize(&bin).unwrap_or_else(|_| panic!("{} missing: build it first", bin.display()))
    };
    let (bin, workload) = (release("marmot"), release("workload"));
    let work = tempfile::tempdir().expect("tempdir");
    let mut procs = Procs(Vec::new());
    let (grpc, mysql): (Vec<u16>, Vec<u16>) = (0..4).map(|_| (port(), port())).unzip();
    for n in 0..4 {
        let dir = work.path().join(format!("node-{}", n + 1));
        std::fs::create_dir_all(&dir).expect("dir");
        let seeds = if n == 0 { String::new() } else { format!("\"127.0.0.1:{}\"", grpc[0]) };
        let replica = if n == 3 {
            format!("[replica]\nenabled = true\nfollow_addresses = [\"127.0.0.1:{}\"]\n", grpc[0])
        } else {
            String::new()
        };
        let id = if n == 3 { 11 } else { n + 1 };
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "node_id = {id}\ndata_dir = \"data\"\n[cluster]\ngrpc_bind_address = \"127.0.0.1\"\ngrpc_port = {}\n\
                 seed_nodes = [{seeds}]\n[mysql]\nbind_address = \"127.0.0.1\"\nport = {}\n{replica}",
                grpc[n], mysql[n]
            ),
        )
        .expect("config");
        procs.0.push(spawn(&bin, &[], &dir, "marmot.log"));
        wait_port(mysql[n]);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut c = connect(mysql[0]).await;
    c.query_drop("CREATE DATABASE probe").await.expect("create database");
    c.query_drop("CREATE TABLE probe.p (id INT PRIMARY KEY, at BIGINT)").await.expect("create table");
    c.query_drop("INSERT INTO probe.p VALUES (0, 0)").await.expect("first row");
    visible(mysql[3], 0, Instant::now()).await;

    let endpoints: Vec<String> = mysql[..3].iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let args = [
        "--endpoints",
        &endpoints.join(","),
        "--rows",
        &rows.to_string(),
        "--duration",
        &seconds.to_string(),
        "--consistency",
        "QUORUM",
        "--database",
        "bench",
        "--no-verify",
    ]
    .map(String::from);
    let started = Instant::now();
    let mut driver = spawn(&workload, &args, work.path(), "workload.log");

    // The workload creates its database: the replica takes it up at its next database
    // discovery (`database_discovery_interval_seconds`, 10 s) from a snapshot and catches
    // up. That is timed apart; the lag is measured from then on, in steady state.
    let mut r = connect(mysql[3]).await;
    while r.query_drop("SELECT 1 FROM bench.benchmarks LIMIT 1").await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taken_up = started.elapsed();
    let to_replica = Arc::new(Mutex::new(Vec::new()));
    let to_member = Arc::new(Mutex::new(Vec::new()));
    let mut conns = Vec::new();
    for p in &mysql[..3] {
        conns.push(connect(*p).await);
    }
    let (mut samples, mut id, mut tasks) = (Vec::new(), 0u64, Vec::new());
    let mut next_sample = Instant::now();
    while driver.try_wait().expect("workload").is_none() {
        id += 1;
        let member = (id % 3) as usize;
        let t = Instant::now();
        conns[member].query_drop(format!("INSERT INTO probe.p VALUES ({id}, {id})")).await.expect("probe insert");
        let since = Instant::now();
        let (r, m) = (to_replica.clone(), to_member.clone());
        let (rp, mp) = (mysql[3], mysql[(member + 1) % 3]);
        tasks.push(tokio::spawn(async move {
            let d = visible(rp, id, since).await;
            r.lock().expect("lag").push(d.as_micros() as u64);
        }));
        tasks.push(tokio::spawn(async move {
            let d = visible(mp, id, since).await;
            m.lock().expect("lag").push(d.as_micros() as u64);
        }));
        if Instant::now() >= next_sample {
            samples.push(replica_lag(grpc[3]).await);
            next_sample += Duration::from_millis(500);
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(t.elapsed())).await;
    }
    let ran = started.elapsed();
    for t in tasks {
        t.await.expect("probe");
    }
    let report = std::fs::read_to_string(work.path().join("workload.log")).unwrap_or_default();
    // Let the replica settle, then compare its rows with a member's.
    let count = "SELECT COUNT(*) FROM bench.benchmarks";
    let member_rows: Option<u64> = connect(mysql[0]).await.query_first(count).await.expect("count");
    let settle = Instant::now();
    let replica_rows = loop {
        let n: Option<u64> = connect(mysql[3]).await.query_first(count).await.ok().flatten();
        if n == member_rows || settle.elapsed() > Duration::from_secs(60) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    println!("workload ({:.0} s, {rows} rows loaded, then the mix for {seconds} s):", ran.as_secs_f64());
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        println!("  {line}");
    }
    println!(
        "the replica showed the workload's new database {:.1} s after the workload started",
        taken_up.as_secs_f64()
    );
    println!("probe commits: {id}, one every 100 ms on each member in turn; commit answered -> row visible:");
    show("on the replica", &mut to_replica.lock().expect("lag"));
    show("on another member (baseline)", &mut to_member.lock().expect("lag"));
    let mut s = samples.clone();
    println!(
        "replica /metrics lag (transactions behind its source), {} samples: P50 {}  P99 {}  max {}",
        s.len(),
        percentile(&mut s, 0.5),
        percentile(&mut s, 0.99),
        percentile(&mut s, 1.0)
    );
    println!(
        "rows at the end: member {member_rows:?}, replica {replica_rows:?} (after {:.1} s to settle)",
        settle.elapsed().as_secs_f64()
    );
    drop(procs);
}
