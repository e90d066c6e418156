//! Invariants, checked against every node's real store.

use std::collections::{BTreeMap, BTreeSet};

use marmot_core::io::Observation;
use marmot_core::{Consistency, Hlc, NodeId, Txn, TxnId, Value};
use marmot_shell_sim::{ClientOutcome, SimCluster};
use marmot_store::codec::{encode_key, from_blob, from_ref, ident, txn_id_from_bytes};
use marmot_store::schema::user_tables;
use marmot_store::Store;

/// Row key bytes -> column -> value.
pub type TableRows = BTreeMap<Vec<u8>, BTreeMap<String, Value>>;

/// (database, table, key bytes).
type RowAddr = (String, String, Vec<u8>);

/// Everything checked about one database on one node.
#[derive(Clone, Debug, PartialEq)]
pub struct DbSnap {
    /// User tables: name -> rows by key.
    pub tables: BTreeMap<String, TableRows>,
    /// The schema: (type, name, SQL) of every user table, index, view and trigger.
    pub schema: Vec<(String, String, String)>,
    /// (table, key) -> (version, tombstone).
    pub versions: BTreeMap<(String, Vec<u8>), (Hlc, bool)>,
    /// Applied transaction markers.
    pub applied: BTreeSet<TxnId>,
}

/// One node's state.
#[derive(Clone, Debug)]
pub struct NodeSnap {
    /// Per database.
    pub dbs: BTreeMap<String, DbSnap>,
    /// Every transaction in this node's logs, per database.
    pub logs: BTreeMap<String, Vec<Txn>>,
    /// Row intents the node holds (in memory; rebuilt from prepared records at recovery).
    pub intents: i64,
    /// Transaction records still carrying a payload (prepared or committing).
    pub open_txns: i64,
    /// Transactions recorded as aborted.
    pub aborted: BTreeSet<TxnId>,
    /// A sentinel: its tables stay empty (it keeps versions, markers and the log).
    pub sentinel: bool,
}

fn q<T>(r: rusqlite::Result<T>) -> T {
    r.expect("checker query on a healthy store")
}

/// Read a node's state from its store.
pub fn snapshot(store: &mut Store) -> NodeSnap {
    let mut dbs = BTreeMap::new();
    let mut logs = BTreeMap::new();
    for db in store.databases() {
        let conn = store.conn(&db).expect("database");
        let mut tables = BTreeMap::new();
        for t in user_tables(conn).expect("tables") {
            let keys = t.key_exprs("t");
            let cols: Vec<String> = t.columns.iter().map(|c| format!("t.{}", ident(c))).collect();
            let sql = format!("SELECT {}, {} FROM main.{} AS t", keys.join(", "), cols.join(", "), ident(&t.name));
            let mut stmt = q(conn.prepare(&sql));
            let mut rows = q(stmt.query([]));
            let mut map = BTreeMap::new();
            while let Some(r) = q(rows.next()) {
                let vals: Vec<Value> = (0..keys.len() + cols.len()).map(|i| from_ref(q(r.get_ref(i)))).collect();
                let (k, v) = vals.split_at(keys.len());
                map.insert(encode_key(k).0, t.columns.iter().cloned().zip(v.iter().cloned()).collect());
            }
            tables.insert(t.name.clone(), map);
        }
        let mut schema = Vec::new();
        {
            let mut stmt = q(conn.prepare(
                "SELECT type, name, coalesce(sql, '') FROM sqlite_master \
                 WHERE name NOT LIKE '__marmot%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
            ));
            let mut rows = q(stmt.query([]));
            while let Some(r) = q(rows.next()) {
                schema.push((q(r.get(0)), q(r.get(1)), q(r.get(2))));
            }
        }
        let mut versions = BTreeMap::new();
        {
            let mut stmt = q(conn.prepare("SELECT tbl, key, wall, logical, node, deleted FROM __marmot_row_versions"));
            let mut rows = q(stmt.query([]));
            while let Some(r) = q(rows.next()) {
                let h = Hlc { wall: q(r.get(2)), logical: q(r.get(3)), node: q(r.get(4)) };
                versions.insert((q(r.get(0)), q(r.get(1))), (h, q(r.get::<_, bool>(5))));
            }
        }
        let mut applied = BTreeSet::new();
        {
            let mut stmt = q(conn.prepare("SELECT txn_id FROM __marmot_applied"));
            let mut rows = q(stmt.query([]));
            while let Some(r) = q(rows.next()) {
                applied.insert(txn_id_from_bytes(&q(r.get::<_, Vec<u8>>(0))).expect("txn id"));
            }
        }
        let mut log = Vec::new();
        {
            let mut stmt = q(conn.prepare("SELECT payload FROM __marmot_log ORDER BY seq"));
            let mut rows = q(stmt.query([]));
            while let Some(r) = q(rows.next()) {
                log.push(from_blob::<Txn>(&q(r.get::<_, Vec<u8>>(0)), "log").expect("log entry"));
            }
        }
        logs.insert(db.clone(), log);
        dbs.insert(db, DbSnap { tables, schema, versions, applied });
    }
    let sys = store.system_conn();
    let open_txns: i64 = q(sys.query_row("SELECT count(*) FROM txns WHERE payload IS NOT NULL", [], |r| r.get(0)));
    let mut aborted = BTreeSet::new();
    {
        let mut stmt = q(sys.prepare("SELECT id FROM txns WHERE state = 'ABORTED'"));
        let mut rows = q(stmt.query([]));
        while let Some(r) = q(rows.next()) {
            aborted.insert(txn_id_from_bytes(&q(r.get::<_, Vec<u8>>(0))).expect("txn id"));
        }
    }
    NodeSnap { dbs, logs, intents: 0, open_txns, aborted, sentinel: false }
}

