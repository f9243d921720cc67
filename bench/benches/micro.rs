//! Microbenchmarks of gatelog's core: hashing, appends to the compact
//! range, inclusion and consistency proofs built from a hash store and
//! verified at 1 K, 1 M and 100 M leaves, note signing and verification,
//! event validation as the server and the monitor run it, and the client's
//! lockfile parser.
//!
//! Run with `scripts/bench-micro.sh` (bounded time, summaries), or
//! `cargo bench -p gatelog-bench --bench micro`; `GATELOG_BENCH_SIZES`
//! picks the tree sizes (see `gatelog_bench::run`).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use gatelog_bench::fixtures::{
    EventFixture, NoteFixture, decode_and_validate, lockfile_json, monitor_decode, server_check,
};
use gatelog_bench::run::spread;
use gatelog_bench::{LevelStore, setup_done, sizes, synthetic_leaf};
use gatelog_core::cosignature::cosign;
use gatelog_core::merkle::{verify_consistency, verify_inclusion};
use gatelog_core::{
    CompactRange, HashReader, LeafIndex, TreeSize, checkpoint, leaf_hash, node_hash,
};

/// Proofs and roots cycle through this many precomputed picks.
const PICKS: usize = 1024;

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    let leaf = vec![7u8; 600];
    g.bench_function("leaf hash, 600 B leaf", |b| {
        b.iter(|| leaf_hash(black_box(&leaf)))
    });
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    g.bench_function("node hash", |b| {
        b.iter(|| node_hash(black_box(&l), black_box(&r)))
    });
    // Amortized over a growing range: includes the node hashes each append
    // completes and the list of new nodes it returns for storage, not the
    // leaf hash (the same one every time; the range does not look at it).
    let mut range = CompactRange::new();
    g.bench_function("compact range append", |b| {
        b.iter(|| range.append(black_box(l)))
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    for size in sizes() {
        let started = Instant::now();
        let store = LevelStore::synthetic(size.leaves);
        let head = store.head();
        setup_done(
            "micro",
            &format!("hash store of {} leaves", size.label),
            started,
            store.hash_bytes(),
        );
        let n = TreeSize(size.leaves);
        let indices = spread(size.leaves, PICKS);
        let olds: Vec<TreeSize> = spread(size.leaves - 1, PICKS)
            .into_iter()
            .map(|o| TreeSize(o + 1))
            .collect();
        let inclusion: Vec<_> = indices
            .iter()
            .map(|&i| store.inclusion_proof(LeafIndex(i), n).expect("in range"))
            .collect();
        let old_heads: Vec<_> = olds.iter().map(|&o| store.head_at(o)).collect();
        let consistency: Vec<_> = olds
            .iter()
            .map(|&o| store.consistency_proof(o, n).expect("in range"))
            .collect();
        for (k, proof) in inclusion.iter().enumerate() {
            verify_inclusion(&synthetic_leaf(indices[k]), proof, &head).expect("a real proof");
            verify_consistency(&old_heads[k], &head, &consistency[k]).expect("a real proof");
        }

        let mut g = c.benchmark_group(format!("merkle {}", size.label));
        g.throughput(Throughput::Elements(1));
        let mut k = 0;
        g.bench_function("inclusion proof build", |b| {
            b.iter(|| {
                k = (k + 1) % PICKS;
                store.inclusion_proof(LeafIndex(indices[k]), n).unwrap()
            })
        });
        g.bench_function("inclusion proof verify", |b| {
            b.iter(|| {
                k = (k + 1) % PICKS;
                verify_inclusion(&synthetic_leaf(indices[k]), &inclusion[k], &head).unwrap()
            })
        });
        g.bench_function("consistency proof build", |b| {
            b.iter(|| {
                k = (k + 1) % PICKS;
                store.consistency_proof(olds[k], n).unwrap()
            })
        });
        g.bench_function("consistency proof verify", |b| {
            b.iter(|| {
                k = (k + 1) % PICKS;
                verify_consistency(&old_heads[k], &head, &consistency[k]).unwrap()
            })
        });
        g.finish();
    }
}

fn notes(c: &mut Criterion) {
    let f = NoteFixture::new();
    let log = f.log_verifier();
    let witness = f.witness_verifier();
    let mut g = c.benchmark_group("notes");
    g.throughput(Throughput::Elements(1));
    g.bench_function("checkpoint sign", |b| {
        b.iter(|| f.checkpoint.sign(&f.log_key).unwrap())
    });
    g.bench_function("checkpoint open (parse + verify)", |b| {
        b.iter(|| checkpoint::open(black_box(&f.signed), &log).unwrap())
    });
    g.bench_function("cosignature sign", |b| {
        b.iter(|| cosign(&f.witness, black_box(&f.text), 1_780_000_000).unwrap())
    });
    g.bench_function("cosignature verify", |b| {
        b.iter(|| {
            witness
                .verified_timestamp(black_box(&f.text), &f.cosignature)
                .unwrap()
        })
    });
    g.finish();
}

fn events(c: &mut Criterion) {
    let f = EventFixture::new();
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(1));
    g.bench_function("server: envelope decode + validate", |b| {
        b.iter(|| decode_and_validate(black_box(&f.envelope_json)).unwrap())
    });
    g.bench_function("server: envelope decode + signature + validate", |b| {
        b.iter(|| server_check(&f.submitters, black_box(&f.envelope_json)).unwrap())
    });
    g.bench_function("monitor: leaf decode + validate", |b| {
        b.iter(|| monitor_decode(black_box(&f.leaf_bytes), None).unwrap())
    });
    g.bench_function("monitor: leaf decode + signature + validate", |b| {
        b.iter(|| monitor_decode(black_box(&f.leaf_bytes), Some(&f.keyring)).unwrap())
    });
    g.finish();
}

fn lockfiles(c: &mut Criterion) {
    let mut g = c.benchmark_group("lockfile parse");
    // Milliseconds per run at 10,000 packages: few, flat samples.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for n in [100, 2_000, 10_000] {
        let bytes = lockfile_json(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n} packages"), |b| {
            b.iter(|| {
                let lock = gatelog_client::lockfile::parse(Path::new("package-lock.json"), &bytes)
                    .unwrap();
                assert_eq!(lock.packages.len(), n);
                lock
            })
        });
    }
    g.finish();
}

/// Short, bounded runs: the whole suite stays within a couple of minutes.
/// `--warm-up-time` / `--measurement-time` on the command line win.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = hashing, proofs, notes, events, lockfiles
}
criterion_main!(benches);
