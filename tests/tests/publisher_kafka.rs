//! The CDC publisher against a real Kafka-protocol broker: a 3-node cluster publishes to
//! `tansu` (crates.io), and a real Kafka consumer (rskafka) reads every topic back and
//! compares every event with the writes made — inserts, updates, deletes, a multi-row
//! transaction, NULLs, BLOBs, DECIMAL, dates, a table the filter leaves out — across a
//! broker outage and the crash and restart of the node that publishes.
//!
//! Run by `./scripts/test-all.sh --long`, not in CI's default suite: building tansu alone
//! would take most of CI's time budget. The sink's unit tests and the NATS test cover the
//! code the two sinks share.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use marmot_e2e::cdc::{
    check_first_events, first_writes, insert_items, publisher_crash_and_return, summary, Summary, SINK_KEYS,
};
use marmot_e2e::kafka_broker::KafkaBroker;
use marmot_e2e::Cluster;
use rskafka::client::partition::UnknownTopicHandling;
use rskafka::client::ClientBuilder;
use rskafka::BackoffConfig;
use serde_json::{json, Value};

const SECRET: &str = "kafka publisher secret";

/// Every event of every `marmot.cdc.*` topic, per topic in offset order; each with its
/// topic as `"subject"`. Checks each record's key and id header on the way.
fn events(addr: &str) -> BTreeMap<String, VecDeque<Value>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let read = async {
        let backoff = BackoffConfig { deadline: Some(Duration::from_secs(3)), ..Default::default() };
        let client = ClientBuilder::new(vec![addr.to_string()]).backoff_config(backoff).build().await.ok()?;
        let mut out = BTreeMap::new();
        for topic in client.list_topics().await.ok()? {
            if !topic.name.starts_with("marmot.cdc.") {
                continue;
            }
            let partition = client.partition_client(&topic.name, 0, UnknownTopicHandling::Retry).await.ok()?;
            let mut got: VecDeque<Value> = VecDeque::new();
            let mut offset = 0;
            loop {
                let (records, high) = partition.fetch_records(offset, 1..10_000_000, 100).await.ok()?;
                for r in records {
                    let mut v: Value = serde_json::from_slice(&r.record.value.expect("a value")).expect("JSON");
                    let key: Value = serde_json::from_slice(&r.record.key.expect("a key")).expect("JSON key");
                    let p = &v["payload"];
                    let row = if p["after"].is_null() { &p["before"] } else { &p["after"] };
                    assert_eq!(key["id"], row["id"], "the key is the row's primary key: {v}");
                    assert!(r.record.headers.contains_key("marmot-event-id"), "{:?}", r.record.headers);
                    v["subject"] = json!(topic.name);
                    got.push_back(v);
                    offset = r.offset + 1;
                }
                if offset >= high {
                    break;
                }
            }
            out.insert(topic.name, got);
        }
        Some(out)
    };
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), read).await.ok().flatten() }).unwrap_or_default()
}

/// The events in `want`'s order, taking each from the front of its table's topic (Kafka
/// orders per topic); whatever `want` does not account for follows at the end.
fn in_commit_order(mut topics: BTreeMap<String, VecDeque<Value>>, want: &[Summary]) -> Vec<Value> {
    let mut out = Vec::new();
    for (table, ..) in want {
        match topics.get_mut(&format!("marmot.cdc.app.{table}")).and_then(|q| q.pop_front()) {
            Some(e) => out.push(e),
            None => break,
        }
    }
    out.extend(topics.into_values().flatten());
    out
}

/// Wait until the topics hold `want.len()` events (or panic after 60 s with what they hold).
fn wait_for(addr: &str, want: &[Summary]) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got = in_commit_order(events(addr), want);
        if got.len() >= want.len() {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} of {} events after 60 s: {got:#?}",
            got.len(),
            want.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs tansu, which takes 25 min to build on 2 cores: ./scripts/test-all.sh --long builds it and runs this"]
fn every_committed_change_reaches_kafka_across_a_broker_outage_and_a_publisher_crash() {
    let t0 = Instant::now();
    let kdir = tempfile::tempdir().unwrap();
    let mut broker = KafkaBroker::start(kdir.path());
    let addr = broker.address();
    // The seed's Kafka sink, with the table filter narrowed and short retries for the test.
    let extra = format!(
        "[publisher]\nenabled = true\n[[publisher.sinks]]\nname = \"kafka-main\"\ntype = \"kafka\"\n\
         format = \"debezium\"\nbrokers = [\"{addr}\"]\n{SINK_KEYS}"
    );
    let mut cluster = Cluster::start(3, SECRET, &extra);
    let (n1, n2) = (cluster.nodes[0].mysql, cluster.nodes[1].mysql);
    let mut want = first_writes(n1, n2);
    eprintln!("{:?} cluster up, first writes made", t0.elapsed());
    let got = wait_for(&addr, &want);
    assert_eq!(got.iter().map(summary).collect::<Vec<_>>(), want, "events in commit order on each topic");
    check_first_events(&got);
    let topics: Vec<String> = events(&addr).into_keys().collect();
    assert_eq!(topics, ["marmot.cdc.app.items", "marmot.cdc.app.order_lines"], "one topic per table, none for secrets");

    // A broker outage: writes go on, and reach the topics once it is back.
    broker.disconnect();
    insert_items(n1, 3..=12, &mut want);
    std::thread::sleep(Duration::from_secs(2));
    broker.reconnect();
    wait_for(&addr, &want);
    eprintln!("{:?} published after the outage", t0.elapsed());

    // The publishing node crashes, another takes over, and it comes back.
    let got = publisher_crash_and_return(&mut cluster, "kafka-main", SECRET, &mut want, &|w| wait_for(&addr, w));
    let summaries: Vec<_> = got.iter().map(summary).collect();
    assert_eq!(summaries, want, "every change once, in commit order on each topic, none of the filtered table");
}
