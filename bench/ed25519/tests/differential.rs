//! Differential test of Ed25519 verifiers against `verify_strict`.
//!
//! `agreement_matrix` runs every class of `gatelog_ed25519_bench::cases`
//! (fixed edge cases, and random ones drawn with proptest's deterministic
//! runner) through each verifier, prints the matrix and every
//! disagreement (docs/benchmarks.md, "Is 67 µs the floor?", copies it),
//! and asserts what was observed to hold.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use gatelog_ed25519_bench::Verifier;
use gatelog_ed25519_bench::cases::{self, Case, Class};
use gatelog_ed25519_bench::matrix;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

const RANDOM_PER_CLASS: usize = 256;

fn draw<T: std::fmt::Debug>(runner: &mut TestRunner, s: impl Strategy<Value = T>) -> T {
    s.new_tree(runner).expect("a value").current()
}

fn random_cases() -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    let msg = || proptest::collection::vec(any::<u8>(), 0..600);
    let mut out = Vec::new();
    for _ in 0..RANDOM_PER_CLASS {
        let (seed, m) = draw(&mut runner, (any::<[u8; 32]>(), msg()));
        out.push(cases::valid(seed, m));
        let (seed, m, at, d) = draw(
            &mut runner,
            (any::<[u8; 32]>(), msg(), any::<usize>(), 1u8..),
        );
        out.push(cases::wrong_message(seed, m, at, d));
        let (k, s1, s2, m) = draw(
            &mut runner,
            (
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                msg(),
            ),
        );
        let mut sig = [0; 64];
        sig[..32].copy_from_slice(&s1);
        sig[32..].copy_from_slice(&s2);
        out.push(cases::random_bytes(k, sig, m));
        let (seed, m, n) = draw(&mut runner, (any::<[u8; 32]>(), msg(), 1u8..=14));
        out.extend(cases::malleated_s(seed, m, n));
    }
    out
}

fn all_cases() -> Vec<Case> {
    let mut all = cases::fixed(16);
    all.extend(random_cases());
    all
}

/// The classes where no small-order point is involved, and where every
/// deterministic verifier was seen to decide exactly as `verify_strict`.
const PLAIN: [Class; 8] = [
    Class::Valid,
    Class::WrongMessage,
    Class::RandomBytes,
    Class::MalleatedS,
    Class::MixedOrderKey,
    Class::MixedOrderR,
    Class::NonCanonicalKey,
    Class::NonCanonicalR,
];

const RFC8032: [Verifier; 3] = [Verifier::DalekVerify, Verifier::Ring, Verifier::AwsLc];

#[test]
fn agreement_matrix() {
    let all = all_cases();
    let m = matrix::compute(&all);
    let table = m.markdown();
    println!(
        "curve25519-dalek backend: {}",
        gatelog_ed25519_bench::dalek_backend()
    );
    println!("{table}");
    for line in m.disagreements() {
        println!("{line}");
    }
    if let Ok(path) = std::env::var("GATELOG_ED25519_MATRIX_OUT") {
        std::fs::write(path, &table).expect("writing the matrix");
    }
    // Every class ran, and each verifier saw every input.
    for class in Class::ALL {
        let n = m.cell(class, Verifier::Ring).total();
        assert!(n > 0, "no input in class {}", class.name());
        for v in &Verifier::ALL[1..] {
            assert_eq!(m.cell(class, *v).total(), n);
        }
    }
    // Every verifier accepts every valid signature; the deterministic ones
    // decide as verify_strict on every class without a small-order point.
    for v in &Verifier::ALL[1..] {
        let valid = m.cell(Class::Valid, *v);
        assert_eq!(valid.both_accept, valid.total(), "{}", v.name());
    }
    for class in PLAIN {
        for v in RFC8032.iter().chain(&[
            Verifier::RingChecked,
            Verifier::AwsLcChecked,
            Verifier::GatelogCore,
        ]) {
            assert!(
                m.cell(class, *v).agrees(),
                "{} on {}",
                v.name(),
                class.name()
            );
        }
    }
    // None of the RFC 8032 verifiers refuses what verify_strict accepts,
    // and each accepts some small-order key or R that it refuses.
    for v in RFC8032 {
        for class in Class::ALL {
            let c = m.cell(class, v);
            assert!(
                c.only_reference_accepts.is_empty(),
                "{} on {}",
                v.name(),
                class.name()
            );
        }
        for class in [
            Class::SmallOrderKey,
            Class::SmallOrderR,
            Class::SmallOrderKeyAndR,
        ] {
            assert!(
                !m.cell(class, v).only_this_accepts.is_empty(),
                "{} on {}",
                v.name(),
                class.name()
            );
        }
    }
    // With the small-order refusals in front, ring and aws-lc-rs decide as
    // verify_strict on every input, and so does gatelog-core's
    // verify_strict (the refusals, then dalek's plain verify).
    for v in [
        Verifier::RingChecked,
        Verifier::AwsLcChecked,
        Verifier::GatelogCore,
    ] {
        for class in Class::ALL {
            assert!(
                m.cell(class, v).agrees(),
                "{} on {}",
                v.name(),
                class.name()
            );
        }
    }
    // Batch verification of one is not strict either way: it accepts
    // signatures with a small-order component and refuses some that
    // verify_strict accepts (its random coefficients times H(R‖A‖M) are
    // reduced mod L, so a torsion component does not cancel).
    let batch = |class| m.cell(class, Verifier::DalekBatch1);
    assert!(!batch(Class::MixedOrderR).only_this_accepts.is_empty());
    assert!(!batch(Class::MixedOrderKey).only_this_accepts.is_empty());
    assert!(
        !batch(Class::MixedOrderKey)
            .only_reference_accepts
            .is_empty()
    );
    for class in [Class::WrongMessage, Class::RandomBytes, Class::MalleatedS] {
        assert!(batch(class).agrees(), "batch on {}", class.name());
    }
}

