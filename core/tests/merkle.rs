//! Pins the Merkle math: RFC 6962 known answers, exhaustive small trees,
//! one-bit mutations that must fail, and agreement with `rs_merkle` driven by
//! an RFC 6962 hasher (an independent implementation).

use gatelog_core::merkle::{
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes,
    root_from_nodes, root_nodes, root_of_leaf_hashes, verify_consistency, verify_inclusion,
};
use gatelog_core::{
    CompactRange, ConsistencyProof, Hash, InclusionProof, LeafIndex, NodeId, ProofError, TreeHead,
    TreeSize, leaf_hash, node_hash,
};
use proptest::prelude::*;

/// The RFC 6962 test vector leaves used by every CT implementation.
fn vector_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect()
}

const VECTOR_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

/// An in-memory store of every complete subtree, filled by a compact range.
struct Store {
    leaves: Vec<Hash>,
    nodes: std::collections::HashMap<NodeId, Hash>,
    range: CompactRange,
}

impl Store {
    fn with_leaf_hashes(leaves: &[Hash]) -> Store {
        let mut s = Store {
            leaves: vec![],
            nodes: Default::default(),
            range: CompactRange::new(),
        };
        for l in leaves {
            s.append(*l);
        }
        s
    }
    fn append(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
        for (id, hash) in self.range.append(leaf) {
            self.nodes.insert(id, hash);
        }
    }
    fn read(&self, ids: &[NodeId]) -> Vec<Hash> {
        ids.iter().map(|id| self.nodes[id]).collect()
    }
    fn head(&self, size: u64) -> TreeHead {
        let size = TreeSize(size);
        TreeHead {
            size,
            root: root_from_nodes(size, &self.read(&root_nodes(size))).unwrap(),
        }
    }
    fn inclusion(&self, index: u64, size: u64) -> InclusionProof {
        let (i, n) = (LeafIndex(index), TreeSize(size));
        inclusion_proof(i, n, &self.read(&inclusion_proof_nodes(i, n).unwrap())).unwrap()
    }
    fn consistency(&self, old: u64, new: u64) -> ConsistencyProof {
        let (m, n) = (TreeSize(old), TreeSize(new));
        consistency_proof(m, n, &self.read(&consistency_proof_nodes(m, n).unwrap())).unwrap()
    }
}

fn vector_store() -> Store {
    let leaves: Vec<Hash> = vector_leaves().iter().map(|l| leaf_hash(l)).collect();
    Store::with_leaf_hashes(&leaves)
}

#[test]
fn rfc6962_roots() {
    let store = vector_store();
    for (i, want) in VECTOR_ROOTS.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(store.head(size).root, h(want), "root of size {size}");
        assert_eq!(root_of_leaf_hashes(&store.leaves[..=i]), h(want));
    }
    assert_eq!(store.head(0).root, Hash::empty_tree());
}

#[test]
fn rfc6962_inclusion_proofs() {
    let store = vector_store();
    let cases: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, path) in cases {
        let proof = store.inclusion(*index, *size);
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        assert_eq!(proof.path, want, "inclusion({index}, {size})");
        verify_inclusion(&store.leaves[*index as usize], &proof, &store.head(*size)).unwrap();
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let store = vector_store();
    let cases: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, path) in cases {
        let proof = store.consistency(*old, *new);
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        assert_eq!(proof.path, want, "consistency({old}, {new})");
        verify_consistency(&store.head(*old), &store.head(*new), &proof).unwrap();
    }
}

#[test]
fn impossible_requests_are_errors() {
    assert_eq!(
        inclusion_proof_nodes(LeafIndex(3), TreeSize(3)),
        Err(ProofError::IndexOutOfRange {
            index: LeafIndex(3),
            size: TreeSize(3)
        })
    );
    assert!(inclusion_proof_nodes(LeafIndex(0), TreeSize(0)).is_err());
    assert!(consistency_proof_nodes(TreeSize(5), TreeSize(4)).is_err());
    assert!(inclusion_proof(LeafIndex(0), TreeSize(8), &[]).is_err());
    let store = vector_store();
    // Old size zero is consistent with anything, with an empty proof only.
    let empty = TreeHead::empty();
    let p = store.consistency(0, 8);
    assert!(p.path.is_empty());
    verify_consistency(&empty, &store.head(8), &p).unwrap();
    let mut bad = p.clone();
    bad.path.push(Hash::default());
    assert!(verify_consistency(&empty, &store.head(8), &bad).is_err());
    // Same size, different roots.
    let mut forked = store.head(8);
    forked.root.0[0] ^= 1;
    let same = store.consistency(8, 8);
    assert!(matches!(
        verify_consistency(&store.head(8), &forked, &same),
        Err(ProofError::RootMismatch { .. })
    ));
}

