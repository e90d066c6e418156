//! The cluster transport over gRPC (`marmot.v1.Marmot` from marmot-proto).
//!
//! Outgoing: one task per peer address holds a long-lived client stream of batches;
//! the engine thread hands it envelopes without ever waiting (a full queue drops the
//! message, as a lossy network would: the protocol resends what matters), so a slow or
//! dead peer never holds up the others. Incoming: the service decodes each envelope
//! and passes it to the engine thread.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use marmot_core::{Envelope, NodeId};
use marmot_proto::convert;
use marmot_proto::pb;
use marmot_proto::pb::marmot_client::MarmotClient;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Messages queued per peer before new ones are dropped.
const QUEUE: usize = 4096;
/// Envelopes per batch on the wire.
const BATCH: usize = 256;
/// Largest gRPC message accepted or sent.
pub const MAX_MESSAGE: usize = 256 << 20;

/// Sends envelopes to peers by address.
pub struct Transport {
    runtime: tokio::runtime::Handle,
    links: Mutex<BTreeMap<String, mpsc::Sender<pb::Envelope>>>,
    connect_timeout: Duration,
}

impl Transport {
    /// A transport spawning its peer tasks on `runtime`.
    pub fn new(runtime: tokio::runtime::Handle, connect_timeout: Duration) -> Self {
        Transport { runtime, links: Mutex::new(BTreeMap::new()), connect_timeout }
    }

    /// Queue `env` for the peer at `addr`; never blocks.
    pub fn send(&self, addr: &str, env: &Envelope) {
        let mut links = self.links.lock().expect("links");
        let link = links.entry(addr.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            self.runtime.spawn(peer_link(addr.to_string(), rx, self.connect_timeout));
            tx
        });
        if link.try_send(convert::envelope(env)).is_err() {
            tracing::debug!(peer = addr, kind = env.msg.kind(), "peer queue full: message dropped");
        }
    }
}

async fn peer_link(addr: String, mut rx: mpsc::Receiver<pb::Envelope>, connect_timeout: Duration) {
    let endpoint = match tonic::transport::Endpoint::from_shared(format!("http://{addr}")) {
        Ok(e) => e.connect_timeout(connect_timeout).tcp_nodelay(true),
        Err(e) => {
            tracing::warn!(peer = %addr, error = %e, "invalid peer address");
            return;
        }
    };
    loop {
        let Some(first) = rx.recv().await else { return };
        let channel = endpoint.connect_lazy();
        let mut client =
            MarmotClient::new(channel).max_encoding_message_size(MAX_MESSAGE).max_decoding_message_size(MAX_MESSAGE);
        let (stx, srx) = mpsc::channel::<pb::Batch>(64);
        let _ = stx.send(pb::Batch { envelopes: vec![first] }).await;
        let call = client.deliver(ReceiverStream::new(srx));
        let forward = async {
            while let Some(e) = rx.recv().await {
                let mut envelopes = vec![e];
                while envelopes.len() < BATCH {
                    match rx.try_recv() {
                        Ok(e) => envelopes.push(e),
                        Err(_) => break,
                    }
                }
                if stx.send(pb::Batch { envelopes }).await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            r = call => {
                if let Err(e) = r {
                    tracing::debug!(peer = %addr, error = %e, "peer stream ended");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ = forward => return,
        }
    }
}

/// Ask the node at `addr` who it is (joining through a seed address).
pub async fn hello(addr: &str, me: NodeId, my_addr: &str, timeout: Duration) -> Result<(NodeId, String), String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("invalid seed address {addr}: {e}"))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint.connect().await.map_err(|e| format!("seed {addr}: {e}"))?;
    let reply = MarmotClient::new(channel)
        .hello(pb::HelloRequest { node_id: me, addr: my_addr.to_string() })
        .await
        .map_err(|e| format!("seed {addr}: {}", e.message()))?
        .into_inner();
    Ok((reply.node_id, reply.addr))
}

/// The gRPC service: hands incoming envelopes to the engine.
pub struct Service {
    /// Delivers an envelope to the engine thread.
    pub deliver: Box<dyn Fn(Envelope) + Send + Sync>,
    /// This node's id.
    pub node_id: NodeId,
    /// This node's advertised address.
    pub addr: String,
}

#[tonic::async_trait]
impl pb::marmot_server::Marmot for Service {
    async fn deliver(
        &self,
        request: tonic::Request<tonic::Streaming<pb::Batch>>,
    ) -> Result<tonic::Response<pb::Ack>, tonic::Status> {
        let mut stream = request.into_inner();
        while let Some(batch) = stream.message().await? {
            for e in batch.envelopes {
                match convert::from_envelope(e) {
                    Ok(env) => (self.deliver)(env),
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
        Ok(tonic::Response::new(pb::HelloReply { node_id: self.node_id, addr: self.addr.clone(), members: Vec::new() }))
    }
}
