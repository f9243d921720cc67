//! Checks on what the read API is about to serve, so damaged storage is
//! refused (500, logged) instead of served as good. Each costs a few
//! hashes per item served:
//!
//! - an entry must hash to its stored leaf hash;
//! - an inclusion proof must lead from that leaf hash to the root of the
//!   stored tree at the proof's size;
//! - each hash of a hash tile must be the hash of its two stored children
//!   one level down, or, at level 0, of its entry's bytes.
//!
//! What is not served is not checked here: the startup check and
//! `gatelog-server check` cover the rest.

use gatelog_core::merkle::{root_from_inclusion_path, root_from_nodes, root_nodes};
use gatelog_core::multiproof::root_from_multiproof;
use gatelog_core::{Hash, InclusionProof, LeafIndex, NodeId, TreeSize, leaf_hash, node_hash};

use crate::store::{LogStore, StoreError};

fn damaged(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

/// The root of the stored tree of `size`, to check proofs against.
pub fn stored_root(store: &dyn LogStore, size: TreeSize) -> Result<Hash, StoreError> {
    let hashes = store.read_hashes(&root_nodes(size))?;
    Ok(root_from_nodes(size, &hashes)?)
}

/// Entry `index` hashes to `stored` and `proof` leads from it to `root`.
pub fn check_entry(
    index: LeafIndex,
    leaf: &[u8],
    stored: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), StoreError> {
    if leaf_hash(leaf) != *stored {
        return Err(damaged(format!(
            "entry {index} does not hash to its stored leaf hash {stored}"
        )));
    }
    match root_from_inclusion_path(stored, proof.index, proof.tree_size, &proof.path) {
        Ok(r) if r == *root => Ok(()),
        _ => Err(damaged(format!(
            "the stored hashes of entry {index}'s inclusion proof at size {} do not lead to the stored root",
            proof.tree_size
        ))),
    }
}

/// Each of `leaves` (at `indexes`, ascending) hashes to its stored leaf
/// hash, and the multi-leaf `proof` leads from those to the stored root.
pub fn check_multiproof(
    store: &dyn LogStore,
    size: TreeSize,
    indexes: &[LeafIndex],
    leaves: &[Vec<u8>],
    stored: &[Hash],
    proof: &[Hash],
) -> Result<(), StoreError> {
    for ((index, leaf), hash) in indexes.iter().zip(leaves).zip(stored) {
        if leaf_hash(leaf) != *hash {
            return Err(damaged(format!(
                "entry {index} does not hash to its stored leaf hash {hash}"
            )));
        }
    }
    if indexes.is_empty() {
        return Ok(());
    }
    let sent: Vec<(LeafIndex, Hash)> = indexes
        .iter()
        .copied()
        .zip(stored.iter().copied())
        .collect();
    match root_from_multiproof(size, &sent, proof) {
        Ok(r) if r == stored_root(store, size)? => Ok(()),
        _ => Err(damaged(format!(
            "the stored hashes of the multi-leaf proof of {} entries at size {size} do not lead to the stored root",
            indexes.len()
        ))),
    }
}

/// The entries of a bundle starting at `start` hash to their stored leaf
/// hashes.
pub fn check_entries(
    store: &dyn LogStore,
    start: u64,
    leaves: &[Vec<u8>],
) -> Result<(), StoreError> {
    let ids: Vec<NodeId> = (start..)
        .take(leaves.len())
        .map(|i| NodeId::new(0, i))
        .collect();
    let stored = store.read_hashes(&ids)?;
    for ((id, leaf), hash) in ids.iter().zip(leaves).zip(&stored) {
        if leaf_hash(leaf) != *hash {
            return Err(damaged(format!(
                "entry {} does not hash to its stored leaf hash {hash}",
                id.index
            )));
        }
    }
    Ok(())
}

/// Each hash of `ids` (one tile's nodes, in order) is what its stored
/// children, or at level 0 its entry, hash to.
pub fn check_tile(store: &dyn LogStore, ids: &[NodeId], hashes: &[Hash]) -> Result<(), StoreError> {
    let Some(first) = ids.first() else {
        return Ok(());
    };
    let derived: Vec<Hash> = if first.level == 0 {
        let leaves = store.read_leaves(first.index, ids.len() as u64)?;
        leaves.iter().map(|l| leaf_hash(l)).collect()
    } else {
        let children: Vec<NodeId> = ids
            .iter()
            .flat_map(|id| {
                let below = NodeId::new(id.level - 1, id.index * 2);
                [below, NodeId::new(below.level, below.index + 1)]
            })
            .collect();
        let hashes = store.read_hashes(&children)?;
        hashes
            .chunks_exact(2)
            .map(|c| node_hash(&c[0], &c[1]))
            .collect()
    };
    for ((id, stored), derived) in ids.iter().zip(hashes).zip(derived) {
        if *stored != derived {
            return Err(damaged(format!(
                "the stored hash of node (level {}, index {}) is not the hash of what it covers",
                id.level, id.index
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes};
    use gatelog_core::{CompactRange, tile::tile_hash_ids};

    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{AppendBatch, TreeState};

    /// A store of 600 leaves, and their bytes.
    fn store() -> (MemoryStore, Vec<Vec<u8>>) {
        let store = MemoryStore::new();
        let mut range = CompactRange::new();
        let mut batch = AppendBatch::default();
        for i in 0..600u32 {
            let leaf = format!("entry {i}").into_bytes();
            batch.nodes.extend(range.append(leaf_hash(&leaf)));
            batch.leaves.push(leaf);
        }
        batch.state = TreeState {
            size: range.size(),
            clock: 0,
        };
        store.append(&batch).unwrap();
        let leaves = batch.leaves;
        (store, leaves)
    }

    #[test]
    fn entries_and_proofs_are_checked_against_the_stored_tree() {
        let (store, leaves) = store();
        let size = TreeSize(600);
        let root = stored_root(&store, size).unwrap();
        let i = LeafIndex(77);
        let nodes = inclusion_proof_nodes(i, size).unwrap();
        let path = store.read_hashes(&nodes).unwrap();
        let proof = inclusion_proof(i, size, &path).unwrap();
        let stored = store.read_hashes(&[NodeId::new(0, 77)]).unwrap()[0];
        check_entry(i, &leaves[77], &stored, &proof, &root).unwrap();
        // A changed byte, a changed proof hash, another root.
        let mut bad = leaves[77].clone();
        bad[0] ^= 1;
        let err = check_entry(i, &bad, &stored, &proof, &root).unwrap_err();
        assert!(err.to_string().contains("entry 77"), "{err}");
        let mut bent = proof.clone();
        bent.path[3].0[0] ^= 1;
        assert!(check_entry(i, &leaves[77], &stored, &bent, &root).is_err());
        assert!(check_entry(i, &leaves[77], &stored, &proof, &stored).is_err());
        check_entries(&store, 256, &leaves[256..512]).unwrap();
        let err = check_entries(&store, 256, &leaves[257..513]).unwrap_err();
        assert!(err.to_string().contains("entry 256"), "{err}");
    }

    #[test]
    fn leaves_and_multi_leaf_proofs_are_checked_against_the_stored_tree() {
        use gatelog_core::multiproof::{multiproof, multiproof_nodes};
        let (store, leaves) = store();
        let size = TreeSize(600);
        let indexes = [LeafIndex(3), LeafIndex(77), LeafIndex(300), LeafIndex(599)];
        let ids: Vec<NodeId> = indexes.iter().map(|i| NodeId::leaf(*i)).collect();
        let stored = store.read_hashes(&ids).unwrap();
        let nodes = store
            .read_hashes(&multiproof_nodes(&indexes, size).unwrap())
            .unwrap();
        let proof = multiproof(&indexes, size, &nodes).unwrap();
        let mine: Vec<Vec<u8>> = indexes
            .iter()
            .map(|i| leaves[i.0 as usize].clone())
            .collect();
        check_multiproof(&store, size, &indexes, &mine, &stored, &proof).unwrap();
        check_multiproof(&store, size, &[], &[], &[], &[]).unwrap();
        // A changed leaf byte, a changed proof hash, a missing proof hash.
        let mut bad = mine.clone();
        bad[2][0] ^= 1;
        let err = check_multiproof(&store, size, &indexes, &bad, &stored, &proof).unwrap_err();
        assert!(err.to_string().contains("entry 300"), "{err}");
        let mut bent = proof.clone();
        bent[1].0[7] ^= 1;
        let err = check_multiproof(&store, size, &indexes, &mine, &stored, &bent).unwrap_err();
        assert!(
            err.to_string().contains("multi-leaf proof of 4 entries"),
            "{err}"
        );
        assert!(check_multiproof(&store, size, &indexes, &mine, &stored, &proof[1..]).is_err());
    }

    #[test]
    fn tiles_are_checked_one_level_down() {
        let (store, _) = store();
        for (level, width) in [(0, 256), (0, 88), (1, 2)] {
            let tile = gatelog_core::Tile::new(level, 0, width).unwrap();
            let ids = tile_hash_ids(tile).unwrap();
            let mut hashes = store.read_hashes(&ids).unwrap();
            check_tile(&store, &ids, &hashes).unwrap();
            hashes[1].0[5] ^= 1;
            let err = check_tile(&store, &ids, &hashes).unwrap_err();
            assert!(err.to_string().contains("index 1)"), "{err}");
        }
    }
}
