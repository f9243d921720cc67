//! The inputs of the differential test, by class: valid signatures and the
//! edge cases on which Ed25519 verifiers are known to differ (Chalkias et
//! al., "Taming the many EdDSAs", 2020): non-canonical S, small-order and
//! mixed-order keys and R, non-canonical point encodings (y >= p).
//!
//! Signatures on unusual points are computed here from the curve
//! (`S = r + H(R ‖ A ‖ M)·a`), since no signer produces them.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha512};

/// A class of inputs; the matrix is kept per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A signature made by `SigningKey::sign` (random keys and messages).
    Valid,
    /// A valid signature checked against another message.
    WrongMessage,
    /// Random key and signature bytes.
    RandomBytes,
    /// A valid signature with S replaced by S + n·L (n ≥ 1): non-canonical S.
    MalleatedS,
    /// Each small-order point (and non-canonical encoding) as the key, with
    /// R = r·B and S = r, which the cofactored equation accepts.
    SmallOrderKey,
    /// A valid key, R one of the small-order encodings, S = H(R‖A‖M)·a.
    SmallOrderR,
    /// Small-order key and small-order R, S = 0 (every pair).
    SmallOrderKeyAndR,
    /// Key a·B + T (T a non-zero small-order point), signed honestly with a.
    MixedOrderKey,
    /// A valid key, R = r·B + T, S = r + H(R‖A‖M)·a.
    MixedOrderR,
    /// A key encoded with y ≥ p (not small order), signed as if by some a.
    NonCanonicalKey,
    /// A valid key, R encoded with y ≥ p (not small order).
    NonCanonicalR,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 11] = [
        Class::Valid,
        Class::WrongMessage,
        Class::RandomBytes,
        Class::MalleatedS,
        Class::SmallOrderKey,
        Class::SmallOrderR,
        Class::SmallOrderKeyAndR,
        Class::MixedOrderKey,
        Class::MixedOrderR,
        Class::NonCanonicalKey,
        Class::NonCanonicalR,
    ];

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Class::Valid => "valid",
            Class::WrongMessage => "wrong message",
            Class::RandomBytes => "random bytes",
            Class::MalleatedS => "S + n·L (non-canonical S)",
            Class::SmallOrderKey => "small-order A, S = r",
            Class::SmallOrderR => "small-order R",
            Class::SmallOrderKeyAndR => "small-order A and R, S = 0",
            Class::MixedOrderKey => "mixed-order A (a·B + T)",
            Class::MixedOrderR => "mixed-order R (r·B + T)",
            Class::NonCanonicalKey => "non-canonical A (y ≥ p)",
            Class::NonCanonicalR => "non-canonical R (y ≥ p)",
        }
    }
}

/// One input: a key encoding, a message and a signature.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its class.
    pub class: Class,
    /// What it is, for reports.
    pub label: String,
    /// The 32-byte public key encoding.
    pub key: [u8; 32],
    /// The message.
    pub message: Vec<u8>,
    /// The 64-byte signature `R ‖ S`.
    pub signature: [u8; 64],
}

/// A scalar derived from a label (stands for a secret nobody holds).
pub fn scalar(label: &str) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&Sha512::digest(label.as_bytes()).into())
}

/// `H(R ‖ A ‖ M)` reduced mod L, as every verifier computes it.
pub fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

fn signature(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

/// The group order L = 2^252 + 27742317777372353535851937790883648493,
/// little-endian.
pub const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `x + n·L` on 256-bit little-endian integers, or `None` past 2^256.
pub fn add_multiple_of_l(x: &[u8; 32], n: u8) -> Option<[u8; 32]> {
    let l = L;
    let mut out = [0u8; 32];
    let mut carry = 0u32;
    for i in 0..32 {
        let v = u32::from(x[i]) + u32::from(l[i]) * u32::from(n) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    (carry == 0).then_some(out)
}

/// p = 2^255 − 19 plus `y` (y ≤ 18), little-endian, with the sign bit.
fn p_plus(y: u8, sign: bool) -> [u8; 32] {
    let mut b = [0xff; 32];
    b[0] = 0xed + y;
    b[31] = if sign { 0xff } else { 0x7f };
    b
}

/// The order of a small-order point (1, 2, 4 or 8; 9 means larger).
pub fn order_of(point: &EdwardsPoint) -> u8 {
    let mut q = *point;
    let mut order = 1u8;
    while !q.is_identity() && order <= 8 {
        q += point;
        order += 1;
    }
    order
}

/// Every encoding of a small-order point that curve25519-dalek decodes:
/// the 8 canonical ones, the sign bit set on the two with x = 0, and
/// y + p for y = 0 and y = 1 with either sign bit. Each with a label.
pub fn small_order_encodings() -> Vec<(String, [u8; 32])> {
    let mut out = Vec::new();
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        out.push((
            format!("T{i} (order {})", order_of(t)),
            t.compress().to_bytes(),
        ));
    }
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let mut b = t.compress().to_bytes();
        // x = 0 (the identity and (0, -1)): the sign bit of -0.
        if (t + t).is_identity() {
            b[31] |= 0x80;
            out.push((format!("T{i} with the sign bit of x = 0"), b));
        }
    }
    for y in [0u8, 1] {
        for sign in [false, true] {
            out.push((
                format!("y = p + {y}, sign {}", u8::from(sign)),
                p_plus(y, sign),
            ));
        }
    }
    out.retain(|(_, b)| {
        CompressedEdwardsY(*b)
            .decompress()
            .is_some_and(|p| p.is_small_order())
    });
    out
}

