use super::*;
use crate::checkpoint::{Checkpoint, Origin};
use crate::cosignature::cosign;
use crate::keys::SignerKey;
use crate::tree::TreeHead;

fn log_key() -> SignerKey {
    SignerKey::from_seed("log.example/log", SignatureType::Ed25519, &[1; 32]).unwrap()
}

fn witness(i: u8) -> SignerKey {
    SignerKey::from_seed(
        &format!("witness.example/w{i}"),
        SignatureType::Cosignature,
        &[10 + i; 32],
    )
    .unwrap()
}

/// The log's checkpoint cosigned by the given witnesses.
fn note_cosigned_by(ws: &[u8]) -> Note {
    let cp = Checkpoint::new(Origin::new("log.example/log").unwrap(), TreeHead::empty());
    let mut note = cp.sign(&log_key()).unwrap();
    for &i in ws {
        let line = cosign(&witness(i), &note.text, 1_700_000_000 + u64::from(i)).unwrap();
        note.signatures.push(line);
    }
    note
}

fn two_of_three() -> String {
    format!(
        "# two of three\nlog {}\n\nwitness W1 {} https://w1.example/\nwitness W2 {}\n\twitness  W3   {}  \ngroup all-of-them 2 W1 W2 W3\nquorum all-of-them\n",
        log_key().verifier(),
        witness(1).verifier(),
        witness(2).verifier(),
        witness(3).verifier(),
    )
}

#[test]
fn two_of_three_needs_two_valid_cosignatures() {
    let policy = WitnessPolicy::parse(two_of_three().as_bytes()).unwrap();
    assert!(policy.requires_witnesses());
    assert_eq!(policy.logs().len(), 1);
    assert_eq!(
        policy.witnesses()[0].url.as_deref(),
        Some("https://w1.example/")
    );
    assert_eq!(policy.describe(), "2 of (W1, W2, W3)");
    assert_eq!(
        policy.check(&note_cosigned_by(&[1, 3])).unwrap().cosigned,
        vec!["W1", "W3"]
    );
    let one = policy.check(&note_cosigned_by(&[2])).unwrap_err();
    assert_eq!(
        one,
        QuorumError::NotMet {
            needed: "2 of (W1, W2, W3)".into(),
            cosigned: vec!["W2".into()]
        }
    );
    assert!(one.to_string().contains("from: W2"), "{one}");
    assert!(matches!(
        policy.check(&note_cosigned_by(&[])),
        Err(QuorumError::NotMet { .. })
    ));
}

#[test]
fn a_bad_cosignature_of_a_listed_witness_is_refused_and_strangers_ignored() {
    let policy = WitnessPolicy::parse(two_of_three().as_bytes()).unwrap();
    let mut note = note_cosigned_by(&[1, 2, 4]);
    assert!(
        policy.check(&note).is_ok(),
        "an unlisted witness is ignored"
    );
    note.signatures[2].signature[20] ^= 1;
    assert_eq!(
        policy.check(&note),
        Err(QuorumError::InvalidCosignature("W2".into()))
    );
    // A cosignature over another checkpoint does not count either.
    let mut other = note_cosigned_by(&[1, 2]);
    other.text = other.text.replace("log.example/log", "log.example/log2");
    assert!(matches!(
        policy.check(&other),
        Err(QuorumError::InvalidCosignature(_))
    ));
}

#[test]
fn nested_groups_follow_the_spec_example() {
    let text = format!(
        "witness X1 {}\nwitness X2 {}\nwitness X3 {}\ngroup X-witnesses 2 X1 X2 X3\nwitness Y1 {}\nwitness Y2 {}\ngroup Y-witnesses any Y1 Y2\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
        witness(1).verifier(),
        witness(2).verifier(),
        witness(3).verifier(),
        witness(4).verifier(),
        witness(5).verifier(),
    );
    let policy = WitnessPolicy::parse(text.as_bytes()).unwrap();
    assert!(policy.check(&note_cosigned_by(&[1, 2, 5])).is_ok());
    assert!(policy.check(&note_cosigned_by(&[1, 2])).is_err(), "no Y");
    assert!(
        policy.check(&note_cosigned_by(&[1, 4, 5])).is_err(),
        "one X"
    );
}

#[test]
fn quorum_none_and_a_single_witness() {
    let none = WitnessPolicy::parse(b"quorum none\n").unwrap();
    assert!(!none.requires_witnesses());
    assert!(none.check(&note_cosigned_by(&[])).is_ok());
    let single = format!("witness only {}\nquorum only\n", witness(1).verifier());
    let single = WitnessPolicy::parse(single.as_bytes()).unwrap();
    assert!(single.check(&note_cosigned_by(&[1])).is_ok());
    assert!(single.check(&note_cosigned_by(&[2])).is_err());
}

#[test]
fn malformed_policies_name_their_line() {
    let w1 = witness(1).verifier().to_string();
    let w2 = witness(2).verifier().to_string();
    let log = log_key().verifier().to_string();
    let cases: Vec<(String, usize, &str)> = vec![
        ("".into(), 0, "no quorum line"),
        ("quorum W1\n".into(), 1, "not defined on an earlier line"),
        (
            format!("witness W1 {w1}\nquorum W1\nquorum W1\n"),
            3,
            "second quorum",
        ),
        (
            format!("witness W1 {w1}\nwitness W1 {w2}\nquorum W1\n"),
            2,
            "defined twice",
        ),
        (
            format!("witness W1 {w1}\nwitness W2 {w1}\nquorum W1\n"),
            2,
            "listed twice",
        ),
        (
            format!("witness W1 {log}\nquorum none\n"),
            1,
            "cosignature/v1",
        ),
        (format!("log {w1}\nquorum none\n"), 1, "Ed25519"),
        (
            format!("log {log}\nlog {log}\nquorum none\n"),
            2,
            "listed twice",
        ),
        (
            format!("witness W1 {w1}\ngroup g 2 W1\nquorum g\n"),
            2,
            "threshold",
        ),
        (
            format!("witness W1 {w1}\ngroup g 0 W1\nquorum g\n"),
            2,
            "threshold",
        ),
        (
            format!("witness W1 {w1}\ngroup g 01 W1\nquorum g\n"),
            2,
            "threshold",
        ),
        (
            format!("witness W1 {w1}\ngroup g any W1 W1\nquorum g\n"),
            2,
            "listed twice",
        ),
        (
            format!("witness W1 {w1}\ngroup g any\nquorum g\n"),
            2,
            "at least one",
        ),
        (
            format!("witness W1 {w1}\ngroup g any none\nquorum g\n"),
            2,
            "cannot be a group member",
        ),
        (format!("witness none {w1}\nquorum none\n"), 1, "reserved"),
        (
            "witness W1 not-a-key\nquorum none\n".into(),
            1,
            "witness key",
        ),
        ("frobnicate\nquorum none\n".into(), 1, "unknown keyword"),
        ("quorum none\n\u{1}\n".into(), 2, "control character"),
        ("quorum none extra\n".into(), 1, "expected `quorum <name>`"),
    ];
    for (text, line, want) in cases {
        let e = WitnessPolicy::parse(text.as_bytes()).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.to_string().contains(want), "{text:?}: {e}");
    }
    let big = vec![b'#'; MAX_POLICY_SIZE + 1];
    assert_eq!(WitnessPolicy::parse(&big).unwrap_err().line, 0);
}
