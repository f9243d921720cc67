//! gatelog side by side with peers, in one run on one machine:
//! - Merkle inclusion proofs (build and verify) against `ct-merkle` and
//!   `rs_merkle`, consistency proofs against `ct-merkle` (`rs_merkle` has
//!   none), at 1 K and 1 M leaves, where each holds its own tree in memory;
//! - at 100 M leaves, verification only: `ct-merkle` verifies gatelog's
//!   proofs against gatelog's root (its own tree would take minutes to push
//!   and twice the memory);
//! - the floor of this machine: SHA-256 over 64 B and 1 KiB, Ed25519 sign,
//!   `verify` and `verify_strict`, each next to the gatelog operations
//!   built on it (node and leaf hash, checkpoint sign and open, the
//!   server's envelope check).
//!
//! Every tree is checked to have the same root as gatelog's before it is
//! measured, and every proof to verify, so the work compared is the same.
//! Merkle benchmark ids are `<metric> <size>/<implementation>`;
//! `scripts/bench-micro.sh` turns them into ratios.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use gatelog_bench::fixtures::{EventFixture, NoteFixture, server_check};
use gatelog_bench::run::{Size, spread};
use gatelog_bench::{LevelStore, setup_done, sizes, synthetic_leaf};
use gatelog_core::merkle::{verify_consistency, verify_inclusion};
use gatelog_core::{
    Hash, HashReader, LeafIndex, TreeHead, TreeSize, checkpoint, leaf_hash, node_hash,
};
use sha2::{Digest as _, Sha256};

/// ct-merkle takes a `digest` 0.11 hash.
type CtSha256 = sha2_digest011::Sha256;
type CtTree = MemoryBackedTree<CtSha256, [u8; 8]>;

/// Proofs cycle through this many precomputed picks.
const PICKS: usize = 1024;

/// The largest tree the peers build for themselves.
const PEER_TREE_MAX: u64 = 1_000_000;

/// RFC 6962 hashing for `rs_merkle`: leaves are given as leaf hashes, and
/// interior nodes get the 0x01 prefix (its odd-node promotion then gives
/// the RFC 6962 tree).
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

fn ct_root(head: &TreeHead) -> RootHash<CtSha256> {
    RootHash::new(head.root.0.into(), head.size.0)
}

fn ct_inclusion(path: &[Hash]) -> CtInclusion<CtSha256> {
    CtInclusion::from_bytes(path.iter().flat_map(|h| h.0).collect())
}

fn ct_consistency(path: &[Hash]) -> CtConsistency<CtSha256> {
    CtConsistency::try_from_bytes(path.iter().flat_map(|h| h.0).collect())
        .expect("a whole number of hashes")
}

/// gatelog's proofs at the picks, checked against gatelog and ct-merkle.
struct Proofs {
    head: TreeHead,
    indices: Vec<u64>,
    inclusion: Vec<gatelog_core::InclusionProof>,
    old_heads: Vec<TreeHead>,
    consistency: Vec<gatelog_core::ConsistencyProof>,
}

impl Proofs {
    fn of(store: &LevelStore) -> Proofs {
        let head = store.head();
        let n = head.size.0;
        let indices = spread(n, PICKS);
        let inclusion: Vec<_> = indices
            .iter()
            .map(|&i| store.inclusion_proof(LeafIndex(i), head.size).unwrap())
            .collect();
        let old_heads: Vec<TreeHead> = spread(n - 1, PICKS)
            .into_iter()
            .map(|o| store.head_at(TreeSize(o + 1)))
            .collect();
        let consistency: Vec<_> = old_heads
            .iter()
            .map(|old| store.consistency_proof(old.size, head.size).unwrap())
            .collect();
        let ct_head = ct_root(&head);
        for k in 0..PICKS {
            let i = indices[k];
            verify_inclusion(&synthetic_leaf(i), &inclusion[k], &head).unwrap();
            ct_head
                .verify_inclusion(&i.to_le_bytes(), i, &ct_inclusion(&inclusion[k].path))
                .expect("ct-merkle accepts gatelog's inclusion proof");
            verify_consistency(&old_heads[k], &head, &consistency[k]).unwrap();
            ct_head
                .verify_consistency(
                    &ct_root(&old_heads[k]),
                    &ct_consistency(&consistency[k].path),
                )
                .expect("ct-merkle accepts gatelog's consistency proof");
        }
        Proofs {
            head,
            indices,
            inclusion,
            old_heads,
            consistency,
        }
    }
}

