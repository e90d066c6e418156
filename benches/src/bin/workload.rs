//! The seed's benchmark workload against any MySQL endpoints (marmot nodes, a single node,
//! or a Galera cluster), with the same table, phases, mix, retries and verification.
//!
//! ```text
//! workload --endpoints 127.0.0.1:3307,127.0.0.1:3308,127.0.0.1:3309 \
//!          --rows 200000 --duration 120 --threads 16 --batch 10 \
//!          --mix read=20,update=30,insert=35,delete=5,upsert=10 --consistency QUORUM
//! ```
//!
//! Latency is per transaction: from BEGIN to the COMMIT's answer, retries included.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use marmot_benches::workload::{Args, Mix, Op, Report};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use rand::{Rng, SeedableRng};

/// Errors that mean "another transaction holds it: try again".
fn retryable(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == 1213 || s.code == 1205)
}

fn value(rng: &mut impl Rng) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..100).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect()
}

fn key(i: u64) -> String {
    format!("rec_{i:012}")
}

async fn connect(endpoint: &str, db: Option<&str>, consistency: Option<&str>) -> mysql_async::Result<Conn> {
    let (host, port) = endpoint.rsplit_once(':').unwrap_or((endpoint, "3306"));
    let opts = OptsBuilder::default()
        .ip_or_hostname(host.to_string())
        .tcp_port(port.parse().unwrap_or(3306))
        .user(Some(std::env::var("MYSQL_USER").unwrap_or_else(|_| "root".into())))
        .pass(std::env::var("MYSQL_PASSWORD").ok())
        .db_name(db.map(str::to_string))
        .prefer_socket(false);
    let mut conn = Conn::new(Opts::from(opts)).await?;
    if let Some(c) = consistency {
        conn.query_drop(format!("SET marmot_write_consistency = '{c}'")).await?;
    }
    Ok(conn)
}

/// One worker's connections (one per endpoint) and counters.
/// The longest time between two successive commits of any worker: how long writes
/// paused (a killed node, a stalled cluster).
struct Pauses {
    start: Instant,
    last_us: AtomicU64,
    longest_us: AtomicU64,
}

impl Pauses {
    fn new() -> Arc<Pauses> {
        Arc::new(Pauses { start: Instant::now(), last_us: AtomicU64::new(0), longest_us: AtomicU64::new(0) })
    }

    fn commit(&self) {
        let now = self.start.elapsed().as_micros() as u64;
        let prev = self.last_us.swap(now, Relaxed);
        if prev > 0 {
            self.longest_us.fetch_max(now.saturating_sub(prev), Relaxed);
        }
    }
}

/// Whether an error means the endpoint itself is gone (not a refused statement).
fn endpoint_lost(e: &mysql_async::Error) -> bool {
    !matches!(e, mysql_async::Error::Server(_))
}

struct Worker {
    conns: Vec<Option<Conn>>,
    pauses: Arc<Pauses>,
    failovers: u64,
    next: usize,
    rng: rand::rngs::StdRng,
    hist: Histogram<u64>,
    ops: u64,
    txns: u64,
    errors: u64,
    retries: u64,
    first_errors: Vec<String>,
}

impl Worker {
    async fn new(args: &Args, seed: u64, pauses: Arc<Pauses>) -> mysql_async::Result<Worker> {
        let mut conns = Vec::new();
        for e in &args.endpoints {
            conns.push(Some(connect(e, Some(&args.database), args.consistency.as_deref()).await?));
        }
        Ok(Worker {
            conns,
            pauses,
            failovers: 0,
            next: seed as usize,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("bounds"),
            ops: 0,
            txns: 0,
            errors: 0,
            retries: 0,
            first_errors: Vec::new(),
        })
    }

    /// The next endpoint still reachable, round robin.
    fn next_endpoint(&mut self) -> Option<usize> {
        let n = self.conns.len();
        for _ in 0..n {
            let i = self.next % n;
            self.next += 1;
            if self.conns[i].is_some() {
                return Some(i);
            }
        }
        None
    }

    /// Run one transaction of `stmts` on the next endpoint, retrying conflicts up to 3 times.
    /// An endpoint whose connection breaks is dropped for the rest of the run and the
    /// transaction goes to the next one (a failover, not an error).
    async fn transaction(&mut self, stmts: &[String]) {
        let Some(mut i) = self.next_endpoint() else {
            self.errors += 1;
            return;
        };
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let conn = self.conns[i].as_mut().expect("live endpoint");
            let mut result = conn.query_drop("BEGIN").await;
            for s in stmts {
                if result.is_err() {
                    break;
                }
                result = conn.query_drop(s.as_str()).await;
            }
            if result.is_ok() {
                result = conn.query_drop("COMMIT").await;
            } else {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            match result {
                Ok(()) => {
                    self.ops += stmts.len() as u64;
                    self.txns += 1;
                    self.pauses.commit();
                    let _ = self.hist.record(started.elapsed().as_micros().max(1) as u64);
                    return;
                }
                Err(e) if retryable(&e) && attempt < 3 => {
                    self.retries += 1;
                    let backoff = 5u64 << attempt;
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(self.rng.random_range(backoff / 2..=backoff))).await;
                }
                Err(e) if endpoint_lost(&e) => {
                    self.conns[i] = None;
                    self.failovers += 1;
                    match self.next_endpoint() {
                        Some(j) => i = j,
                        None => {
                            self.errors += 1;
                            self.first_errors.push(format!("every endpoint is gone; last: {e}"));
                            return;
                        }
                    }
                }
                Err(e) => {
                    self.errors += 1;
                    if self.first_errors.len() < 5 {
                        self.first_errors.push(format!("{}: {e}", self.endpoint_name(i)));
                    }
                    return;
                }
            }
        }
    }

    fn endpoint_name(&self, i: usize) -> String {
        format!("endpoint {}", i + 1)
    }
}

