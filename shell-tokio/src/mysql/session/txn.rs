//! A session's transaction: none, or one open with what it has done so far. One value
//! instead of flags and lists that had to be kept in step (an open flag, pending changes,
//! savepoints, rows read FOR UPDATE, a start time, a drain token).

use std::collections::BTreeMap;

use marmot_core::RowChange;

use crate::drain::Busy;
use crate::mysql::row_locks::RowId;

/// A session's transaction.
#[derive(Default)]
pub(super) enum TxState {
    /// None open: with autocommit each statement commits on its own; without it, the next
    /// write, locking read or SAVEPOINT opens one.
    #[default]
    Idle,
    /// Open since BEGIN, or since a write with autocommit off.
    Open(OpenTxn),
}

/// What an open transaction has done.
#[derive(Default)]
pub(super) struct OpenTxn {
    /// Wall time it started (for serialization-failure detection).
    pub(super) started_ms: u64,
    /// Its captured changes, one per row: replicated as one transaction at COMMIT.
    pub(super) pending: Vec<RowChange>,
    /// Its savepoints: name and the pending changes at that point.
    pub(super) savepoints: Vec<(String, Vec<RowChange>)>,
    /// Rows it read with `FOR UPDATE`, as checks of the rows as read (see
    /// `mysql::locking_read`): a later write of one was based on that read, and one it
    /// does not write is committed as the check.
    pub(super) locked_reads: BTreeMap<RowId, RowChange>,
    /// Counts it as work in flight, which a drain waits for.
    pub(super) busy: Option<Busy>,
}

impl TxState {
    /// Whether a transaction is open.
    pub(super) fn is_open(&self) -> bool {
        matches!(self, TxState::Open(_))
    }

    /// The open transaction, opened now (`now_ms`) if none is.
    pub(super) fn open(&mut self, now_ms: u64) -> &mut OpenTxn {
        if let TxState::Idle = self {
            *self = TxState::Open(OpenTxn { started_ms: now_ms, ..Default::default() });
        }
        match self {
            TxState::Open(t) => t,
            TxState::Idle => unreachable!("opened above"),
        }
    }

    /// The open transaction, if any.
    pub(super) fn get(&self) -> Option<&OpenTxn> {
        match self {
            TxState::Open(t) => Some(t),
            TxState::Idle => None,
        }
    }

    /// The open transaction, if any, to change.
    pub(super) fn get_mut(&mut self) -> Option<&mut OpenTxn> {
        match self {
            TxState::Open(t) => Some(t),
            TxState::Idle => None,
        }
    }

    /// End the transaction: what it had done (none if none was open).
    pub(super) fn end(&mut self) -> Option<OpenTxn> {
        match std::mem::take(self) {
            TxState::Open(t) => Some(t),
            TxState::Idle => None,
        }
    }

    /// Its pending changes (none when idle).
    pub(super) fn pending(&self) -> &[RowChange] {
        self.get().map_or(&[], |t| &t.pending)
    }
}
