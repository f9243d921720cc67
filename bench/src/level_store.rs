//! Every complete subtree hash of a tree, in one flat vector per level.
//!
//! Level `k` holds the hashes of the `⌊n / 2^k⌋` complete subtrees of
//! `2^k` leaves, in order, which are exactly the nodes a gatelog store
//! holds. At 100 M leaves that is ~200 M hashes (6.4 GB): flat vectors keep
//! it at 32 bytes a hash and make every read one index, so proof building
//! is measured without a map's overhead.

use std::fmt;

use gatelog_core::{
    Hash, HashReader, LeafIndex, NodeId, ProofError, TreeHead, TreeSize, leaf_hash,
};
use gatelog_core::{hash::HASH_SIZE, node_hash};
use rayon::prelude::*;

/// The synthetic leaf hash of leaf `i`: the RFC 6962 leaf hash of `i` as
/// 8 little-endian bytes. A peer that hashes its own leaves is given those
/// 8 bytes and builds the same tree.
pub fn synthetic_leaf(i: u64) -> Hash {
    leaf_hash(&i.to_le_bytes())
}

/// An in-memory store of every complete subtree.
pub struct LevelStore {
    levels: Vec<Vec<Hash>>,
}

/// A read the store cannot answer.
#[derive(Debug)]
pub enum ReadError {
    /// The proof itself is impossible (index or sizes out of range).
    Proof(ProofError),
    /// The node is not a complete subtree of the stored tree.
    Missing(NodeId),
}

impl From<ProofError> for ReadError {
    fn from(e: ProofError) -> ReadError {
        ReadError::Proof(e)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Proof(e) => write!(f, "{e}"),
            ReadError::Missing(id) => {
                write!(f, "node {}/{} is not stored", id.level, id.index)
            }
        }
    }
}

impl std::error::Error for ReadError {}

impl LevelStore {
    /// Builds every level above `leaves` (leaf hashes), each level in
    /// parallel.
    pub fn from_leaves(leaves: Vec<Hash>) -> LevelStore {
        let mut levels = vec![leaves];
        loop {
            let below = levels.last().expect("level 0 is there");
            if below.len() < 2 {
                break;
            }
            let next: Vec<Hash> = below
                .par_chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(next);
        }
        LevelStore { levels }
    }

    /// The tree of `n` [`synthetic_leaf`]s, hashed in parallel.
    pub fn synthetic(n: u64) -> LevelStore {
        let leaves: Vec<Hash> = (0..n).into_par_iter().map(synthetic_leaf).collect();
        LevelStore::from_leaves(leaves)
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.levels[0].len() as u64)
    }

    /// The tree head (size and root) of the first `size` leaves.
    pub fn head_at(&self, size: TreeSize) -> TreeHead {
        let root = self
            .root(size)
            .expect("every size up to the stored one has a root");
        TreeHead { size, root }
    }

    /// The tree head of the whole stored tree.
    pub fn head(&self) -> TreeHead {
        self.head_at(self.size())
    }

    /// The leaf hash of `index`.
    pub fn leaf(&self, index: LeafIndex) -> Option<Hash> {
        self.levels[0].get(index.0 as usize).copied()
    }

    /// Bytes of hashes held (what the store costs in memory).
    pub fn hash_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.len() * HASH_SIZE).sum()
    }
}

impl HashReader for LevelStore {
    type Error = ReadError;

    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, ReadError> {
        nodes
            .iter()
            .map(|id| {
                self.levels
                    .get(id.level as usize)
                    .and_then(|level| level.get(id.index as usize))
                    .copied()
                    .ok_or(ReadError::Missing(*id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::CompactRange;
    use gatelog_core::merkle::{verify_consistency, verify_inclusion};

    fn compact_root(n: u64) -> Hash {
        let mut range = CompactRange::new();
        for i in 0..n {
            range.append(synthetic_leaf(i));
        }
        range.root()
    }

    #[test]
    fn roots_match_the_compact_range_at_every_size() {
        let store = LevelStore::synthetic(70);
        for n in 1..=70 {
            assert_eq!(store.head_at(TreeSize(n)).root, compact_root(n), "size {n}");
        }
        assert_eq!(store.hash_bytes(), (70 + 35 + 17 + 8 + 4 + 2 + 1) * 32);
    }

    #[test]
    fn proofs_verify_and_a_wrong_leaf_does_not() {
        let store = LevelStore::synthetic(1000);
        let head = store.head();
        for i in [0, 1, 511, 512, 999] {
            let proof = store.inclusion_proof(LeafIndex(i), head.size).unwrap();
            verify_inclusion(&synthetic_leaf(i), &proof, &head).unwrap();
            assert!(verify_inclusion(&synthetic_leaf(i + 1), &proof, &head).is_err());
        }
        for old in [1, 2, 333, 512, 999] {
            let old_head = store.head_at(TreeSize(old));
            let proof = store.consistency_proof(TreeSize(old), head.size).unwrap();
            verify_consistency(&old_head, &head, &proof).unwrap();
        }
    }

    #[test]
    fn reads_beyond_the_tree_are_refused() {
        let store = LevelStore::synthetic(5);
        assert!(matches!(
            store.read_hashes(&[NodeId::new(1, 2)]),
            Err(ReadError::Missing(_))
        ));
        assert!(matches!(
            store.inclusion_proof(LeafIndex(5), TreeSize(5)),
            Err(ReadError::Proof(_))
        ));
    }
}