/// Encodings with y = p + 2 … p + 18 that decode to points not of small
/// order (their discrete logarithms are unknown).
pub fn non_canonical_large_encodings() -> Vec<(String, [u8; 32])> {
    let mut out = Vec::new();
    for y in 2u8..=18 {
        for sign in [false, true] {
            let b = p_plus(y, sign);
            if CompressedEdwardsY(b)
                .decompress()
                .is_some_and(|p| !p.is_small_order())
            {
                out.push((format!("y = p + {y}, sign {}", u8::from(sign)), b));
            }
        }
    }
    out
}

fn message(class: &str, i: usize) -> Vec<u8> {
    format!("gatelog differential {class} {i}").into_bytes()
}

/// A signature from `SigningKey::sign`.
pub fn valid(seed: [u8; 32], message: Vec<u8>) -> Case {
    let key = SigningKey::from_bytes(&seed);
    Case {
        class: Class::Valid,
        label: "sign".into(),
        key: key.verifying_key().to_bytes(),
        signature: key.sign(&message).to_bytes(),
        message,
    }
}

/// A valid signature, checked against `message` with byte `at` changed by
/// `delta` (non-zero), or with a byte appended when it is empty.
pub fn wrong_message(seed: [u8; 32], message: Vec<u8>, at: usize, delta: u8) -> Case {
    let mut case = valid(seed, message);
    if case.message.is_empty() {
        case.message.push(delta);
    } else {
        let i = at % case.message.len();
        case.message[i] = case.message[i].wrapping_add(delta.max(1));
    }
    case.class = Class::WrongMessage;
    case.label = "changed byte".into();
    case
}

/// Random key and signature bytes.
pub fn random_bytes(key: [u8; 32], signature: [u8; 64], message: Vec<u8>) -> Case {
    Case {
        class: Class::RandomBytes,
        label: "random".into(),
        key,
        message,
        signature,
    }
}

/// A valid signature with S + n·L, if that fits in 32 bytes.
pub fn malleated_s(seed: [u8; 32], message: Vec<u8>, n: u8) -> Option<Case> {
    let mut case = valid(seed, message);
    let s: [u8; 32] = case.signature[32..].try_into().expect("32 bytes");
    let s = add_multiple_of_l(&s, n.max(1))?;
    case.signature[32..].copy_from_slice(&s);
    case.class = Class::MalleatedS;
    case.label = format!("S + {}·L", n.max(1));
    Some(case)
}