fn insert_sql(id: &str, rng: &mut impl Rng) -> String {
    let values: Vec<String> = (0..10).map(|_| format!("'{}'", value(rng))).collect();
    format!("INSERT INTO benchmarks (id, {}) VALUES ('{id}', {})", fields(), values.join(", "))
}

fn fields() -> String {
    (0..10).map(|f| format!("field{f}")).collect::<Vec<_>>().join(", ")
}

/// One mixed-phase statement. Reads, updates, deletes and upserts pick a loaded key
/// (`0..rows`) uniformly; inserts take fresh keys above them, so they never collide.
fn mixed_statement(op: Op, rng: &mut impl Rng, rows: u64, keys: &AtomicU64) -> String {
    let existing = key(rng.random_range(0..rows.max(1)));
    match op {
        Op::Read => format!("SELECT * FROM benchmarks WHERE id = '{existing}'"),
        Op::Update => {
            let f = rng.random_range(0..10);
            format!("UPDATE benchmarks SET field{f} = '{}' WHERE id = '{existing}'", value(rng))
        }
        Op::Insert => insert_sql(&key(keys.fetch_add(1, Relaxed)), rng),
        Op::Delete => format!("DELETE FROM benchmarks WHERE id = '{existing}'"),
        Op::Upsert => {
            let v = value(rng);
            let base = insert_sql(&existing, rng);
            format!("{base} ON DUPLICATE KEY UPDATE field0 = '{v}'")
        }
    }
}

async fn run_workers<F, Fut>(args: &Args, body: F) -> Result<Vec<Worker>, String>
where
    F: Fn(usize, Worker) -> Fut,
    Fut: std::future::Future<Output = Worker> + Send + 'static,
{
    let pauses = Pauses::new();
    let mut handles = Vec::new();
    for w in 0..args.threads {
        let worker =
            Worker::new(args, w as u64 + 1, pauses.clone()).await.map_err(|e| format!("connecting worker {w}: {e}"))?;
        handles.push(tokio::spawn(body(w, worker)));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.map_err(|e| format!("worker failed: {e}"))?);
    }
    Ok(out)
}

