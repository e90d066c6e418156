//! CDC publisher throughput and delay, against a real broker: `nats-server -js`
//! (`SINK=nats`, the default) or `tansu` with its memory engine (`SINK=kafka`):
//!
//! - **live**: `WRITERS` clients insert single rows on node 1 of a 3-node cluster for
//!   `DURATION` seconds; a subscriber (core NATS on `marmot.cdc.bench.>`, or a Kafka fetch
//!   loop on `marmot.cdc.bench.t`) measures each event's delay
//!   from its commit (`source.ts_ms`, the transaction's HLC time) to its arrival. The
//!   baseline beside it is the commit latency the writers saw: the delay beyond it is the
//!   publisher's.
//! - **backlog**: with the broker down, `BACKLOG` rows are committed (transactions of 100
//!   rows); the broker is started again and the time until it holds them all
//!   gives the publisher's drain rate, and node 1's CPU time over it the cost per event.
//!
//! `cargo build --release -p marmot-shell-tokio --bin marmot && cargo run --release -p
//! marmot-benches --bin publisher` (`benches/publisher.sh` does both). Everything it
//! starts it stops.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use marmot_benches::procs::{connect, env, now_ms, percentile, port, spawn, wait_port, Procs};
use mysql_async::prelude::Queryable;

/// The broker under test.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Nats,
    Kafka,
}

/// Start the broker on port `p` (tansu keeps nothing across a restart: its memory engine).
fn broker(kind: Kind, dir: &Path, p: u16) -> Child {
    let c = match kind {
        Kind::Nats => {
            let args = ["-js", "-a", "127.0.0.1", "-p", &p.to_string(), "-sd", "js"].map(String::from);
            spawn(Path::new("nats-server"), &args, dir, "nats.log")
        }
        Kind::Kafka => {
            let url = format!("tcp://127.0.0.1:{p}");
            let args = ["broker", "--listener-url", &url, "--advertised-listener-url", &url].map(String::from);
            spawn(Path::new("tansu"), &args, dir, "tansu.log")
        }
    };
    wait_port(p);
    c
}

/// The sink's lines in a node's config.
fn sink_config(kind: Kind, p: u16) -> String {
    match kind {
        Kind::Nats => format!("name = \"nats-events\"\ntype = \"nats\"\nnats_url = \"nats://127.0.0.1:{p}\"\n"),
        Kind::Kafka => format!("name = \"kafka-main\"\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:{p}\"]\n"),
    }
}

