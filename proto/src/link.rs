//! The node-to-node link over gRPC, shared by the production host and the simulator so
//! that faults in the simulation meet the code that runs in production.
//!
//! Outgoing: one task per peer address holds a long-lived client stream of batches;
//! the node hands it envelopes without ever waiting (a full queue drops the message, as
//! a lossy network would: the protocol resends what matters), so a slow or dead peer
//! never holds up the others. A broken stream (peer gone, link dead: the HTTP/2
//! keepalive notices) is reopened after a pause that doubles up to [`MAX_BACKOFF`].
//! Incoming: [`receive`] reassembles and decodes a stream and hands each envelope on.
//! How a link reaches its peer (a TCP socket, TLS, the simulator's network) is the
//! caller's [`Dial`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use marmot_core::Envelope;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};

use crate::convert;
use crate::pb;
use crate::pb::marmot_client::MarmotClient;

/// Messages queued per peer before new ones are dropped.
const QUEUE: usize = 4096;
/// Envelopes per batch on the wire.
const BATCH: usize = 256;
/// Bytes per batch (and per piece of a large envelope) on the wire.
const BATCH_BYTES: usize = 4 << 20;
/// Largest gRPC message accepted or sent (large envelopes go in pieces well below it).
pub const MAX_MESSAGE: usize = 16 << 20;
/// Largest envelope reassembled from pieces.
const MAX_ENVELOPE: usize = 2 << 30;
/// Longest pause between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A marmot client over `channel` whose calls pass through `interceptor` (which signs
/// them), with the message size limits every node uses.
pub fn client<I: Interceptor>(channel: Channel, interceptor: I) -> MarmotClient<InterceptedService<Channel, I>> {
    MarmotClient::with_interceptor(channel, interceptor)
        .max_encoding_message_size(MAX_MESSAGE)
        .max_decoding_message_size(MAX_MESSAGE)
}

/// The stream messages that carry `envelopes`: whole ones batched up to [`BATCH`] /
/// [`BATCH_BYTES`], larger ones cut into pieces.
pub fn batches(envelopes: Vec<pb::Envelope>) -> Vec<pb::Batch> {
    let mut out = Vec::new();
    let mut current = pb::Batch::default();
    let mut bytes = 0;
    for e in envelopes {
        let len = e.encoded_len();
        if len > BATCH_BYTES {
            if !current.envelopes.is_empty() {
                out.push(std::mem::take(&mut current));
                bytes = 0;
            }
            let encoded = e.encode_to_vec();
            let mut pieces = encoded.chunks(BATCH_BYTES).peekable();
            while let Some(piece) = pieces.next() {
                out.push(pb::Batch {
                    envelopes: Vec::new(),
                    fragment: piece.to_vec(),
                    fragment_last: pieces.peek().is_none(),
                });
            }
            continue;
        }
        if bytes + len > BATCH_BYTES || current.envelopes.len() >= BATCH {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += len;
        current.envelopes.push(e);
    }
    if !current.envelopes.is_empty() {
        out.push(current);
    }
    out
}

/// Reassembles envelopes sent in pieces on one stream.
#[derive(Default)]
pub struct Reassembly {
    partial: Vec<u8>,
}

impl Reassembly {
    /// The envelopes `batch` completes, in stream order.
    pub fn accept(&mut self, batch: pb::Batch) -> Result<Vec<pb::Envelope>, String> {
        let mut out = batch.envelopes;
        if !batch.fragment.is_empty() || batch.fragment_last {
            if self.partial.len() + batch.fragment.len() > MAX_ENVELOPE {
                self.partial.clear();
                return Err(format!("a message in pieces exceeds {MAX_ENVELOPE} bytes"));
            }
            self.partial.extend_from_slice(&batch.fragment);
            if batch.fragment_last {
                let whole = std::mem::take(&mut self.partial);
                out.push(pb::Envelope::decode(whole.as_slice()).map_err(|e| format!("a message in pieces: {e}"))?);
            }
        }
        Ok(out)
    }
}

/// Read one incoming `Deliver` stream to its end, handing every envelope to `deliver`
/// in stream order and counting its encoded size with `count_bytes`. An envelope this
/// node cannot read is dropped with a log line (a newer peer's new kind of message:
/// the protocol's retries cover it); a malformed stream ends the call with an error.
pub async fn receive(
    mut stream: tonic::Streaming<pb::Batch>,
    mut deliver: impl FnMut(Envelope),
    mut count_bytes: impl FnMut(usize),
) -> Result<tonic::Response<pb::Ack>, tonic::Status> {
    let mut pieces = Reassembly::default();
    while let Some(batch) = stream.message().await? {
        let envelopes = pieces.accept(batch).map_err(|e| {
            tracing::warn!(error = %e, "refused a peer stream");
            tonic::Status::invalid_argument(e)
        })?;
        for e in envelopes {
            count_bytes(e.encoded_len());
            match convert::from_envelope(e) {
                Ok(env) => deliver(env),
                Err(e) => tracing::warn!(error = %e, "dropped a message this node cannot read"),
            }
        }
    }
    Ok(tonic::Response::new(pb::Ack {}))
}

/// The seed's `[grpc_client] keepalive_time_seconds` default: the HTTP/2 ping interval.
/// Production config, the simulator's links and its liveness bounds all read it from here.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(10);
/// The seed's `[grpc_client] keepalive_timeout_seconds` default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The seed's `[grpc_client] retry_backoff_ms` default.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// How links to peers behave: `[grpc_client]` keepalive and backoff, and the connect
/// timeout (from `[coordinator] prepare_timeout_ms`).
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// HTTP/2 ping interval on an established link (`keepalive_time_seconds`).
    pub keepalive: Duration,
    /// A ping unanswered this long drops the link (`keepalive_timeout_seconds`).
    pub keepalive_timeout: Duration,
    /// First pause before reconnecting (`retry_backoff_ms`); doubles up to [`MAX_BACKOFF`].
    pub retry_backoff: Duration,
    /// Connect with TLS, checking peers with this (`[tls]`); `None`: plain HTTP/2.
    pub tls: Option<tonic::transport::ClientTlsConfig>,
}

