//! Tests of DSSE envelopes: known answers, signing and verification,
//! strict parsing, limits and fuzzing.

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn ring(seeds: &[u8]) -> Keyring {
    Keyring::new(seeds.iter().map(|&s| key(s).verifying_key()))
}

fn signed() -> Envelope {
    sign(EVENT_PAYLOAD_TYPE, br#"{"type":"stage"}"#, &key(1))
}

#[test]
fn pae_known_answer() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn key_id_is_sha256_of_type_byte_and_key() {
    let public = key(1).verifying_key();
    let mut preimage = vec![0x01];
    preimage.extend_from_slice(public.as_bytes());
    assert_eq!(key_id(&public), crate::Hash::sha256(&preimage).to_hex());
    assert_eq!(key_id(&public).len(), 64);
}

#[test]
fn sign_then_verify() {
    let envelope = signed();
    let keyring = ring(&[3, 1, 1]);
    assert_eq!(keyring.len(), 2);
    assert_eq!(envelope.verify(&keyring), Ok(&key(1).verifying_key()));
    let parsed = Envelope::from_json(&envelope.to_json()).unwrap();
    assert_eq!(parsed, envelope);
    assert_eq!(parsed.verify(&keyring), Ok(&key(1).verifying_key()));
}

#[test]
fn unknown_key_is_unknown_signer() {
    assert_eq!(signed().verify(&ring(&[2])), Err(DsseError::UnknownSigner));
    assert_eq!(
        signed().verify(&Keyring::default()),
        Err(DsseError::UnknownSigner)
    );
}

#[test]
fn flipped_signature_bit_is_bad_signature() {
    let mut envelope = signed();
    envelope.signatures[0].sig[10] ^= 0x01;
    let keyid = envelope.signatures[0].keyid.clone();
    assert_eq!(
        envelope.verify(&ring(&[1])),
        Err(DsseError::BadSignature { keyid })
    );
}

#[test]
fn tampered_payload_or_type_is_bad_signature() {
    let mut envelope = signed();
    envelope.payload[2] ^= 0x20;
    assert!(matches!(
        envelope.verify(&ring(&[1])),
        Err(DsseError::BadSignature { .. })
    ));
    let mut envelope = signed();
    envelope.payload_type.push('x');
    assert!(matches!(
        envelope.verify(&ring(&[1])),
        Err(DsseError::BadSignature { .. })
    ));
}

#[test]
fn bad_signature_of_known_key_wins_over_a_good_one() {
    let mut envelope = signed();
    let mut bad = envelope.signatures[0].clone();
    bad.sig.truncate(63);
    envelope.signatures.push(bad);
    assert!(matches!(
        envelope.verify(&ring(&[1])),
        Err(DsseError::BadSignature { .. })
    ));
    // A signature by a key the log does not know is only ignored.
    let mut envelope = signed();
    let other = sign(EVENT_PAYLOAD_TYPE, b"x", &key(9)).signatures;
    envelope.signatures.splice(0..0, other);
    assert_eq!(envelope.verify(&ring(&[1])), Ok(&key(1).verifying_key()));
}

#[test]
fn verified_keeps_only_verified_signatures_once_each() {
    let keyring = ring(&[1]);
    let mut padded = signed();
    let own = padded.signatures[0].clone();
    padded.signatures.push(own.clone());
    padded.signatures.push(Signature {
        keyid: "not-a-key-of-this-log".into(),
        sig: vec![0xAA; 4000],
    });
    padded.signatures.push(Signature {
        keyid: key_id(&key(2).verifying_key()),
        sig: Vec::new(),
    });
    let (kept, signer) = padded.verified(&keyring).unwrap();
    assert_eq!(signer, &key(1).verifying_key());
    assert_eq!(kept.signatures, vec![own]);
    assert_eq!(kept, signed());
    // An empty signature of an allowed key is a bad signature, not skipped.
    let mut empty = signed();
    empty.signatures[0].sig.clear();
    assert!(matches!(
        empty.verified(&keyring),
        Err(DsseError::BadSignature { .. })
    ));
}

#[test]
fn content_digest_ignores_signatures_but_not_content() {
    let plain = signed();
    let mut resigned = signed();
    resigned.signatures.push(Signature {
        keyid: "other".into(),
        sig: vec![1, 2, 3],
    });
    assert_eq!(plain.content_digest(), resigned.content_digest());
    let other_payload = sign(EVENT_PAYLOAD_TYPE, br#"{"type":"stage" }"#, &key(1));
    assert_ne!(plain.content_digest(), other_payload.content_digest());
    let other_type = sign("application/json", br#"{"type":"stage"}"#, &key(1));
    assert_ne!(plain.content_digest(), other_type.content_digest());
}

#[test]
fn canonical_json_is_exact() {
    let envelope = Envelope {
        payload: b"hi".to_vec(),
        payload_type: "t/\"x\"".into(),
        signatures: vec![Signature {
            keyid: "k".into(),
            sig: vec![0, 1, 2],
        }],
    };
    let text =
        r#"{"payload":"aGk=","payloadType":"t/\"x\"","signatures":[{"keyid":"k","sig":"AAEC"}]}"#;
    assert_eq!(String::from_utf8(envelope.to_json()).unwrap(), text);
    assert_eq!(serde_json::to_string(&envelope).unwrap(), text);
    assert_eq!(serde_json::from_str::<Envelope>(text).unwrap(), envelope);
    // Whitespace and key order do not matter when parsing.
    let loose = r#" { "signatures" : [ {"sig":"AAEC","keyid":"k"} ], "payloadType":"t/\"x\"", "payload":"aGk=" } "#;
    assert_eq!(Envelope::from_json(loose.as_bytes()).unwrap(), envelope);
}

fn parse(text: &str) -> Result<Envelope, DsseError> {
    Envelope::from_json(text.as_bytes())
}

#[test]
fn malformed_envelopes_get_specific_errors() {
    let sig = r#"[{"keyid":"k","sig":"AAEC"}]"#;
    let ok = format!(r#"{{"payload":"aGk=","payloadType":"t","signatures":{sig}}}"#);
    assert!(parse(&ok).is_ok());
    assert!(matches!(
        parse("{\"payload\":"),
        Err(DsseError::Json(JsonError::Syntax { .. }))
    ));
    assert!(matches!(
        parse("[]"),
        Err(DsseError::Json(JsonError::WrongType { .. }))
    ));
    let cases: Vec<(String, DsseError)> = vec![
        (
            format!(r#"{{"payload":"aGk","payloadType":"t","signatures":{sig}}}"#),
            DsseError::InvalidBase64 { field: "payload".into() },
        ),
        (
            format!(r#"{{"payload":"aGk_","payloadType":"t","signatures":{sig}}}"#),
            DsseError::InvalidBase64 { field: "payload".into() },
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","sig":"A-EC"}]}"#
                .into(),
            DsseError::InvalidBase64 { field: "signatures[0].sig".into() },
        ),
        (
            format!(r#"{{"payload":"","payloadType":"t","signatures":{sig}}}"#),
            DsseError::EmptyPayload { field: "payload".into() },
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[]}"#.into(),
            DsseError::NoSignatures { field: "signatures".into() },
        ),
        (
            format!(r#"{{"payload":"aGk=","payloadType":"t","signatures":{sig},"x":1}}"#),
            JsonError::UnknownField { path: "x".into() }.into(),
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","sig":"AAEC","cert":""}]}"#
                .into(),
            JsonError::UnknownField { path: "signatures[0].cert".into() }.into(),
        ),
        (
            format!(r#"{{"payload":"aGk=","payload":"aGk=","payloadType":"t","signatures":{sig}}}"#),
            JsonError::DuplicateKey { path: "payload".into() }.into(),
        ),
        (
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","keyid":"k","sig":"AAEC"}]}"#
                .into(),
            JsonError::DuplicateKey { path: "signatures[0].keyid".into() }.into(),
        ),
        (
            format!(r#"{{"payload":"aGk=","signatures":{sig}}}"#),
            JsonError::MissingField { path: "payloadType".into() }.into(),
        ),
        (
            format!(r#"{{"payload":"aGk=","payloadType":7,"signatures":{sig}}}"#),
            JsonError::WrongType {
                path: "payloadType".into(),
                expected: "a string",
                found: "a number",
            }
            .into(),
        ),
        (
            format!(r#"{{"payload":"aGk=","payloadType":"{}","signatures":{sig}}}"#, "t".repeat(257)),
            DsseError::TooLong { field: "payloadType".into(), len: 257, max: 256 },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(&text), Err(expected), "{text}");
    }
}

#[test]
fn limits_are_enforced() {
    let one = r#"{"keyid":"k","sig":"AAEC"}"#;
    let five = [one; 5].join(",");
    let text = format!(r#"{{"payload":"aGk=","payloadType":"t","signatures":[{five}]}}"#);
    assert_eq!(
        parse(&text),
        Err(DsseError::TooManySignatures {
            field: "signatures".into(),
            count: 5,
            max: 4
        })
    );
    let big = sign("t", &vec![b'a'; MAX_ENVELOPE_SIZE], &key(1)).to_json();
    assert_eq!(
        Envelope::from_json(&big),
        Err(DsseError::TooLarge {
            size: big.len(),
            max: MAX_ENVELOPE_SIZE
        })
    );
    let keyid = "k".repeat(MAX_KEYID_LEN + 1);
    let text = format!(
        r#"{{"payload":"aGk=","payloadType":"t","signatures":[{{"keyid":"{keyid}","sig":""}}]}}"#
    );
    assert!(matches!(parse(&text), Err(DsseError::TooLong { .. })));
}

#[test]
fn payload_type_check() {
    assert_eq!(signed().check_payload_type(EVENT_PAYLOAD_TYPE), Ok(()));
    assert!(matches!(
        signed().check_payload_type("application/json"),
        Err(DsseError::WrongPayloadType { .. })
    ));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    proptest! {
        #![proptest_config(Config {
            cases: 256,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(0xd55e),
            ..Config::default()
        })]

        #[test]
        fn from_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Envelope::from_json(&bytes);
        }

        #[test]
        fn mutated_envelopes_never_panic_and_reparse_identically(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6)
        ) {
            let mut bytes = signed().to_json();
            crate::testutil::apply_edits(&mut bytes, &edits);
            if let Ok(envelope) = Envelope::from_json(&bytes) {
                prop_assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope));
            }
        }
    }
}