/// The transactions of `coordinator` that `node` holds staged and undecided.
pub fn undecided_of(c: &SimCluster, node: NodeId, coordinator: NodeId) -> Vec<TxnId> {
    let store = c.store(node);
    let store = store.borrow_mut();
    let sys = store.system_conn();
    let mut stmt = q(sys.prepare("SELECT id FROM txns WHERE state = 'PREPARED'"));
    let mut rows = q(stmt.query([]));
    let mut out = Vec::new();
    while let Some(r) = q(rows.next()) {
        let id = txn_id_from_bytes(&q(r.get::<_, Vec<u8>>(0))).expect("txn id");
        if id.node == coordinator {
            out.push(id);
        }
    }
    out
}

/// Snapshots of every node.
pub fn snapshots(c: &SimCluster) -> BTreeMap<NodeId, NodeSnap> {
    (1..=c.spec().nodes)
        .map(|n| {
            let mut snap = snapshot(&mut c.store(n).borrow_mut());
            snap.intents = c.intents(n) as i64;
            snap.sentinel = c.spec().sentinels.contains(&n);
            (n, snap)
        })
        .collect()
}

/// A replica shows only what some member applied (only committed transactions enter a
/// log), and nothing a member aborted. Returns the violations.
pub fn replicas_show_only_committed(c: &SimCluster) -> Vec<String> {
    let spec = c.spec();
    let mut applied: BTreeMap<String, BTreeSet<TxnId>> = BTreeMap::new();
    let mut aborted: BTreeSet<TxnId> = BTreeSet::new();
    for n in (1..=spec.nodes).filter(|n| !spec.replicas.contains(n)) {
        let s = snapshot(&mut c.store(n).borrow_mut());
        for (db, d) in s.dbs {
            applied.entry(db).or_default().extend(d.applied);
        }
        aborted.extend(s.aborted);
    }
    let mut v = Vec::new();
    for r in &spec.replicas {
        let s = snapshot(&mut c.store(*r).borrow_mut());
        for (db, d) in &s.dbs {
            let members = applied.get(db).cloned().unwrap_or_default();
            if let Some(t) = d.applied.iter().find(|t| !members.contains(t) || aborted.contains(t)) {
                v.push(format!("replica {r} shows transaction {t} in {db}, which no member applied"));
            }
        }
    }
    v
}