impl LinkConfig {
    /// The seed's `[grpc_client]` defaults, plain HTTP/2, giving up connecting after
    /// `connect_timeout`.
    pub fn with_defaults(connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
            keepalive: DEFAULT_KEEPALIVE,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            tls: None,
        }
    }

    /// How long a link takes at most to notice a dead connection: a ping after
    /// `keepalive` of silence, unanswered for `keepalive_timeout`.
    pub fn dead_link_detection(&self) -> Duration {
        self.keepalive + self.keepalive_timeout
    }

    /// The endpoint of the peer at `addr`.
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint, String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut e = Endpoint::from_shared(format!("{scheme}://{addr}"))
            .map_err(|e| format!("invalid peer address {addr}: {e}"))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(self.keepalive)
            .keep_alive_timeout(self.keepalive_timeout)
            .keep_alive_while_idle(true);
        if let Some(tls) = &self.tls {
            e = e.tls_config(tls.clone()).map_err(|e| format!("TLS for {addr}: {e}"))?;
        }
        Ok(e)
    }
}

/// Opens a (lazily connecting) channel to a peer's endpoint: over TCP in production, over
/// the simulated network in the simulator.
pub type Dial = Arc<dyn Fn(&Endpoint) -> Channel + Send + Sync>;

/// The links of one node to its peers, by address.
pub struct Links<I> {
    runtime: tokio::runtime::Handle,
    links: Mutex<BTreeMap<String, mpsc::Sender<pb::Envelope>>>,
    config: LinkConfig,
    dial: Dial,
    interceptor: I,
}

impl<I: Interceptor + Clone + Send + Sync + 'static> Links<I> {
    /// Links whose tasks run on `runtime`, reaching peers through `dial`, their calls
    /// passing through `interceptor`.
    pub fn new(runtime: tokio::runtime::Handle, config: LinkConfig, dial: Dial, interceptor: I) -> Self {
        Links { runtime, links: Mutex::new(BTreeMap::new()), config, dial, interceptor }
    }

    /// Queue `env` for the peer at `addr` (its link starts on first use); never blocks.
    /// Returns the encoded size of what was queued, `None` when the queue was full and
    /// the message dropped.
    pub fn send(&self, addr: &str, env: &Envelope) -> Option<usize> {
        let mut links = self.links.lock().expect("links");
        let link = links.entry(addr.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let task =
                peer_link(addr.to_string(), rx, self.config.clone(), self.dial.clone(), self.interceptor.clone());
            self.runtime.spawn(task);
            tx
        });
        let pb = convert::envelope(env);
        let len = pb.encoded_len();
        match link.try_send(pb) {
            Ok(()) => Some(len),
            Err(_) => {
                tracing::debug!(peer = addr, kind = env.msg.kind(), "peer queue full: message dropped");
                None
            }
        }
    }
}

