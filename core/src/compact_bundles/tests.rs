//! The compact-v1 test vector (docs/formats.md), round trips and refusals.

use super::*;
use crate::checkpoint::{self, Checkpoint, Origin};
use crate::keys::{SignatureType, SignerKey};
use crate::merkle::root_of_leaf_hashes;
use crate::multiproof::multiproof_nodes;
use crate::tree::{NodeId, TreeHead};

const VECTOR_ORIGIN: &str = "vector.gatelog.test/log";

/// The vector's log key (seed 7 × 32).
fn vector_key() -> SignerKey {
    SignerKey::from_seed(VECTOR_ORIGIN, SignatureType::Ed25519, &[7; 32]).unwrap()
}

/// The vector's tree: 13 leaves `leaf 0` … `leaf 12`.
fn vector_leaves() -> Vec<Vec<u8>> {
    (0..13).map(|i| format!("leaf {i}").into_bytes()).collect()
}

/// The answer the vector holds, built from its definition.
fn vector_answer() -> CompactAnswer {
    let leaves = vector_leaves();
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let size = TreeSize(13);
    let head = TreeHead {
        size,
        root: root_of_leaf_hashes(&hashes),
    };
    let note = Checkpoint::new(Origin::new(VECTOR_ORIGIN).unwrap(), head)
        .sign(&vector_key())
        .unwrap();
    let wanted = [LeafIndex(1), LeafIndex(4), LeafIndex(5), LeafIndex(11)];
    let stored: Vec<Hash> = multiproof_nodes(&wanted, size)
        .unwrap()
        .iter()
        .map(|n| root_of_leaf_hashes(&hashes[n.first_leaf() as usize..n.end() as usize]))
        .collect();
    CompactAnswer {
        tree_size: size,
        checkpoint: note.to_bytes(),
        leaves: wanted
            .iter()
            .map(|i| (*i, leaves[i.0 as usize].clone()))
            .collect(),
        proof: crate::multiproof::multiproof(&wanted, size, &stored).unwrap(),
        releases: vec![
            CompactRelease {
                registry: "registry.example".into(),
                package: "left-pad".into(),
                version: "1.3.0".into(),
                chain: ChainState::Head(LeafIndex(11)),
                entries: vec![0, 1, 3],
            },
            CompactRelease {
                registry: "registry.example".into(),
                package: "@scope/pkg".into(),
                version: "2.0.0".into(),
                chain: ChainState::Capped,
                entries: vec![1, 2],
            },
        ],
    }
}

fn vector_bytes() -> Vec<u8> {
    hex::decode(
        include_str!("../../testdata/compact-v1.hex")
            .split_whitespace()
            .collect::<String>(),
    )
    .unwrap()
}

#[test]
fn the_test_vector_parses_to_its_definition_and_folds_to_its_root() {
    let bytes = vector_bytes();
    let answer = parse(&bytes).unwrap();
    assert_eq!(answer, vector_answer());
    assert_eq!(answer.to_bytes(), bytes);
    let indexes: Vec<u64> = answer.leaves.iter().map(|(i, _)| i.0).collect();
    assert_eq!(indexes, [1, 4, 5, 11]);
    // The proof's stored nodes: leaf 0, leaves 2–3, leaves 6–7, leaves 8–9, leaf 10, leaf 12.
    let ids = multiproof_nodes(
        &answer.leaves.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        answer.tree_size,
    )
    .unwrap();
    assert_eq!(
        ids,
        [
            NodeId::new(0, 0),
            NodeId::new(1, 1),
            NodeId::new(1, 3),
            NodeId::new(1, 4),
            NodeId::new(0, 10),
            NodeId::new(0, 12),
        ]
    );
    let folded = answer.fold().unwrap().unwrap();
    assert_eq!(
        folded.root.to_hex(),
        "cf9b4c2a44a7caa722d5d548ee64ff90a119b0c31acac3444dc583000a39d3ca"
    );
    let cp = checkpoint::open(&answer.checkpoint, &vector_key().verifier()).unwrap();
    assert_eq!(cp.head().root, folded.root);
    assert_eq!(cp.head().size, answer.tree_size);
}

#[test]
fn answers_back_to_back_parse_as_many_and_not_as_one() {
    let one = vector_bytes();
    let two = [one.clone(), one.clone()].concat();
    assert_eq!(parse_many(&two).unwrap().len(), 2);
    let err = parse(&two).unwrap_err();
    assert_eq!(err.at, one.len());
    assert!(is_compact(&one) && !is_compact(b"{\"format\":1}"));
}

#[test]
fn every_truncation_and_many_changes_are_refused_or_change_the_answer() {
    let bytes = vector_bytes();
    let original = parse(&bytes).unwrap();
    for end in 0..bytes.len() {
        assert!(parse(&bytes[..end]).is_err(), "cut at {end}");
    }
    for at in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[at] ^= 0x41;
        if let Ok(answer) = parse(&changed) {
            // What still parses is another answer, which the verifier's
            // checks (note signature, leaf hashes, root) then judge.
            assert_ne!(answer, original, "byte {at}");
        }
    }
}

#[test]
fn structural_lies_are_refused_with_their_offset() {
    let good = vector_answer();
    let cases: Vec<(&str, CompactAnswer)> = vec![
        ("proof hashes", {
            let mut a = good.clone();
            a.proof.pop();
            a
        }),
        ("not ascending", {
            let mut a = good.clone();
            a.leaves.swap(0, 1);
            a
        }),
        ("in no release", {
            let mut a = good.clone();
            a.releases[0].entries = vec![0, 1];
            a
        }),
        ("not one of the", {
            let mut a = good.clone();
            a.releases[1].entries = vec![1, 9];
            a
        }),
        ("not in a tree", {
            let mut a = good.clone();
            a.tree_size = TreeSize(11);
            a
        }),
        ("empty or not UTF-8", {
            let mut a = good.clone();
            a.releases[0].version = String::new();
            a
        }),
    ];
    for (why, answer) in cases {
        let err = parse(&answer.to_bytes()).unwrap_err();
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&5u64.to_be_bytes());
    huge.extend_from_slice(&1u32.to_be_bytes());
    huge.push(b'x');
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    let err = parse(&huge).unwrap_err();
    assert!(err.to_string().contains("cannot fit"), "{err}");
}
