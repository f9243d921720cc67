//! Tests of the event schema: one valid example of every type, one invalid
//! event per rule, references, approval statements, and fuzzing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;

use super::*;
use crate::dsse::Keyring;
use crate::hash::Hash;
use crate::leaf::Leaf;

fn device_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn integrity() -> Integrity {
    Integrity::of(b"widget-1.2.3.tgz")
}

/// The device signature of the approve example (over some other statement).
fn example_signature() -> ed25519_dalek::Signature {
    sign_approval(&device_key(), "any statement")
}

const COMMON: &str = r#""package":"@acme/widget","registry":"https://registry.npmjs.org","time":"2026-05-12T09:30:00Z""#;

/// A valid example of every event type, in canonical form (the key order
/// and spelling [`Event::to_json`] produces).
fn examples() -> Vec<String> {
    let signature = example_signature();
    let raw = [
        r#"{"type":"stage",$C,"version":"1.2.3","integrity":"$I","publisher":{"kind":"oidc","issuer":"https://token.actions.githubusercontent.com","subject":"repo:acme/widget:ref:refs/tags/v1.2.3","repository":"acme/widget","workflow":".github/workflows/release.yml","ref":"refs/tags/v1.2.3","commit":"0123456789abcdef0123456789abcdef01234567"},"provenance":"$H","dist_tag":"latest"}"#,
        r#"{"type":"approve",$C,"version":"1.2.3","integrity":"$I","stage":41,"maintainer":"alice","device":{"id":"yubikey-1","kind":"webauthn"},"device_signature":"$S","context":{"asn":3320,"country":"DE","user_agent":"npm/11.6.0 node/v24.1.0 linux x64"}}"#,
        r#"{"type":"reject",$C,"version":"1.2.4","stage":43,"maintainer":"alice","device":{"id":"phone","kind":"totp"}}"#,
        r#"{"type":"publish",$C,"version":"1.2.3","integrity":"$I","dist_tag":"latest","stage":41,"approve":42,"via":"staged"}"#,
        r#"{"type":"device-register",$C,"maintainer":"alice","device":{"id":"yubikey-1","kind":"webauthn","public_key":"$K","label":"YubiKey 5C"}}"#,
        r#"{"type":"device-revoke",$C,"maintainer":"alice","device":{"id":"phone","kind":"sms"}}"#,
        r#"{"type":"maintainer-add",$C,"maintainer":"bob","by":"alice"}"#,
        r#"{"type":"maintainer-remove",$C,"maintainer":"bob","by":"alice"}"#,
        r#"{"type":"policy-change",$C,"staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/widget","workflow":".github/workflows/release.yml","mode":"stage-only"}]}"#,
        r#"{"type":"unpublish",$C,"version":"1.2.3","by":"alice"}"#,
        r#"{"type":"deprecate",$C,"version":"1.0.0-beta.1+build.5","by":"alice"}"#,
    ];
    raw.iter()
        .map(|text| {
            text.replace("$C", COMMON)
                .replace("$I", &integrity().to_string())
                .replace("$H", &Hash::sha256(b"provenance").to_hex())
                .replace(
                    "$K",
                    &STANDARD.encode(device_key().verifying_key().as_bytes()),
                )
                .replace("$S", &STANDARD.encode(signature.to_bytes()))
        })
        .collect()
}

/// The example of `event_type`.
fn example(event_type: EventType) -> String {
    let tag = format!(r#"{{"type":"{event_type}","#);
    examples()
        .into_iter()
        .find(|e| e.starts_with(&tag))
        .unwrap()
}

fn parse(text: &str) -> Event {
    Event::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn every_type_has_a_valid_example_that_round_trips_byte_for_byte() {
    let examples = examples();
    let mut seen = Vec::new();
    for text in &examples {
        let event = parse(text);
        seen.push(event.event_type());
        let bytes = event.to_json().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), *text);
        assert_eq!(serde_json::to_string(&event).unwrap(), *text);
        assert_eq!(serde_json::from_str::<Event>(text).unwrap(), event);
    }
    assert_eq!(seen, EventType::ALL);
}

