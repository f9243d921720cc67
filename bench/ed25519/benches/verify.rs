//! Ed25519 verification speed, side by side on the same 256
//! `(key, message, signature)` triples (600-byte messages, about the size
//! of the DSSE PAE of a gatelog approval event): ed25519-dalek
//! `verify_strict` (gatelog's), `verify`, batch verification of 64,
//! `ring` and `aws-lc-rs`, with and without the small-order refusals that
//! would make them decide as `verify_strict` does, and `sign` for
//! reference. Each benchmark does all 256 (throughput: 256 elements), so
//! the time per element is the time per signature.
//!
//! After criterion's runs (wall-clock time, one operation after another),
//! every operation runs again interleaved with the others, timed in this
//! thread's CPU time: on a machine whose cores other work shares, those
//! figures are the ones to compare (tab-separated lines: `interleaved`,
//! the clock, the name, median and minimum ns per signature, rounds).
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

/// A named operation: one pass over the inputs.
type Op<'a> = (&'static str, Box<dyn Fn() + 'a>);

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

    let aws_signers: Vec<_> = x
        .seeds
        .iter()
        .map(|s| aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(s).unwrap())
        .collect();

    // Each operation: one pass over the 256 inputs.
    let ops: Vec<Op<'_>> = vec![
        (
            "dalek verify_strict",
            Box::new(|| {
                for i in 0..N {
                    x.keys[i]
                        .verify_strict(black_box(&x.messages[i]), &x.signatures[i])
                        .unwrap();
                }
            }),
        ),
        (
            "dalek verify_strict, key decoded each time",
            Box::new(|| {
                for i in 0..N {
                    VerifyingKey::from_bytes(black_box(&x.key_bytes[i]))
                        .unwrap()
                        .verify_strict(&x.messages[i], &x.signatures[i])
                        .unwrap();
                }
            }),
        ),
        (
            "gatelog-core verify_strict",
            Box::new(|| {
                for i in 0..N {
                    gatelog_core::ed25519::verify_strict(
                        &x.keys[i],
                        black_box(&x.messages[i]),
                        &x.signatures[i],
                    )
                    .unwrap();
                }
            }),
        ),
        (
            "dalek verify",
            Box::new(|| {
                for i in 0..N {
                    x.keys[i]
                        .verify(black_box(&x.messages[i]), &x.signatures[i])
                        .unwrap();
                }
            }),
        ),
        (
            "dalek verify_batch of 64",
            Box::new(|| {
                for chunk in 0..N / BATCH {
                    let r = chunk * BATCH..(chunk + 1) * BATCH;
                    let msgs: Vec<&[u8]> = x.messages[r.clone()].iter().map(|m| &m[..]).collect();
                    ed25519_dalek::verify_batch(
                        black_box(&msgs),
                        &x.signatures[r.clone()],
                        &x.keys[r],
                    )
                    .unwrap();
                }
            }),
        ),
        (
            "ring",
            Box::new(|| {
                for i in 0..N {
                    ring_keys[i]
                        .verify(black_box(&x.messages[i]), &x.signature_bytes[i])
                        .unwrap();
                }
            }),
        ),
        (
            "aws-lc-rs",
            Box::new(|| {
                for i in 0..N {
                    aws_keys[i]
                        .verify_sig(black_box(&x.messages[i]), &x.signature_bytes[i])
                        .unwrap();
                }
            }),
        ),
        (
            "aws-lc-rs + small-order refusals",
            Box::new(|| {
                for i in 0..N {
                    assert!(small_order_free(&x.key_bytes[i], &x.signature_bytes[i]));
                    aws_keys[i]
                        .verify_sig(black_box(&x.messages[i]), &x.signature_bytes[i])
                        .unwrap();
                }
            }),
        ),
        (
            "small-order refusals alone (compare A and R)",
            Box::new(|| {
                for i in 0..N {
                    assert!(small_order_free(
                        black_box(&x.key_bytes[i]),
                        &x.signature_bytes[i]
                    ));
                }
            }),
        ),
        (
            "dalek sign",
            Box::new(|| {
                for i in 0..N {
                    black_box(x.signing[i].sign(black_box(&x.messages[i])));
                }
            }),
        ),
        (
            "aws-lc-rs sign",
            Box::new(|| {
                for i in 0..N {
                    black_box(aws_signers[i].sign(black_box(&x.messages[i])));
                }
            }),
        ),
    ];

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(N as u64));
    for (name, op) in &ops {
        g.bench_function(*name, |b| b.iter(op));
    }
    g.finish();
    interleaved(&ops);
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`), which leaves
/// out the time other processes on the shared cores held the CPU; `None`
/// off Linux.
fn cpu_ns() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::time::{ClockId, clock_gettime};
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Runs every operation in turn, `GATELOG_ED25519_ROUNDS` rounds (each
/// round starting one operation later), timing each pass in CPU time, and
/// prints per operation the median and minimum ns per signature. Interleaving
/// spreads the changing load of a shared machine over all operations alike.
fn interleaved(ops: &[Op<'_>]) {
    let rounds: usize = std::env::var("GATELOG_ED25519_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let cpu = cpu_ns().is_some();
    let now = || {
        if cpu {
            cpu_ns().unwrap_or(0)
        } else {
            std::time::UNIX_EPOCH
                .elapsed()
                .map_or(0, |d| d.as_nanos() as u64)
        }
    };
    let mut samples = vec![Vec::with_capacity(rounds); ops.len()];
    for round in 0..rounds {
        for k in 0..ops.len() {
            let j = (k + round) % ops.len();
            let started = now();
            (ops[j].1)();
            samples[j].push((now() - started) as f64 / N as f64);
        }
    }
    let clock = if cpu { "cpu" } else { "wall" };
    for ((name, _), s) in ops.iter().zip(&mut samples) {
        s.sort_by(f64::total_cmp);
        println!(
            "interleaved\t{clock}\t{name}\t{:.1}\t{:.1}\t{rounds}",
            s[s.len() / 2],
            s[0]
        );
    }
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
