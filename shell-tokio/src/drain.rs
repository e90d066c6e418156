//! Draining a node (`marmot cluster drain`, `POST /admin/cluster/drain`): it stops taking
//! new work from MySQL clients, lets the transactions already open finish, then leaves the
//! cluster cleanly (the core's `AdminCmd::Leave`: it marks itself REMOVED, so its peers stop
//! counting it toward quorum at once instead of waiting for it to look dead).
//!
//! While draining and after, a statement that is not part of an already open transaction
//! gets MySQL's 1053 "Server shutdown in progress" (SQLSTATE 08S01, a connection-level
//! error that connectors and pools answer by reconnecting, through a load balancer to
//! another node). `marmot cluster allow N` on another node brings a drained node back; it
//! then serves again.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use marmot_core::NodeId;

/// Where a node is in a drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainState {
    /// Taking work as usual.
    Serving,
    /// Refusing new work, waiting for open transactions.
    Draining,
    /// Left the cluster; refusing work until allowed back.
    Left,
}

impl DrainState {
    /// As shown in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            DrainState::Serving => "serving",
            DrainState::Draining => "draining",
            DrainState::Left => "left",
        }
    }
}

/// The node's drain state and the MySQL work in flight.
#[derive(Default)]
pub struct Drain {
    state: AtomicU8,
    /// Statements running plus transactions open, over all sessions.
    busy: AtomicUsize,
}

/// One unit of MySQL work in flight (a running statement or an open transaction); the
/// drain waits until none is left.
pub struct Busy(Arc<Drain>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, SeqCst);
    }
}

impl Drain {
    /// The current state.
    pub fn state(&self) -> DrainState {
        match self.state.load(SeqCst) {
            0 => DrainState::Serving,
            1 => DrainState::Draining,
            _ => DrainState::Left,
        }
    }

    fn set(&self, s: DrainState) {
        self.state.store(s as u8, SeqCst);
    }

    /// Count work in flight until the returned token is dropped. Take it *before*
    /// checking [`Drain::refusing`]: the drain sets its state before it counts, so either
    /// the work sees the refusal or the drain sees the work.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, SeqCst);
        Busy(self.clone())
    }

    /// Whether new work is refused.
    pub fn refusing(&self) -> bool {
        self.state() != DrainState::Serving
    }

    /// What the 1 s status look found: a drained node that a peer allowed back (its own
    /// state is no longer REMOVED) serves again.
    pub fn observe(&self, local_state: &str) {
        if self.state() == DrainState::Left && local_state != "REMOVED" {
            self.set(DrainState::Serving);
            tracing::info!(state = local_state, "allowed back into the cluster after a drain: serving again");
        }
    }
}

/// Drain node `node_id` (`removed`: it already is): refuse new work, wait up to `timeout`
/// for the work in flight, then `leave` the cluster. The message says how it went.
pub async fn drain<Leave>(
    d: &Drain,
    node_id: NodeId,
    removed: bool,
    timeout: Duration,
    leave: Leave,
) -> Result<String, String>
where
    Leave: std::future::Future<Output = Result<(), String>>,
{
    if removed {
        return Err(format!("node {node_id} is already REMOVED (drained or removed)"));
    }
    if d.state.compare_exchange(DrainState::Serving as u8, DrainState::Draining as u8, SeqCst, SeqCst).is_err() {
        return Err(format!("node {node_id} is already {}", d.state().as_str()));
    }
    let open = d.busy.load(SeqCst);
    tracing::info!(open, timeout_s = timeout.as_secs(), "draining: refusing new work, waiting for open transactions");
    let start = Instant::now();
    while d.busy.load(SeqCst) > 0 && start.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cut_off = d.busy.load(SeqCst);
    if let Err(e) = leave.await {
        d.set(DrainState::Serving);
        return Err(e);
    }
    d.set(DrainState::Left);
    tracing::info!(open, cut_off, waited_ms = start.elapsed().as_millis() as u64, "drained: left the cluster");
    let finished = open.saturating_sub(cut_off);
    let mut message = format!(
        "node {node_id} drained and left the cluster ({finished} transactions in flight finished in {} ms",
        start.elapsed().as_millis()
    );
    if cut_off > 0 {
        message += &format!("; {cut_off} still open after {} s will fail", timeout.as_secs());
    }
    message += ")";
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_counted_until_its_token_drops_and_a_left_node_serves_once_allowed() {
        let d = Arc::new(Drain::default());
        let a = d.busy();
        let b = d.busy();
        assert_eq!(d.busy.load(SeqCst), 2);
        drop(a);
        drop(b);
        assert_eq!(d.busy.load(SeqCst), 0);
        assert!(!d.refusing());
        d.set(DrainState::Left);
        assert!(d.refusing());
        d.observe("REMOVED");
        assert_eq!(d.state(), DrainState::Left);
        d.observe("SUSPECT");
        assert_eq!(d.state(), DrainState::Serving);
    }
}
