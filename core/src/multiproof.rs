//! Multi-leaf inclusion proofs: one proof that a sorted set of leaves is in
//! a tree, each hash a verifier cannot compute from the leaves sent once.
//!
//! The proof follows the RFC 6962 recursion `MTH(D[lo:hi])` from the root:
//! a range holding none of the leaves contributes its hash (in left-to-right
//! order), a single wanted leaf contributes nothing (the verifier hashes it),
//! any other range is split at the largest power of two below its length.
//! For one leaf it holds exactly the hashes of its RFC 9162 inclusion path
//! (ordered by position in the tree rather than by height).
//! As with single proofs, the store side is split in two: [`multiproof_nodes`]
//! names the stored complete subtrees, [`multiproof`] folds their hashes.
//!
//! ```
//! use gatelog_core::merkle::root_of_leaf_hashes;
//! use gatelog_core::multiproof::{multiproof, multiproof_nodes, root_from_multiproof};
//! use gatelog_core::{LeafIndex, TreeSize, leaf_hash};
//!
//! let leaves: Vec<_> = (0u8..13).map(|i| leaf_hash(&[i])).collect();
//! let size = TreeSize(13);
//! let wanted = [LeafIndex(1), LeafIndex(4), LeafIndex(5), LeafIndex(11)];
//! let stored: Vec<_> = multiproof_nodes(&wanted, size)?
//!     .iter()
//!     .map(|n| root_of_leaf_hashes(&leaves[n.first_leaf() as usize..n.end() as usize]))
//!     .collect();
//! let proof = multiproof(&wanted, size, &stored)?;
//! let sent: Vec<_> = wanted.iter().map(|i| (*i, leaves[i.0 as usize])).collect();
//! assert_eq!(root_from_multiproof(size, &sent, &proof)?, root_of_leaf_hashes(&leaves));
//! # Ok::<(), gatelog_core::ProofError>(())
//! ```

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::merkle::{Range, assemble, nodes_of, split_point};
use crate::tree::{LeafIndex, NodeId, TreeSize};

/// Checks that `indexes` are strictly ascending and inside the tree.
fn check_indexes(indexes: &[LeafIndex], size: TreeSize) -> Result<(), ProofError> {
    for pair in indexes.windows(2) {
        if pair[1] <= pair[0] {
            return Err(ProofError::IndexesNotAscending { index: pair[1] });
        }
    }
    match indexes.last() {
        Some(&last) if !size.contains(last) => {
            Err(ProofError::IndexOutOfRange { index: last, size })
        }
        _ => Ok(()),
    }
}

/// Walks `[lo, hi)` holding the wanted `leaves`, pushing the ranges that
/// hold none of them, left to right.
fn walk(lo: u64, hi: u64, leaves: &[LeafIndex], out: &mut Vec<Range>) {
    if leaves.is_empty() {
        out.push(Range { lo, hi });
        return;
    }
    if hi - lo == 1 {
        return;
    }
    let mid = lo + split_point(hi - lo);
    let at = leaves.partition_point(|i| i.0 < mid);
    walk(lo, mid, &leaves[..at], out);
    walk(mid, hi, &leaves[at..], out);
}

/// The ranges whose hashes the proof of `indexes` carries, in proof order.
/// No leaves: no proof (there is nothing to prove).
fn proof_ranges(indexes: &[LeafIndex], size: TreeSize) -> Result<Vec<Range>, ProofError> {
    check_indexes(indexes, size)?;
    let mut out = Vec::new();
    if !indexes.is_empty() {
        walk(0, size.0, indexes, &mut out);
    }
    Ok(out)
}

/// How many hashes the proof of `indexes` (strictly ascending) at `size` holds.
pub fn multiproof_len(indexes: &[LeafIndex], size: TreeSize) -> Result<usize, ProofError> {
    Ok(proof_ranges(indexes, size)?.len())
}

/// The stored complete subtrees the proof of `indexes` at `size` is built from.
pub fn multiproof_nodes(indexes: &[LeafIndex], size: TreeSize) -> Result<Vec<NodeId>, ProofError> {
    Ok(nodes_of(&proof_ranges(indexes, size)?))
}

/// Builds the proof from the hashes of [`multiproof_nodes`], in that order.
pub fn multiproof(
    indexes: &[LeafIndex],
    size: TreeSize,
    stored: &[Hash],
) -> Result<Vec<Hash>, ProofError> {
    assemble(&proof_ranges(indexes, size)?, stored)
}

/// What folding a proof gives: the root, and each leaf's own inclusion
/// path (leaf to root, as [`crate::merkle::verify_inclusion`] takes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The root the leaves and the proof lead to.
    pub root: Hash,
    /// The inclusion path of each leaf, in the order given.
    pub paths: Vec<Vec<Hash>>,
}

