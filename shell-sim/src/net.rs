//! The simulated hosts talk as production nodes do: the gRPC service and the peer links
//! of [`marmot_proto::link`], over turmoil's TCP instead of the kernel's. Only the two
//! ends differ: connections are dialled and accepted on turmoil sockets, and incoming
//! envelopes go to the host's event loop instead of the engine thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use marmot_core::Envelope;
use marmot_proto::link::{self, Dial, LinkConfig, Links};
use marmot_proto::pb;
use tokio::sync::mpsc::{self, UnboundedSender};
use turmoil::net::{TcpListener, TcpStream};

use crate::sockets::{OwnedStream, Sockets};

/// Calls pass unsigned: the simulated cluster has no secret (the production signer
/// lives in the production host).
pub type Unsigned = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;

fn unsigned(r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    Ok(r)
}

/// The production defaults of `[grpc_client]`, connecting for as long as a PREPARE may
/// wait (at least 1 s).
pub fn link_config(prepare_timeout_ms: u64) -> LinkConfig {
    LinkConfig::with_defaults(Duration::from_millis(prepare_timeout_ms.max(1000)))
}

/// The links of one simulated host to its peers, with the production defaults of
/// `[grpc_client]` and `[coordinator]`.
pub fn links(prepare_timeout_ms: u64, sockets: Arc<Sockets>) -> Links<Unsigned> {
    let config = link_config(prepare_timeout_ms);
    type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<OwnedStream>>> + Send>>;
    let dial: Dial = Arc::new(move |endpoint| {
        let sockets = sockets.clone();
        let connector = tower::service_fn(move |uri: tonic::codegen::http::Uri| {
            let sockets = sockets.clone();
            Box::pin(async move {
                let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                Ok(TokioIo::new(sockets.own(TcpStream::connect(authority).await?)))
            }) as Connecting
        });
        endpoint.connect_with_connector_lazy(connector)
    });
    Links::new(tokio::runtime::Handle::current(), config, dial, unsigned as Unsigned)
}

/// Serve the node-to-node service on `port`, handing every envelope received to `inbox`.
pub async fn serve(port: u16, inbox: UnboundedSender<Envelope>, sockets: Arc<Sockets>) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let accepted = listener.accept().await.map(|(s, _)| sockets.own(s));
            if tx.send(accepted).await.is_err() {
                return;
            }
        }
    });
    let service = pb::marmot_server::MarmotServer::new(Service { inbox })
        .max_decoding_message_size(link::MAX_MESSAGE)
        .max_encoding_message_size(link::MAX_MESSAGE);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(std::io::Error::other)
}

struct Service {
    inbox: UnboundedSender<Envelope>,
}

#[tonic::async_trait]
impl pb::marmot_server::Marmot for Service {
    async fn deliver(
        &self,
        request: tonic::Request<tonic::Streaming<pb::Batch>>,
    ) -> Result<tonic::Response<pb::Ack>, tonic::Status> {
        link::receive(request.into_inner(), |env| drop(self.inbox.send(env)), |_| {}).await
    }

    async fn hello(
        &self,
        _: tonic::Request<pb::HelloRequest>,
    ) -> Result<tonic::Response<pb::HelloReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("simulated nodes know their peers from the start"))
    }

    async fn node_status(
        &self,
        _: tonic::Request<pb::NodeStatusRequest>,
    ) -> Result<tonic::Response<pb::NodeStatusReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("no status page in the simulator"))
    }

    async fn checksum(
        &self,
        _: tonic::Request<pb::ChecksumRequest>,
    ) -> Result<tonic::Response<pb::ChecksumReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("no checksums in the simulator"))
    }
}
