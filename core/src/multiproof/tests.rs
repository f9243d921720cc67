//! The multi-leaf proof against the single-leaf inclusion proofs it must
//! agree with, on random trees and random sets of leaves.

use proptest::prelude::*;

use super::*;
use crate::leaf_hash;
use crate::merkle::{inclusion_proof, inclusion_proof_nodes, root_of_leaf_hashes};

fn tree(size: u64) -> Vec<Hash> {
    (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn stored(leaves: &[Hash], nodes: &[NodeId]) -> Vec<Hash> {
    nodes
        .iter()
        .map(|n| root_of_leaf_hashes(&leaves[n.first_leaf() as usize..n.end() as usize]))
        .collect()
}

fn proof_of(leaves: &[Hash], indexes: &[LeafIndex]) -> Vec<Hash> {
    let size = TreeSize(leaves.len() as u64);
    let nodes = multiproof_nodes(indexes, size).unwrap();
    multiproof(indexes, size, &stored(leaves, &nodes)).unwrap()
}

/// A tree size and a non-empty ascending set of its leaves.
fn size_and_indexes() -> impl Strategy<Value = (u64, Vec<LeafIndex>)> {
    (1u64..1500).prop_flat_map(|size| {
        (
            Just(size),
            proptest::collection::btree_set(0..size, 1..40)
                .prop_map(|s| s.into_iter().map(LeafIndex).collect()),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn folds_to_the_root_and_to_every_single_inclusion_path((size, indexes) in size_and_indexes()) {
        let leaves = tree(size);
        let size = TreeSize(size);
        let proof = proof_of(&leaves, &indexes);
        let sent: Vec<_> = indexes.iter().map(|i| (*i, leaves[i.0 as usize])).collect();
        let folded = fold_multiproof(size, &sent, &proof).unwrap();
        prop_assert_eq!(folded.root, root_of_leaf_hashes(&leaves));
        let mut single_total = 0;
        for (i, path) in indexes.iter().zip(&folded.paths) {
            let nodes = inclusion_proof_nodes(*i, size).unwrap();
            let single = inclusion_proof(*i, size, &stored(&leaves, &nodes)).unwrap();
            prop_assert_eq!(path, &single.path);
            single_total += single.path.len();
        }
        // Shared hashes are sent once: never more than the single proofs.
        prop_assert!(proof.len() <= single_total);
        // The proof is rebuilt exactly from the single paths.
        let paths: Vec<_> = indexes.iter().zip(&folded.paths).map(|(i, p)| (*i, p.as_slice())).collect();
        prop_assert_eq!(multiproof_from_paths(size, &paths).unwrap(), proof);
    }

    #[test]
    fn one_leaf_is_its_inclusion_path(size in 1u64..3000, at in any::<u64>()) {
        let leaves = tree(size);
        let i = LeafIndex(at % size);
        let size = TreeSize(size);
        let mut proof = proof_of(&leaves, &[i]);
        let nodes = inclusion_proof_nodes(i, size).unwrap();
        let mut path = inclusion_proof(i, size, &stored(&leaves, &nodes)).unwrap().path;
        proof.sort_by_key(|h| h.0);
        path.sort_by_key(|h| h.0);
        prop_assert_eq!(proof, path);
    }

    #[test]
    fn any_changed_hash_or_leaf_changes_the_root(
        (size, indexes) in size_and_indexes(),
        pick in any::<usize>(),
        bit in 0usize..256,
    ) {
        let leaves = tree(size);
        let size = TreeSize(size);
        let root = root_of_leaf_hashes(&leaves);
        let proof = proof_of(&leaves, &indexes);
        let sent: Vec<_> = indexes.iter().map(|i| (*i, leaves[i.0 as usize])).collect();
        let flip = |h: &mut Hash| h.0[bit / 8] ^= 1 << (bit % 8);
        if !proof.is_empty() {
            let mut bent = proof.clone();
            flip(&mut bent[pick % proof.len()]);
            prop_assert_ne!(root_from_multiproof(size, &sent, &bent).unwrap(), root);
        }
        let mut other = sent.clone();
        flip(&mut other[pick % sent.len()].1);
        prop_assert_ne!(root_from_multiproof(size, &other, &proof).unwrap(), root);
        // One hash more or less is refused, not folded.
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(root_from_multiproof(size, &sent, &longer).is_err());
        if !proof.is_empty() {
            prop_assert!(root_from_multiproof(size, &sent, &proof[1..]).is_err());
        }
    }
}

#[test]
fn bad_index_sets_are_refused() {
    let size = TreeSize(10);
    for bad in [
        vec![LeafIndex(3), LeafIndex(3)],
        vec![LeafIndex(4), LeafIndex(2)],
        vec![LeafIndex(10)],
    ] {
        assert!(multiproof_nodes(&bad, size).is_err(), "{bad:?}");
        let sent: Vec<_> = bad.iter().map(|i| (*i, Hash::default())).collect();
        assert!(fold_multiproof(size, &sent, &[]).is_err(), "{bad:?}");
    }
    assert_eq!(multiproof_nodes(&[], size).unwrap(), vec![]);
    assert!(fold_multiproof(size, &[], &[]).is_err());
    let path = [Hash::default(); 2];
    assert_eq!(
        multiproof_from_paths(size, &[(LeafIndex(1), &path[..])]),
        Err(ProofError::WrongPathLength)
    );
}

#[test]
fn the_whole_tree_needs_no_hash() {
    let leaves = tree(37);
    let all: Vec<LeafIndex> = (0..37).map(LeafIndex).collect();
    assert!(proof_of(&leaves, &all).is_empty());
}
