//! The cluster transport over gRPC (`marmot.v1.Marmot` from marmot-proto).
//!
//! Outgoing: one task per peer address holds a long-lived client stream of batches;
//! the engine thread hands it envelopes without ever waiting (a full queue drops the
//! message, as a lossy network would: the protocol resends what matters), so a slow or
//! dead peer never holds up the others. Incoming: the service decodes each envelope
//! and passes it to the engine thread. Every call carries a token proving the cluster
//! secret ([`crate::auth`]); the server refuses calls without a valid one.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use marmot_core::{Envelope, NodeId};
use marmot_proto::convert;
use marmot_proto::pb;
use marmot_proto::pb::marmot_client::MarmotClient;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::auth::{self, Secret};
use crate::engine::{wall_ms, Engine};
use crate::metrics::Metrics;

/// Adds this node's token to every outgoing call.
#[derive(Clone)]
pub struct Signer {
    secret: Secret,
    node: NodeId,
}

impl Signer {
    /// Sign calls made by `node` with `secret` (nothing is added when it is off).
    pub fn new(secret: Secret, node: NodeId) -> Self {
        Signer { secret, node }
    }
}

impl tonic::service::Interceptor for Signer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = self.secret.token(self.node, wall_ms()) {
            let value = token.parse().map_err(|_| tonic::Status::internal("unencodable auth token"))?;
            req.metadata_mut().insert(auth::HEADER, value);
        }
        Ok(req)
    }
}

/// Refuses incoming calls without a valid token (and counts and logs them).
#[derive(Clone)]
pub struct Checker {
    /// The cluster secret.
    pub secret: Secret,
    /// Where refusals are counted.
    pub metrics: Arc<Metrics>,
}

impl tonic::service::Interceptor for Checker {
    fn call(&mut self, req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let token = req.metadata().get(auth::HEADER).and_then(|v| v.to_str().ok());
        match self.secret.verify(token, wall_ms()) {
            Ok(()) => Ok(req),
            Err(e) => {
                self.metrics.auth_refused.fetch_add(1, Relaxed);
                let peer = req.remote_addr().map(|a| a.to_string()).unwrap_or_default();
                tracing::warn!(peer = %peer, error = %e, "refused a node-to-node call");
                Err(tonic::Status::unauthenticated(e.to_string()))
            }
        }
    }
}

type Client = MarmotClient<InterceptedService<Channel, Signer>>;

fn client(channel: Channel, signer: Signer) -> Client {
    MarmotClient::with_interceptor(channel, signer)
        .max_encoding_message_size(MAX_MESSAGE)
        .max_decoding_message_size(MAX_MESSAGE)
}

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
    /// The endpoint of the peer at `addr`.
    pub fn endpoint(&self, addr: &str) -> Result<tonic::transport::Endpoint, String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut e = tonic::transport::Endpoint::from_shared(format!("{scheme}://{addr}"))
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

/// Longest pause between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Sends envelopes to peers by address.
pub struct Transport {
    runtime: tokio::runtime::Handle,
    links: Mutex<BTreeMap<String, mpsc::Sender<pb::Envelope>>>,
    link: LinkConfig,
    signer: Signer,
    metrics: Arc<Metrics>,
}

impl Transport {
    /// A transport spawning its peer tasks on `runtime`, signing calls with `signer`.
    pub fn new(runtime: tokio::runtime::Handle, link: LinkConfig, signer: Signer, metrics: Arc<Metrics>) -> Self {
        Transport { runtime, links: Mutex::new(BTreeMap::new()), link, signer, metrics }
    }
}

impl crate::engine::PeerLink for Transport {
    /// Queue `env` for the peer at `addr`; never blocks.
    fn send(&self, addr: &str, env: &Envelope) {
        let mut links = self.links.lock().expect("links");
        let link = links.entry(addr.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            self.runtime.spawn(peer_link(addr.to_string(), rx, self.link.clone(), self.signer.clone()));
            tx
        });
        let pb = convert::envelope(env);
        self.metrics.bytes_out.fetch_add(pb.encoded_len() as u64, Relaxed);
        if link.try_send(pb).is_err() {
            tracing::debug!(peer = addr, kind = env.msg.kind(), "peer queue full: message dropped");
        }
    }
}