/// The primitives, each followed at once by the gatelog operations that
/// rest on it, so that each ratio is measured back to back.
fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    let small = vec![0x5a; 64];
    g.throughput(Throughput::Bytes(64));
    g.bench_function("sha256 64 B", |b| {
        b.iter(|| Sha256::digest(black_box(&small)))
    });
    g.bench_function("gatelog: node hash", |b| {
        b.iter(|| node_hash(black_box(&l), black_box(&r)))
    });
    let large = vec![0x5a; 1024];
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("sha256 1 KiB", |b| {
        b.iter(|| Sha256::digest(black_box(&large)))
    });
    g.bench_function("gatelog: leaf hash, 1 KiB leaf", |b| {
        b.iter(|| leaf_hash(black_box(&large)))
    });

    g.throughput(Throughput::Elements(1));
    let key = SigningKey::from_bytes(&[11; 32]);
    let public = key.verifying_key();
    let message = vec![0x42; 200];
    let signature = key.sign(&message);
    let notes = NoteFixture::new();
    let log = notes.log_verifier();
    let events = EventFixture::new();
    g.bench_function("ed25519 sign", |b| b.iter(|| key.sign(black_box(&message))));
    g.bench_function("gatelog: checkpoint sign", |b| {
        b.iter(|| notes.checkpoint.sign(&notes.log_key).unwrap())
    });
    g.bench_function("ed25519 verify", |b| {
        b.iter(|| public.verify(black_box(&message), &signature).unwrap())
    });
    g.bench_function("ed25519 verify_strict", |b| {
        b.iter(|| {
            public
                .verify_strict(black_box(&message), &signature)
                .unwrap()
        })
    });
    g.bench_function("gatelog: checkpoint open", |b| {
        b.iter(|| checkpoint::open(black_box(&notes.signed), &log).unwrap())
    });
    g.bench_function("gatelog: server envelope check", |b| {
        b.iter(|| server_check(&events.submitters, black_box(&events.envelope_json)).unwrap())
    });
    g.finish();
}

