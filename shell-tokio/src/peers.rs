//! Calls this node makes to its peers on behalf of an operator (the dashboard's
//! `NodeStatus`, `marmot verify`'s `Checksum`): one reusable channel per peer address,
//! signed with the cluster secret, over TLS when `[tls]` is on.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tonic::transport::Channel;

use crate::transport::{LinkConfig, Signer};

/// Channels to peers by address.
pub struct Peers {
    /// Signs this node's calls.
    pub signer: Signer,
    link: LinkConfig,
    channels: Mutex<BTreeMap<String, Channel>>,
}

impl Peers {
    /// Calls signed by `signer`, connected as `link` says.
    pub fn new(signer: Signer, link: LinkConfig) -> Self {
        Peers { signer, link, channels: Mutex::new(BTreeMap::new()) }
    }

    /// The channel to `addr` (connected on first use, reused after).
    pub fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().expect("channels");
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let channel = self.link.endpoint(addr)?.connect_lazy();
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}
