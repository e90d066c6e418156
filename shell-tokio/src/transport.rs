//! The cluster transport over gRPC (`marmot.v1.Marmot` from marmot-proto): the peer
//! links of [`marmot_proto::link`] (which the simulator runs too) over TCP or TLS, with
//! every call carrying a token proving the cluster secret ([`crate::auth`]); the server
//! refuses calls without a valid one.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use marmot_core::{Envelope, NodeId};
use marmot_proto::link::{self, Links};
use marmot_proto::pb;
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

pub use marmot_proto::link::{LinkConfig, MAX_BACKOFF, MAX_MESSAGE};

/// Sends envelopes to peers by address, over TCP (or TLS), counting bytes sent.
pub struct Transport {
    links: Links<Signer>,
    metrics: Arc<Metrics>,
}

impl Transport {
    /// A transport spawning its peer tasks on `runtime`, signing calls with `signer`.
    pub fn new(runtime: tokio::runtime::Handle, link: LinkConfig, signer: Signer, metrics: Arc<Metrics>) -> Self {
        let dial: marmot_proto::link::Dial = Arc::new(|endpoint| endpoint.connect_lazy());
        Transport { links: Links::new(runtime, link, dial, signer), metrics }
    }
}

impl crate::engine::PeerLink for Transport {
    /// Queue `env` for the peer at `addr`; never blocks.
    fn send(&self, addr: &str, env: &Envelope) {
        if let Some(bytes) = self.links.send(addr, env) {
            self.metrics.bytes_out.fetch_add(bytes as u64, Relaxed);
        }
    }
}

/// The status of the peer at `addr` (the JSON of its `GET /admin/cluster/status`), asked
/// over `channel` within `timeout`.
pub async fn peer_status(channel: Channel, signer: Signer, timeout: Duration) -> Result<serde_json::Value, String> {
    let mut request = tonic::Request::new(pb::NodeStatusRequest {});
    request.set_timeout(timeout);
    let reply =
        link::client(channel, signer).node_status(request).await.map_err(|e| e.message().to_string())?.into_inner();
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
    Ok(link::client(channel, signer).checksum(request).await.map_err(|e| e.message().to_string())?.into_inner())
}

/// Ask the node at `addr` who it is (joining through a seed address).
pub async fn hello(addr: &str, signer: Signer, my_addr: &str, link: &LinkConfig) -> Result<(NodeId, String), String> {
    let endpoint = link.endpoint(addr)?.timeout(link.connect_timeout);
    let channel = endpoint.connect().await.map_err(|e| format!("seed {addr}: {e}"))?;
    let me = signer.node;
    let reply = link::client(channel, signer)
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
        let metrics = &self.metrics;
        link::receive(
            request.into_inner(),
            |env| self.engine.deliver(env),
            |n| {
                metrics.bytes_in.fetch_add(n as u64, Relaxed);
            },
        )
        .await
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