fn flip(hash: &mut Hash, bit: usize) {
    hash.0[(bit / 8) % 32] ^= 1 << (bit % 8);
}

/// Every inclusion and consistency proof of every small tree verifies, and
/// every one-bit change to the proof, index, size, leaf or root fails.
#[test]
fn exhaustive_small_trees_verify_and_every_mutation_fails() {
    let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    let store = Store::with_leaf_hashes(&leaves);
    for n in 1..=40u64 {
        let head = store.head(n);
        for i in 0..n {
            let proof = store.inclusion(i, n);
            let leaf = leaves[i as usize];
            verify_inclusion(&leaf, &proof, &head).unwrap();
            for k in 0..proof.path.len() {
                let mut bad = proof.clone();
                flip(&mut bad.path[k], k * 7 + 3);
                assert!(verify_inclusion(&leaf, &bad, &head).is_err());
            }
            let mut bad_leaf = leaf;
            flip(&mut bad_leaf, 5);
            assert!(verify_inclusion(&bad_leaf, &proof, &head).is_err());
            let mut bad_root = head;
            flip(&mut bad_root.root, 200);
            assert!(verify_inclusion(&leaf, &proof, &bad_root).is_err());
            for bit in 0..7 {
                let mut moved = proof.clone();
                moved.index = LeafIndex(i ^ (1 << bit));
                assert!(
                    verify_inclusion(&leaf, &moved, &head).is_err(),
                    "index {i}^{bit} n={n}"
                );
                // Sizes are bound to roots by the signed checkpoint, so a
                // proof claiming another size must not pass for this head.
                let mut resized = proof.clone();
                resized.tree_size = TreeSize(n ^ (1 << bit));
                assert!(verify_inclusion(&leaf, &resized, &head).is_err());
            }
        }
        for m in 1..=n {
            let old = store.head(m);
            let proof = store.consistency(m, n);
            verify_consistency(&old, &head, &proof).unwrap();
            for k in 0..proof.path.len() {
                let mut bad = proof.clone();
                flip(&mut bad.path[k], k * 11 + 1);
                assert!(
                    verify_consistency(&old, &head, &bad).is_err(),
                    "{m}->{n} hash {k}"
                );
            }
            let mut bad_old = old;
            flip(&mut bad_old.root, 9);
            assert!(verify_consistency(&bad_old, &head, &proof).is_err());
            for bit in 0..7 {
                let mut resized = proof.clone();
                resized.old_size = TreeSize(m ^ (1 << bit));
                assert!(verify_consistency(&old, &head, &resized).is_err());
                let mut resized = proof.clone();
                resized.new_size = TreeSize(n ^ (1 << bit));
                assert!(verify_consistency(&old, &head, &resized).is_err());
            }
        }
    }
}

/// RFC 6962 hashing for `rs_merkle`: leaves are given as leaf hashes, and
/// interior nodes get the 0x01 prefix.
#[derive(Clone)]
struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        Hash::sha256(data).0
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node_hash(&Hash(*left), &Hash(*r)).0,
            None => *left,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..ProptestConfig::default()
    })]

    #[test]
    fn agrees_with_rs_merkle(n in 1usize..3000, picks in proptest::collection::vec(any::<u64>(), 8)) {
        let leaves: Vec<Hash> = (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let store = Store::with_leaf_hashes(&leaves);
        let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
        let reference = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&raw);
        let head = store.head(n as u64);
        prop_assert_eq!(reference.root(), Some(head.root.0));
        for p in picks {
            let i = (p % n as u64) as usize;
            let ours = store.inclusion(i as u64, n as u64);
            let theirs: Vec<Hash> = reference.proof(&[i]).proof_hashes().iter().map(|h| Hash(*h)).collect();
            prop_assert_eq!(&ours.path, &theirs);
            prop_assert!(verify_inclusion(&leaves[i], &ours, &head).is_ok());
        }
    }

    #[test]
    fn random_consistency_proofs_verify(n in 1u64..5000, m_pick in any::<u64>()) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let store = Store::with_leaf_hashes(&leaves);
        let m = 1 + m_pick % n;
        let proof = store.consistency(m, n);
        prop_assert!(verify_consistency(&store.head(m), &store.head(n), &proof).is_ok());
        // A tree that differs in one leaf before m is not consistent with it.
        let mut other = leaves.clone();
        let changed = (m_pick % m) as usize;
        other[changed] = leaf_hash(b"forged");
        let forged = Store::with_leaf_hashes(&other);
        prop_assert!(verify_consistency(&forged.head(m), &store.head(n), &proof).is_err());
    }
}
