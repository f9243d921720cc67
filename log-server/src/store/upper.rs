//! The tree's upper levels kept in memory: every stored node hash at level
//! [`FIRST_LEVEL`] or above. An inclusion or consistency proof needs about
//! one node per level, so with these in memory only the lowest few levels
//! of a proof are read from the database. At 32 bytes a node this costs
//! about one byte per leaf (64 MiB for a log of 64 million entries).
//!
//! Stored hashes never change, so a copy is never stale; it can only be
//! incomplete, and [`UpperLevels::get`] then says `None` and the caller
//! reads the database. Levels grow only from durably written nodes.

use std::sync::RwLock;

use gatelog_core::{Hash, NodeId, TreeSize};

/// The lowest level kept (subtrees of 64 leaves).
pub const FIRST_LEVEL: u8 = 6;

/// Node hashes of levels `FIRST_LEVEL..`, each level from index 0 without
/// gaps.
#[derive(Default, Debug)]
pub struct UpperLevels {
    levels: RwLock<Vec<Vec<Hash>>>,
}

/// The node ranges a tree of `size` has beyond `have` nodes per level:
/// `(level, first index, end index)` for every kept level that grows.
pub fn missing(size: TreeSize, have: &[usize]) -> Vec<(u8, u64, u64)> {
    (FIRST_LEVEL..64)
        .map(|level| {
            let want = size.0 >> level;
            let got = have
                .get(usize::from(level - FIRST_LEVEL))
                .map_or(0, |n| *n as u64);
            (level, got, want)
        })
        .take_while(|(_, _, want)| *want > 0)
        .filter(|(_, got, want)| got < want)
        .collect()
}

impl UpperLevels {
    /// The hash of `id`, if it is kept.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let level = id.level.checked_sub(FIRST_LEVEL)?;
        let levels = self.levels.read().unwrap_or_else(|e| e.into_inner());
        levels
            .get(usize::from(level))?
            .get(usize::try_from(id.index).ok()?)
            .copied()
    }

    /// How many nodes each kept level holds.
    pub fn lengths(&self) -> Vec<usize> {
        let levels = self.levels.read().unwrap_or_else(|e| e.into_inner());
        levels.iter().map(Vec::len).collect()
    }

    /// Appends `hashes` to `level`, whose next index must be `first`;
    /// anything else is ignored (the nodes stay readable from the database).
    pub fn extend(&self, level: u8, first: u64, hashes: &[Hash]) {
        let Some(slot) = level.checked_sub(FIRST_LEVEL).map(usize::from) else {
            return;
        };
        let mut levels = self.levels.write().unwrap_or_else(|e| e.into_inner());
        if levels.len() <= slot {
            levels.resize_with(slot + 1, Vec::new);
        }
        if levels[slot].len() as u64 == first {
            levels[slot].extend_from_slice(hashes);
        }
    }

    /// Takes the nodes of levels it keeps from a durable write, when they
    /// continue each level; returns the ranges still missing for a tree of
    /// `size`, for the caller to read from the database.
    pub fn absorb(&self, size: TreeSize, nodes: &[(NodeId, Hash)]) -> Vec<(u8, u64, u64)> {
        let mut gaps = Vec::new();
        for (level, first, end) in missing(size, &self.lengths()) {
            let mut run: Vec<(u64, Hash)> = nodes
                .iter()
                .filter(|(id, _)| id.level == level && id.index >= first && id.index < end)
                .map(|(id, h)| (id.index, *h))
                .collect();
            run.sort_unstable_by_key(|(i, _)| *i);
            let contiguous = run.len() as u64 == end - first
                && run.iter().zip(first..).all(|((i, _), want)| *i == want);
            if contiguous {
                let hashes: Vec<Hash> = run.into_iter().map(|(_, h)| h).collect();
                self.extend(level, first, &hashes);
            } else {
                gaps.push((level, first, end));
            }
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(level: u8, index: u64) -> Hash {
        Hash::sha256(&[&[level][..], &index.to_be_bytes()].concat())
    }

    fn node(level: u8, index: u64) -> (NodeId, Hash) {
        (NodeId { level, index }, h(level, index))
    }

    #[test]
    fn keeps_whole_levels_from_index_zero() {
        let u = UpperLevels::default();
        // 128 leaves: two nodes at level 6, one at level 7.
        let nodes = [node(0, 5), node(6, 0), node(6, 1), node(7, 0)];
        assert!(u.absorb(TreeSize(128), &nodes).is_empty());
        assert_eq!(u.get(NodeId { level: 6, index: 1 }), Some(h(6, 1)));
        assert_eq!(u.get(NodeId { level: 7, index: 0 }), Some(h(7, 0)));
        // Lower levels and nodes not yet written are not kept.
        assert_eq!(u.get(NodeId { level: 0, index: 5 }), None);
        assert_eq!(u.get(NodeId { level: 6, index: 2 }), None);
        assert_eq!(u.lengths(), vec![2, 1]);
    }

    #[test]
    fn a_missed_write_leaves_a_gap_for_the_database() {
        let u = UpperLevels::default();
        assert!(u.absorb(TreeSize(64), &[node(6, 0)]).is_empty());
        // A write of nodes 1 and 2 was not seen; the next brings node 3.
        let gaps = u.absorb(TreeSize(256), &[node(6, 3), node(7, 1), node(8, 0)]);
        assert_eq!(gaps, vec![(6, 1, 4), (7, 0, 2)]);
        // Level 8 starts at 0 and is complete.
        assert_eq!(u.get(NodeId { level: 8, index: 0 }), Some(h(8, 0)));
        assert_eq!(u.get(NodeId { level: 6, index: 3 }), None);
        // The caller fills the gap from the database.
        u.extend(6, 1, &[h(6, 1), h(6, 2), h(6, 3)]);
        assert_eq!(u.get(NodeId { level: 6, index: 3 }), Some(h(6, 3)));
        // Out of order appends are ignored.
        u.extend(7, 1, &[h(7, 1)]);
        assert_eq!(u.get(NodeId { level: 7, index: 1 }), None);
    }

    #[test]
    fn missing_ranges_follow_the_tree_size() {
        assert!(missing(TreeSize(63), &[]).is_empty());
        assert_eq!(missing(TreeSize(64), &[]), vec![(6, 0, 1)]);
        assert_eq!(
            missing(TreeSize(300), &[2]),
            vec![(6, 2, 4), (7, 0, 2), (8, 0, 1)]
        );
    }
}
