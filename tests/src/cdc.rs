//! What the CDC publisher tests share, whatever the broker: the schema and first writes,
//! the events they must produce, and the checks of a Debezium envelope.

use serde_json::{json, Value};

use crate::query;

/// One event as the tests compare it: (table, op, id, after.name or after.qty).
pub type Summary = (String, String, i64, Value);

/// The summary of an event (with `before` for deletes).
pub fn summary(e: &Value) -> Summary {
    let p = &e["payload"];
    let row = if p["after"].is_null() { &p["before"] } else { &p["after"] };
    let name = if row.get("name").is_some() { p["after"]["name"].clone() } else { p["after"]["qty"].clone() };
    (
        p["source"]["table"].as_str().unwrap().to_string(),
        p["op"].as_str().unwrap().to_string(),
        row["id"].as_i64().unwrap(),
        name,
    )
}

/// The sink keys both tests use besides the broker's: the table filter narrowed to leave
/// `secrets` out, and short retries.
pub const SINK_KEYS: &str = "topic_prefix = \"marmot.cdc\"\nfilter_tables = [\"items\", \"order_*\"]\n\
     filter_databases = [\"*\"]\nretry_initial_ms = 50\nretry_max_ms = 400\n";

/// Create `app` and make the first writes through nodes `n1` and `n2`: inserts (with every
/// type the envelope check looks at, and NULLs), an update, a delete, and a transaction
/// over two published tables and a filtered one. The events they make, in commit order.
pub fn first_writes(n1: u16, n2: u16) -> Vec<Summary> {
    query(
        n1,
        None,
        "CREATE DATABASE app; CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), \
         born DATE, seen DATETIME, img BLOB, ok TINYINT(1)); CREATE TABLE app.order_lines (id INT PRIMARY KEY, qty INT); \
         CREATE TABLE app.secrets (id INT PRIMARY KEY, v TEXT)",
    );
    query(
        n1,
        Some("app"),
        "INSERT INTO items VALUES (1, 'apple', 1.50, '2024-01-02', '2024-01-02 03:04:05', X'00FF', 1)",
    );
    query(n2, Some("app"), "INSERT INTO items (id) VALUES (2)");
    query(n1, Some("app"), "UPDATE items SET price = 2 WHERE id = 1");
    query(n2, Some("app"), "DELETE FROM items WHERE id = 2");
    query(
        n1,
        Some("app"),
        "BEGIN; INSERT INTO order_lines VALUES (1, 10), (2, 20); UPDATE items SET name = 'pear' WHERE id = 1; \
         INSERT INTO secrets VALUES (1, 'hidden'); COMMIT",
    );
    vec![
        ("items".into(), "c".into(), 1, json!("apple")),
        ("items".into(), "c".into(), 2, Value::Null),
        ("items".into(), "u".into(), 1, json!("apple")),
        ("items".into(), "d".into(), 2, Value::Null),
        ("order_lines".into(), "c".into(), 1, json!(10)),
        ("order_lines".into(), "c".into(), 2, json!(20)),
        ("items".into(), "u".into(), 1, json!("pear")),
    ]
}

/// Check the events of [`first_writes`] field by field; `got` in commit order, each with
/// the topic (or subject) it was read from as `"subject"`.
pub fn check_first_events(got: &[Value]) {
    let first = &got[0];
    assert_eq!(first["subject"], "marmot.cdc.app.items");
    let p = &first["payload"];
    assert_eq!(p["before"], Value::Null);
    assert_eq!(
        p["after"],
        json!({"id": 1, "name": "apple", "price": "1.50", "born": "2024-01-02", "seen": "2024-01-02 03:04:05", "img": "AP8=", "ok": true})
    );
    assert_eq!((p["source"]["connector"].as_str(), p["source"]["db"].as_str()), (Some("marmot"), Some("app")));
    assert!(
        p["source"]["ts_ms"].as_u64().unwrap() > 1_700_000_000_000
            && p["ts_ms"].as_u64() >= p["source"]["ts_ms"].as_u64()
    );
    let after_fields = &first["schema"]["fields"][1]["fields"];
    let price = after_fields.as_array().unwrap().iter().find(|f| f["field"] == "price").unwrap();
    assert_eq!(
        (price["type"].as_str(), price["parameters"]["__debezium.source.column.type"].as_str()),
        (Some("string"), Some("DECIMAL(10,2)"))
    );
    let nulls = &got[1]["payload"]["after"];
    assert!(["name", "price", "born", "seen", "img", "ok"].iter().all(|c| nulls[c].is_null()), "{nulls}");
    assert_eq!(
        (got[2]["payload"]["before"]["price"].as_str(), got[2]["payload"]["after"]["price"].as_str()),
        (Some("1.50"), Some("2.00"))
    );
    assert_eq!(got[3]["payload"]["after"], Value::Null);
    assert_eq!(got[3]["payload"]["before"]["id"], 2);
    let txn: Vec<&Value> = got[4..7].iter().map(|e| &e["payload"]["source"]["txId"]).collect();
    assert!(txn.iter().all(|t| *t == txn[0]), "one transaction, one txId: {txn:?}");
}

