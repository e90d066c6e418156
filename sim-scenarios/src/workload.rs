//! Seeded SQL workloads: concurrent writers on random nodes, mixed INSERT / UPDATE /
//! DELETE / upsert on a small, overlapping key space, multi-row transactions, two
//! databases, tables keyed by integer, by text, and by rowid.

use marmot_core::Consistency;
use marmot_shell_sim::ClientTxn;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// Databases every scenario writes to.
pub const DATABASES: [&str; 2] = ["app", "shop"];

/// Schema created in every database on every node before the run.
pub const SCHEMA: &str = "
CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER);
CREATE TABLE doc (id TEXT PRIMARY KEY, body BLOB, score REAL);
CREATE TABLE events (payload TEXT, n INTEGER);
";

/// A uniform draw below `n`.
pub fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

fn word(rng: &mut ChaCha8Rng) -> String {
    let len = 1 + below(rng, 12) as usize;
    (0..len).map(|_| (b'a' + below(rng, 26) as u8) as char).collect()
}

/// One random statement over a key space of `keys` keys.
pub fn statement(rng: &mut ChaCha8Rng, keys: u64) -> String {
    let k = below(rng, keys);
    match below(rng, 10) {
        0..=2 => format!(
            "INSERT INTO kv (k, v, n) VALUES ({k}, '{}', {}) ON CONFLICT(k) DO UPDATE SET v = excluded.v, n = excluded.n",
            word(rng),
            below(rng, 1000)
        ),
        3 => format!("INSERT OR IGNORE INTO kv (k, v, n) VALUES ({k}, '{}', NULL)", word(rng)),
        4 => format!("UPDATE kv SET n = coalesce(n, 0) + {}, v = '{}' WHERE k = {k}", 1 + below(rng, 9), word(rng)),
        5 => format!("DELETE FROM kv WHERE k = {k}"),
        6 => format!("UPDATE kv SET n = coalesce(n, 0) + 1 WHERE k BETWEEN {k} AND {}", k + 3),
        7 => {
            let blob: String = (0..1 + below(rng, 16)).map(|_| format!("{:02x}", below(rng, 256))).collect();
            format!("INSERT OR REPLACE INTO doc (id, body, score) VALUES ('d{k}', x'{blob}', {}.5)", below(rng, 100))
        }
        8 if below(rng, 2) == 0 => format!("DELETE FROM doc WHERE id = 'd{k}'"),
        // SQLite's clock and PRNG: deterministic under simulation.
        8 => format!("UPDATE kv SET v = strftime('%Y-%m-%d %H:%M:%f', 'now') || ' ' || (random() % 1000) WHERE k = {k}"),
        _ => format!("INSERT INTO events (payload, n) VALUES ('{}', {})", word(rng), below(rng, 100)),
    }
}

/// A random transaction of 1–3 statements in one database.
pub fn transaction(rng: &mut ChaCha8Rng, keys: u64, consistency: Consistency) -> ClientTxn {
    let database = DATABASES[below(rng, DATABASES.len() as u64) as usize].to_string();
    let n = 1 + below(rng, 3) as usize;
    let statements = (0..n).map(|_| statement(rng, keys)).collect();
    ClientTxn { database, statements, consistency, schema_change: false }
}

/// The statement that increments counter `k` (row `k` of `app.kv`, created at 1).
pub fn counter_increment_sql(k: u64) -> String {
    format!("INSERT INTO kv (k, v, n) VALUES ({k}, 'counter', 1) ON CONFLICT(k) DO UPDATE SET n = n + 1")
}

/// A QUORUM insert of row `100_000 + i` of `app.kv`: a key nothing else writes.
pub fn fresh_insert(i: u64) -> ClientTxn {
    ClientTxn {
        database: "app".into(),
        statements: vec![format!("INSERT INTO kv (k, v, n) VALUES ({}, 'fresh', 0)", 100_000 + i)],
        consistency: Consistency::Quorum,
        schema_change: false,
    }
}

/// A transaction incrementing counter `k` by one.
pub fn counter_increment(k: u64, consistency: Consistency) -> ClientTxn {
    ClientTxn { database: "app".into(), statements: vec![counter_increment_sql(k)], consistency, schema_change: false }
}

/// A random schema change in one database: columns added to the tables the row workload
/// writes, tables created, indexes created and dropped. Some fail on purpose (a column
/// that already exists): a failing change is skipped by every node alike.
pub fn schema_transaction(rng: &mut ChaCha8Rng, consistency: Consistency) -> ClientTxn {
    let database = DATABASES[below(rng, DATABASES.len() as u64) as usize].to_string();
    let n = below(rng, 6);
    let statement = match below(rng, 5) {
        0 => format!("ALTER TABLE kv ADD COLUMN c{n} INTEGER DEFAULT {n}"),
        1 => format!("ALTER TABLE doc ADD COLUMN c{n} TEXT"),
        2 => format!("CREATE TABLE IF NOT EXISTS extra{n} (id INTEGER PRIMARY KEY, v TEXT)"),
        3 => format!("CREATE INDEX IF NOT EXISTS kv_n{n} ON kv (n)"),
        _ => format!("DROP INDEX IF EXISTS kv_n{n}"),
    };
    ClientTxn { database, statements: vec![statement], consistency, schema_change: true }
}

/// A consistency level drawn uniformly.
pub fn any_consistency(rng: &mut ChaCha8Rng) -> Consistency {
    [Consistency::One, Consistency::Quorum, Consistency::All][below(rng, 3) as usize]
}
