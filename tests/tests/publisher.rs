//! The CDC publisher against a real broker: a 3-node cluster publishes to Debian's
//! `nats-server` (JetStream), and a real consumer reads the stream back and compares every
//! event with the writes made — inserts, updates, deletes, a multi-row transaction, NULLs,
//! BLOBs, DECIMAL, dates, a table the filter leaves out — across a broker outage and the
//! crash and restart of the node that publishes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use marmot_e2e::nats_server::NatsServer;
use marmot_e2e::{mariadb, query, Cluster};
use serde_json::{json, Value};

const SECRET: &str = "publisher secret";

/// Every event in the stream `MARMOT_CDC`, in stream order.
fn events(url: &str) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let Ok(client) = async_nats::connect(url).await else { return Vec::new() };
        let js = async_nats::jetstream::new(client);
        let Ok(mut stream) = js.get_stream("MARMOT_CDC").await else { return Vec::new() };
        let last = stream.info().await.map(|i| i.state.last_sequence).unwrap_or(0);
        let mut out = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap_or_else(|e| panic!("message {seq}: {e}"));
            let mut v: Value = serde_json::from_slice(&m.payload).expect("event is JSON");
            v["subject"] = json!(m.subject.to_string());
            out.push(v);
        }
        out
    })
}

/// Wait until the stream holds `n` events (or panic after 60 s with what it holds).
fn wait_for(url: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got = events(url);
        if got.len() >= n {
            return got;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{} of {n} events after 60 s: {got:#?}", got.len());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (table, op, id, after.name) of an event.
fn summary(e: &Value) -> (String, String, i64, Value) {
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

#[test]
fn every_committed_change_reaches_nats_across_a_broker_outage_and_a_publisher_crash() {
    let t0 = Instant::now();
    let ndir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(ndir.path());
    let url = nats.url();
    // The seed's NATS sink, with the table filter narrowed and short retries for the test.
    let extra = format!(
        "[publisher]\nenabled = true\n[[publisher.sinks]]\nname = \"nats-events\"\ntype = \"nats\"\n\
         format = \"debezium\"\nnats_url = \"{url}\"\ntopic_prefix = \"marmot.cdc\"\n\
         filter_tables = [\"items\", \"order_*\"]\nfilter_databases = [\"*\"]\nretry_initial_ms = 50\nretry_max_ms = 400\n"
    );
    let mut cluster = Cluster::start(3, SECRET, &extra);
    let (n1, n2) = (cluster.nodes[0].mysql, cluster.nodes[1].mysql);
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
    let mut want: Vec<(String, String, i64, Value)> = vec![
        ("items".into(), "c".into(), 1, json!("apple")),
        ("items".into(), "c".into(), 2, Value::Null),
        ("items".into(), "u".into(), 1, json!("apple")),
        ("items".into(), "d".into(), 2, Value::Null),
        ("order_lines".into(), "c".into(), 1, json!(10)),
        ("order_lines".into(), "c".into(), 2, json!(20)),
        ("items".into(), "u".into(), 1, json!("pear")),
    ];
    eprintln!("{:?} cluster up, first writes made", t0.elapsed());
    let got = wait_for(&url, want.len());
    assert_eq!(got.iter().map(summary).collect::<Vec<_>>(), want, "events in commit order");

    // The envelope, field by field.
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

    // A broker outage: writes go on, and reach the stream once it is back.
    nats.kill();
    for id in 3..=12 {
        query(n1, Some("app"), &format!("INSERT INTO items (id, name) VALUES ({id}, 'n{id}')"));
        want.push(("items".into(), "c".into(), id, json!(format!("n{id}"))));
    }
    std::thread::sleep(Duration::from_secs(2));
    nats.restart();
    wait_for(&url, want.len());
    eprintln!("{:?} published after the outage", t0.elapsed());

    // The publishing node (node 1, the lowest id) crashes: node 2 takes over.
    cluster.nodes[0].kill9();
    for id in 13..=20 {
        query(n2, Some("app"), &format!("INSERT INTO items (id, name) VALUES ({id}, 'n{id}')"));
        want.push(("items".into(), "c".into(), id, json!(format!("n{id}"))));
    }
    wait_for(&url, want.len());
    eprintln!("{:?} node 2 took over", t0.elapsed());
    // It comes back and publishes again, from where the stream ends.
    cluster.nodes[0].start();
    eprintln!("{:?} node 1 restarted", t0.elapsed());
    // Node 2 hands back once it sees node 1 ALIVE (until then both publish, and the
    // broker drops the copies): wait for that, so each node's count below is exact.
    let metrics = |i: usize| cluster.nodes[i].http("GET", "/metrics", Some(SECRET)).1;
    let active = |i: usize| metrics(i).contains("marmot_publisher_active{sink=\"nats-events\"} 1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while active(1) || !active(0) {
        assert!(Instant::now() < deadline, "node 1 never took publishing back:\n{}", metrics(1));
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mariadb(n1, "root", None, Some("app"), "INSERT INTO items (id, name) VALUES (21, 'n21')").0 {
        assert!(Instant::now() < deadline, "node 1 never took writes again");
        std::thread::sleep(Duration::from_millis(200));
    }
    want.push(("items".into(), "c".into(), 21, json!("n21")));
    eprintln!("{:?} node 1 writable", t0.elapsed());
    for id in 22..=25 {
        query(n1, Some("app"), &format!("INSERT INTO items (id, name) VALUES ({id}, 'n{id}')"));
        want.push(("items".into(), "c".into(), id, json!(format!("n{id}"))));
    }
    let got = wait_for(&url, want.len());
    std::thread::sleep(Duration::from_secs(2));
    let got = if events(&url).len() > got.len() { events(&url) } else { got };
    let summaries: Vec<_> = got.iter().map(summary).collect();
    assert_eq!(summaries, want, "every change once, in commit order, none of the filtered table");

    assert!(active(0) && !active(2), "node 1 publishes, node 3 stands by:\n{}", metrics(0));
    let published = |i: usize| {
        let m = metrics(i);
        let line =
            m.lines().find(|l| l.starts_with("marmot_publisher_events_total{sink=\"nats-events\"}")).unwrap_or("");
        line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
    };
    // Standbys follow the stream: node 2 took over without publishing the earlier events
    // again, and node 1, back, published only what was written after its return.
    assert_eq!(published(1), 8, "node 2 published rows 13-20 only:\n{}", metrics(1));
    assert_eq!(published(0), 5, "node 1 (restarted) published rows 21-25 only:\n{}", metrics(0));
    assert_eq!(published(2), 0, "node 3 never published");
    let by_node: BTreeMap<u64, usize> = got.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["payload"]["source"]["node"].as_u64().unwrap()).or_default() += 1;
        m
    });
    assert!(by_node.len() >= 2, "writes coordinated by both nodes: {by_node:?}");
}
