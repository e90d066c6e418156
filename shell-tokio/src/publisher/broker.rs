//! The broker a sink publishes to, whichever kind it is, and what a standby reads back
//! from it.

use super::debezium::Event;
use super::kafka::KafkaSink;
use super::nats::NatsSink;
use super::sink_config::Sink;

/// One event found in what the publishing node published: its stream sequence and what
/// its id says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// Its sequence in the stream (NATS: the JetStream sequence; Kafka: the offset + 1 of
    /// the record listing it).
    pub stream_seq: u64,
    /// Its transaction (as `source.txId`).
    pub txn: String,
    /// Its database.
    pub db: String,
    /// The change's index in the transaction.
    pub index: usize,
}

/// Split an event id `{txId}:{database}:{index}` (a txId holds no `:`).
pub fn parse_id(id: &str) -> Option<(String, String, usize)> {
    let (txn, rest) = id.split_once(':')?;
    let (db, index) = rest.rsplit_once(':')?;
    Some((txn.to_string(), db.to_string(), index.parse().ok()?))
}

/// A sink's broker client.
pub enum Broker {
    /// NATS JetStream (boxed: its stream reader is large).
    Nats(Box<NatsSink>),
    /// A Kafka-protocol broker.
    Kafka(KafkaSink),
}

impl Broker {
    /// The client for `sink` (checked by [`super::sink_config::check`]).
    pub fn new(sink: &Sink) -> Self {
        match sink.kind.as_str() {
            "kafka" => Broker::Kafka(KafkaSink::new(&sink.brokers, &sink.topic_prefix)),
            _ => Broker::Nats(Box::new(NatsSink::new(&sink.nats_url, &sink.topic_prefix))),
        }
    }

    /// Publish `events` in order; once the broker stored every one, the highest stream
    /// sequence they got.
    pub async fn publish(&mut self, events: &[Event]) -> Result<u64, String> {
        match self {
            Broker::Nats(n) => n.publish(events).await,
            Broker::Kafka(k) => k.publish(events).await,
        }
    }

    /// Up to about `max` published events after stream sequence `after`.
    pub async fn read_published(&mut self, after: u64, max: usize) -> Result<Vec<Published>, String> {
        match self {
            Broker::Nats(n) => n.read_published(after, max).await,
            Broker::Kafka(k) => k.read_published(after, max).await,
        }
    }

    /// Stop reading what was published (this node publishes now).
    pub fn stop_following(&mut self) {
        match self {
            Broker::Nats(n) => n.stop_following(),
            Broker::Kafka(k) => k.stop_following(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_splits_into_transaction_database_and_index() {
        assert_eq!(parse_id("1702.3@2:my:db:7"), Some(("1702.3@2".into(), "my:db".into(), 7)));
        assert_eq!(parse_id("nonsense"), None);
    }
}