async fn peer_link<I: Interceptor + Clone + Send + 'static>(
    addr: String,
    mut rx: mpsc::Receiver<pb::Envelope>,
    config: LinkConfig,
    dial: Dial,
    interceptor: I,
) {
    let endpoint = match config.endpoint(&addr) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(peer = %addr, error = %e, "cannot reach this peer");
            return;
        }
    };
    let mut backoff = config.retry_backoff;
    loop {
        let Some(first) = rx.recv().await else { return };
        let started = tokio::time::Instant::now();
        let mut client = client(dial(&endpoint), interceptor.clone());
        let (stx, srx) = mpsc::channel::<pb::Batch>(64);
        for b in batches(vec![first]) {
            let _ = stx.send(b).await;
        }
        let call = client.deliver(ReceiverStream::new(srx));
        // Ends with `true` when the links are gone, `false` when the stream broke.
        let forward = async {
            while let Some(e) = rx.recv().await {
                let mut envelopes = vec![e];
                while envelopes.len() < BATCH {
                    match rx.try_recv() {
                        Ok(e) => envelopes.push(e),
                        Err(_) => break,
                    }
                }
                for b in batches(envelopes) {
                    if stx.send(b).await.is_err() {
                        return false;
                    }
                }
            }
            true
        };
        // Biased: the simulator replays a seed exactly only if the choice between two
        // ready branches is not random.
        tokio::select! {
            biased;
            r = call => match r {
                Err(e) if e.code() == tonic::Code::Unauthenticated => {
                    tracing::warn!(peer = %addr, error = %e.message(), "peer refused this node's credentials");
                    backoff = MAX_BACKOFF;
                }
                Err(e) => tracing::debug!(peer = %addr, error = %e, "peer stream ended"),
                Ok(_) => {}
            },
            closed = forward => {
                if closed {
                    return;
                }
                // The call ended under us (peer gone); what was in flight is lost, as on
                // a lossy network.
            }
        }
        // Reconnect after a pause that grows while the peer stays unreachable.
        if started.elapsed() > MAX_BACKOFF {
            backoff = config.retry_backoff;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(payload: usize, tag: u64) -> pb::Envelope {
        let row = pb::RowChange { database: "d".into(), key: vec![7; payload], ..Default::default() };
        let txn = pb::Txn { coordinator: tag, rows: vec![row], ..Default::default() };
        pb::Envelope {
            from: tag,
            to: 2,
            msg: Some(pb::envelope::Msg::Prepare(pb::Prepare { txn: Some(txn) })),
            ..Default::default()
        }
    }

    #[test]
    fn large_envelopes_travel_in_pieces_and_come_back_whole_in_order() {
        let sent =
            vec![envelope(10, 1), envelope(BATCH_BYTES * 2 + 5, 2), envelope(10, 3), envelope(BATCH_BYTES - 100, 4)];
        let wire = batches(sent.clone());
        assert!(wire.iter().all(|b| b.encoded_len() <= BATCH_BYTES + 64), "a stream message is too large");
        assert!(wire.len() >= 5, "the large envelope was not cut: {} messages", wire.len());
        let mut r = Reassembly::default();
        let got: Vec<pb::Envelope> = wire.into_iter().flat_map(|b| r.accept(b).unwrap()).collect();
        assert_eq!(got, sent);
    }

    #[test]
    fn garbage_pieces_are_an_error_not_a_panic() {
        let mut r = Reassembly::default();
        let bad = pb::Batch { envelopes: Vec::new(), fragment: vec![0xff; 10], fragment_last: true };
        assert!(r.accept(bad).is_err());
    }
}
