//! One invalid event per rule, each refused with the expected error variant
//! and a message naming the field.

use super::*;

/// Checks that `text` is refused with an error whose `Debug` form starts
/// with `variant` (e.g. `Json(UnknownField`) and whose message names `field`.
#[track_caller]
fn assert_refused(text: &str, field: &str, variant: &str) {
    match Event::parse(text.as_bytes()) {
        Err(e) => {
            assert!(
                format!("{e:?}").starts_with(variant),
                "expected {variant}, got {e:?}"
            );
            assert!(e.to_string().contains(field), "{e} does not name {field}");
        }
        Ok(_) => panic!("accepted: {text}"),
    }
}

#[test]
fn edited_examples_are_refused() {
    use EventType::*;
    let integrity = integrity().to_string();
    let sha256 = format!("sha256-{}", STANDARD.encode([1u8; 32]));
    let sha512_63 = format!("sha512-{}", STANDARD.encode([1u8; 63]));
    let twice = format!("{integrity} {integrity}");
    let long_version = format!("1.2.3-{}", "a".repeat(MAX_VERSION_LEN));
    let b64_63 = STANDARD.encode([1u8; 63]);
    let key_31 = STANDARD.encode([1u8; 31]);
    // y = 2 is not the y-coordinate of any point of the curve.
    let mut y = [0u8; 32];
    y[0] = 2;
    let not_a_point = STANDARD.encode(y);
    let signature = STANDARD.encode(example_signature().to_bytes());
    let public_key = STANDARD.encode(device_key().verifying_key().as_bytes());
    let sms_with_key = format!(r#""kind":"sms","public_key":"{public_key}"}}"#);
    let provenance = Hash::sha256(b"provenance").to_hex();
    let provenance_upper = provenance.to_uppercase();
    let long_label = "l".repeat(MAX_LABEL_LEN + 1);
    let long_agent = "a".repeat(MAX_USER_AGENT_LEN + 1);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let workflow = r#""workflow":".github/workflows/release.yml","#;
    let dup_package = r#""package":"@acme/widget","package":"@acme/widget""#;

    // (example, replace, with, field named, error variant)
    #[rustfmt::skip]
    let cases: &[(EventType, &str, &str, &str, &str)] = &[
        // Package names.
        (Stage, "@acme/widget", "../x", "`package`", "InvalidPackageName"),
        (Stage, "@acme/widget", "a%2e", "`package`", "InvalidPackageName"),
        (Stage, "@acme/widget", ".x", "`package`", "InvalidPackageName"),
        (Stage, "@acme/widget", "@a/b/c", "`package`", "InvalidPackageName"),
        (Stage, "@acme/widget", "a b", "`package`", "InvalidPackageName"),
        (Stage, "@acme/widget", "a\\u0000b", "`package`", "InvalidPackageName"),
        // Versions.
        (Stage, r#""1.2.3""#, r#""1.2""#, "`version`", "InvalidVersion"),
        (Stage, r#""1.2.3""#, r#""01.2.3""#, "`version`", "InvalidVersion"),
        (Stage, r#""1.2.3""#, r#""v1.2.3""#, "`version`", "InvalidVersion"),
        (Unpublish, "1.2.3", "1.2.3-01", "`version`", "InvalidVersion"),
        (Stage, r#""1.2.3""#, &format!("{long_version:?}"), "`version`", "TooLong"),
        // Integrity.
        (Stage, &integrity, &sha256, "`integrity`", "InvalidIntegrity"),
        (Stage, &integrity, &sha512_63, "`integrity`", "InvalidIntegrity"),
        (Publish, &integrity, &twice, "`integrity`", "InvalidIntegrity"),
        // Shape: missing, unknown, mistyped and repeated fields.
        (Stage, r#""version":"1.2.3","#, "", "`version`", "Json(MissingField"),
        (Stage, r#""type":"stage","#, "", "`type`", "Json(MissingField"),
        (Stage, r#""kind":"oidc","#, "", "`publisher.kind`", "Json(MissingField"),
        (Stage, r#""dist_tag""#, r#""yanked":1,"dist_tag""#, "`yanked`", "Json(UnknownField"),
        (Stage, r#""kind""#, r#""email":"","kind""#, "`publisher.email`", "Json(UnknownField"),
        (Approve, r#""id""#, r#""public_key":"","id""#, "`device.public_key`", "Json(UnknownField"),
        (Reject, r#""stage""#, r#""integrity":"","stage""#, "`integrity`", "Json(UnknownField"),
        (Stage, r#""1.2.3""#, "123", "`version`", "Json(WrongType"),
        (Approve, r#""stage":41"#, r#""stage":"41""#, "`stage`", "Json(WrongType"),
        (Approve, r#""stage":41"#, r#""stage":-1"#, "`stage`", "Json(WrongType"),
        (Approve, r#""stage":41"#, r#""stage":41.0"#, "`stage`", "Json(WrongType"),
        (Stage, r#""latest""#, "null", "`dist_tag`", "Json(WrongType"),
        (Reject, r#"{"id":"phone","kind":"totp"}"#, r#"["phone","totp"]"#, "`device`", "Json(WrongType"),
        (Stage, r#""package":"@acme/widget""#, dup_package, "`package`", "Json(DuplicateKey"),
        (Stage, r#""kind":"oidc""#, r#""kind":"oidc","kind":"oidc""#, "`publisher.kind`", "Json(DuplicateKey"),
        (Stage, r#""type":"stage""#, r#""type":"stage","type":"stage""#, "`type`", "Json(DuplicateKey"),
        (Reject, "}}", "}", "malformed", "Json(Syntax"),
        (Stage, r#""type":"stage""#, r#""type":"yank""#, "`type`", "UnknownType"),
        // Common fields.
        (Stage, "2026-05-12T09:30:00Z", "2026-05-12", "`time`", "InvalidTime"),
        (Stage, "2026-05-12T09:30:00Z", "2026-05-12T25:30:00Z", "`time`", "InvalidTime"),
        (Stage, "2026-05-12T09:30:00Z", "2026-05-12 09:30:00Z", "`time`", "InvalidTime"),
        (Stage, "https://registry.npmjs.org", "http://r.example/npm", "`registry`", "InvalidRegistry"),
        (Stage, "https://registry.npmjs.org", "https://r.example/", "`registry`", "InvalidRegistry"),
        (Stage, "https://registry.npmjs.org", "ftp://r.example", "`registry`", "InvalidRegistry"),
        // Keys and signatures.
        (Approve, &signature, &b64_63, "`device_signature`", "InvalidEncoding"),
        (Approve, &signature, "%", "`device_signature`", "InvalidEncoding"),
        (DeviceRegister, &public_key, &key_31, "`device.public_key`", "InvalidEncoding"),
        (DeviceRegister, &public_key, &not_a_point, "`device.public_key`", "InvalidEncoding"),
        // Rules across fields.
        (DeviceRegister, "webauthn", "sms", "`device.public_key`", "Inconsistent"),
        (DeviceRevoke, r#""kind":"sms"}"#, &sms_with_key, "`device.public_key`", "Inconsistent"),
        (Approve, "webauthn", "totp", "`device_signature`", "Inconsistent"),
        (Stage, workflow, "", "`publisher.workflow`", "Inconsistent"),
        (Stage, r#""oidc""#, r#""token""#, "`publisher.issuer`", "Inconsistent"),
        (Publish, "staged", "direct", "`stage`", "Inconsistent"),
        // Free text and enumerations.
        (Stage, commit, "HEAD", "`publisher.commit`", "Invalid {"),
        (Stage, "https://token", "http://token", "`publisher.issuer`", "Invalid {"),
        (Stage, r#""latest""#, r#""1.x""#, "`dist_tag`", "Invalid {"),
        (Publish, r#""latest""#, r#""a/b""#, "`dist_tag`", "Invalid {"),
        (Stage, &provenance, &provenance_upper, "`provenance`", "Invalid {"),
        (DeviceRegister, "YubiKey 5C", &long_label, "`device.label`", "TooLong"),
        (DeviceRegister, "YubiKey 5C", " YubiKey", "`device.label`", "Invalid {"),
        (Approve, "npm/11.6.0 node", &long_agent, "`context.user_agent`", "TooLong"),
        (Approve, "npm/11.6.0", "npm/11.6.0\\n", "`context.user_agent`", "Invalid {"),
        (Approve, r#""DE""#, r#""de""#, "`context.country`", "Invalid {"),
        (Approve, r#""asn":3320"#, r#""asn":4294967296"#, "`context.asn`", "Invalid {"),
        (Approve, r#""alice""#, r#""""#, "`maintainer`", "Invalid {"),
        (MaintainerAdd, r#""by":"alice""#, r#""by":"al ice""#, "`by`", "Invalid {"),
        (Reject, r#""phone""#, r#""ph\u0001one""#, "`device.id`", "Invalid {"),
        (Reject, "totp", "fido", "`device.kind`", "Invalid {"),
        (Publish, "staged", "sideways", "`via`", "Invalid {"),
        (PolicyChange, "stage-only", "all", "`trusted_publishers[0].mode`", "Invalid {"),
        (PolicyChange, "https://token", "http://token", "`trusted_publishers[0].issuer`", "Invalid {"),
        (PolicyChange, r#""mode""#, r#""x":1,"mode""#, "`trusted_publishers[0].x`", "Json(UnknownField"),
    ];
    for &(event_type, from, to, field, variant) in cases {
        assert_refused(&edit(event_type, from, to), field, variant);
    }
}

#[test]
fn other_invalid_documents_are_refused() {
    let tp = r#"{"issuer":"https://i","repository":"r","workflow":"w","mode":"publish"}"#;
    let many = [tp; MAX_TRUSTED_PUBLISHERS + 1].join(",");
    let policy = format!(
        r#"{{"type":"policy-change",{COMMON},"staged_publishing":"required","trusted_publishers":[{many}]}}"#
    );
    assert_refused(&policy, "`trusted_publishers`", "TooMany");
    let keyless = format!(
        r#"{{"type":"device-register",{COMMON},"maintainer":"alice","device":{{"id":"k","kind":"ed25519"}}}}"#
    );
    assert_refused(&keyless, "`device.public_key`", "Inconsistent");
    assert_refused("[]", "(top level)", "Json(WrongType");
    assert_refused("", "malformed", "Json(Syntax");
    assert_refused("\u{feff}{}", "malformed", "Json(Syntax");
    let padded = format!(
        "{:width$}",
        example(EventType::Stage),
        width = MAX_EVENT_SIZE + 1
    );
    assert_refused(&padded, "limit", "TooLarge");
}

#[test]
fn hand_built_invalid_events_are_not_serialized() {
    let mut event = parse(&example(EventType::MaintainerAdd));
    if let EventBody::MaintainerAdd(change) = &mut event.body {
        change.by = "x".repeat(MAX_USER_NAME_LEN + 1);
    }
    assert!(matches!(event.to_json(), Err(EventError::TooLong { .. })));
    assert!(event.sign(&device_key()).is_err());
    let mut event = parse(&example(EventType::PolicyChange));
    if let EventBody::PolicyChange(policy) = &mut event.body {
        policy.trusted_publishers = vec![policy.trusted_publishers[0].clone(); 200];
    }
    assert!(matches!(event.to_json(), Err(EventError::TooMany { .. })));
}