/// The fixed classes (everything but the random ones), `per` messages
/// for each point.
pub fn fixed(per: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    let basepoint = ED25519_BASEPOINT_POINT;
    let small = small_order_encodings();
    let a = scalar("gatelog differential key");
    let a_point = basepoint * a;
    let a_bytes = a_point.compress().to_bytes();

    for (label, key) in &small {
        for i in 0..per {
            let msg = message("small-order A", i);
            let r = scalar(&format!("r small-order A {label} {i}"));
            let r_bytes = (basepoint * r).compress().to_bytes();
            cases.push(Case {
                class: Class::SmallOrderKey,
                label: format!("A = {label}"),
                key: *key,
                signature: signature(&r_bytes, &r.to_bytes()),
                message: msg,
            });
        }
    }
    for (label, r_bytes) in &small {
        for i in 0..per {
            let msg = message("small-order R", i);
            let s = challenge(r_bytes, &a_bytes, &msg) * a;
            cases.push(Case {
                class: Class::SmallOrderR,
                label: format!("R = {label}"),
                key: a_bytes,
                signature: signature(r_bytes, &s.to_bytes()),
                message: msg,
            });
        }
    }
    for (a_label, key) in &small {
        for (r_label, r_bytes) in &small {
            cases.push(Case {
                class: Class::SmallOrderKeyAndR,
                label: format!("A = {a_label}, R = {r_label}"),
                key: *key,
                signature: signature(r_bytes, &[0; 32]),
                message: message("small-order A and R", 0),
            });
        }
    }
    for (t_index, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let key = (a_point + t).compress().to_bytes();
        for i in 0..per {
            let msg = message("mixed-order A", i);
            let r = scalar(&format!("r mixed-order A {t_index} {i}"));
            let r_bytes = (basepoint * r).compress().to_bytes();
            let s = r + challenge(&r_bytes, &key, &msg) * a;
            cases.push(Case {
                class: Class::MixedOrderKey,
                label: format!("A = a·B + T{t_index}"),
                key,
                signature: signature(&r_bytes, &s.to_bytes()),
                message: msg,
            });
        }
    }
    for (t_index, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        for i in 0..per {
            let msg = message("mixed-order R", i);
            let r = scalar(&format!("r mixed-order R {t_index} {i}"));
            let r_bytes = (basepoint * r + t).compress().to_bytes();
            let s = r + challenge(&r_bytes, &a_bytes, &msg) * a;
            cases.push(Case {
                class: Class::MixedOrderR,
                label: format!("R = r·B + T{t_index}"),
                key: a_bytes,
                signature: signature(&r_bytes, &s.to_bytes()),
                message: msg,
            });
        }
    }
    for (label, key) in non_canonical_large_encodings() {
        for i in 0..per {
            let msg = message("non-canonical A", i);
            let r = scalar(&format!("r non-canonical A {label} {i}"));
            let r_bytes = (basepoint * r).compress().to_bytes();
            let s = r + challenge(&r_bytes, &key, &msg) * a;
            cases.push(Case {
                class: Class::NonCanonicalKey,
                label: format!("A: {label}"),
                key,
                signature: signature(&r_bytes, &s.to_bytes()),
                message: msg,
            });
        }
    }
    for (label, r_bytes) in non_canonical_large_encodings() {
        for i in 0..per {
            let msg = message("non-canonical R", i);
            let s = challenge(&r_bytes, &a_bytes, &msg) * a;
            cases.push(Case {
                class: Class::NonCanonicalR,
                label: format!("R: {label}"),
                key: a_bytes,
                signature: signature(&r_bytes, &s.to_bytes()),
                message: msg,
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_fourteen_small_order_encodings_of_eight_points() {
        let small = small_order_encodings();
        assert_eq!(small.len(), 14, "{small:?}");
        let mut points: Vec<[u8; 32]> = small
            .iter()
            .map(|(_, b)| {
                CompressedEdwardsY(*b)
                    .decompress()
                    .unwrap()
                    .compress()
                    .to_bytes()
            })
            .collect();
        points.sort();
        points.dedup();
        assert_eq!(points.len(), 8);
        let orders: Vec<u8> = EIGHT_TORSION.iter().map(order_of).collect();
        assert_eq!(orders, [1, 8, 4, 8, 2, 8, 4, 8]);
    }

    #[test]
    fn l_is_the_group_order() {
        // L - 1 is the scalar -1, and L itself reduces to 0.
        let minus_one = (Scalar::ZERO - Scalar::ONE).to_bytes();
        assert_eq!(add_multiple_of_l(&[0; 32], 1).unwrap(), L);
        assert_eq!(minus_one[0] + 1, L[0]);
        assert_eq!(minus_one[1..], L[1..]);
        assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
    }

    #[test]
    fn adding_l_keeps_the_value_mod_l_and_overflow_is_refused() {
        let s = Scalar::from(12345u64).to_bytes();
        let big = add_multiple_of_l(&s, 3).unwrap();
        assert_ne!(big, s);
        assert_eq!(Scalar::from_bytes_mod_order(big), Scalar::from(12345u64));
        assert!(add_multiple_of_l(&[0xff; 32], 1).is_none());
    }

    #[test]
    fn built_signatures_satisfy_the_cofactored_equation() {
        // [8]([S]B - R - [k]A) = 0 for every built case except the
        // non-canonical classes, whose points have unknown logarithms.
        for case in fixed(2) {
            if matches!(case.class, Class::NonCanonicalKey | Class::NonCanonicalR) {
                continue;
            }
            let r: [u8; 32] = case.signature[..32].try_into().unwrap();
            let s = Scalar::from_canonical_bytes(case.signature[32..].try_into().unwrap()).unwrap();
            let big_a = CompressedEdwardsY(case.key).decompress().unwrap();
            let big_r = CompressedEdwardsY(r).decompress().unwrap();
            let k = challenge(&r, &case.key, &case.message);
            let d = ED25519_BASEPOINT_POINT * s - big_r - big_a * k;
            assert!(d.mul_by_cofactor().is_identity(), "{}", case.label);
        }
    }
}