#[test]
fn events_are_pleasant_to_match_on() {
    let event = parse(&example(EventType::Stage));
    assert_eq!(event.package.as_str(), "@acme/widget");
    assert_eq!(event.package.scope(), Some("acme"));
    assert_eq!(event.time.get().unix_timestamp(), 1_778_578_200);
    let EventBody::Stage(stage) = &event.body else {
        panic!("not a stage")
    };
    assert_eq!(stage.publisher.kind, PublisherKind::Oidc);
    assert_eq!(stage.publisher.git_ref.as_deref(), Some("refs/tags/v1.2.3"));
    assert_eq!(event.version(), Some(&semver::Version::new(1, 2, 3)));
    assert_eq!(event.integrity(), Some(&integrity()));
    let publish = parse(&example(EventType::Publish));
    assert_eq!(
        publish.references(),
        vec![
            (RefField::Stage, LeafIndex(41)),
            (RefField::Approve, LeafIndex(42))
        ]
    );
    assert_eq!(
        parse(&example(EventType::Approve)).references(),
        vec![(RefField::Stage, LeafIndex(41))]
    );
    assert!(
        parse(&example(EventType::PolicyChange))
            .references()
            .is_empty()
    );
}

#[test]
fn optional_fields_can_be_left_out() {
    let stage = format!(
        r#"{{"type":"stage",{COMMON},"version":"1.2.3","integrity":"{}","publisher":{{"kind":"token","subject":"token-4711"}}}}"#,
        integrity()
    );
    let direct = format!(
        r#"{{"type":"publish",{COMMON},"version":"1.2.3","integrity":"{}","dist_tag":"next","via":"direct"}}"#,
        integrity()
    );
    let approve = format!(
        r#"{{"type":"approve",{COMMON},"version":"1.2.3","integrity":"{}","stage":0,"maintainer":"alice","device":{{"id":"p","kind":"sms"}},"context":{{}}}}"#,
        integrity()
    );
    let revoke = format!(
        r#"{{"type":"device-revoke",{COMMON},"maintainer":"alice","device":{{"id":"k","kind":"ed25519"}}}}"#
    );
    let policy = format!(
        r#"{{"type":"policy-change",{COMMON},"staged_publishing":"optional","trusted_publishers":[]}}"#
    );
    for text in [stage, direct, approve, revoke, policy] {
        let event = parse(&text);
        assert_eq!(String::from_utf8(event.to_json().unwrap()).unwrap(), text);
    }
}

/// `example(event_type)` with `from` replaced by `to` once.
fn edit(event_type: EventType, from: &str, to: &str) -> String {
    let text = example(event_type);
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1)
}

#[test]
fn approval_statement_known_answer() {
    let statement = approval_statement(
        &PackageName::parse("@acme/widget").unwrap(),
        &semver::Version::parse("1.2.3-rc.1").unwrap(),
        &Integrity::from_digest([0x11; 64]),
        &Hash([0xab; 32]),
    );
    assert_eq!(
        statement,
        "gatelog-approve/v1\n\
         @acme/widget\n\
         1.2.3-rc.1\n\
         sha512-EREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREQ==\n\
         abababababababababababababababababababababababababababababababab\n"
    );
}

#[test]
fn device_signatures() {
    let event = parse(&example(EventType::Approve));
    let EventBody::Approve(approve) = &event.body else {
        panic!()
    };
    let stage_hash = crate::leaf_hash(b"the stage leaf");
    let statement = approve.statement(&event.package, &stage_hash);
    let key = device_key();
    let public = key.verifying_key();
    let good = sign_approval(&key, &statement).to_bytes();
    assert_eq!(verify_device_signature(&public, &statement, &good), Ok(()));
    let mut flipped = good;
    flipped[5] ^= 1;
    assert_eq!(
        verify_device_signature(&public, &statement, &flipped),
        Err(EventError::BadDeviceSignature)
    );
    assert_eq!(
        verify_device_signature(&public, &statement, &good[..63]),
        Err(EventError::BadDeviceSignature)
    );
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert_eq!(
        verify_device_signature(&other, &statement, &good),
        Err(EventError::BadDeviceSignature)
    );
    let wrong_stage = approve.statement(&event.package, &Hash([0; 32]));
    assert_eq!(
        verify_device_signature(&public, &wrong_stage, &good),
        Err(EventError::BadDeviceSignature)
    );

    // The example carries a signature over something else; with the right
    // one it verifies through the event.
    assert_eq!(
        approve.verify_device_signature(&event.package, &stage_hash, &public),
        Err(EventError::BadDeviceSignature)
    );
    let mut fixed = approve.clone();
    fixed.device_signature = Some(sign_approval(&key, &statement));
    assert_eq!(
        fixed.verify_device_signature(&event.package, &stage_hash, &public),
        Ok(())
    );
    fixed.device_signature = None;
    assert_eq!(
        fixed.verify_device_signature(&event.package, &stage_hash, &public),
        Err(EventError::MissingDeviceSignature)
    );
}

