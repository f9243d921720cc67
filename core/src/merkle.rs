//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashes and proofs.
//!
//! Every proof is split in two, so that storage can fetch what it needs in
//! one batch and then call the pure math:
//! - `*_nodes` names the stored complete subtrees ([`NodeId`]) the proof needs;
//! - the builder takes their hashes, in that order, and assembles the proof.
//!
//! Hashes of ranges that are not complete subtrees (the right edge of a tree
//! whose size is not a power of two) are derived from complete subtrees, so
//! the store only ever holds immutable hashes.
//!
//! ```
//! use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes, root_of_leaf_hashes, verify_inclusion};
//! use gatelog_core::{LeafIndex, TreeHead, TreeSize, leaf_hash};
//!
//! let leaves: Vec<_> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
//! let head = TreeHead { size: TreeSize(7), root: root_of_leaf_hashes(&leaves) };
//!
//! // A store answers the named complete subtrees; here, from the leaves.
//! let index = LeafIndex(5);
//! let stored: Vec<_> = inclusion_proof_nodes(index, head.size)?
//!     .iter()
//!     .map(|node| {
//!         let start = (node.index << node.level) as usize;
//!         root_of_leaf_hashes(&leaves[start..start + (1 << node.level)])
//!     })
//!     .collect();
//! let proof = inclusion_proof(index, head.size, &stored)?;
//!
//! verify_inclusion(&leaves[5], &proof, &head)?;
//! assert!(verify_inclusion(&leaves[4], &proof, &head).is_err());
//! # Ok::<(), gatelog_core::ProofError>(())
//! ```

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::tree::{LeafIndex, NodeId, TreeHead, TreeSize};

/// An inclusion proof (RFC 9162 §2.1.3): the audit path of one leaf in a tree
/// of a given size, ordered from the leaf's sibling up to the root's child.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct InclusionProof {
    /// The leaf whose inclusion is proven.
    pub index: LeafIndex,
    /// The tree size the proof is for.
    pub tree_size: TreeSize,
    /// The audit path.
    pub path: Vec<Hash>,
}

/// A consistency proof (RFC 9162 §2.1.4) between two sizes of one tree.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConsistencyProof {
    /// The older, smaller tree size.
    pub old_size: TreeSize,
    /// The newer, larger tree size.
    pub new_size: TreeSize,
    /// The proof hashes.
    pub path: Vec<Hash>,
}

/// Reads stored complete-subtree hashes; the only seam between this math and
/// a store. Implementations fetch all of `nodes` in one batch; the provided
/// methods then name, read and assemble a whole proof.
pub trait HashReader {
    /// The store's error; it can carry a [`ProofError`] for impossible requests.
    type Error: From<ProofError>;

    /// Returns the hashes of `nodes`, in the same order.
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;

    /// Reads and builds the inclusion proof of `index` in a tree of `size`.
    fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<InclusionProof, Self::Error> {
        let hashes = self.read_hashes(&inclusion_proof_nodes(index, size)?)?;
        Ok(inclusion_proof(index, size, &hashes)?)
    }

    /// Reads and builds the consistency proof from `old` to `new`.
    fn consistency_proof(
        &self,
        old: TreeSize,
        new: TreeSize,
    ) -> Result<ConsistencyProof, Self::Error> {
        let hashes = self.read_hashes(&consistency_proof_nodes(old, new)?)?;
        Ok(consistency_proof(old, new, &hashes)?)
    }

    /// Reads the stored nodes of the root of a tree of `size` and folds them.
    fn root(&self, size: TreeSize) -> Result<Hash, Self::Error> {
        let hashes = self.read_hashes(&root_nodes(size))?;
        Ok(root_from_nodes(size, &hashes)?)
    }
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A range `[lo, hi)` of leaves whose RFC 6962 hash a proof carries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub(crate) lo: u64,
    pub(crate) hi: u64,
}

impl Range {
    /// The complete subtrees that make up `MTH(D[lo:hi])`, left to right.
    /// Ranges produced by the RFC recursion always start at a multiple of
    /// their largest subtree, so these are the set bits of the length.
    pub(crate) fn push_nodes(self, out: &mut Vec<NodeId>) {
        let mut lo = self.lo;
        let mut len = self.hi - self.lo;
        while len > 0 {
            let level = 63 - len.leading_zeros();
            out.push(NodeId::new(level as u8, lo >> level));
            lo += 1 << level;
            len -= 1 << level;
        }
    }

