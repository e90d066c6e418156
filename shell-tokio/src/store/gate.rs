//! Write gates: one FIFO lock per database, shared by the engine and the MySQL sessions.
//!
//! SQLite lets one connection write a database file at a time; the others wait in its
//! busy handler, which sleeps in steps of milliseconds and wakes nobody in order. With
//! many sessions capturing statements and the engine committing, that waiting — done on
//! the runtime's few worker threads — was what bounded throughput. Every in-process
//! writer of a database file takes that database's gate first: sessions wait for it
//! asynchronously, the engine thread blocking. SQLite's busy handler then only ever waits
//! for programs outside marmot.
//!
//! Lock order: a session holds at most one gate and never across an engine request; the
//! engine takes the gates of one write in name order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as FifoLock, OwnedMutexGuard};

/// The gates of a node's databases, created on first use.
#[derive(Clone, Default)]
pub struct WriteGates {
    gates: Arc<Mutex<BTreeMap<String, Arc<FifoLock<()>>>>>,
}

/// A held gate; the database is free for the next writer when it is dropped.
pub type GateGuard = OwnedMutexGuard<()>;

impl WriteGates {
    fn gate(&self, db: &str) -> Arc<FifoLock<()>> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.entry(db.to_string()).or_default().clone()
    }

    /// Wait (asynchronously, in arrival order) for database `db`.
    pub async fn enter(&self, db: &str) -> GateGuard {
        self.gate(db).lock_owned().await
    }

    /// Take the gate of `db`, blocking this thread. Must not be called on an async
    /// runtime thread (the engine has a thread of its own).
    pub fn enter_one_blocking(&self, db: &str) -> GateGuard {
        self.gate(db).blocking_lock_owned()
    }

    /// Take the gates of `dbs` in name order, blocking this thread (as
    /// [`WriteGates::enter_one_blocking`]).
    pub fn enter_blocking(&self, dbs: &BTreeSet<String>) -> Vec<GateGuard> {
        dbs.iter().map(|db| self.enter_one_blocking(db)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_waits_for_the_holder_and_other_databases_do_not() {
        let gates = WriteGates::default();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let held = rt.block_on(gates.enter("a"));
        // Another database is free.
        let other = gates.enter_blocking(&BTreeSet::from(["b".to_string()]));
        drop(other);
        let g2 = gates.clone();
        let waiter = std::thread::spawn(move || {
            let guards = g2.enter_blocking(&BTreeSet::from(["a".to_string()]));
            guards.len()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "the engine side must wait while a session holds the gate");
        drop(held);
        assert_eq!(waiter.join().unwrap(), 1);
    }
}
