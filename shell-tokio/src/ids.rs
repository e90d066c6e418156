//! Auto-increment ids that are unique across the cluster without coordination.
//!
//! Compact mode (default, `[mysql] auto_id_mode = "compact"`): milliseconds since
//! 2025-01-02 in the high bits, then 6 bits of node id, then a 6-bit sequence — under
//! 2^53, so JavaScript clients read them exactly. Extended mode: 64-bit, milliseconds
//! since the same epoch << 22 | node (10 bits) << 12 | sequence (12 bits).
//! Ids from one node are strictly increasing; when a millisecond's sequence runs out the
//! generator borrows the next millisecond.

use std::sync::Mutex;

/// 2025-01-02T00:00:00Z in ms since the Unix epoch.
pub const ID_EPOCH_MS: u64 = 1_735_776_000_000;

/// Which id layout to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdMode {
    /// 53-bit (JavaScript-safe).
    Compact,
    /// 64-bit.
    Extended,
}

/// A per-node id generator, shared by all sessions.
#[derive(Debug)]
pub struct IdGenerator {
    mode: IdMode,
    node: u64,
    state: Mutex<(u64, u64)>,
    /// The first id issued since [`IdGenerator::take_first_issued`] last ran: what a
    /// statement generated, for LAST_INSERT_ID() (which explicit keys leave alone).
    first_issued: Mutex<Option<i64>>,
}

impl IdGenerator {
    /// A generator for `node`.
    pub fn new(mode: IdMode, node: u64) -> Self {
        IdGenerator { mode, node, state: Mutex::new((0, 0)), first_issued: Mutex::new(None) }
    }

    /// The next id at wall time `now_ms`.
    pub fn next(&self, now_ms: u64) -> i64 {
        let (node_bits, seq_bits) = match self.mode {
            IdMode::Compact => (6, 6),
            IdMode::Extended => (10, 12),
        };
        let max_seq = (1u64 << seq_bits) - 1;
        let mut st = self.state.lock().expect("id generator lock");
        let ms = now_ms.saturating_sub(ID_EPOCH_MS).max(st.0);
        if ms == st.0 {
            if st.1 >= max_seq {
                st.0 += 1;
                st.1 = 0;
            } else {
                st.1 += 1;
            }
        } else {
            *st = (ms, 0);
        }
        let node = self.node & ((1 << node_bits) - 1);
        let id = ((st.0 << (node_bits + seq_bits)) | (node << seq_bits) | st.1) as i64;
        self.first_issued.lock().expect("id generator lock").get_or_insert(id);
        id
    }

    /// The first id issued since the last call (`None`: none was), forgetting it. Writes
    /// run one at a time on the engine thread, so called around one statement it tells the
    /// ids that statement generated.
    pub fn take_first_issued(&self) -> Option<i64> {
        self.first_issued.lock().expect("id generator lock").take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_stay_under_2_pow_53_and_carry_the_node() {
        let g = IdGenerator::new(IdMode::Compact, 5);
        let now = ID_EPOCH_MS + 10 * 365 * 86_400_000;
        let mut prev = 0;
        for _ in 0..500 {
            let id = g.next(now);
            assert!(id > prev && id < (1 << 53));
            assert_eq!((id >> 6) & 63, 5);
            prev = id;
        }
        assert!(g.take_first_issued().is_some_and(|first| first < prev));
        assert_eq!(g.take_first_issued(), None, "taken");
        // A clock step backwards never yields a smaller id.
        assert!(g.next(now - 5000) > prev);
        let other = IdGenerator::new(IdMode::Compact, 6);
        assert_ne!(other.next(now), IdGenerator::new(IdMode::Compact, 5).next(now));
    }
}