#[test]
fn check_reference_matches_type_package_version_and_integrity() {
    let stage = parse(&example(EventType::Stage));
    let approve = parse(&example(EventType::Approve));
    let publish = parse(&example(EventType::Publish));
    assert_eq!(approve.check_reference(RefField::Stage, &stage), Ok(()));
    assert_eq!(publish.check_reference(RefField::Stage, &stage), Ok(()));
    assert_eq!(publish.check_reference(RefField::Approve, &approve), Ok(()));
    // A reject has no integrity: only package and version must agree.
    let reject = parse(&example(EventType::Reject).replace("1.2.4", "1.2.3"));
    assert_eq!(reject.check_reference(RefField::Stage, &stage), Ok(()));

    let mismatch = |e: Result<(), EventError>| match e {
        Err(EventError::ReferenceMismatch { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    let other_package = parse(&edit(EventType::Stage, "@acme/widget", "@acme/gadget"));
    assert_eq!(
        mismatch(approve.check_reference(RefField::Stage, &other_package)),
        "package"
    );
    let other_version = parse(&edit(EventType::Stage, r#""1.2.3""#, r#""1.2.4""#));
    assert_eq!(
        mismatch(approve.check_reference(RefField::Stage, &other_version)),
        "version"
    );
    assert_eq!(
        mismatch(reject.check_reference(RefField::Stage, &other_version)),
        "version"
    );
    let other_tarball = Integrity::of(b"evil").to_string();
    let swapped = parse(&edit(
        EventType::Stage,
        &integrity().to_string(),
        &other_tarball,
    ));
    assert_eq!(
        mismatch(publish.check_reference(RefField::Stage, &swapped)),
        "integrity"
    );
    let other_registry = parse(&edit(
        EventType::Stage,
        "https://registry.npmjs.org",
        "http://localhost:4873",
    ));
    assert_eq!(
        mismatch(approve.check_reference(RefField::Stage, &other_registry)),
        "registry"
    );
    let message = publish
        .check_reference(RefField::Stage, &swapped)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`stage`") && message.contains(&other_tarball),
        "{message}"
    );

    assert_eq!(
        publish.check_reference(RefField::Approve, &stage),
        Err(EventError::WrongReferenceType {
            field: "approve",
            expected: EventType::Approve,
            found: EventType::Stage
        })
    );
    assert!(matches!(
        publish.check_reference(RefField::Stage, &publish),
        Err(EventError::WrongReferenceType { .. })
    ));
    assert_eq!(
        approve.check_reference(RefField::Approve, &approve),
        Err(EventError::NoSuchReference { field: "approve" })
    );
    assert_eq!(
        stage.check_reference(RefField::Stage, &stage),
        Err(EventError::NoSuchReference { field: "stage" })
    );
}

#[test]
fn sign_log_and_read_back() {
    let submitter = SigningKey::from_bytes(&[42; 32]);
    let event = parse(&example(EventType::Publish));
    let envelope = event.sign(&submitter).unwrap();
    let leaf = Leaf::new(1_778_578_200_123, Some(LeafIndex(42)), envelope).unwrap();
    let read = Leaf::parse(leaf.as_bytes()).unwrap();
    let keyring = Keyring::new([submitter.verifying_key()]);
    assert_eq!(
        read.envelope().verify(&keyring),
        Ok(&submitter.verifying_key())
    );
    assert_eq!(Event::from_envelope(read.envelope()), Ok(event));

    let mut foreign = read.envelope().clone();
    foreign.payload_type = "application/vnd.in-toto+json".into();
    assert!(matches!(
        Event::from_envelope(&foreign),
        Err(EventError::WrongPayloadType { .. })
    ));
}

mod fuzz;
mod invalid;

#[test]
fn registry_host_keeps_the_port_and_drops_the_scheme() {
    for (origin, host) in [
        ("https://registry.npmjs.org", "registry.npmjs.org"),
        ("http://localhost:4873", "localhost:4873"),
        ("https://[::1]:8443", "[::1]:8443"),
    ] {
        assert_eq!(Registry::parse(origin).unwrap().host(), host);
    }
}
