//! The leaf the log stores for each accepted envelope:
//!
//! ```text
//! {"v":1,"logged_at":<ms>,"prev":<leaf index or null>,"envelope":{…}}
//! ```
//!
//! serialized once, in exactly that key order, without whitespace, the
//! envelope in [`Envelope::to_json`] form. `logged_at` is the log's clock in
//! milliseconds since the Unix epoch (never decreasing); `prev` is the leaf
//! index of the previous event of the same package, so each package's
//! history is a chain monitors can check for gaps and forks.
//!
//! **The log's bytes are authoritative.** A [`Leaf`] keeps the exact bytes
//! it was built or parsed from, and [`Leaf::hash`] hashes those bytes. Code
//! that reads a leaf from an entry bundle must hash the bytes it received
//! (this is what [`Leaf::parse`] then [`Leaf::hash`] does), never a
//! re-serialization. [`Leaf::parse`] also refuses any byte string that is not
//! exactly what [`Leaf::new`] would produce for the same content, so one
//! leaf content has one encoding and one hash. Leaves already in that
//! encoding are read in one pass (`canonical`); others go through the
//! full parser, which names what is wrong.

mod canonical;

use serde_json::Value;

use crate::dsse::{DsseError, Envelope, MAX_ENVELOPE_SIZE};
use crate::hash::{Hash, leaf_hash};
use crate::json::{self, JsonError, Object, Path};
use crate::tree::LeafIndex;

/// The only leaf format version.
pub const LEAF_VERSION: u64 = 1;

/// Largest leaf, in bytes: entry bundles (c2sp.org/tlog-tiles) prefix each
/// entry with a big-endian uint16 length.
pub const MAX_LEAF_SIZE: usize = u16::MAX as usize;

/// Bytes a leaf adds around its envelope at most (both numbers at 20 digits).
pub const MAX_LEAF_OVERHEAD: usize = r#"{"v":1,"logged_at":,"prev":,"envelope":}"#.len() + 2 * 20;

// Any envelope `Envelope::from_json` accepts re-serializes to at most its
// input size, so it always fits in a leaf.
const _: () = assert!(MAX_ENVELOPE_SIZE + MAX_LEAF_OVERHEAD <= MAX_LEAF_SIZE);

/// Why leaf bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The leaf is (or would be) larger than [`MAX_LEAF_SIZE`].
    #[error("leaf is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the leaf.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Malformed JSON, duplicate or unknown keys, missing or mistyped fields.
    #[error("leaf: {0}")]
    Json(#[from] JsonError),
    /// `v` is not [`LEAF_VERSION`].
    #[error("field `v`: unsupported leaf version {found}, expected {LEAF_VERSION}")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// The embedded envelope is invalid.
    #[error("leaf: {0}")]
    Envelope(#[from] DsseError),
    /// Well-formed, but not in the one canonical encoding (key order,
    /// whitespace, escapes).
    #[error("leaf is not canonically encoded")]
    NotCanonical,
}

/// A logged leaf: an envelope with the log's time and the package chain link,
/// together with its authoritative bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Leaf {
    bytes: Vec<u8>,
    logged_at: u64,
    prev: Option<LeafIndex>,
    envelope: Envelope,
}

const LEAF_FIELDS: &[&str] = &["v", "logged_at", "prev", "envelope"];