/// Why the nodes have not converged yet (`None` = converged).
pub fn divergence(snaps: &BTreeMap<NodeId, NodeSnap>) -> Option<String> {
    let (first_id, first) = snaps.iter().next()?;
    for (id, s) in snaps {
        if s.intents != 0 || s.open_txns != 0 {
            return Some(format!(
                "node {id} still holds {} intents and {} open transaction records",
                s.intents, s.open_txns
            ));
        }
        for (db, d) in &first.dbs {
            let Some(o) = s.dbs.get(db) else { return Some(format!("node {id} lacks database {db}")) };
            if o.applied != d.applied {
                let only_first: Vec<String> = d.applied.difference(&o.applied).map(|t| t.to_string()).collect();
                let only_other: Vec<String> = o.applied.difference(&d.applied).map(|t| t.to_string()).collect();
                let sample = |v: &[String]| v.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                return Some(format!(
                    "{db}: node {first_id} and node {id} differ in applied transactions ({} vs {} unique: [{}] vs [{}])",
                    only_first.len(),
                    only_other.len(),
                    sample(&only_first),
                    sample(&only_other)
                ));
            }
            if o.schema != d.schema {
                return Some(format!(
                    "{db}: schema differs between node {first_id} and node {id}: {:?} vs {:?}",
                    d.schema, o.schema
                ));
            }
            if o.tables != d.tables && !s.sentinel && !first.sentinel {
                return Some(format!("{db}: table content differs between node {first_id} and node {id}"));
            }
            if o.versions != d.versions {
                return Some(format!("{db}: row versions differ between node {first_id} and node {id}"));
            }
        }
    }
    None
}

/// Every invariant over the final state. Returns the violations found.
pub fn check_final(c: &SimCluster, snaps: &BTreeMap<NodeId, NodeSnap>) -> Vec<String> {
    let mut v = c.violations();
    if let Some(d) = divergence(snaps) {
        v.push(format!("nodes differ: {d}"));
    }
    // Committed = applied anywhere; compute each row key's maximum version and image.
    let mut best: BTreeMap<RowAddr, (Hlc, Option<BTreeMap<String, Value>>)> = BTreeMap::new();
    let mut applied_anywhere: BTreeSet<TxnId> = BTreeSet::new();
    let archive = c.archived_txns();
    for s in snaps.values() {
        for d in s.dbs.values() {
            applied_anywhere.extend(d.applied.iter().copied());
        }
        // What a node applied: its log, and (since GC trims logs) every transaction its
        // applied markers name.
        let mut applied: BTreeMap<&String, Vec<&Txn>> = BTreeMap::new();
        for (db, log) in &s.logs {
            applied.entry(db).or_default().extend(log);
        }
        for (db, d) in &s.dbs {
            applied.entry(db).or_default().extend(d.applied.iter().filter_map(|id| archive.get(id)));
        }
        for (db, log) in applied {
            for txn in log {
                for r in txn.rows.iter().filter(|r| !r.is_schema_change() && r.database == *db) {
                    let k = (db.clone(), r.table.clone(), r.key.0.clone());
                    let img = r
                        .after
                        .as_ref()
                        .map(|row| row.iter().map(|cv| (cv.column.clone(), cv.value.clone())).collect());
                    match best.get(&k) {
                        Some((h, _)) if *h >= txn.id => {}
                        _ => {
                            best.insert(k, (txn.id, img));
                        }
                    }
                }
            }
        }
    }
    for (id, s) in snaps.iter().filter(|(_, s)| s.sentinel) {
        for (db, d) in &s.dbs {
            for (table, rows) in d.tables.iter().filter(|(_, rows)| !rows.is_empty()) {
                v.push(format!(
                    "sentinel node {id} holds {} rows of {db}.{table}: it must hold no table data",
                    rows.len()
                ));
            }
        }
    }
    for (id, s) in snaps {
        for ((db, table, key), (h, img)) in &best {
            let d = &s.dbs[db];
            match d.versions.get(&(table.clone(), key.clone())) {
                Some((got, _)) if got == h => {}
                other => v.push(format!("node {id} {db}.{table} key {key:?}: version {other:?}, expected max {h}")),
            }
            let Some(rows) = d.tables.get(table).filter(|_| !s.sentinel) else {
                continue; // a table dropped since (by a schema change), or a sentinel's
            };
            let row = rows.get(key);
            // Columns added since the change keep their defaults; dropped ones are gone.
            let same = match (row, img) {
                (None, None) => true,
                (Some(row), Some(img)) => img.iter().all(|(c, v)| row.get(c).is_none_or(|x| x == v)),
                _ => false,
            };
            if !same {
                v.push(format!("node {id} {db}.{table} key {key:?}: row {row:?}, expected image of {h}: {img:?}"));
            }
        }
        for t in s.aborted.intersection(&applied_anywhere) {
            v.push(format!("transaction {t} is aborted on node {id} but applied elsewhere"));
        }
    }
    // Every write acknowledged at QUORUM or ALL survives (or is superseded) everywhere.
    for r in c.results() {
        let (Some(ClientOutcome::Committed(txn_id)), Some(txn)) = (&r.outcome, &r.txn) else { continue };
        if txn.consistency == Consistency::One {
            continue;
        }
        for row in r.rows.iter().filter(|r| !r.is_schema_change()) {
            for (id, s) in snaps {
                let got = s.dbs[&row.database].versions.get(&(row.table.clone(), row.key.0.clone())).map(|x| x.0);
                if got.is_none_or(|g| g < *txn_id) {
                    v.push(format!(
                        "acknowledged {} write {txn_id} to {}.{} lost on node {id} (version {got:?})",
                        txn.consistency, row.database, row.table
                    ));
                }
            }
        }
    }
    // No transaction decided both ways.
    let mut decided: BTreeMap<TxnId, BTreeSet<bool>> = BTreeMap::new();
    for (_, o) in c.observations() {
        if let Observation::TxnDecided { txn_id, committed } = o {
            decided.entry(txn_id).or_default().insert(committed);
        }
    }
    for (t, ways) in decided {
        if ways.len() > 1 {
            v.push(format!("transaction {t} was decided both committed and aborted"));
        }
    }
    v
}

