//! Ed25519 verification side by side, for gatelog's choice of verifier.
//!
//! gatelog's server, monitor and client check every signature with
//! ed25519-dalek's `verify_strict` (the reference here). This crate runs
//! the same `(public key, message, signature)` triples through the other
//! verifiers a Rust program could use instead — ed25519-dalek's `verify`
//! and batch verification, `ring` and `aws-lc-rs` — so that
//! `benches/verify.rs` measures their speed on equal inputs and
//! `tests/differential.rs` records where they accept or refuse differently
//! ([`matrix`]), over the inputs built by [`cases`].

pub mod cases;
pub mod matrix;

use ed25519_dalek::{Signature, VerifyingKey};

/// A verifier under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verifier {
    /// ed25519-dalek `VerifyingKey::verify_strict`: gatelog's verifier.
    DalekStrict,
    /// ed25519-dalek `VerifyingKey::verify` (RFC 8032 without the small-order checks).
    DalekVerify,
    /// ed25519-dalek `verify_batch` over a batch of one.
    DalekBatch1,
    /// `ring::signature::ED25519`.
    Ring,
    /// `aws_lc_rs::signature::ED25519`.
    AwsLc,
    /// [`small_order_free`], then `ring`.
    RingChecked,
    /// [`small_order_free`], then `aws-lc-rs`.
    AwsLcChecked,
    /// `gatelog_core::ed25519::verify_strict`: the small-order byte
    /// comparison, then ed25519-dalek `verify`.
    GatelogCore,
}

impl Verifier {
    /// Every verifier, the reference first.
    pub const ALL: [Verifier; 8] = [
        Verifier::DalekStrict,
        Verifier::DalekVerify,
        Verifier::DalekBatch1,
        Verifier::Ring,
        Verifier::AwsLc,
        Verifier::RingChecked,
        Verifier::AwsLcChecked,
        Verifier::GatelogCore,
    ];

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Verifier::DalekStrict => "dalek verify_strict",
            Verifier::DalekVerify => "dalek verify",
            Verifier::DalekBatch1 => "dalek verify_batch (1)",
            Verifier::Ring => "ring",
            Verifier::AwsLc => "aws-lc-rs",
            Verifier::RingChecked => "ring + small-order refusals",
            Verifier::AwsLcChecked => "aws-lc-rs + small-order refusals",
            Verifier::GatelogCore => "gatelog-core verify_strict",
        }
    }

    /// Whether this verifier accepts `signature` on `message` under the
    /// 32-byte encoded `public_key`. Anything it cannot parse is refused.
    pub fn accepts(self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        match self {
            Verifier::DalekStrict
            | Verifier::DalekVerify
            | Verifier::DalekBatch1
            | Verifier::GatelogCore => {
                let Ok(key) = VerifyingKey::from_bytes(public_key) else {
                    return false;
                };
                let sig = Signature::from_bytes(signature);
                match self {
                    Verifier::DalekStrict => key.verify_strict(message, &sig).is_ok(),
                    Verifier::DalekVerify => {
                        ed25519_dalek::Verifier::verify(&key, message, &sig).is_ok()
                    }
                    Verifier::GatelogCore => {
                        gatelog_core::ed25519::verify_strict(&key, message, &sig).is_ok()
                    }
                    _ => ed25519_dalek::verify_batch(&[message], &[sig], &[key]).is_ok(),
                }
            }
            Verifier::Ring => {
                ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
                    .verify(message, signature)
                    .is_ok()
            }
            Verifier::AwsLc => aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ED25519,
                public_key,
            )
            .verify(message, signature)
            .is_ok(),
            Verifier::RingChecked => {
                small_order_free(public_key, signature)
                    && Verifier::Ring.accepts(public_key, message, signature)
            }
            Verifier::AwsLcChecked => {
                small_order_free(public_key, signature)
                    && Verifier::AwsLc.accepts(public_key, message, signature)
            }
        }
    }
}

/// The curve25519-dalek backend this build runs, found the way
/// curve25519-dalek finds it (it has no public API for this): the backend
/// cfg its build script selected (recomputed by this crate's build script
/// from the same inputs), then, for `simd`, the CPU features it checks at
/// run time — AVX-512 IFMA + VL (only compiled on a nightly rustc), else
/// AVX2, else its serial code.
pub fn dalek_backend() -> String {
    let cfg = env!("GATELOG_DALEK_BACKEND_CFG");
    let nightly = env!("GATELOG_RUSTC_NIGHTLY") == "1";
    if cfg != "simd" {
        return format!("{cfg} (cfg)");
    }
    #[cfg(target_arch = "x86_64")]
    {
        if nightly
            && std::arch::is_x86_feature_detected!("avx512ifma")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return "simd avx512ifma (nightly, CPU has AVX-512 IFMA+VL)".to_string();
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            let why = if nightly {
                "CPU lacks AVX-512 IFMA+VL"
            } else {
                "stable rustc: AVX-512 IFMA not compiled"
            };
            return format!("simd avx2 ({why})");
        }
    }
    let _ = nightly;
    "serial (simd build, CPU lacks AVX2)".to_string()
}

/// The rustc that built this crate (`rustc -V`).
pub fn rustc_version() -> &'static str {
    env!("GATELOG_RUSTC_VERSION")
}

/// Whether `encoding` decodes to a point of small order: gatelog-core's
/// byte comparison with its 14 encodings
/// ([`gatelog_core::ed25519::SMALL_ORDER_ENCODINGS`]), no point decoding.
/// `tests/differential.rs` checks it equals
/// `decompress().is_some_and(|p| p.is_small_order())` on every encoding that
/// could decode to a point of small order.
pub fn small_order_encoding(encoding: &[u8; 32]) -> bool {
    gatelog_core::ed25519::is_small_order_encoding(encoding)
}

/// The refusals `verify_strict` adds to RFC 8032 verification: `false` when
/// the key or the signature's R is a small-order encoding. `ring` or
/// `aws-lc-rs` would need this in front of them to refuse what
/// `verify_strict` refuses (see `tests/differential.rs`).
pub fn small_order_free(public_key: &[u8; 32], signature: &[u8; 64]) -> bool {
    let r: &[u8; 32] = signature[..32].try_into().expect("32 bytes");
    !small_order_encoding(public_key) && !small_order_encoding(r)
}