/// A Kafka client of the bench topic's partition (retrying until the topic exists).
async fn kafka_topic(p: u16) -> rskafka::client::partition::PartitionClient {
    use rskafka::client::{partition::UnknownTopicHandling, ClientBuilder};
    loop {
        if let Ok(client) = ClientBuilder::new(vec![format!("127.0.0.1:{p}")]).build().await {
            let topic = client.partition_client("marmot.cdc.bench.t", 0, UnknownTopicHandling::Error).await;
            if let Ok(t) = topic {
                return t;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// CPU time (user + system) of process `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    fields.get(11).zip(fields.get(12)).map_or(0, |(u, s)| u.parse::<u64>().unwrap_or(0) + s.parse::<u64>().unwrap_or(0))
}

/// Events seen by the subscriber and their delays.
#[derive(Default)]
struct Seen {
    count: AtomicU64,
    delays: Mutex<Vec<u64>>,
}

/// Record one event's delay, from its JSON.
fn arrived(seen: &Seen, payload: &[u8]) {
    let arrived = now_ms();
    let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    let committed = v["payload"]["source"]["ts_ms"].as_u64().unwrap_or(arrived);
    seen.delays.lock().expect("delays").push(arrived.saturating_sub(committed));
    seen.count.fetch_add(1, Relaxed);
}

async fn subscribe(kind: Kind, p: u16, seen: Arc<Seen>) {
    if kind == Kind::Kafka {
        let topic = kafka_topic(p).await;
        let mut offset = 0;
        while let Ok((records, _)) = topic.fetch_records(offset, 1..10_000_000, 100).await {
            for r in records {
                arrived(&seen, r.record.value.as_deref().unwrap_or_default());
                offset = r.offset + 1;
            }
        }
        return;
    }
    let url = format!("nats://127.0.0.1:{p}");
    let client = async_nats::connect(url).await.expect("nats connect");
    let mut sub = client.subscribe("marmot.cdc.bench.>").await.expect("subscribe");
    use futures_util::StreamExt;
    while let Some(m) = sub.next().await {
        arrived(&seen, &m.payload);
    }
}

/// Events the NATS stream holds now (0 while the server does not answer).
async fn nats_stored(p: u16) -> u64 {
    let Ok(client) = async_nats::connect(format!("nats://127.0.0.1:{p}")).await else { return 0 };
    let js = async_nats::jetstream::new(client);
    match js.get_stream("MARMOT_CDC").await {
        Ok(s) => s.cached_info().state.messages,
        Err(_) => 0,
    }
}

#[tokio::main]
async fn main() {
    let (writers, seconds, backlog) = (env("WRITERS", 8), env("DURATION", 10), env("BACKLOG", 20_000));
    let bin = PathBuf::from(std::env::var("MARMOT_BIN").unwrap_or_else(|_| "target/release/marmot".into()));
    let bin = std::fs::canonicalize(&bin).unwrap_or_else(|_| panic!("{} missing: build it first", bin.display()));
    let work = tempfile::tempdir().expect("tempdir");
    if std::env::var_os("KEEP").is_some() {
        eprintln!("work directory (kept): {}", work.path().display());
    }
    let kind = match std::env::var("SINK").as_deref() {
        Ok("kafka") => Kind::Kafka,
        Ok("nats") | Err(_) => Kind::Nats,
        Ok(other) => panic!("SINK={other}: nats or kafka"),
    };
    let broker_port = port();
    let mut procs = Procs(vec![broker(kind, work.path(), broker_port)]);
    let (grpc, mysql): (Vec<u16>, Vec<u16>) = (0..3).map(|_| (port(), port())).unzip();
    for n in 0..3 {
        let dir = work.path().join(format!("node-{}", n + 1));
        std::fs::create_dir_all(&dir).expect("dir");
        let seeds = if n == 0 { String::new() } else { format!("\"127.0.0.1:{}\"", grpc[0]) };
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "node_id = {}\ndata_dir = \"data\"\n[cluster]\ngrpc_bind_address = \"127.0.0.1\"\ngrpc_port = {}\n\
                 seed_nodes = [{seeds}]\n[mysql]\nbind_address = \"127.0.0.1\"\nport = {}\n[publisher]\nenabled = true\n\
                 [[publisher.sinks]]\n{}format = \"debezium\"\n\
                 topic_prefix = \"marmot.cdc\"\nfilter_tables = [\"*\"]\nfilter_databases = [\"*\"]\nretry_max_ms = 500\n",
                n + 1,
                grpc[n],
                mysql[n],
                sink_config(kind, broker_port)
            ),
        )
        .expect("config");
        procs.0.push(spawn(&bin, &[], &dir, "marmot.log"));
        wait_port(mysql[n]);
    }
    let node1 = procs.0[1].id();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut c = connect(mysql[0]).await;
    c.query_drop("CREATE DATABASE bench").await.expect("create database");
    c.query_drop("CREATE TABLE bench.t (id INT PRIMARY KEY, v VARCHAR(40), n INT)").await.expect("create table");

    let seen = Arc::new(Seen::default());
    tokio::spawn(subscribe(kind, broker_port, seen.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Live: single-row autocommit inserts by WRITERS clients.
    let next = Arc::new(AtomicU64::new(1));
    let commit = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (next, commit, p) = (next.clone(), commit.clone(), mysql[0]);
        tasks.push(tokio::spawn(async move {
            let mut c = connect(p).await;
            while Instant::now() < deadline {
                let id = next.fetch_add(1, Relaxed);
                let t = Instant::now();
                c.query_drop(format!("INSERT INTO bench.t VALUES ({id}, 'row {id}', {id})")).await.expect("insert");
                commit.lock().expect("h").record(t.elapsed().as_micros() as u64).expect("record");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let written = next.load(Relaxed) - 1;
    let settle = Instant::now();
    while seen.count.load(Relaxed) < written && settle.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let live_events = seen.count.load(Relaxed);
    let mut delays = std::mem::take(&mut *seen.delays.lock().expect("delays"));
    let commit = commit.lock().expect("h").clone();

    // Backlog: commit BACKLOG rows with the broker down, then time the drain.
    procs.0[0].kill().expect("kill the broker");
    let _ = procs.0[0].wait();
    let first = written + 1;
    for chunk in (first..first + backlog).collect::<Vec<_>>().chunks(100) {
        let values: Vec<String> = chunk.iter().map(|id| format!("({id}, 'row {id}', {id})")).collect();
        c.query_drop(format!("INSERT INTO bench.t VALUES {}", values.join(","))).await.expect("backlog insert");
    }
    let cpu0 = cpu_ticks(node1);
    let start = Instant::now();
    procs.0[0] = broker(kind, work.path(), broker_port);
    // Counted in the broker itself: a subscriber can miss what arrives before it has
    // subscribed again to the restarted server. tansu restarts empty, and the publisher
    // sends it only what it had not published.
    let already = if kind == Kind::Kafka { 0 } else { written };
    let want = already + backlog;
    // Kafka: counted by a consumer reading the topic again from its start. tansu's
    // ListOffsets stopped short of the end here (19,936 of 20,000, all 20,000 readable;
    // by the numbers, the last record batch's base offset).
    let recount = Arc::new(Seen::default());
    if kind == Kind::Kafka {
        tokio::spawn(subscribe(kind, broker_port, recount.clone()));
    }
    let mut stored = 0;
    while stored < want && start.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        stored = match kind {
            Kind::Kafka => recount.count.load(Relaxed),
            Kind::Nats => nats_stored(broker_port).await,
        };
    }
    let drain = start.elapsed();
    let drained = stored.saturating_sub(already);
    let cpu_ms = (cpu_ticks(node1) - cpu0) * 1000 / 100;

    if std::env::var_os("KEEP").is_some() {
        drop(procs);
        let _ = work.keep();
    }
    let name = if kind == Kind::Kafka { "Kafka (tansu 0.6, memory engine)" } else { "NATS JetStream (nats-server)" };
    println!("CDC publisher to {name}, 3 marmot nodes, node 1 publishes");
    println!("| phase | result |");
    println!("|---|---|");
    println!(
        "| live: {writers} writers, {seconds} s | {written} commits ({:.0}/s), {live_events} events received |",
        written as f64 / seconds as f64
    );
    println!(
        "| commit latency (baseline) P50 / P99 | {:.1} / {:.1} ms |",
        commit.value_at_quantile(0.5) as f64 / 1000.0,
        commit.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!(
        "| commit → consumer delay P50 / P99 / max | {} / {} / {} ms |",
        percentile(&mut delays, 0.5),
        percentile(&mut delays, 0.99),
        delays.last().copied().unwrap_or(0)
    );
    println!(
        "| backlog drain: {drained} of {backlog} events | {:.2} s, {:.0} events/s, node 1 CPU {:.1} µs/event |",
        drain.as_secs_f64(),
        drained as f64 / drain.as_secs_f64(),
        cpu_ms as f64 * 1000.0 / drained.max(1) as f64
    );
}