#[test]
fn ring_decides_as_dalek_verify_and_aws_lc_accepts_less() {
    for case in all_cases() {
        let (k, msg, sig) = (&case.key, &case.message, &case.signature);
        let ring = Verifier::Ring.accepts(k, msg, sig);
        let aws = Verifier::AwsLc.accepts(k, msg, sig);
        assert_eq!(
            ring,
            Verifier::DalekVerify.accepts(k, msg, sig),
            "{}",
            case.label
        );
        assert!(!aws || ring, "aws-lc-rs alone accepts {}", case.label);
        // aws-lc-rs refuses a key not in canonical encoding (y ≥ p, or the
        // sign bit set on x = 0), which ring and dalek decode.
        let canonical = CompressedEdwardsY(*k)
            .decompress()
            .is_some_and(|p| p.compress().to_bytes() == *k);
        assert!(
            canonical || !aws,
            "aws-lc-rs accepts non-canonical {}",
            case.label
        );
    }
}

#[test]
fn the_small_order_byte_check_equals_decoding_on_every_candidate() {
    // A point of small order is one of the 8 torsion points; an encoding
    // decoding to it has y ≡ its y (mod p), so y or y + p, and either sign
    // bit: 32 candidates hold every such encoding.
    let p = {
        let mut b = [0xffu8; 32];
        b[0] = 0xed;
        b[31] = 0x7f;
        b
    };
    let mut candidates = Vec::new();
    for t in EIGHT_TORSION {
        let y = t.compress().to_bytes();
        let mut y_plus_p = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let mask: u8 = if i == 31 { 0x7f } else { 0xff };
            let v = u16::from(y[i] & mask) + u16::from(p[i]) + carry;
            y_plus_p[i] = v as u8;
            carry = v >> 8;
        }
        for base in [y, y_plus_p] {
            for sign in [0u8, 0x80] {
                let mut b = base;
                b[31] = (b[31] & 0x7f) | sign;
                // y + p past 2^255 does not fit: leave it out.
                if base == y_plus_p && (carry != 0 || y_plus_p[31] & 0x80 != 0) {
                    continue;
                }
                candidates.push(b);
            }
        }
    }
    // Points and their negations share a y: the same candidates twice.
    candidates.sort();
    candidates.dedup();
    let mut small = 0;
    for b in &candidates {
        let decoded = CompressedEdwardsY(*b)
            .decompress()
            .is_some_and(|p| p.is_small_order());
        assert_eq!(
            gatelog_ed25519_bench::small_order_encoding(b),
            decoded,
            "{b:02x?}"
        );
        small += usize::from(decoded);
    }
    assert_eq!(small, 14);
    // gatelog-core's table is exactly the encodings derived here.
    let mut derived: Vec<[u8; 32]> = cases::small_order_encodings()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let mut table = gatelog_core::ed25519::SMALL_ORDER_ENCODINGS.to_vec();
    derived.sort();
    table.sort();
    assert_eq!(derived, table);
}

proptest! {
    #[test]
    fn random_bytes_are_refused_by_all_and_never_small_order(
        key in any::<[u8; 32]>(), r in any::<[u8; 32]>(), s in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut sig = [0; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s);
        for v in Verifier::ALL {
            prop_assert!(!v.accepts(&key, &msg, &sig), "{}", v.name());
        }
        let decoded = CompressedEdwardsY(key).decompress().is_some_and(|p| p.is_small_order());
        prop_assert_eq!(gatelog_ed25519_bench::small_order_encoding(&key), decoded);
    }

    #[test]
    fn valid_signatures_pass_all_and_their_changes_pass_none(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..700),
        at in any::<usize>(), delta in 1u8.., n in 1u8..=14,
    ) {
        let c = cases::valid(seed, msg.clone());
        let wrong = cases::wrong_message(seed, msg.clone(), at, delta);
        let malleated = cases::malleated_s(seed, msg, n);
        for v in Verifier::ALL {
            prop_assert!(v.accepts(&c.key, &c.message, &c.signature), "{}", v.name());
            prop_assert!(!v.accepts(&wrong.key, &wrong.message, &wrong.signature), "{}", v.name());
            if let Some(m) = &malleated {
                prop_assert!(!v.accepts(&m.key, &m.message, &m.signature), "{}", v.name());
            }
        }
    }

    #[test]
    fn gatelog_core_decides_as_verify_strict_on_small_order_mixes(
        t in 0usize..8, u in 0usize..8, seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        s_is_zero in any::<bool>(),
    ) {
        // A torsion point added to a real key or R, any S: both verifiers
        // must give the same answer whatever it is.
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
        let a = cases::scalar(&format!("{seed:?} a"));
        let r = cases::scalar(&format!("{seed:?} r"));
        let key = (B * a + EIGHT_TORSION[t]).compress().to_bytes();
        let big_r = (B * r + EIGHT_TORSION[u]).compress().to_bytes();
        let s = if s_is_zero { Default::default() } else { r + cases::challenge(&big_r, &key, &msg) * a };
        let mut sig = [0; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(&s.to_bytes());
        prop_assert_eq!(
            Verifier::GatelogCore.accepts(&key, &msg, &sig),
            Verifier::DalekStrict.accepts(&key, &msg, &sig)
        );
    }
}
