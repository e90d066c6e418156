//! Row locks of this node's open transactions, as InnoDB holds them.
//!
//! A statement runs on the database's writer against the rows as they are, and its row
//! changes are only replicated when its transaction commits. Two sessions of one node
//! changing the same row would therefore both work from the same old row; under
//! first-committer-wins the second would get 1213 at commit, after all its work. So a
//! session takes a lock on every row a statement changed, and holds it until its
//! transaction ends; a session whose statement changed a row another open transaction
//! holds waits for that transaction to end and then runs the statement again, on the row
//! that transaction left — what InnoDB's row locks give a MySQL application. A wait that
//! would close a cycle is a deadlock (1213); a wait past `lock_wait_timeout_seconds` is
//! 1205. Conflicts with other nodes' transactions are settled at PREPARE instead
//! (first-committer-wins, see the core's `lww::read_is_stale`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use marmot_core::RowChange;
use tokio::sync::Notify;

/// Who holds a lock: a connection id (one open transaction per connection).
pub type Owner = u32;

/// (database, table, key bytes).
pub type RowId = (String, String, Vec<u8>);

/// The row `change` touches.
pub fn row_id(change: &RowChange) -> RowId {
    (change.database.clone(), change.table.clone(), change.key.0.clone())
}

/// The rows `changes` touch.
pub fn row_ids(changes: &[RowChange]) -> Vec<RowId> {
    changes.iter().map(row_id).collect()
}

/// Why a lock could not be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockError {
    /// Waiting would close a cycle of waiting transactions.
    Deadlock,
    /// The holder did not finish within the lock wait.
    Timeout,
}

#[derive(Default)]
struct Table {
    holder: BTreeMap<RowId, Owner>,
    held: BTreeMap<Owner, Vec<RowId>>,
    /// Which transaction each waiting one waits for.
    waits_for: BTreeMap<Owner, Owner>,
}

/// The lock table shared by every session of a node.
#[derive(Default)]
pub struct RowLocks {
    table: Mutex<Table>,
    released: Notify,
}

impl RowLocks {
    /// Lock every row of `rows` for `owner`, or name the transaction holding one of them
    /// (nothing is locked then).
    pub fn try_lock(&self, owner: Owner, rows: &[RowId]) -> Result<(), Owner> {
        let mut t = self.table.lock().expect("row lock table");
        if let Some(other) = rows.iter().filter_map(|id| t.holder.get(id)).find(|h| **h != owner) {
            return Err(*other);
        }
        for id in rows {
            if t.holder.insert(id.clone(), owner).is_none() {
                t.held.entry(owner).or_default().push(id.clone());
            }
        }
        Ok(())
    }

    /// Wait until `holder` may have let go of `rows` (any release wakes
    /// every waiter, who then runs its statement again), or fail if waiting would
    /// deadlock or pass `deadline`.
    pub async fn wait_for(
        &self,
        owner: Owner,
        holder: Owner,
        rows: &[RowId],
        deadline: Instant,
    ) -> Result<(), LockError> {
        // Registered before the check, so a release in between is not missed.
        let released = self.released.notified();
        {
            let mut t = self.table.lock().expect("row lock table");
            let mut next = Some(holder);
            let mut steps = 0;
            while let Some(h) = next {
                if h == owner {
                    return Err(LockError::Deadlock);
                }
                steps += 1;
                if steps > t.waits_for.len() + 1 {
                    break;
                }
                next = t.waits_for.get(&h).copied();
            }
            let still_held = rows.iter().any(|id| t.holder.get(id) == Some(&holder));
            if !still_held {
                return Ok(()); // released meanwhile (the holder may hold other rows by now)
            }
            t.waits_for.insert(owner, holder);
        }
        let timed_out = tokio::time::timeout_at(deadline.into(), released).await.is_err();
        self.table.lock().expect("row lock table").waits_for.remove(&owner);
        if timed_out {
            Err(LockError::Timeout)
        } else {
            Ok(())
        }
    }

    /// Release everything `owner` holds (its transaction ended) and wake the waiters.
    pub fn release(&self, owner: Owner) {
        let mut t = self.table.lock().expect("row lock table");
        t.waits_for.remove(&owner);
        // Its waiters wait for it no longer (they are woken below): a stale edge could
        // make the next wait of `owner` look like a cycle.
        t.waits_for.retain(|_, holder| *holder != owner);
        let Some(ids) = t.held.remove(&owner) else { return };
        for id in ids {
            if t.holder.get(&id) == Some(&owner) {
                t.holder.remove(&id);
            }
        }
        drop(t);
        self.released.notify_waiters();
    }

    /// Rows locked right now (for tests and metrics).
    pub fn locked_rows(&self) -> usize {
        self.table.lock().expect("row lock table").holder.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(key: u8) -> RowId {
        ("d".into(), "t".into(), vec![key])
    }

    #[tokio::test]
    async fn a_second_writer_waits_for_the_first_and_a_cycle_is_a_deadlock() {
        let locks = std::sync::Arc::new(RowLocks::default());
        assert_eq!(locks.try_lock(1, &[row(1)]), Ok(()));
        assert_eq!(locks.try_lock(1, &[row(1), row(2)]), Ok(()), "a holder may lock its rows again");
        assert_eq!(locks.try_lock(2, &[row(3), row(2)]), Err(1));
        assert_eq!(locks.locked_rows(), 2, "a refused request locks nothing");
        // 2 waits for 1; 1 then waiting for 2 would close the cycle.
        assert_eq!(locks.try_lock(2, &[row(3)]), Ok(()));
        let (l, far) = (locks.clone(), Instant::now() + Duration::from_secs(5));
        let waiter = tokio::spawn(async move { l.wait_for(2, 1, &[row(2)], far).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(locks.wait_for(1, 2, &[row(3)], far).await, Err(LockError::Deadlock));
        locks.release(1);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(locks.try_lock(2, &[row(1)]), Ok(()));
        // Nobody releases: the wait ends at the deadline.
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(locks.wait_for(3, 2, &[row(1)], soon).await, Err(LockError::Timeout));
        // A row its holder no longer holds is no reason to wait.
        assert_eq!(locks.wait_for(3, 2, &[row(9)], soon).await, Ok(()));
        locks.release(2);
        assert_eq!(locks.locked_rows(), 0);
    }
}
