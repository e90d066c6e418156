//! The CDC publisher against a real broker: a 3-node cluster publishes to Debian's
//! `nats-server` (JetStream), and a real consumer reads the stream back and compares every
//! event with the writes made — inserts, updates, deletes, a multi-row transaction, NULLs,
//! BLOBs, DECIMAL, dates, a table the filter leaves out — across a broker outage and the
//! crash and restart of the node that publishes.

use std::time::{Duration, Instant};

use marmot_e2e::cdc::{check_first_events, first_writes, insert_items, publisher_crash_and_return, summary, SINK_KEYS};
use marmot_e2e::nats_server::NatsServer;
use marmot_e2e::Cluster;
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

#[test]
fn every_committed_change_reaches_nats_across_a_broker_outage_and_a_publisher_crash() {
    let t0 = Instant::now();
    let ndir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(ndir.path());
    let url = nats.url();
    // The seed's NATS sink, with the table filter narrowed and short retries for the test.
    let extra = format!(
        "[publisher]\nenabled = true\n[[publisher.sinks]]\nname = \"nats-events\"\ntype = \"nats\"\n\
         format = \"debezium\"\nnats_url = \"{url}\"\n{SINK_KEYS}"
    );
    let mut cluster = Cluster::start(3, SECRET, &extra);
    let (n1, n2) = (cluster.nodes[0].mysql, cluster.nodes[1].mysql);
    let mut want = first_writes(n1, n2);
    eprintln!("{:?} cluster up, first writes made", t0.elapsed());
    let got = wait_for(&url, want.len());
    assert_eq!(got.iter().map(summary).collect::<Vec<_>>(), want, "events in commit order");

    check_first_events(&got);

    // A broker outage: writes go on, and reach the stream once it is back.
    nats.kill();
    insert_items(n1, 3..=12, &mut want);
    std::thread::sleep(Duration::from_secs(2));
    nats.restart();
    wait_for(&url, want.len());
    eprintln!("{:?} published after the outage", t0.elapsed());

    // The publishing node crashes, another takes over, and it comes back.
    let got = publisher_crash_and_return(&mut cluster, "nats-events", SECRET, &mut want, &|w| wait_for(&url, w.len()));
    let summaries: Vec<_> = got.iter().map(summary).collect();
    assert_eq!(summaries, want, "every change once, in commit order, none of the filtered table");
}