/// Peers building their own trees: ct-merkle and rs_merkle, same root.
fn own_trees(c: &mut Criterion, size: Size, store: &LevelStore, p: &Proofs) {
    let n = size.leaves;
    let started = Instant::now();
    let mut ct = CtTree::new();
    for i in 0..n {
        ct.push(i.to_le_bytes());
    }
    setup_done(
        "peers",
        &format!("ct-merkle tree of {} leaves", size.label),
        started,
        (n as usize) * (8 + 2 * 32),
    );
    assert_eq!(
        ct.root(),
        ct_root(&p.head),
        "ct-merkle builds the same tree"
    );

    let started = Instant::now();
    let leaves: Vec<[u8; 32]> = (0..n).map(|i| synthetic_leaf(i).0).collect();
    let rs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves);
    setup_done(
        "peers",
        &format!("rs_merkle tree of {} leaves", size.label),
        started,
        (n as usize) * 2 * 32,
    );
    assert_eq!(
        rs.root(),
        Some(p.head.root.0),
        "rs_merkle builds the same tree"
    );

    let ct_head = ct_root(&p.head);
    let ct_olds: Vec<RootHash<CtSha256>> = p.old_heads.iter().map(ct_root).collect();
    let ct_inclusion_proofs: Vec<_> = p
        .indices
        .iter()
        .map(|&i| ct.prove_inclusion(i as usize))
        .collect();
    let ct_consistency_proofs: Vec<_> = p
        .old_heads
        .iter()
        .map(|old| ct.prove_consistency((n - old.size.0) as usize))
        .collect();
    let rs_proofs: Vec<_> = p.indices.iter().map(|&i| rs.proof(&[i as usize])).collect();
    for k in 0..PICKS {
        let i = p.indices[k];
        ct_head
            .verify_inclusion(&i.to_le_bytes(), i, &ct_inclusion_proofs[k])
            .unwrap();
        ct_head
            .verify_consistency(&ct_olds[k], &ct_consistency_proofs[k])
            .unwrap();
        assert!(rs_proofs[k].verify(
            p.head.root.0,
            &[i as usize],
            &[leaves[i as usize]],
            n as usize
        ));
    }

    let size_n = p.head.size;
    let mut g = c.benchmark_group(format!("inclusion proof build {}", size.label));
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("gatelog", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            store
                .inclusion_proof(LeafIndex(p.indices[k]), size_n)
                .unwrap()
        })
    });
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            ct.prove_inclusion(p.indices[k] as usize)
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            rs.proof(&[p.indices[k] as usize])
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("inclusion proof verify {}", size.label));
    g.throughput(Throughput::Elements(1));
    verify_gatelog_inclusion(&mut g, p);
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            let i = p.indices[k];
            ct_head
                .verify_inclusion(&i.to_le_bytes(), i, &ct_inclusion_proofs[k])
                .unwrap()
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            let i = p.indices[k] as usize;
            assert!(rs_proofs[k].verify(p.head.root.0, &[i], &[leaves[i]], n as usize))
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("consistency proof build {}", size.label));
    g.throughput(Throughput::Elements(1));
    g.bench_function("gatelog", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            store
                .consistency_proof(p.old_heads[k].size, size_n)
                .unwrap()
        })
    });
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            ct.prove_consistency((n - p.old_heads[k].size.0) as usize)
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("consistency proof verify {}", size.label));
    g.throughput(Throughput::Elements(1));
    verify_gatelog_consistency(&mut g, p);
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            ct_head
                .verify_consistency(&ct_olds[k], &ct_consistency_proofs[k])
                .unwrap()
        })
    });
    g.finish();
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn verify_gatelog_inclusion(g: &mut Group<'_>, p: &Proofs) {
    let mut k = 0;
    g.bench_function("gatelog", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            verify_inclusion(&synthetic_leaf(p.indices[k]), &p.inclusion[k], &p.head).unwrap()
        })
    });
}

fn verify_gatelog_consistency(g: &mut Group<'_>, p: &Proofs) {
    let mut k = 0;
    g.bench_function("gatelog", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            verify_consistency(&p.old_heads[k], &p.head, &p.consistency[k]).unwrap()
        })
    });
}

/// Beyond what the peers hold: ct-merkle verifies gatelog's proofs.
fn verify_only(c: &mut Criterion, size: Size, p: &Proofs) {
    let ct_head = ct_root(&p.head);
    let ct_inclusion_proofs: Vec<_> = p.inclusion.iter().map(|q| ct_inclusion(&q.path)).collect();
    let ct_olds: Vec<_> = p.old_heads.iter().map(ct_root).collect();
    let ct_consistency_proofs: Vec<_> = p
        .consistency
        .iter()
        .map(|q| ct_consistency(&q.path))
        .collect();
    let mut k = 0;

    let mut g = c.benchmark_group(format!("inclusion proof verify {}", size.label));
    g.throughput(Throughput::Elements(1));
    verify_gatelog_inclusion(&mut g, p);
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            let i = p.indices[k];
            ct_head
                .verify_inclusion(&i.to_le_bytes(), i, &ct_inclusion_proofs[k])
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("consistency proof verify {}", size.label));
    g.throughput(Throughput::Elements(1));
    verify_gatelog_consistency(&mut g, p);
    g.bench_function("ct-merkle", |b| {
        b.iter(|| {
            k = (k + 1) % PICKS;
            ct_head
                .verify_consistency(&ct_olds[k], &ct_consistency_proofs[k])
                .unwrap()
        })
    });
    g.finish();
}

fn merkle(c: &mut Criterion) {
    for size in sizes() {
        let started = Instant::now();
        let store = LevelStore::synthetic(size.leaves);
        setup_done(
            "peers",
            &format!("hash store of {} leaves", size.label),
            started,
            store.hash_bytes(),
        );
        let proofs = Proofs::of(&store);
        if size.leaves <= PEER_TREE_MAX {
            own_trees(c, size, &store, &proofs);
        } else {
            verify_only(c, size, &proofs);
        }
    }
}

/// Short, bounded runs (see benches/micro.rs).
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = floor, merkle
}
criterion_main!(benches);