struct Fold<'a> {
    proof: std::slice::Iter<'a, Hash>,
    paths: Vec<Vec<Hash>>,
    want: usize,
}

impl Fold<'_> {
    /// `MTH(D[lo:hi])` from the leaves (`first` is the position of
    /// `leaves[0]` among all leaves) and the next proof hashes.
    fn hash(
        &mut self,
        lo: u64,
        hi: u64,
        leaves: &[(LeafIndex, Hash)],
        first: usize,
    ) -> Result<Hash, ProofError> {
        if leaves.is_empty() {
            return self
                .proof
                .next()
                .copied()
                .ok_or(ProofError::WrongHashCount {
                    expected: self.want + 1,
                    got: self.want,
                });
        }
        if hi - lo == 1 {
            return Ok(leaves[0].1);
        }
        let mid = lo + split_point(hi - lo);
        let at = leaves.partition_point(|(i, _)| i.0 < mid);
        let left = self.hash(lo, mid, &leaves[..at], first)?;
        let right = self.hash(mid, hi, &leaves[at..], first + at)?;
        for path in &mut self.paths[first..first + at] {
            path.push(right);
        }
        for path in &mut self.paths[first + at..first + leaves.len()] {
            path.push(left);
        }
        Ok(node_hash(&left, &right))
    }
}

/// Folds `leaves` (index and leaf hash, strictly ascending, at least one)
/// and `proof` into the root and each leaf's inclusion path. A proof of the
/// wrong length is an error; wrong hashes give another root.
pub fn fold_multiproof(
    size: TreeSize,
    leaves: &[(LeafIndex, Hash)],
    proof: &[Hash],
) -> Result<Folded, ProofError> {
    let indexes: Vec<LeafIndex> = leaves.iter().map(|(i, _)| *i).collect();
    let want = multiproof_len(&indexes, size)?;
    if indexes.is_empty() || proof.len() != want {
        return Err(ProofError::WrongHashCount {
            expected: want,
            got: proof.len(),
        });
    }
    let mut fold = Fold {
        proof: proof.iter(),
        paths: vec![Vec::new(); leaves.len()],
        want,
    };
    let root = fold.hash(0, size.0, leaves, 0)?;
    Ok(Folded {
        root,
        paths: fold.paths,
    })
}

/// The root `leaves` and `proof` lead to ([`fold_multiproof`] without the paths).
pub fn root_from_multiproof(
    size: TreeSize,
    leaves: &[(LeafIndex, Hash)],
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    Ok(fold_multiproof(size, leaves, proof)?.root)
}

/// Rebuilds the multi-leaf proof from each leaf's single inclusion path
/// (index and path, strictly ascending): each proof hash is taken from the
/// path of a leaf next to it. Paths of the wrong length are an error; wrong
/// hashes give a proof that leads to another root.
pub fn multiproof_from_paths(
    size: TreeSize,
    leaves: &[(LeafIndex, &[Hash])],
) -> Result<Vec<Hash>, ProofError> {
    let indexes: Vec<LeafIndex> = leaves.iter().map(|(i, _)| *i).collect();
    check_indexes(&indexes, size)?;
    for &(index, path) in leaves {
        if path.len() != depth(index, size) {
            return Err(ProofError::WrongPathLength);
        }
    }
    let mut out = Vec::new();
    if !leaves.is_empty() {
        from_paths(0, size.0, 0, leaves, &mut out);
    }
    Ok(out)
}

/// How many splits lie between the root and leaf `index`.
fn depth(index: LeafIndex, size: TreeSize) -> usize {
    let (mut lo, mut hi, mut d) = (0u64, size.0, 0);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index.0 < mid {
            hi = mid;
        } else {
            lo = mid;
        }
        d += 1;
    }
    d
}

/// [`walk`], taking each empty range's hash from a sibling leaf's path:
/// at depth `d` below the root, a path of length `len` holds the sibling
/// subtree at position `len - 1 - d`.
fn from_paths(lo: u64, hi: u64, d: usize, leaves: &[(LeafIndex, &[Hash])], out: &mut Vec<Hash>) {
    if hi - lo == 1 {
        return;
    }
    let mid = lo + split_point(hi - lo);
    let at = leaves.partition_point(|(i, _)| i.0 < mid);
    let sibling = |(_, path): &(LeafIndex, &[Hash])| path[path.len() - 1 - d];
    match (at, leaves.len() - at) {
        (0, _) => {
            out.push(sibling(&leaves[0]));
            from_paths(mid, hi, d + 1, leaves, out);
        }
        (_, 0) => {
            from_paths(lo, mid, d + 1, leaves, out);
            out.push(sibling(&leaves[0]));
        }
        _ => {
            from_paths(lo, mid, d + 1, &leaves[..at], out);
            from_paths(mid, hi, d + 1, &leaves[at..], out);
        }
    }
}

#[cfg(test)]
mod tests;
