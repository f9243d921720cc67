//! Errors of the Merkle math. Other areas keep their own error enums next to
//! their code; evidence of log misbehaviour lives in [`crate::evidence`].

use crate::hash::Hash;
use crate::tree::{LeafIndex, TreeSize};

/// Why a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: LeafIndex,
        /// Tree size.
        size: TreeSize,
    },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder {
        /// Older size.
        old: TreeSize,
        /// Newer size.
        new: TreeSize,
    },
    /// The number of stored hashes handed to a proof builder is wrong.
    #[error("expected {expected} stored hashes, got {got}")]
    WrongHashCount {
        /// What the builder needed.
        expected: usize,
        /// What it was given.
        got: usize,
    },
    /// The proof is for another tree size than the tree head it is checked against.
    #[error("proof is for tree size {proof}, tree head has size {head}")]
    SizeMismatch {
        /// Size named by the proof.
        proof: TreeSize,
        /// Size of the tree head.
        head: TreeSize,
    },
    /// The proof has too many or too few hashes for its sizes.
    #[error("proof has the wrong number of hashes for its tree sizes")]
    WrongPathLength,
    /// The leaf indexes of a multi-leaf proof are not strictly ascending.
    #[error("leaf indexes must be strictly ascending, {index} is not")]
    IndexesNotAscending {
        /// The first index out of order.
        index: LeafIndex,
    },
    /// The proof is well-formed but leads to another root.
    #[error("proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// Root the proof computes.
        computed: Hash,
        /// Root of the tree head.
        expected: Hash,
    },
}
