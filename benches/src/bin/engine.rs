//! The replication engine's cost: a 3-node cluster in one process (core + driver + real
//! WAL-mode SQLite files, messages delivered instantly, QUORUM) against the baseline of
//! the same inserts made directly on one SQLite file, one transaction each.
//!
//! `cargo run --release -p marmot-benches --bin engine -- [TXNS] [ROWS_PER_TXN]`

use std::collections::VecDeque;
use std::time::Instant;

use marmot_core::io::Reply;
use marmot_core::{Consistency, CoreConfig, Input, Node};
use marmot_shell_tokio::driver::{Driver, Output};
use marmot_shell_tokio::store::{Location, Store, Synchronous};

const SCHEMA: &str = "CREATE TABLE bench (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)";

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn insert_sql(txn: usize, rows: usize) -> String {
    let values: Vec<String> =
        (0..rows).map(|r| format!("({}, 'value-{txn}-{r}-abcdefghijklmnopqrstuvwxyz', {r})", txn * rows + r)).collect();
    format!("INSERT INTO bench (id, a, b) VALUES {}", values.join(", "))
}

fn baseline(dir: &std::path::Path, txns: usize, rows: usize) -> f64 {
    let c = rusqlite::Connection::open(dir.join("baseline.db")).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").unwrap();
    c.execute_batch(SCHEMA).unwrap();
    let start = Instant::now();
    for t in 0..txns {
        c.execute_batch(&format!("BEGIN; {}; COMMIT;", insert_sql(t, rows))).unwrap();
    }
    txns as f64 / start.elapsed().as_secs_f64()
}

struct Cluster {
    nodes: Vec<(Driver, Store)>,
}

impl Cluster {
    fn new(dir: &std::path::Path, n: u64) -> Cluster {
        let mut nodes = Vec::new();
        for id in 1..=n {
            let mut store = Store::open(Location::Dir(dir.join(format!("n{id}"))), Synchronous::Normal, None).unwrap();
            store.conn("bench").unwrap().execute_batch(SCHEMA).unwrap();
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
                c.deliver(outs);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        c
    }

    fn deliver(&mut self, outs: Vec<Output>) {
        for o in outs {
            if let Output::Send(env) = o {
                let to = env.to as usize - 1;
                self.feed(to, Input::Peer(env));
            }
        }
    }

    /// Feed an input to node `i` and deliver every message it causes, until quiet.
    /// Returns the replies.
    fn feed(&mut self, i: usize, input: Input) -> Vec<Reply> {
        let mut replies = Vec::new();
        let mut queue = VecDeque::from([(i, input)]);
        while let Some((i, input)) = queue.pop_front() {
            let (driver, store) = &mut self.nodes[i];
            for o in driver.handle(store, now_ms(), input) {
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

fn marmot(dir: &std::path::Path, txns: usize, rows: usize) -> f64 {
    let mut c = Cluster::new(dir, 3);
    let start = Instant::now();
    for t in 0..txns {
        let coordinator = t % 3;
        let sql = insert_sql(t, rows);
        let (_, changes) = c.nodes[coordinator]
            .1
            .capture("bench", |conn| {
                conn.execute_batch(&sql)?;
                Ok(())
            })
            .unwrap();
        let replies =
            c.feed(coordinator, Input::Write { req: t as u64, rows: changes, consistency: Some(Consistency::Quorum) });
        assert!(matches!(replies.as_slice(), [Reply::Committed { .. }]), "txn {t}: {replies:?}");
    }
    txns as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let txns = args.first().copied().unwrap_or(2000);
    let rows = args.get(1).copied().unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let base = baseline(dir.path(), txns, rows);
    let engine = marmot(dir.path(), txns, rows);
    println!("engine benchmark: {txns} transactions of {rows} rows, WAL files, synchronous=NORMAL");
    println!("  baseline (direct SQLite, one node)       {base:>10.0} tx/s");
    println!("  marmot engine (3 nodes, QUORUM, in-proc) {engine:>10.0} tx/s");
    println!("  ratio marmot / baseline                  {:>10.3}", engine / base);
    println!("  (each marmot transaction is captured once, then prepared and applied on 3 nodes)");
}
