//! The NATS sink: events go to a JetStream stream, each publish acknowledged by the
//! server before the cursor moves.
//!
//! The stream (`{PREFIX}` upper-cased, `.` and `-` as `_`, over the subjects `{prefix}.>`)
//! is created if missing. Every event carries `Nats-Msg-Id`, so a batch published again
//! after a failure or a restart is dropped by the server inside the stream's duplicate
//! window instead of reaching consumers twice. Core NATS (without JetStream) would lose
//! events while no subscriber listens, so a server without JetStream is an error.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use futures_util::StreamExt;

use super::broker::{parse_id, Published};
use super::debezium::Event;

/// Publishes sent ahead of the oldest ack not yet received.
const ACK_WINDOW: usize = 512;

/// The stream sequence JetStream stored an event at.
async fn stored(ack: Option<jetstream::context::PublishAckFuture>) -> Result<u64, String> {
    match ack {
        Some(ack) => ack.await.map(|a| a.sequence).map_err(|e| format!("JetStream did not store an event: {e}")),
        None => Ok(0),
    }
}

/// A NATS sink.
pub struct NatsSink {
    url: String,
    prefix: String,
    js: Option<jetstream::Context>,
    /// A standby's reader of the stream: the next stream sequence it delivers, and it.
    follow: Option<(u64, pull::Ordered)>,
}

/// The JetStream stream that holds `prefix`'s subjects.
pub fn stream_name(prefix: &str) -> String {
    prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

impl NatsSink {
    /// A sink publishing under `prefix` to the server at `url` (connected at first use).
    pub fn new(url: &str, prefix: &str) -> Self {
        NatsSink { url: url.to_string(), prefix: prefix.to_string(), js: None, follow: None }
    }

    async fn connect(&mut self) -> Result<jetstream::Context, String> {
        if let Some(js) = &self.js {
            return Ok(js.clone());
        }
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(self.url.as_str())
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.url))?;
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_secs(10));
        js.get_or_create_stream(stream::Config {
            name: stream_name(&self.prefix),
            subjects: vec![format!("{}.>", self.prefix)],
            ..Default::default()
        })
        .await
        .map_err(|e| {
            format!(
                "JetStream stream {} on {}: {e} (is JetStream enabled: nats-server -js?)",
                stream_name(&self.prefix),
                self.url
            )
        })?;
        self.js = Some(js.clone());
        Ok(js)
    }

    /// Publish `events` in order; once the server has stored every one, the highest stream
    /// sequence it gave them.
    pub async fn publish(&mut self, events: &[Event]) -> Result<u64, String> {
        let result = self.try_publish(events).await;
        if result.is_err() {
            // Reconnect from scratch next time: the stream may have gone with the server.
            self.js = None;
            self.follow = None;
        }
        result
    }

    async fn try_publish(&mut self, events: &[Event]) -> Result<u64, String> {
        let js = self.connect().await?;
        // Acks are awaited as they come, ACK_WINDOW publishes behind: the client holds
        // one permit per unawaited ack (a few thousand at most), and a batch larger than
        // that would otherwise wait for permits that only awaiting frees.
        let mut acks = std::collections::VecDeque::with_capacity(ACK_WINDOW);
        let mut highest = 0;
        for e in events {
            if acks.len() == ACK_WINDOW {
                highest = highest.max(stored(acks.pop_front()).await?);
            }
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, e.id.as_str());
            headers.insert("Marmot-Key", String::from_utf8_lossy(&e.key).as_ref());
            let ack = js
                .publish_with_headers(e.topic.clone(), headers, e.value.clone().into())
                .await
                .map_err(|err| format!("publish to {}: {err}", e.topic))?;
            acks.push_back(ack);
        }
        while let Some(ack) = acks.pop_front() {
            highest = highest.max(stored(Some(ack)).await?);
        }
        Ok(highest)
    }

    /// Stop reading the stream (this node publishes now; its reader would buffer its own
    /// events).
    pub fn stop_following(&mut self) {
        self.follow = None;
    }

    /// Up to `max` events of the stream after stream sequence `after`, as far as the
    /// server has them now (a standby reads what the publishing node published).
    pub async fn read_published(&mut self, after: u64, max: usize) -> Result<Vec<Published>, String> {
        let result = self.try_read(after, max).await;
        if result.is_err() {
            self.js = None;
            self.follow = None;
        }
        result
    }

    async fn try_read(&mut self, after: u64, max: usize) -> Result<Vec<Published>, String> {
        let js = self.connect().await?;
        if self.follow.as_ref().is_none_or(|(next, _)| *next != after + 1) {
            let name = stream_name(&self.prefix);
            let stream = js.get_stream(&name).await.map_err(|e| format!("stream {name}: {e}"))?;
            // A stream that lost its messages (a new broker) is read from its start.
            let start = if stream.cached_info().state.last_sequence < after { 1 } else { after + 1 };
            let consumer = stream
                .create_consumer(pull::OrderedConfig {
                    filter_subject: format!("{}.>", self.prefix),
                    deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: start },
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("reading stream {name}: {e}"))?;
            let messages = consumer.messages().await.map_err(|e| format!("reading stream {name}: {e}"))?;
            self.follow = Some((start, messages));
        }
        let Some((next, messages)) = self.follow.as_mut() else { return Ok(Vec::new()) };
        let expected = *next;
        let mut out = Vec::new();
        while out.len() < max {
            let m = match tokio::time::timeout(Duration::from_millis(100), messages.next()).await {
                Err(_) => break, // nothing more for now
                Ok(None) => return Err("the stream reader ended".into()),
                Ok(Some(Err(e))) => return Err(format!("reading the stream: {e}")),
                Ok(Some(Ok(m))) => m,
            };
            let seq = m.info().map_err(|e| format!("stream message: {e}"))?.stream_sequence;
            *next = seq + 1;
            let id = m.headers.as_ref().and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID)).map(|v| v.as_str());
            if let Some((txn, db, index)) = id.and_then(parse_id) {
                out.push(Published { stream_seq: seq, txn, db, index });
            }
        }
        if out.is_empty() {
            // An ordered reader whose server restarted can stay silent for good: when the
            // stream holds more than it delivered, start a new one next time.
            let name = stream_name(&self.prefix);
            let stream = js.get_stream(&name).await.map_err(|e| format!("stream {name}: {e}"))?;
            if stream.cached_info().state.last_sequence >= expected {
                self.follow = None;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_named_after_the_prefix() {
        assert_eq!(stream_name("marmot.cdc"), "MARMOT_CDC");
        assert_eq!(stream_name("a-b.c"), "A_B_C");
    }
}