fn summarize(phase: &str, workers: &[Worker], elapsed: Duration) -> Report {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    for w in workers {
        hist.add(&w.hist).expect("same bounds");
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let ops: u64 = workers.iter().map(|w| w.ops).sum();
    let txns: u64 = workers.iter().map(|w| w.txns).sum();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Report {
        phase: phase.to_string(),
        seconds: secs,
        ops_per_sec: ops as f64 / secs,
        tx_per_sec: txns as f64 / secs,
        transactions: txns,
        errors: workers.iter().map(|w| w.errors).sum(),
        retries: workers.iter().map(|w| w.retries).sum(),
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        first_errors: workers.iter().flat_map(|w| w.first_errors.clone()).take(5).collect(),
        failovers: workers.iter().map(|w| w.failovers).sum(),
        longest_pause_ms: workers.first().map_or(0.0, |w| w.pauses.longest_us.load(Relaxed) as f64 / 1000.0),
    }
}

async fn setup(args: &Args) -> Result<(), String> {
    let first = &args.endpoints[0];
    let mut c = connect(first, None, args.consistency.as_deref()).await.map_err(|e| format!("{first}: {e}"))?;
    let cols: Vec<String> = (0..10).map(|f| format!("field{f} TEXT")).collect();
    for sql in [
        format!("CREATE DATABASE IF NOT EXISTS {}", args.database),
        format!("USE {}", args.database),
        "DROP TABLE IF EXISTS benchmarks".to_string(),
        format!("CREATE TABLE benchmarks (id VARCHAR(64) PRIMARY KEY, {})", cols.join(", ")),
    ] {
        c.query_drop(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
    }
    // Every endpoint must see the table before the load starts.
    for e in &args.endpoints {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = match connect(e, Some(&args.database), None).await {
                Ok(mut c) => c.query_drop("SELECT count(*) FROM benchmarks").await.is_ok(),
                Err(_) => false,
            };
            if ok {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{e} never saw the benchmarks table"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

async fn load(args: &Args) -> Result<Report, String> {
    let started = Instant::now();
    let per = args.rows.div_ceil(args.threads as u64);
    let (rows, batch) = (args.rows, args.batch);
    let workers = run_workers(args, move |w, mut worker| async move {
        let (from, to) = ((w as u64 * per).min(rows), ((w as u64 + 1) * per).min(rows));
        let mut i = from;
        while i < to {
            let end = (i + batch as u64).min(to);
            let stmts: Vec<String> = (i..end).map(|k| insert_sql(&key(k), &mut worker.rng)).collect();
            worker.transaction(&stmts).await;
            i = end;
        }
        worker
    })
    .await?;
    Ok(summarize("load", &workers, started.elapsed()))
}

async fn mixed(args: &Args, mix: Mix) -> Result<Report, String> {
    // Fresh keys start above every key already there (an earlier mixed run added some).
    let highest = highest_key(&args.endpoints[0], &args.database).await?;
    let keys = Arc::new(AtomicU64::new(args.rows.max(highest + 1)));
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration);
    let started = Instant::now();
    let (batch, rows) = (args.batch, args.rows);
    let workers = run_workers(args, move |_, mut worker| {
        let keys = keys.clone();
        async move {
            while Instant::now() < deadline {
                let stmts: Vec<String> = (0..batch)
                    .map(|_| {
                        let op = mix.draw(worker.rng.random_range(0..100));
                        mixed_statement(op, &mut worker.rng, rows, &keys)
                    })
                    .collect();
                worker.transaction(&stmts).await;
            }
            worker
        }
    })
    .await?;
    Ok(summarize("mixed", &workers, started.elapsed()))
}

/// The highest `rec_%012d` key number in the table (0 if none).
async fn highest_key(endpoint: &str, db: &str) -> Result<u64, String> {
    let mut c = connect(endpoint, Some(db), None).await.map_err(|e| format!("{endpoint}: {e}"))?;
    let max: Option<Option<String>> =
        c.query_first("SELECT max(id) FROM benchmarks").await.map_err(|e| format!("{endpoint}: {e}"))?;
    Ok(max.flatten().and_then(|k| k.strip_prefix("rec_").and_then(|n| n.parse().ok())).unwrap_or(0))
}

/// Row count and a content hash of the whole table, as one endpoint serves it.
async fn fingerprint(endpoint: &str, db: &str) -> Result<(u64, u64), String> {
    let mut c = connect(endpoint, Some(db), None).await.map_err(|e| format!("{endpoint}: {e}"))?;
    let rows: Vec<mysql_async::Row> = c
        .query(format!("SELECT id, {} FROM benchmarks ORDER BY id", fields()))
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    for r in &rows {
        for i in 0..r.len() {
            let v: Option<String> = r.get(i).flatten();
            h.write(v.as_deref().unwrap_or("\u{0}NULL").as_bytes());
            h.write_u8(0xff);
        }
    }
    Ok((rows.len() as u64, h.finish()))
}

/// Wait (up to 60 s) until every endpoint holds the same rows.
async fn verify(args: &Args) -> Result<(u64, u64), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut prints = Vec::new();
        for e in &args.endpoints {
            prints.push(fingerprint(e, &args.database).await?);
        }
        if prints.iter().all(|p| *p == prints[0]) {
            return Ok(prints[0]);
        }
        if Instant::now() > deadline {
            return Err(format!("endpoints still differ after 60 s: {prints:?}"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{}", Args::USAGE);
        return;
    }
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("workload: {e}\n{}", Args::USAGE);
            std::process::exit(2);
        }
    };
    let mix = match Mix::parse(&args.mix) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("workload: --mix: {e}");
            std::process::exit(2);
        }
    };
    let outcome = async {
        let mut reports = Vec::new();
        if args.phases.iter().any(|p| p == "load") {
            setup(&args).await?;
            let r = load(&args).await?;
            println!("{}", r.text());
            reports.push(r);
        }
        if args.phases.iter().any(|p| p == "mixed") {
            let r = mixed(&args, mix).await?;
            println!("{}", r.text());
            reports.push(r);
        }
        let verdict = if args.verify { Some(verify(&args).await) } else { None };
        Ok::<_, String>((reports, verdict))
    }
    .await;
    let (reports, verdict) = match outcome {
        Ok(x) => x,
        Err(e) => {
            eprintln!("workload: {e}");
            std::process::exit(1);
        }
    };
    let verify_json = match &verdict {
        Some(Ok((rows, hash))) => {
            println!(
                "verify: PASS ({rows} rows, content hash {hash:016x}, identical on {} endpoints)",
                args.endpoints.len()
            );
            serde_json::json!({"result": "PASS", "rows": rows, "hash": format!("{hash:016x}")})
        }
        Some(Err(e)) => {
            println!("verify: FAIL ({e})");
            serde_json::json!({"result": "FAIL", "reason": e})
        }
        None => serde_json::json!({"result": "SKIPPED"}),
    };
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "endpoints": args.endpoints,
            "threads": args.threads,
            "batch": args.batch,
            "rows": args.rows,
            "consistency": args.consistency,
            "phases": reports.iter().map(Report::json).collect::<Vec<_>>(),
            "verify": verify_json,
        });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")) {
            eprintln!("workload: writing {path}: {e}");
            std::process::exit(1);
        }
    }
    if matches!(verdict, Some(Err(_))) {
        std::process::exit(1);
    }
}
