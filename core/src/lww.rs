//! Last-write-wins versions.
//!
//! Every row carries the version of the transaction that last wrote it: the transaction's
//! HLC id, whose order already ends with the origin node id, so equal HLC readings are
//! broken by the higher node id. A change applies only if its version is strictly newer
//! than the row's current version; a delete leaves a tombstone version so an older insert
//! cannot resurrect the row. The result depends only on the set of changes, never on the
//! order they arrive in.

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;

/// The version of a row: the writing transaction's HLC (which carries the origin node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version(pub Hlc);

/// Whether a change at version `incoming` replaces a row currently at `existing`
/// (`None`: the row has never been written).
pub fn should_apply(existing: Option<Version>, incoming: Version) -> bool {
    match existing {
        None => true,
        Some(cur) => incoming > cur,
    }
}

/// Under first-committer-wins, whether a transaction `incoming` that read a row at
/// `read` must not commit over the row now at `current`: someone changed the row since
/// the read, or the row holds a version LWW would keep over `incoming` (its commit
/// would be silently dropped).
pub fn read_is_stale(current: Option<Version>, read: Option<Version>, incoming: Version) -> bool {
    current > read || !should_apply(current, incoming)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A model replica: key -> (version, Some(value) or None for a tombstone).
    fn apply_all(changes: &[(u8, Version, Option<u32>)]) -> BTreeMap<u8, (Version, Option<u32>)> {
        let mut rows: BTreeMap<u8, (Version, Option<u32>)> = BTreeMap::new();
        for (key, ver, val) in changes {
            if should_apply(rows.get(key).map(|r| r.0), *ver) {
                rows.insert(*key, (*ver, *val));
            }
        }
        rows
    }

    fn arb_change() -> impl Strategy<Value = (u8, Version, Option<u32>)> {
        (0u8..4, 0u64..6, 0u32..3, 1u64..4, proptest::option::of(0u32..100)).prop_map(|(k, w, l, n, v)| {
            // The same version always carries the same value: one transaction, one image.
            let val = v.map(|x| x + (w as u32) * 1000 + l * 100 + n as u32 * 10);
            (k, Version(Hlc { wall: w, logical: l, node: n }), val)
        })
    }

    proptest! {
        #[test]
        fn merge_is_independent_of_arrival_order(changes in proptest::collection::vec(arb_change(), 0..40), seed in any::<u64>()) {
            // Make same-version changes consistent (one version = one write).
            let mut seen: BTreeMap<(u8, Version), Option<u32>> = BTreeMap::new();
            let changes: Vec<_> = changes.into_iter().map(|(k, v, val)| {
                let val = *seen.entry((k, v)).or_insert(val);
                (k, v, val)
            }).collect();
            let mut shuffled = changes.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(apply_all(&changes), apply_all(&shuffled));
        }

        #[test]
        fn survivor_is_the_maximum_version(changes in proptest::collection::vec(arb_change(), 1..40)) {
            let rows = apply_all(&changes);
            for (key, (ver, _)) in rows {
                let max = changes.iter().filter(|c| c.0 == key).map(|c| c.1).max().unwrap();
                prop_assert_eq!(ver, max);
            }
        }
    }

    #[test]
    fn a_row_changed_since_the_read_is_stale() {
        let v = |wall| Version(Hlc { wall, logical: 0, node: 1 });
        // Unchanged since the read (or never written at all): commit.
        assert!(!read_is_stale(Some(v(5)), Some(v(5)), v(9)));
        assert!(!read_is_stale(None, None, v(9)));
        // A lagging participant holds an older version than the read: still fine.
        assert!(!read_is_stale(Some(v(3)), Some(v(5)), v(9)));
        assert!(!read_is_stale(None, Some(v(5)), v(9)));
        // Written (or first inserted) by someone else since the read: conflict.
        assert!(read_is_stale(Some(v(7)), Some(v(5)), v(9)));
        assert!(read_is_stale(Some(v(7)), None, v(9)));
        // A version LWW would keep over the incoming one: conflict, never a silent drop.
        assert!(read_is_stale(Some(v(12)), Some(v(12)), v(9)));
    }

    #[test]
    fn tombstone_blocks_older_insert() {
        let old = Version(Hlc { wall: 1, logical: 0, node: 1 });
        let del = Version(Hlc { wall: 2, logical: 0, node: 1 });
        assert!(!should_apply(Some(del), old));
    }

    #[test]
    fn equal_wall_and_logical_higher_node_wins() {
        let a = Version(Hlc { wall: 5, logical: 0, node: 1 });
        let b = Version(Hlc { wall: 5, logical: 0, node: 2 });
        assert!(should_apply(Some(a), b));
        assert!(!should_apply(Some(b), a));
    }
}
