//! Ed25519 verification speed, side by side on the same 256
//! `(key, message, signature)` triples (600-byte messages, about the size
//! of the DSSE PAE of a gatelog approval event): ed25519-dalek
//! `verify_strict` (gatelog's), `verify`, batch verification of 64,
//! `ring` and `aws-lc-rs`, with and without the small-order refusals that
//! would make them decide as `verify_strict` does, and `sign` for
//! reference. Each benchmark does all 256 (throughput: 256 elements), so
//! the time per element is the time per signature.
//!
//! `scripts/bench-ed25519.sh` runs it under each curve25519-dalek backend
//! and tabulates the results; the backend of this build is printed first.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]
// The inputs are parallel vectors indexed together.
#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use gatelog_ed25519_bench::{dalek_backend, rustc_version, small_order_free};

const N: usize = 256;
const BATCH: usize = 64;
const MESSAGE_LEN: usize = 600;

struct Inputs {
    seeds: Vec<[u8; 32]>,
    signing: Vec<SigningKey>,
    keys: Vec<VerifyingKey>,
    key_bytes: Vec<[u8; 32]>,
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
    signature_bytes: Vec<[u8; 64]>,
}

fn inputs() -> Inputs {
    let seeds: Vec<[u8; 32]> = (0..N)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            s[8] = 0x6c;
            s
        })
        .collect();
    let signing: Vec<SigningKey> = seeds.iter().map(SigningKey::from_bytes).collect();
    let messages: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            (0..MESSAGE_LEN)
                .map(|j| (i * 31 + j * 7) as u8 ^ 0x5a)
                .collect()
        })
        .collect();
    let signatures: Vec<Signature> = signing
        .iter()
        .zip(&messages)
        .map(|(k, m)| k.sign(m))
        .collect();
    let keys: Vec<VerifyingKey> = signing.iter().map(|k| k.verifying_key()).collect();
    Inputs {
        key_bytes: keys.iter().map(|k| k.to_bytes()).collect(),
        signature_bytes: signatures.iter().map(|s| s.to_bytes()).collect(),
        seeds,
        signing,
        keys,
        messages,
        signatures,
    }
}

fn bench(c: &mut Criterion) {
    println!("curve25519-dalek backend: {}", dalek_backend());
    println!("rustc: {}", rustc_version());
    let x = inputs();
    // Every verifier accepts every input before it is timed.
    let ring_keys: Vec<_> = x
        .key_bytes
        .iter()
        .map(|k| ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, *k))
        .collect();
    let aws_keys: Vec<_> = x
        .key_bytes
        .iter()
        .map(|k| {
            aws_lc_rs::signature::ParsedPublicKey::new(&aws_lc_rs::signature::ED25519, k)
                .expect("an Ed25519 key")
        })
        .collect();
    for i in 0..N {
        let (m, s) = (&x.messages[i], &x.signature_bytes[i]);
        assert!(x.keys[i].verify_strict(m, &x.signatures[i]).is_ok());
        assert!(ring_keys[i].verify(m, s).is_ok());
        assert!(aws_keys[i].verify_sig(m, s).is_ok());
    }

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("dalek verify_strict", |b| {
        b.iter(|| {
            for i in 0..N {
                x.keys[i]
                    .verify_strict(black_box(&x.messages[i]), &x.signatures[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("dalek verify_strict, key decoded each time", |b| {
        b.iter(|| {
            for i in 0..N {
                VerifyingKey::from_bytes(black_box(&x.key_bytes[i]))
                    .unwrap()
                    .verify_strict(&x.messages[i], &x.signatures[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("dalek verify", |b| {
        b.iter(|| {
            for i in 0..N {
                x.keys[i]
                    .verify(black_box(&x.messages[i]), &x.signatures[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("dalek verify_batch of 64", |b| {
        b.iter(|| {
            for chunk in 0..N / BATCH {
                let r = chunk * BATCH..(chunk + 1) * BATCH;
                let msgs: Vec<&[u8]> = x.messages[r.clone()].iter().map(|m| &m[..]).collect();
                ed25519_dalek::verify_batch(black_box(&msgs), &x.signatures[r.clone()], &x.keys[r])
                    .unwrap();
            }
        })
    });
    g.bench_function("ring", |b| {
        b.iter(|| {
            for i in 0..N {
                ring_keys[i]
                    .verify(black_box(&x.messages[i]), &x.signature_bytes[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("aws-lc-rs", |b| {
        b.iter(|| {
            for i in 0..N {
                aws_keys[i]
                    .verify_sig(black_box(&x.messages[i]), &x.signature_bytes[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("aws-lc-rs + small-order refusals", |b| {
        b.iter(|| {
            for i in 0..N {
                assert!(small_order_free(&x.key_bytes[i], &x.signature_bytes[i]));
                aws_keys[i]
                    .verify_sig(black_box(&x.messages[i]), &x.signature_bytes[i])
                    .unwrap();
            }
        })
    });
    g.bench_function("small-order refusals alone (compare A and R)", |b| {
        b.iter(|| {
            for i in 0..N {
                assert!(small_order_free(
                    black_box(&x.key_bytes[i]),
                    &x.signature_bytes[i]
                ));
            }
        })
    });
    g.bench_function("dalek sign", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(x.signing[i].sign(black_box(&x.messages[i])));
            }
        })
    });
    let aws_signers: Vec<_> = x
        .seeds
        .iter()
        .map(|s| aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(s).unwrap())
        .collect();
    g.bench_function("aws-lc-rs sign", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(aws_signers[i].sign(black_box(&x.messages[i])));
            }
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
