//! A compact range (Merkle frontier): the hashes of the complete subtrees
//! that make up a tree, one per set bit of its size. It is all a sequencer
//! needs to append leaves and all a follower needs to recompute the root of
//! a log it downloads in order.

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::merkle::{root_from_nodes, root_nodes};
use crate::tree::{NodeId, TreeHead, TreeSize};

/// The right edge of a Merkle tree: enough to append and to compute roots.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CompactRange {
    size: TreeSize,
    /// Hashes of [`root_nodes`]`(size)`, left (largest) to right.
    nodes: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// Restores a range from the stored hashes of [`root_nodes`]`(size)`.
    pub fn from_nodes(size: TreeSize, hashes: Vec<Hash>) -> Result<CompactRange, ProofError> {
        let expected = size.0.count_ones() as usize;
        if hashes.len() != expected {
            return Err(ProofError::WrongHashCount {
                expected,
                got: hashes.len(),
            });
        }
        Ok(CompactRange {
            size,
            nodes: hashes,
        })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The node ids of the hashes this range holds.
    pub fn node_ids(&self) -> Vec<NodeId> {
        root_nodes(self.size)
    }

    /// The hashes this range holds, left to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The RFC 6962 root of the tree so far.
    pub fn root(&self) -> Hash {
        root_from_nodes(self.size, &self.nodes)
            .expect("a compact range always has one hash per set bit")
    }

    /// The current tree head.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.size,
            root: self.root(),
        }
    }

    /// Appends a leaf hash and returns every complete subtree it completes,
    /// starting with the leaf itself: exactly the hashes a log must store.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size.0;
        let mut created = vec![(NodeId::new(0, index), leaf_hash)];
        let mut hash = leaf_hash;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a left sibling waiting
        // for this leaf's subtree.
        while (index >> level) & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit");
            hash = node_hash(&left, &hash);
            level += 1;
            created.push((NodeId::new(level, index >> level), hash));
        }
        self.nodes.push(hash);
        self.size = TreeSize(index + 1);
        created
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::root_of_leaf_hashes;

    #[test]
    fn appends_match_the_reference_root_and_store_every_complete_subtree() {
        let mut range = CompactRange::new();
        let mut leaves = Vec::new();
        let mut stored = 0usize;
        for i in 0..300u32 {
            let h = leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            let created = range.append(h);
            // A leaf completes one node per trailing one bit of its index, plus itself.
            assert_eq!(created.len(), 1 + i.trailing_ones() as usize);
            assert_eq!(created[0], (NodeId::new(0, u64::from(i)), h));
            stored += created.len();
            assert_eq!(range.root(), root_of_leaf_hashes(&leaves));
        }
        // A perfect binary tree over n leaves stores 2n-1 nodes; 300 leaves
        // store one per complete subtree, counted directly.
        let expected: usize = (0..9).map(|l| 300usize >> l).sum();
        assert_eq!(stored, expected);
    }

    #[test]
    fn from_nodes_rejects_wrong_counts_and_resumes() {
        let mut a = CompactRange::new();
        for i in 0..13u8 {
            a.append(leaf_hash(&[i]));
        }
        assert!(CompactRange::from_nodes(TreeSize(13), vec![]).is_err());
        let mut b = CompactRange::from_nodes(a.size(), a.hashes().to_vec()).unwrap();
        a.append(leaf_hash(b"next"));
        b.append(leaf_hash(b"next"));
        assert_eq!(a, b);
        assert_eq!(CompactRange::new().root(), Hash::empty_tree());
    }
}
