//! Microbenchmarks of the core: hashing, appends, proofs, notes.
//! Run with `make bench` (or `cargo bench -p gatelog-core`).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatelog_core::checkpoint::{self, Checkpoint, Origin};
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::merkle::{
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, root_nodes,
    verify_consistency, verify_inclusion,
};
use gatelog_core::{
    CompactRange, Hash, LeafIndex, NodeId, TreeHead, TreeSize, leaf_hash, node_hash,
};

/// Every complete subtree of a tree of `n` leaves, in memory.
fn build(n: u64) -> (HashMap<NodeId, Hash>, CompactRange) {
    let mut nodes = HashMap::new();
    let mut range = CompactRange::new();
    for i in 0..n {
        for (id, h) in range.append(leaf_hash(&i.to_le_bytes())) {
            nodes.insert(id, h);
        }
    }
    (nodes, range)
}

fn hashing(c: &mut Criterion) {
    let leaf = vec![7u8; 600];
    c.bench_function("leaf_hash 600 B", |b| {
        b.iter(|| leaf_hash(black_box(&leaf)))
    });
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    c.bench_function("node_hash", |b| {
        b.iter(|| node_hash(black_box(&l), black_box(&r)))
    });
    c.bench_function("compact range append", |b| {
        b.iter_batched(
            || {
                let mut r = CompactRange::new();
                for i in 0..1000u32 {
                    r.append(leaf_hash(&i.to_le_bytes()));
                }
                r
            },
            |mut r| r.append(l),
            BatchSize::SmallInput,
        )
    });
}

fn proofs(c: &mut Criterion) {
    let n = 1u64 << 20;
    let (nodes, range) = build(n);
    let size = TreeSize(n);
    let head = TreeHead {
        size,
        root: range.root(),
    };
    let read = |ids: &[NodeId]| ids.iter().map(|id| nodes[id]).collect::<Vec<_>>();
    let index = LeafIndex(n / 3);
    c.bench_function("inclusion proof build, 1M leaves", |b| {
        b.iter(|| {
            let ids = inclusion_proof_nodes(index, size).unwrap();
            inclusion_proof(index, size, &read(&ids)).unwrap()
        })
    });
    let proof = inclusion_proof(
        index,
        size,
        &read(&inclusion_proof_nodes(index, size).unwrap()),
    )
    .unwrap();
    let leaf = leaf_hash(&index.0.to_le_bytes());
    c.bench_function("inclusion proof verify, 1M leaves", |b| {
        b.iter(|| verify_inclusion(black_box(&leaf), &proof, &head).unwrap())
    });
    let old = TreeSize(n / 2 + 12345);
    let old_head = TreeHead {
        size: old,
        root: gatelog_core::merkle::root_from_nodes(old, &read(&root_nodes(old))).unwrap(),
    };
    let cproof = consistency_proof(
        old,
        size,
        &read(&consistency_proof_nodes(old, size).unwrap()),
    )
    .unwrap();
    c.bench_function("consistency proof verify, 1M leaves", |b| {
        b.iter(|| verify_consistency(&old_head, &head, &cproof).unwrap())
    });
}

fn notes(c: &mut Criterion) {
    let key = SignerKey::from_seed("bench.example/log", SignatureType::Ed25519, &[3; 32]).unwrap();
    let cp = Checkpoint::new(Origin::new("bench.example/log").unwrap(), TreeHead::empty());
    c.bench_function("checkpoint sign", |b| b.iter(|| cp.sign(&key).unwrap()));
    let bytes = cp.sign(&key).unwrap().to_bytes();
    let vkey = key.verifier();
    c.bench_function("checkpoint open (parse + verify)", |b| {
        b.iter(|| checkpoint::open(black_box(&bytes), &vkey).unwrap())
    });
}

criterion_group!(benches, hashing, proofs, notes);
criterion_main!(benches);