/// The number a `/metrics` text gives `marmot_publisher_events_total` of `sink` (0 if absent).
pub fn events_published(metrics: &str, sink: &str) -> u64 {
    let prefix = format!("marmot_publisher_events_total{{sink=\"{sink}\"}}");
    let line = metrics.lines().find(|l| l.starts_with(&prefix)).unwrap_or("");
    line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
}

/// Write rows `ids` through `port`, each an `items` insert; their events appended to `want`.
pub fn insert_items(port: u16, ids: std::ops::RangeInclusive<i64>, want: &mut Vec<Summary>) {
    for id in ids {
        query(port, Some("app"), &format!("INSERT INTO items (id, name) VALUES ({id}, 'n{id}')"));
        want.push(("items".into(), "c".into(), id, json!(format!("n{id}"))));
    }
}

/// The publishing node (node 1, the lowest id) crashes and node 2 takes over; node 1
/// comes back and takes publishing back. Writes in each phase are appended to `want`;
/// `wait(want)` waits until the broker holds `want.len()` events and returns them in commit order
/// (per topic, for a broker that orders per topic). Checks that the standbys followed:
/// no node published what another had.
pub fn publisher_crash_and_return(
    cluster: &mut crate::Cluster,
    sink: &str,
    secret: &str,
    want: &mut Vec<Summary>,
    wait: &dyn Fn(&[Summary]) -> Vec<Value>,
) -> Vec<Value> {
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let (n1, n2) = (cluster.nodes[0].mysql, cluster.nodes[1].mysql);
    cluster.nodes[0].kill9();
    insert_items(n2, 13..=20, want);
    wait(want);
    eprintln!("{:?} node 2 took over", t0.elapsed());
    // It comes back and publishes again, from where the stream ends.
    cluster.nodes[0].start();
    // Node 2 hands back once it sees node 1 ALIVE (until then both may publish): wait for
    // that, so each node's count below is exact.
    let metrics = |i: usize| cluster.nodes[i].http("GET", "/metrics", Some(secret)).1;
    let active = |i: usize| metrics(i).contains(&format!("marmot_publisher_active{{sink=\"{sink}\"}} 1"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while active(1) || !active(0) {
        assert!(Instant::now() < deadline, "node 1 never took publishing back:\n{}", metrics(1));
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !crate::mariadb(n1, "root", None, Some("app"), "INSERT INTO items (id, name) VALUES (21, 'n21')").0 {
        assert!(Instant::now() < deadline, "node 1 never took writes again");
        std::thread::sleep(Duration::from_millis(200));
    }
    want.push(("items".into(), "c".into(), 21, json!("n21")));
    eprintln!("{:?} node 1 writable", t0.elapsed());
    insert_items(n1, 22..=25, want);
    let got = wait(want);
    std::thread::sleep(Duration::from_secs(2));
    let again = wait(want);
    let got = if again.len() > got.len() { again } else { got };

    assert!(active(0) && !active(2), "node 1 publishes, node 3 stands by:\n{}", metrics(0));
    // Standbys follow the stream: node 2 took over without publishing the earlier events
    // again, and node 1, back, published only what was written after its return.
    assert_eq!(events_published(&metrics(1), sink), 8, "node 2 published rows 13-20 only:\n{}", metrics(1));
    assert_eq!(events_published(&metrics(0), sink), 5, "node 1 (restarted) published rows 21-25 only:\n{}", metrics(0));
    assert_eq!(events_published(&metrics(2), sink), 0, "node 3 never published");
    let by_node: std::collections::BTreeSet<u64> =
        got.iter().map(|e| e["payload"]["source"]["node"].as_u64().unwrap()).collect();
    assert!(by_node.len() >= 2, "writes coordinated by both nodes: {by_node:?}");
    got
}
