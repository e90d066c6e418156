//! The cost ladder, in-process rungs: the same 10-operation transaction mix through each
//! layer of the write path, one transaction at a time, with throughput and CPU per
//! transaction (`getrusage`, so the shared machine's noise matters less) and each rung's
//! ratio to the one below:
//!
//! 1. raw rusqlite — the statements in one SQLite transaction (the ceiling);
//! 2. store path — capture on the writer, PREPARE record, COMMIT (apply, versions, log),
//!    one group commit per transaction, on one node, without the protocol;
//! 3. engine, 1 node — the same through the core and the driver;
//! 4. engine, 3 nodes in one process — QUORUM, messages delivered at once.
//!
//! `scripts/cost-ladder.sh` adds the rungs over MySQL (marmot processes, MariaDB, Galera).
//! `cargo run --release -p marmot-benches --bin ladder -- [TXNS]`

use std::collections::VecDeque;
use std::time::Instant;

use marmot_core::io::Reply;
use marmot_core::{Consistency, CoreConfig, Hlc, Input, Node, StoreWrite, Txn};
use marmot_store::capture::CaptureScope;
use marmot_store::driver::{Driver, Output};
use marmot_store::{Location, Store, Synchronous};
use rand::{Rng, SeedableRng};

const SCHEMA: &str = "CREATE TABLE bench (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL)";
/// Rows loaded before each rung, so updates, reads and deletes find rows.
const PRELOAD: u64 = 2_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// CPU time of this process (user + system), in microseconds.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(u.ru_utime) + us(u.ru_stime)
}

/// The transactions: 10 operations each, mixed as the seed's workload (35 % inserts, 30 %
/// updates, 20 % reads, 10 % upserts, 5 % deletes), keys from a fixed seed, so every rung
/// runs exactly the same statements.
fn transactions(count: usize) -> Vec<Vec<String>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut next = PRELOAD;
    (0..count)
        .map(|t| {
            (0..10)
                .map(|i| {
                    let key = rng.random_range(1..=PRELOAD);
                    match rng.random_range(0..100) {
                        0..35 => {
                            next += 1;
                            format!("INSERT INTO bench (id, a, b) VALUES ({next}, 'row-{t}-{i}-abcdefghijklmnopqrstuvwxyz', {i})")
                        }
                        35..65 => format!("UPDATE bench SET b = b + 1, a = 'upd-{t}-{i}' WHERE id = {key}"),
                        65..85 => format!("SELECT a, b FROM bench WHERE id = {key}"),
                        85..95 => format!(
                            "INSERT INTO bench (id, a, b) VALUES ({key}, 'ups-{t}-{i}', 0) \
                             ON CONFLICT (id) DO UPDATE SET b = b + 1"
                        ),
                        _ => format!("DELETE FROM bench WHERE id = {key}"),
                    }
                })
                .collect()
        })
        .collect()
}

fn preload_sql() -> String {
    let values: Vec<String> = (1..=PRELOAD).map(|k| format!("({k}, 'pre-{k}', 0)")).collect();
    format!("INSERT INTO bench (id, a, b) VALUES {}", values.join(", "))
}

/// Run every statement of one transaction (a SELECT is read to the end).
fn run_statements(conn: &rusqlite::Connection, stmts: &[String]) -> rusqlite::Result<()> {
    for s in stmts {
        let mut st = conn.prepare(s)?;
        if st.readonly() {
            let mut rows = st.query([])?;
            while rows.next()?.is_some() {}
        } else {
            st.execute([])?;
        }
    }
    Ok(())
}

struct Rung {
    name: &'static str,
    tx_per_s: f64,
    cpu_us_per_tx: f64,
}

/// Time `run` over `txns`, one transaction at a time.
fn measure(name: &'static str, txns: &[Vec<String>], mut run: impl FnMut(usize, &[String])) -> Rung {
    let (start, cpu0) = (Instant::now(), cpu_us());
    for (i, t) in txns.iter().enumerate() {
        run(i, t);
    }
    let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_us() - cpu0);
    Rung { name, tx_per_s: txns.len() as f64 / secs, cpu_us_per_tx: cpu as f64 / txns.len() as f64 }
}

fn raw(dir: &std::path::Path, txns: &[Vec<String>]) -> Rung {
    let c = rusqlite::Connection::open(dir.join("raw.db")).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").unwrap();
    c.execute_batch(SCHEMA).unwrap();
    c.execute_batch(&preload_sql()).unwrap();
    measure("raw rusqlite (one SQLite transaction)", txns, |_, t| {
        c.execute_batch("BEGIN").unwrap();
        run_statements(&c, t).unwrap();
        c.execute_batch("COMMIT").unwrap();
    })
}

fn open_store(dir: &std::path::Path, name: &str) -> Store {
    let mut store = Store::open(Location::Dir(dir.join(name)), Synchronous::Normal, None).unwrap();
    store.conn("bench").unwrap().execute_batch(SCHEMA).unwrap();
    store.conn("bench").unwrap().execute_batch(&preload_sql()).unwrap();
    store
}

