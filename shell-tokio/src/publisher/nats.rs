//! The NATS sink: events go to a JetStream stream, each publish acknowledged by the
//! server before the cursor moves.
//!
//! The stream (`{PREFIX}` upper-cased, `.` and `-` as `_`, over the subjects `{prefix}.>`)
//! is created if missing. Every event carries `Nats-Msg-Id`, so a batch published again
//! after a failure or a restart is dropped by the server inside the stream's duplicate
//! window instead of reaching consumers twice. Core NATS (without JetStream) would lose
//! events while no subscriber listens, so a server without JetStream is an error.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;

use super::debezium::Event;

/// A NATS sink.
pub struct NatsSink {
    url: String,
    prefix: String,
    js: Option<jetstream::Context>,
}

/// The JetStream stream that holds `prefix`'s subjects.
pub fn stream_name(prefix: &str) -> String {
    prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

impl NatsSink {
    /// A sink publishing under `prefix` to the server at `url` (connected at first use).
    pub fn new(url: &str, prefix: &str) -> Self {
        NatsSink { url: url.to_string(), prefix: prefix.to_string(), js: None }
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

    /// Publish `events` in order; `Ok` once the server has stored every one.
    pub async fn publish(&mut self, events: &[Event]) -> Result<(), String> {
        let result = self.try_publish(events).await;
        if result.is_err() {
            // Reconnect from scratch next time: the stream may have gone with the server.
            self.js = None;
        }
        result
    }

    async fn try_publish(&mut self, events: &[Event]) -> Result<(), String> {
        let js = self.connect().await?;
        let mut acks = Vec::with_capacity(events.len());
        for e in events {
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, e.id.as_str());
            headers.insert("Marmot-Key", String::from_utf8_lossy(&e.key).as_ref());
            let ack = js
                .publish_with_headers(e.topic.clone(), headers, e.value.clone().into())
                .await
                .map_err(|err| format!("publish to {}: {err}", e.topic))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(|e| format!("JetStream did not store an event: {e}"))?;
        }
        Ok(())
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
