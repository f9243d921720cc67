//! Positions in the tree: leaf indexes, tree sizes, node coordinates and
//! tree heads. Newtypes keep a size from being passed where an index is
//! expected.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::Hash;

/// The zero-based index of a leaf in the log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeafIndex(pub u64);

/// The number of leaves in a tree.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TreeSize(pub u64);

impl LeafIndex {
    /// The tree size at which this leaf is the last one.
    pub fn tree_size_including(self) -> TreeSize {
        TreeSize(self.0 + 1)
    }
}

impl TreeSize {
    /// Whether `index` is a leaf of a tree of this size.
    pub fn contains(self, index: LeafIndex) -> bool {
        index.0 < self.0
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A complete (perfect) subtree of the log: the `index`-th node at `level`,
/// covering leaves `[index·2^level, (index+1)·2^level)`. Level 0 nodes are
/// leaf hashes. These are the only hashes a log stores: every other hash
/// (the root of a tree whose size is not a power of two, the right-edge
/// nodes of a proof) is computed from them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf).
    pub level: u8,
    /// Position among the nodes of that level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The leaf hash node of `leaf`.
    pub const fn leaf(leaf: LeafIndex) -> NodeId {
        NodeId {
            level: 0,
            index: leaf.0,
        }
    }

    /// The first leaf the node covers.
    pub fn first_leaf(self) -> u64 {
        self.index << self.level
    }

    /// The tree size at which this node first exists (one past its last leaf).
    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// A tree size and its root hash: what a checkpoint commits to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: TreeSize,
    /// RFC 6962 root of those leaves.
    pub root: Hash,
}

impl TreeHead {
    /// The head of the empty tree.
    pub fn empty() -> TreeHead {
        TreeHead {
            size: TreeSize(0),
            root: Hash::empty_tree(),
        }
    }
}