impl Leaf {
    /// Builds and serializes a leaf; fails if it would exceed
    /// [`MAX_LEAF_SIZE`] (only possible for an envelope that did not come
    /// through [`Envelope::from_json`]).
    pub fn new(
        logged_at: u64,
        prev: Option<LeafIndex>,
        envelope: Envelope,
    ) -> Result<Leaf, LeafError> {
        let bytes = encode(logged_at, prev, &envelope);
        if bytes.len() > MAX_LEAF_SIZE {
            return Err(LeafError::TooLarge {
                size: bytes.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        Ok(Leaf {
            bytes,
            logged_at,
            prev,
            envelope,
        })
    }

    /// Parses leaf bytes, strictly: at most [`MAX_LEAF_SIZE`] bytes, `v` = 1,
    /// no unknown or duplicate keys, a valid envelope (see
    /// [`Envelope::from_json`]; signatures are not verified), and the
    /// canonical encoding.
    pub fn parse(bytes: &[u8]) -> Result<Leaf, LeafError> {
        if bytes.len() > MAX_LEAF_SIZE {
            return Err(LeafError::TooLarge {
                size: bytes.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        match canonical::parse(bytes) {
            Some(leaf) => Ok(leaf),
            None => Leaf::parse_full(bytes),
        }
    }

    /// The full parser: JSON, then the fields, then a comparison with the
    /// canonical encoding of what was read.
    fn parse_full(bytes: &[u8]) -> Result<Leaf, LeafError> {
        let value = json::parse_value(bytes)?;
        let obj = Object::new(&value, Path::Root)?;
        obj.only(LEAF_FIELDS)?;
        let version = obj.u64("v")?;
        if version != LEAF_VERSION {
            return Err(LeafError::UnsupportedVersion { found: version });
        }
        let logged_at = obj.u64("logged_at")?;
        let prev = obj.u64_or_null("prev")?.map(LeafIndex);
        let envelope: &Value = obj.value("envelope")?;
        let envelope = Envelope::read(envelope, obj.path().key("envelope"))?;
        if encode(logged_at, prev, &envelope) != bytes {
            return Err(LeafError::NotCanonical);
        }
        Ok(Leaf {
            bytes: bytes.to_vec(),
            logged_at,
            prev,
            envelope,
        })
    }

    /// The authoritative bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A copy of the authoritative bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The authoritative bytes, consuming the leaf.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// RFC 6962 leaf hash of the bytes: `SHA-256(0x00 ‖ bytes)`.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.bytes)
    }

    /// When the log accepted the envelope, in ms since the Unix epoch.
    pub fn logged_at(&self) -> u64 {
        self.logged_at
    }

    /// The previous leaf of the same package, if any.
    pub fn prev(&self) -> Option<LeafIndex> {
        self.prev
    }

    /// The logged envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// The one serialization of a leaf.
fn encode(logged_at: u64, prev: Option<LeafIndex>, envelope: &Envelope) -> Vec<u8> {
    let prev = prev.map_or_else(|| "null".to_owned(), |index| index.to_string());
    let head = format!(r#"{{"v":{LEAF_VERSION},"logged_at":{logged_at},"prev":{prev},"envelope":"#);
    let envelope = envelope.to_json();
    let mut out = Vec::with_capacity(head.len() + envelope.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&envelope);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::Signature;

    fn envelope() -> Envelope {
        Envelope {
            payload: b"hi".to_vec(),
            payload_type: "t".into(),
            signatures: vec![Signature {
                keyid: "k".into(),
                sig: vec![0, 1, 2],
            }],
        }
    }

    const SMALL: &str = r#"{"v":1,"logged_at":1700000000000,"prev":41,"envelope":{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","sig":"AAEC"}]}}"#;

    #[test]
    fn exact_bytes_of_a_small_leaf() {
        let leaf = Leaf::new(1_700_000_000_000, Some(LeafIndex(41)), envelope()).unwrap();
        assert_eq!(std::str::from_utf8(leaf.as_bytes()).unwrap(), SMALL);
        let first = Leaf::new(0, None, envelope()).unwrap();
        assert!(
            first
                .as_bytes()
                .starts_with(br#"{"v":1,"logged_at":0,"prev":null,"envelope":{"#)
        );
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let leaf = Leaf::parse(SMALL.as_bytes()).unwrap();
        assert_eq!(leaf.logged_at(), 1_700_000_000_000);
        assert_eq!(leaf.prev(), Some(LeafIndex(41)));
        assert_eq!(leaf.envelope(), &envelope());
        assert_eq!(leaf.to_bytes(), SMALL.as_bytes());
        let rebuilt = Leaf::new(leaf.logged_at(), leaf.prev(), leaf.envelope().clone()).unwrap();
        assert_eq!(rebuilt, leaf);
        let max = Leaf::new(u64::MAX, Some(LeafIndex(u64::MAX)), envelope()).unwrap();
        assert_eq!(Leaf::parse(max.as_bytes()), Ok(max));
    }

    #[test]
    fn hash_is_rfc6962_leaf_hash_of_the_bytes() {
        let leaf = Leaf::parse(SMALL.as_bytes()).unwrap();
        assert_eq!(leaf.hash(), leaf_hash(SMALL.as_bytes()));
        assert_eq!(leaf.hash(), leaf_hash(&leaf.into_bytes()));
    }

    fn replace(from: &str, to: &str) -> Result<Leaf, LeafError> {
        Leaf::parse(SMALL.replacen(from, to, 1).as_bytes())
    }

    #[test]
    fn invalid_leaves_are_refused() {
        assert_eq!(
            replace(r#""v":1"#, r#""v":2"#),
            Err(LeafError::UnsupportedVersion { found: 2 })
        );
        assert!(matches!(
            replace(r#""v":1"#, r#""v":"1""#),
            Err(LeafError::Json(JsonError::WrongType { .. }))
        ));
        assert_eq!(
            replace(r#""prev":41"#, r#""prev":41,"extra":0"#),
            Err(LeafError::Json(JsonError::UnknownField {
                path: "extra".into()
            }))
        );
        assert_eq!(
            replace(r#""keyid":"k""#, r#""keyid":"k","x":"""#),
            Err(LeafError::Envelope(DsseError::Json(
                JsonError::UnknownField {
                    path: "envelope.signatures[0].x".into()
                }
            )))
        );
        assert_eq!(
            replace(r#""prev":41,"#, ""),
            Err(LeafError::Json(JsonError::MissingField {
                path: "prev".into()
            }))
        );
        assert_eq!(
            replace(r#""prev":41"#, r#""prev":41,"prev":41"#),
            Err(LeafError::Json(JsonError::DuplicateKey {
                path: "prev".into()
            }))
        );
        assert!(matches!(
            replace(r#""prev":41"#, r#""prev":-1"#),
            Err(LeafError::Json(JsonError::WrongType { .. }))
        ));
        assert_eq!(
            replace(r#""payload":"aGk=""#, r#""payload":"""#),
            Err(LeafError::Envelope(DsseError::EmptyPayload {
                field: "envelope.payload".into()
            }))
        );
        assert!(matches!(
            replace("}}", "}"),
            Err(LeafError::Json(JsonError::Syntax { .. }))
        ));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        for (from, to) in [
            (r#""v":1"#, r#" "v" : 1"#),
            (
                r#""v":1,"logged_at":1700000000000"#,
                r#""logged_at":1700000000000,"v":1"#,
            ),
            (r#""payloadType":"t""#, r#""payloadType":"\u0074""#),
            (r#""prev":41"#, r#""prev":4.1e1"#),
        ] {
            let result = replace(from, to);
            assert!(
                matches!(result, Err(LeafError::NotCanonical | LeafError::Json(_))),
                "{to}: {result:?}"
            );
        }
        assert_eq!(
            replace(r#""v":1"#, r#""v": 1"#),
            Err(LeafError::NotCanonical)
        );
    }

    #[test]
    fn size_is_capped_at_u16() {
        // Leaf::new refuses what would not fit in an entry bundle.
        let mut big = envelope();
        big.payload = vec![0; MAX_LEAF_SIZE];
        assert!(matches!(
            Leaf::new(0, None, big),
            Err(LeafError::TooLarge {
                max: MAX_LEAF_SIZE,
                ..
            })
        ));
        // A leaf of exactly the limit is accepted, one byte more is not.
        let empty = Leaf::new(
            0,
            None,
            Envelope {
                payload_type: String::new(),
                ..envelope()
            },
        )
        .unwrap()
        .as_bytes()
        .len();
        let fill = MAX_LEAF_SIZE - empty;
        let exact = Envelope {
            payload_type: "t".repeat(fill),
            ..envelope()
        };
        let leaf = Leaf::new(0, None, exact.clone()).unwrap();
        assert_eq!(leaf.as_bytes().len(), MAX_LEAF_SIZE);
        let over = Envelope {
            payload_type: "t".repeat(fill + 1),
            ..envelope()
        };
        assert!(Leaf::new(0, None, over).is_err());
        // The parser's cap is checked before anything else.
        let mut bytes = leaf.to_bytes();
        bytes.push(b' ');
        assert_eq!(
            Leaf::parse(&bytes),
            Err(LeafError::TooLarge {
                size: MAX_LEAF_SIZE + 1,
                max: MAX_LEAF_SIZE
            })
        );
        // (The oversized payloadType is refused by the envelope reader.)
        assert!(matches!(
            Leaf::parse(leaf.as_bytes()),
            Err(LeafError::Envelope(_))
        ));
    }

    #[test]
    fn overhead_bound_is_tight() {
        let leaf = Leaf::new(u64::MAX, Some(LeafIndex(u64::MAX)), envelope()).unwrap();
        assert_eq!(
            leaf.as_bytes().len(),
            envelope().to_json().len() + MAX_LEAF_OVERHEAD
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed};

        proptest! {
            #![proptest_config(Config {
                cases: 256,
                failure_persistence: None,
                rng_seed: RngSeed::Fixed(0x1eaf),
                ..Config::default()
            })]

            #[test]
            fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = Leaf::parse(&bytes);
            }

            #[test]
            fn mutated_leaves_never_panic_and_keep_their_bytes(
                edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6)
            ) {
                let mut bytes = SMALL.as_bytes().to_vec();
                crate::testutil::apply_edits(&mut bytes, &edits);
                if let Ok(leaf) = Leaf::parse(&bytes) {
                    prop_assert_eq!(leaf.as_bytes(), &bytes[..]);
                    prop_assert_eq!(leaf.hash(), leaf_hash(&bytes));
                }
            }
        }

        /// Short strings of what the canonical writer keeps and what it
        /// escapes, or long ones around the length limits.
        fn text() -> impl Strategy<Value = String> {
            let chars = proptest::collection::vec(
                proptest::sample::select(vec![
                    'a', 'Z', '/', '"', '\\', '\n', '\u{1}', '\u{7f}', 'é', '😀',
                ]),
                0..6,
            )
            .prop_map(|cs| cs.into_iter().collect::<String>());
            prop_oneof![4 => chars, 1 => (250usize..260).prop_map(|n| "k".repeat(n))]
        }

        fn envelopes() -> impl Strategy<Value = Envelope> {
            let signature = (text(), proptest::collection::vec(any::<u8>(), 0..70))
                .prop_map(|(keyid, sig)| Signature { keyid, sig });
            (
                proptest::collection::vec(any::<u8>(), 0..40),
                text(),
                proptest::collection::vec(signature, 0..6),
            )
                .prop_map(|(payload, payload_type, signatures)| Envelope {
                    payload,
                    payload_type,
                    signatures,
                })
        }

        fn numbers() -> impl Strategy<Value = u64> {
            prop_oneof![Just(0), Just(u64::MAX), 0..1000u64, any::<u64>()]
        }

        /// Byte edits biased towards JSON's own characters.
        fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
            let byte = prop_oneof![
                any::<u8>(),
                proptest::sample::select(b"0123456789\\\"{}[],: nul-.eE+/=A".to_vec()),
            ];
            prop_oneof![
                Just(Vec::new()),
                proptest::collection::vec((any::<usize>(), byte, 0u8..3), 1..4),
            ]
        }

        proptest! {
            #![proptest_config(Config {
                cases: 4096,
                failure_persistence: None,
                rng_seed: RngSeed::Fixed(0xca70),
                ..Config::default()
            })]

            /// The one-pass reader accepts only what the full parser
            /// accepts, with the same result, and every canonical leaf
            /// whose strings need no escape.
            #[test]
            fn the_canonical_reader_agrees_with_the_full_parser(
                logged_at in numbers(),
                prev in proptest::option::of(numbers()),
                envelope in envelopes(),
                edits in edits(),
            ) {
                let mut bytes = encode(logged_at, prev.map(LeafIndex), &envelope);
                crate::testutil::apply_edits(&mut bytes, &edits);
                let full = Leaf::parse_full(&bytes);
                match canonical::parse(&bytes) {
                    Some(fast) => prop_assert_eq!(&full, &Ok(fast)),
                    None => prop_assert!(
                        full.is_err() || bytes.contains(&b'\\'),
                        "canonical and unescaped, yet not read in one pass: {}",
                        String::from_utf8_lossy(&bytes)
                    ),
                }
                prop_assert_eq!(Leaf::parse(&bytes), full);
            }
        }
    }
}