async fn peer_link(addr: String, mut rx: mpsc::Receiver<pb::Envelope>, link: LinkConfig, signer: Signer) {
    let endpoint = match link.endpoint(&addr) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(peer = %addr, error = %e, "cannot reach this peer");
            return;
        }
    };
    let mut backoff = link.retry_backoff;
    loop {
        let Some(first) = rx.recv().await else { return };
        let started = tokio::time::Instant::now();
        let mut client = client(endpoint.connect_lazy(), signer.clone());
        let (stx, srx) = mpsc::channel::<pb::Batch>(64);
        for b in batches(vec![first]) {
            let _ = stx.send(b).await;
        }
        let call = client.deliver(ReceiverStream::new(srx));
        // Ends with `true` when the transport is gone, `false` when the stream broke.
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
        tokio::select! {
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
            backoff = link.retry_backoff;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The status of the peer at `addr` (the JSON of its `GET /admin/cluster/status`), asked
/// over `channel` within `timeout`.
pub async fn peer_status(channel: Channel, signer: Signer, timeout: Duration) -> Result<serde_json::Value, String> {
    let mut request = tonic::Request::new(pb::NodeStatusRequest {});
    request.set_timeout(timeout);
    let reply = client(channel, signer).node_status(request).await.map_err(|e| e.message().to_string())?.into_inner();
    serde_json::from_str(&reply.json).map_err(|e| format!("unreadable status: {e}"))
}

/// The checksums of the peer on `channel` (`marmot verify`), within `timeout`.
pub async fn peer_checksums(
    channel: Channel,
    signer: Signer,
    request: pb::ChecksumRequest,
    timeout: Duration,
) -> Result<pb::ChecksumReply, String> {
    let mut request = tonic::Request::new(request);
    request.set_timeout(timeout);
    Ok(client(channel, signer).checksum(request).await.map_err(|e| e.message().to_string())?.into_inner())
}

/// Ask the node at `addr` who it is (joining through a seed address).
pub async fn hello(addr: &str, signer: Signer, my_addr: &str, link: &LinkConfig) -> Result<(NodeId, String), String> {
    let endpoint = link.endpoint(addr)?.timeout(link.connect_timeout);
    let channel = endpoint.connect().await.map_err(|e| format!("seed {addr}: {e}"))?;
    let me = signer.node;
    let reply = client(channel, signer)
        .hello(pb::HelloRequest { node_id: me, addr: my_addr.to_string() })
        .await
        .map_err(|e| format!("seed {addr}: {}", e.message()))?
        .into_inner();
    Ok((reply.node_id, reply.addr))
}

/// The gRPC service: hands incoming envelopes to the engine.
pub struct Service {
    /// The node.
    pub engine: Engine,
    /// This node's id.
    pub node_id: NodeId,
    /// This node's advertised address.
    pub addr: String,
    /// Where received bytes are counted.
    pub metrics: Arc<Metrics>,
}

#[tonic::async_trait]
impl pb::marmot_server::Marmot for Service {
    async fn deliver(
        &self,
        request: tonic::Request<tonic::Streaming<pb::Batch>>,
    ) -> Result<tonic::Response<pb::Ack>, tonic::Status> {
        let mut stream = request.into_inner();
        let mut pieces = Reassembly::default();
        while let Some(batch) = stream.message().await? {
            let envelopes = pieces.accept(batch).map_err(|e| {
                tracing::warn!(error = %e, "refused a peer stream");
                tonic::Status::invalid_argument(e)
            })?;
            for e in envelopes {
                self.metrics.bytes_in.fetch_add(e.encoded_len() as u64, Relaxed);
                match convert::from_envelope(e) {
                    Ok(env) => self.engine.deliver(env),
                    Err(e) => tracing::warn!(error = %e, "dropped a message this node cannot read"),
                }
            }
        }
        Ok(tonic::Response::new(pb::Ack {}))
    }

    async fn hello(
        &self,
        request: tonic::Request<pb::HelloRequest>,
    ) -> Result<tonic::Response<pb::HelloReply>, tonic::Status> {
        let r = request.into_inner();
        tracing::info!(peer = r.node_id, addr = %r.addr, "hello from a node");
        Ok(tonic::Response::new(pb::HelloReply { node_id: self.node_id, addr: self.addr.clone() }))
    }

    async fn node_status(
        &self,
        _request: tonic::Request<pb::NodeStatusRequest>,
    ) -> Result<tonic::Response<pb::NodeStatusReply>, tonic::Status> {
        let s = self.engine.status().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let body = crate::admin::status_body(&s, self.engine.metrics.writes_per_second(), self.engine.drain.state());
        Ok(tonic::Response::new(pb::NodeStatusReply { json: body.to_string() }))
    }

    async fn checksum(
        &self,
        request: tonic::Request<pb::ChecksumRequest>,
    ) -> Result<tonic::Response<pb::ChecksumReply>, tonic::Status> {
        let (engine, req) = (self.engine.clone(), request.into_inner());
        let reply = tokio::task::spawn_blocking(move || crate::node_checksums::node_checksums(&engine, &req))
            .await
            .map_err(|e| tonic::Status::internal(e.to_string()))?
            .map_err(tonic::Status::internal)?;
        Ok(tonic::Response::new(reply))
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