/// Every counter `0..counters` (row `k` of `app.kv`, column `n`, incremented by
/// [`crate::workload::counter_increment`]) equals on every node the increments
/// acknowledged, plus at most those whose outcome the client never learned (host down,
/// no answer, commit unconfirmed). Definite failures (conflict, lost quorum) count zero.
pub fn check_counters(c: &SimCluster, snaps: &BTreeMap<NodeId, NodeSnap>, counters: u64) -> Vec<String> {
    let mut v = Vec::new();
    let results = c.results();
    for k in 0..counters {
        let sql = crate::workload::counter_increment_sql(k);
        let (mut acked, mut unknown) = (0i64, 0i64);
        for r in results.iter().filter(|r| r.txn.as_ref().is_some_and(|t| t.statements == [sql.clone()])) {
            match r.outcome.as_ref() {
                Some(ClientOutcome::Committed(_)) => acked += 1,
                Some(o) if matches!(crate::runner::failure_kind(o), Some("conflict" | "no_quorum")) => {}
                _ => unknown += 1,
            }
        }
        let key = encode_key(&[Value::Integer(k as i64)]).0;
        for (node, snap) in snaps.iter().filter(|(_, s)| !s.sentinel) {
            let n = match snap.dbs.get("app").and_then(|d| d.tables.get("kv")).and_then(|t| t.get(&key)) {
                Some(row) => match row.get("n") {
                    Some(Value::Integer(n)) => *n,
                    other => {
                        v.push(format!("node {node}: counter {k} holds {other:?}, not an integer"));
                        continue;
                    }
                },
                None => 0,
            };
            if n < acked || n > acked + unknown {
                v.push(format!(
                    "node {node}: counter {k} = {n}, but {acked} increments were acknowledged and {unknown} \
                     ended unknown (lost update: {} increments missing)",
                    acked - n
                ));
            }
        }
    }
    v
}