fn store_path(dir: &std::path::Path, txns: &[Vec<String>]) -> Rung {
    let mut store = open_store(dir, "store");
    let wall = now_ms();
    measure("store path (capture, prepare, commit)", txns, |i, t| {
        let (_, rows) = store.capture("bench", CaptureScope::default(), |c| Ok(run_statements(c, t)?)).unwrap();
        if rows.is_empty() {
            return;
        }
        let txn = Txn {
            id: Hlc { wall, logical: i as u32, node: 1 },
            coordinator: 1,
            rows: rows.into(),
            first_committer_wins: true,
            voting: Default::default(),
        };
        store.begin_batch();
        store.write(&StoreWrite::Prepare { txn: txn.clone() }).unwrap();
        store.write(&StoreWrite::Commit { txn }).unwrap();
        store.commit_batch().unwrap();
    })
}

/// Nodes of one cluster in this process, messages delivered at once.
struct Cluster {
    nodes: Vec<(Driver, Store)>,
}

impl Cluster {
    fn new(dir: &std::path::Path, n: u64) -> Cluster {
        let mut nodes = Vec::new();
        for id in 1..=n {
            let mut store = open_store(dir, &format!("n{n}-{id}"));
            let peers = (1..=n).filter(|p| *p != id).map(|p| (p, format!("n{p}"))).collect();
            let node = Node::new(CoreConfig::default(), id, format!("n{id}"), peers, 42, store.recover().unwrap());
            nodes.push((Driver::new(node, false), store));
        }
        let mut c = Cluster { nodes };
        for i in 0..c.nodes.len() {
            c.feed(i, Input::Start);
        }
        // Gossip until every node has caught up (JOINING → ALIVE).
        let alive = |c: &Cluster| {
            c.nodes.iter().all(|(d, _)| d.node().membership().local().state() == marmot_core::MemberState::Alive)
        };
        while !alive(&c) {
            for i in 0..c.nodes.len() {
                let (driver, store) = &mut c.nodes[i];
                let outs = driver.fire_due(store, now_ms());
                for o in outs {
                    if let Output::Send(env) = o {
                        let to = env.to as usize - 1;
                        c.feed(to, Input::Peer(env));
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        c
    }

    /// Feed an input to node `i` and deliver every message it causes, until quiet; each
    /// step is one group commit, as in the engine. Returns the replies.
    fn feed(&mut self, i: usize, input: Input) -> Vec<Reply> {
        let mut replies = Vec::new();
        let mut queue = VecDeque::from([(i, input)]);
        while let Some((i, input)) = queue.pop_front() {
            let (driver, store) = &mut self.nodes[i];
            store.begin_batch();
            let outs = driver.handle(store, now_ms(), input);
            store.commit_batch().unwrap();
            for o in outs {
                match o {
                    Output::Send(env) => queue.push_back((env.to as usize - 1, Input::Peer(env))),
                    Output::Reply(_, r) => replies.push(r),
                    Output::Observe(_) => {}
                }
            }
        }
        replies
    }
}

fn engine(dir: &std::path::Path, txns: &[Vec<String>], nodes: u64, name: &'static str) -> Rung {
    let mut c = Cluster::new(dir, nodes);
    measure(name, txns, |i, t| {
        let coordinator = i % nodes as usize;
        let (_, rows) = c.nodes[coordinator]
            .1
            .capture("bench", CaptureScope::default(), |conn| Ok(run_statements(conn, t)?))
            .unwrap();
        if rows.is_empty() {
            return;
        }
        let write = Input::Write { req: i as u64, rows, consistency: Some(Consistency::Quorum) };
        let replies = c.feed(coordinator, write);
        assert!(matches!(replies.as_slice(), [Reply::Committed { .. }]), "txn {i}: {replies:?}");
    })
}

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let txns = transactions(count);
    let dir = tempfile::tempdir().unwrap();
    let rungs = [
        raw(dir.path(), &txns),
        store_path(dir.path(), &txns),
        engine(dir.path(), &txns, 1, "engine, 1 node"),
        engine(dir.path(), &txns, 3, "engine, 3 nodes in one process (QUORUM)"),
    ];
    println!("cost ladder, in process: {count} transactions of 10 operations, one at a time, WAL, synchronous=NORMAL");
    println!("| rung | tx/s | CPU µs/tx | CPU × the rung below |");
    println!("|---|---|---|---|");
    for (i, r) in rungs.iter().enumerate() {
        let ratio = match i {
            0 => "–".to_string(),
            _ => format!("{:.2}", r.cpu_us_per_tx / rungs[i - 1].cpu_us_per_tx),
        };
        println!("| {} | {:.0} | {:.0} | {} |", r.name, r.tx_per_s, r.cpu_us_per_tx, ratio);
    }
    println!("engine 3 nodes / raw, throughput: {:.3}", rungs[3].tx_per_s / rungs[0].tx_per_s);
}
