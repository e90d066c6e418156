//! The Kafka sink: events go to one topic per table, each produce acknowledged by the
//! broker before the cursor moves.
//!
//! **Topics and order.** Every topic `{prefix}.{database}.{table}` is created with one
//! partition if missing, so the events of one row (key = its primary key) are read back in
//! commit order. A produce request carries one topic's events of a batch, in log order.
//!
//! **What was published.** Kafka keeps no message ids, so unlike NATS it cannot drop a
//! republished copy. Like Kafka Connect's offsets topic, the publishing node therefore
//! appends, after each acknowledged batch, one record listing the batch's event ids to
//! `__marmot_published.{prefix}` (one partition). Standby nodes read that topic, in order,
//! to move their own cursors ([`super::seen`]); its offset + 1 is the sink's "stream
//! sequence". Should the publisher die between a batch and its record, a takeover repeats
//! that one batch: delivery is at-least-once, and the copies carry the same
//! `marmot-event-id` header for consumers that want to drop them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rskafka::chrono::{DateTime, Utc};
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use rskafka::BackoffConfig;

use super::broker::{parse_id, Published};
use super::debezium::Event;

/// Every topic has this one partition.
const PARTITION: i32 = 0;
/// Largest produce request, in bytes of keys and values (Kafka's default limit on a
/// record batch is 1 MiB).
const MAX_REQUEST: usize = 512 * 1024;
/// Longest wait for one broker call: rskafka has no request timeout of its own, and a
/// partitioned broker would otherwise hold the sink forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a standby's read that found nothing waits before it returns.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// The header that carries an event's id.
pub const EVENT_ID_HEADER: &str = "marmot-event-id";

/// The topic listing what was published under `prefix`.
pub fn published_topic(prefix: &str) -> String {
    format!("__marmot_published.{prefix}")
}

/// A Kafka sink.
pub struct KafkaSink {
    brokers: Vec<String>,
    prefix: String,
    client: Option<Arc<Client>>,
    partitions: BTreeMap<String, Arc<PartitionClient>>,
}

impl KafkaSink {
    /// A sink publishing under `prefix` to `brokers` (connected at first use).
    pub fn new(brokers: &[String], prefix: &str) -> Self {
        KafkaSink { brokers: brokers.to_vec(), prefix: prefix.to_string(), client: None, partitions: BTreeMap::new() }
    }

