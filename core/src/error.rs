//! Errors a write can end with, with the MySQL error each maps to.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a client write did not commit (or could not be confirmed).
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum WriteError {
    /// Another live transaction holds an intent on a row this one writes.
    #[error("Deadlock found when trying to get lock; try restarting transaction")]
    Conflict,
    /// Too few nodes acknowledged PREPARE before the timeout.
    #[error("not enough acknowledgements to commit: got {got}, needed {needed} ({consistency})")]
    NotEnoughAcks {
        /// Acks received.
        got: usize,
        /// Acks required by the consistency level.
        needed: usize,
        /// The consistency level asked for.
        consistency: String,
    },
    /// Staged here and sent, but neither enough copies nor enough refusals came back in
    /// time: the outcome is decided later, from what the members hold
    /// ([`crate::voting`]) — it may still commit.
    #[error(
        "transaction outcome not known yet: {staged} of {needed} copies staged and {refused} refused in time; \
         it is decided once the silent members answer"
    )]
    InDoubt {
        /// Copies staged in time (this node's among them).
        staged: usize,
        /// Members that refused it in time (conflicts).
        refused: usize,
        /// Copies the consistency level asks for.
        needed: usize,
    },
    /// The commit was decided but too few nodes confirmed it durably in time.
    #[error("transaction committed but only {got} of {needed} nodes confirmed it in time")]
    CommitUnconfirmed {
        /// Commit acks received.
        got: usize,
        /// Acks required.
        needed: usize,
    },
    /// The local store failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// This node has been removed from the cluster.
    #[error("this node has been removed from the cluster")]
    Removed,
    /// This node is still catching up (JOINING): its view of the cluster may be partial,
    /// so it coordinates no writes yet.
    #[error("this node is still joining the cluster (catching up); retry shortly or use another node")]
    Joining,
    /// This node is a read-only replica: writes go to the cluster it follows.
    #[error("The MySQL server is running with the --read-only option so it cannot execute this statement (node {node} is a read-only marmot replica; write to the cluster it follows)")]
    ReadOnly {
        /// The replica's node id.
        node: u64,
    },
    /// The transaction has no row changes.
    #[error("empty transaction")]
    Empty,
}

impl WriteError {
    /// The MySQL error number and SQLSTATE a client sees.
    pub fn mysql_code(&self) -> (u16, &'static str) {
        match self {
            WriteError::Conflict => (1213, "40001"),
            WriteError::NotEnoughAcks { .. } | WriteError::CommitUnconfirmed { .. } | WriteError::InDoubt { .. } => {
                (1105, "HY000")
            }
            WriteError::Storage(_) => (1105, "HY000"),
            WriteError::Removed | WriteError::ReadOnly { .. } => (1290, "HY000"),
            WriteError::Joining => (1105, "HY000"),
            WriteError::Empty => (1105, "HY000"),
        }
    }
}