    pub(crate) fn node_count(self) -> usize {
        (self.hi - self.lo).count_ones() as usize
    }
}

/// Folds the complete subtrees of a range right to left into its hash.
fn fold_range(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let mut acc = *iter.next().expect("ranges are never empty");
    for left in iter {
        acc = node_hash(left, &acc);
    }
    acc
}

pub(crate) fn nodes_of(ranges: &[Range]) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(ranges.iter().map(|r| r.node_count()).sum());
    for r in ranges {
        r.push_nodes(&mut out);
    }
    out
}

pub(crate) fn assemble(ranges: &[Range], stored: &[Hash]) -> Result<Vec<Hash>, ProofError> {
    let want: usize = ranges.iter().map(|r| r.node_count()).sum();
    if stored.len() != want {
        return Err(ProofError::WrongHashCount {
            expected: want,
            got: stored.len(),
        });
    }
    let mut rest = stored;
    let mut path = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (mine, tail) = rest.split_at(r.node_count());
        path.push(fold_range(mine));
        rest = tail;
    }
    Ok(path)
}

/// The ranges of an inclusion proof (RFC 9162 §2.1.3.1 `PATH(m, D[n])`),
/// ordered leaf to root.
fn inclusion_ranges(index: LeafIndex, size: TreeSize) -> Result<Vec<Range>, ProofError> {
    if !size.contains(index) {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0u64, size.0);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index.0 < lo + k {
            ranges.push(Range { lo: lo + k, hi });
            hi = lo + k;
        } else {
            ranges.push(Range { lo, hi: lo + k });
            lo += k;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The ranges of a consistency proof (RFC 9162 §2.1.4.1
/// `SUBPROOF(m, D[n], true)`), ordered bottom to top.
fn consistency_ranges(old: TreeSize, new: TreeSize) -> Result<Vec<Range>, ProofError> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    let mut ranges = Vec::new();
    if old.0 == 0 || old == new {
        return Ok(ranges);
    }
    let m = old.0;
    let (mut lo, mut hi, mut whole_old_tree_known) = (0u64, new.0, true);
    loop {
        if m - lo == hi - lo {
            if !whole_old_tree_known {
                ranges.push(Range { lo, hi });
            }
            break;
        }
        let k = split_point(hi - lo);
        if m - lo <= k {
            ranges.push(Range { lo: lo + k, hi });
            hi = lo + k;
        } else {
            ranges.push(Range { lo, hi: lo + k });
            lo += k;
            whole_old_tree_known = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The stored hashes an inclusion proof for `index` in a tree of `size` needs.
pub fn inclusion_proof_nodes(index: LeafIndex, size: TreeSize) -> Result<Vec<NodeId>, ProofError> {
    Ok(nodes_of(&inclusion_ranges(index, size)?))
}

/// Builds the inclusion proof from the hashes of [`inclusion_proof_nodes`].
pub fn inclusion_proof(
    index: LeafIndex,
    size: TreeSize,
    stored: &[Hash],
) -> Result<InclusionProof, ProofError> {
    let path = assemble(&inclusion_ranges(index, size)?, stored)?;
    Ok(InclusionProof {
        index,
        tree_size: size,
        path,
    })
}

/// The stored hashes a consistency proof from `old` to `new` needs.
pub fn consistency_proof_nodes(old: TreeSize, new: TreeSize) -> Result<Vec<NodeId>, ProofError> {
    Ok(nodes_of(&consistency_ranges(old, new)?))
}

/// Builds the consistency proof from the hashes of [`consistency_proof_nodes`].
pub fn consistency_proof(
    old: TreeSize,
    new: TreeSize,
    stored: &[Hash],
) -> Result<ConsistencyProof, ProofError> {
    let path = assemble(&consistency_ranges(old, new)?, stored)?;
    Ok(ConsistencyProof {
        old_size: old,
        new_size: new,
        path,
    })
}

/// The complete subtrees whose hashes make up the root of a tree of `size`,
/// left to right (one per set bit of the size). These are also exactly the
/// nodes a [`crate::compact::CompactRange`] keeps.
pub fn root_nodes(size: TreeSize) -> Vec<NodeId> {
    nodes_of(&[Range { lo: 0, hi: size.0 }])
}

/// Computes the root of a tree of `size` from the hashes of [`root_nodes`].
pub fn root_from_nodes(size: TreeSize, stored: &[Hash]) -> Result<Hash, ProofError> {
    if size.0 == 0 {
        if !stored.is_empty() {
            return Err(ProofError::WrongHashCount {
                expected: 0,
                got: stored.len(),
            });
        }
        return Ok(Hash::empty_tree());
    }
    let path = assemble(&[Range { lo: 0, hi: size.0 }], stored)?;
    Ok(path[0])
}

/// The RFC 6962 Merkle tree hash `MTH(D[n])` of a list of leaf hashes,
/// computed directly. Used as a reference and for small trees.
pub fn root_of_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty_tree(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// Verifies that `leaf_hash` is the leaf at `proof.index` of the tree `head`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    proof: &InclusionProof,
    head: &TreeHead,
) -> Result<(), ProofError> {
    if proof.tree_size != head.size {
        return Err(ProofError::SizeMismatch {
            proof: proof.tree_size,
            head: head.size,
        });
    }
    let root = root_from_inclusion_path(leaf_hash, proof.index, proof.tree_size, &proof.path)?;
    if root != head.root {
        return Err(ProofError::RootMismatch {
            computed: root,
            expected: head.root,
        });
    }
    Ok(())
}

/// Computes the root an inclusion path leads to (RFC 9162 §2.1.3.2 steps 1–6).
pub fn root_from_inclusion_path(
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    path: &[Hash],
) -> Result<Hash, ProofError> {
    if !size.contains(index) {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f_n, mut s_n) = (index.0, size.0 - 1);
    let mut r = *leaf_hash;
    for p in path {
        if s_n == 0 {
            return Err(ProofError::WrongPathLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongPathLength);
    }
    Ok(r)
}

/// Verifies that `new` extends `old` (RFC 9162 §2.1.4.2). An old tree of size
/// zero is consistent with every tree; equal sizes need equal roots and an
/// empty proof.
pub fn verify_consistency(
    old: &TreeHead,
    new: &TreeHead,
    proof: &ConsistencyProof,
) -> Result<(), ProofError> {
    if proof.old_size != old.size {
        return Err(ProofError::SizeMismatch {
            proof: proof.old_size,
            head: old.size,
        });
    }
    if proof.new_size != new.size {
        return Err(ProofError::SizeMismatch {
            proof: proof.new_size,
            head: new.size,
        });
    }
    if old.size > new.size {
        return Err(ProofError::SizesOutOfOrder {
            old: old.size,
            new: new.size,
        });
    }
    let path = &proof.path;
    if old.size.0 == 0 {
        if old.root != Hash::empty_tree() {
            return Err(ProofError::RootMismatch {
                computed: Hash::empty_tree(),
                expected: old.root,
            });
        }
        return if path.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongPathLength)
        };
    }
    if old.size == new.size {
        if !path.is_empty() {
            return Err(ProofError::WrongPathLength);
        }
        if old.root != new.root {
            return Err(ProofError::RootMismatch {
                computed: old.root,
                expected: new.root,
            });
        }
        return Ok(());
    }
    // Step 1: when the old size is a power of two the old root is the first
    // element of the path and is not sent.
    let (first, rest): (Hash, &[Hash]) = if old.size.0.is_power_of_two() {
        (old.root, path.as_slice())
    } else {
        match path.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(ProofError::WrongPathLength),
        }
    };
    let (mut f_n, mut s_n) = (old.size.0 - 1, new.size.0 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (first, first);
    for c in rest {
        if s_n == 0 {
            return Err(ProofError::WrongPathLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongPathLength);
    }
    if f_r != old.root {
        return Err(ProofError::RootMismatch {
            computed: f_r,
            expected: old.root,
        });
    }
    if s_r != new.root {
        return Err(ProofError::RootMismatch {
            computed: s_r,
            expected: new.root,
        });
    }
    Ok(())
}