    async fn client(&mut self) -> Result<Arc<Client>, String> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        // rskafka retries on its own; bounded here so that a broker that is down surfaces
        // as an error, which the publisher retries with the sink's own backoff.
        let backoff = BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
            deadline: Some(Duration::from_secs(5)),
        };
        let build = ClientBuilder::new(self.brokers.clone()).client_id("marmot").backoff_config(backoff).build();
        let client = tokio::time::timeout(Duration::from_secs(10), build)
            .await
            .map_err(|_| format!("cannot connect to {:?}: timed out", self.brokers))?
            .map_err(|e| format!("cannot connect to {:?}: {e}", self.brokers))?;
        let client = Arc::new(client);
        self.client = Some(client.clone());
        Ok(client)
    }

    /// The client of `topic`'s partition, creating the topic if it is missing.
    async fn partition(&mut self, topic: &str) -> Result<Arc<PartitionClient>, String> {
        if let Some(p) = self.partitions.get(topic) {
            return Ok(p.clone());
        }
        let client = self.client().await?;
        let controller = client.controller_client().map_err(|e| format!("Kafka controller: {e}"))?;
        match within(topic, controller.create_topic(topic, 1, 1, 5_000)).await? {
            Ok(()) | Err(KafkaError::ServerError { protocol_error: ProtocolError::TopicAlreadyExists, .. }) => {}
            Err(e) => return Err(format!("creating topic {topic}: {e}")),
        }
        let partition = within(topic, client.partition_client(topic, PARTITION, UnknownTopicHandling::Retry))
            .await?
            .map_err(|e| format!("topic {topic}: {e}"))?;
        let partition = Arc::new(partition);
        self.partitions.insert(topic.to_string(), partition.clone());
        Ok(partition)
    }

    /// Forget the connection: the next call connects from scratch.
    fn reset(&mut self) {
        self.client = None;
        self.partitions.clear();
    }

    /// Publish `events` (each topic's in order), then record their ids; the stream
    /// sequence of that record.
    pub async fn publish(&mut self, events: &[Event]) -> Result<u64, String> {
        let result = self.try_publish(events).await;
        if result.is_err() {
            self.reset();
        }
        result
    }

    async fn try_publish(&mut self, events: &[Event]) -> Result<u64, String> {
        let mut by_topic: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
        for e in events {
            by_topic.entry(e.topic.as_str()).or_default().push(e);
        }
        for (topic, events) in by_topic {
            let partition = self.partition(topic).await?;
            for chunk in chunks(&events) {
                let records = chunk.iter().map(|e| record(Some(e.key.clone()), e.value.clone(), Some(&e.id))).collect();
                within(topic, partition.produce(records, Compression::NoCompression))
                    .await?
                    .map_err(|err| format!("produce to {topic}: {err}"))?;
            }
        }
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let topic = published_topic(&self.prefix);
        let partition = self.partition(&topic).await?;
        let list = record(None, ids.join("\n").into_bytes(), None);
        let offsets = within(&topic, partition.produce(vec![list], Compression::NoCompression))
            .await?
            .map_err(|err| format!("produce to {topic}: {err}"))?;
        let offset = offsets.first().copied().ok_or_else(|| format!("{topic}: the broker gave no offset"))?;
        Ok(u64::try_from(offset).unwrap_or(0) + 1)
    }

    /// Nothing to stop: a standby's reads are single fetches.
    pub fn stop_following(&mut self) {}

    /// Up to about `max` events recorded as published after stream sequence `after`.
    pub async fn read_published(&mut self, after: u64, max: usize) -> Result<Vec<Published>, String> {
        let result = self.try_read(after, max).await;
        if result.is_err() {
            self.reset();
        }
        result
    }

    async fn try_read(&mut self, after: u64, max: usize) -> Result<Vec<Published>, String> {
        let topic = published_topic(&self.prefix);
        let partition = self.partition(&topic).await?;
        let latest =
            within(&topic, partition.get_offset(OffsetAt::Latest)).await?.map_err(|e| format!("{topic}: {e}"))?;
        // A topic that lost its records (a new broker) is read from its start.
        let mut offset = if (after as i64) > latest { 0 } else { after as i64 };
        let mut out = Vec::new();
        while offset < latest && out.len() < max {
            let (records, _) = within(&topic, partition.fetch_records(offset, 1..1_000_000, 100))
                .await?
                .map_err(|e| format!("reading {topic}: {e}"))?;
            let Some(last) = records.last().map(|r| r.offset) else { break };
            for r in records {
                let seq = r.offset as u64 + 1;
                let ids = r.record.value.unwrap_or_default();
                for id in String::from_utf8_lossy(&ids).lines() {
                    if let Some((txn, db, index)) = parse_id(id) {
                        out.push(Published { stream_seq: seq, txn, db, index });
                    }
                }
            }
            offset = last + 1;
        }
        if out.is_empty() {
            // Nothing new: wait a little, as a NATS read does, rather than have the
            // standby ask the broker again at once.
            tokio::time::sleep(IDLE_WAIT).await;
        }
        Ok(out)
    }
}

/// `call`'s result, or an error naming `topic` after [`CALL_TIMEOUT`].
async fn within<T>(topic: &str, call: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| format!("{topic}: no answer from the broker in {CALL_TIMEOUT:?}"))
}

/// A record with `key`, `value` and, when given, the event id header.
fn record(key: Option<Vec<u8>>, value: Vec<u8>, id: Option<&str>) -> Record {
    let headers = id.map(|id| (EVENT_ID_HEADER.to_string(), id.as_bytes().to_vec())).into_iter().collect();
    let now = i64::try_from(crate::engine::wall_ms()).unwrap_or(i64::MAX);
    let timestamp = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    Record { key, value: Some(value), headers, timestamp }
}

/// `events` in runs of at most [`MAX_REQUEST`] bytes (at least one event each).
fn chunks<'a>(events: &'a [&'a Event]) -> Vec<&'a [&'a Event]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        let len = e.key.len() + e.value.len() + e.id.len();
        if i > start && size + len > MAX_REQUEST {
            out.push(&events[start..i]);
            (start, size) = (i, 0);
        }
        size += len;
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(len: usize) -> Event {
        Event { topic: "t".into(), key: vec![], id: String::new(), value: vec![b'x'; len] }
    }

    #[test]
    fn large_batches_are_split_below_the_request_limit_and_keep_their_order() {
        let events: Vec<Event> = (0..5).map(|_| event(MAX_REQUEST / 2)).collect();
        let refs: Vec<&Event> = events.iter().collect();
        let runs = chunks(&refs);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        let huge = [event(MAX_REQUEST * 3)];
        let refs: Vec<&Event> = huge.iter().collect();
        assert_eq!(chunks(&refs).len(), 1, "an event larger than the limit still goes, alone");
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn the_published_list_lives_outside_the_event_topics() {
        assert_eq!(published_topic("marmot.cdc"), "__marmot_published.marmot.cdc");
        assert!(!published_topic("marmot.cdc").starts_with("marmot.cdc."));
    }
}
