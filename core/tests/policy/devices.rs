//! Devices, second factors and trusted publishers.

use super::*;

// --- devices ----------------------------------------------------------------

#[test]
fn unregistered_device_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::UnknownDevice,
        &[approve.0],
    );
}

#[test]
fn device_registered_after_the_approval_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    let register = log.register("key-1", &key);
    log.publish(TGZ, stage.0, approve);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::UnknownDevice,
        &[approve.0, register.0],
    );
    assert!(message.contains("registered only later"), "{message}");
}

#[test]
fn revoked_device_fails_and_reregistered_device_passes() {
    let mut log = Log::new();
    let key = device_key(1);
    let register = log.register("key-1", &key);
    let revoke = log.revoke("key-1");
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::UnknownDevice,
        &[register.0, revoke.0, approve.0],
    );
    assert!(message.contains("revoked"), "{message}");

    // Registered again before the approval: fine.
    let mut log = Log::new();
    log.register("key-1", &key);
    log.revoke("key-1");
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    assert!(log.evaluate(&Policy::default()).passed());

    // Revoked only after the approval: fine.
    let mut log = honest();
    log.revoke("key-1");
    assert!(log.evaluate(&Policy::default()).passed());
}

#[test]
fn device_of_another_maintainer_or_registry_is_unknown() {
    let key = device_key(1);
    // Registered by bob, used by alice.
    let mut log = Log::new();
    let register = log.reg.device_register(PKG, "bob", "key-1", &key, T);
    log.push(register);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::UnknownDevice,
        &[approve.0],
    );

    // Registered on another registry.
    let mut log = Log::new();
    let other = SampleRegistry::new("other.example", 2);
    log.push(other.device_register(PKG, "alice", "key-1", &key, T));
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::UnknownDevice,
        &[approve.0],
    );
}

#[test]
fn device_kind_downgrade_is_unknown() {
    // key-1 was registered as ed25519; an approval claims it is a TOTP
    // device, which would dodge the signature check.
    let mut log = Log::new();
    let key = device_key(1);
    let register = log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let (approve, _) = log.json(
        "approve",
        PKG,
        &format!(
            r#""version":"1.0.0","integrity":"{}","stage":{},"maintainer":"alice","device":{{"id":"key-1","kind":"totp"}}"#,
            Integrity::of(TGZ),
            stage.0.0
        ),
        T + 100,
    );
    log.publish(TGZ, stage.0, approve);
    let verdict = log.evaluate(&Policy::default());
    let rules: Vec<Rule> = verdict.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [Rule::UnknownDevice, Rule::MissingDeviceSignature],
        "{:#?}",
        verdict.findings
    );
    assert_eq!(verdict.findings[0].evidence, ix(&[register.0, approve.0]));
}

#[test]
fn signing_device_without_signature_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let (approve, _) = log.json(
        "approve",
        PKG,
        &format!(
            r#""version":"1.0.0","integrity":"{}","stage":{},"maintainer":"alice","device":{{"id":"key-1","kind":"ed25519"}}"#,
            Integrity::of(TGZ),
            stage.0.0
        ),
        T + 100,
    );
    log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::MissingDeviceSignature,
        &[approve.0],
    );
}

#[test]
fn signature_by_another_key_fails() {
    let mut log = Log::new();
    let register = log.register("key-1", &device_key(1));
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &device_key(2))));
    log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::BadDeviceSignature,
        &[register.0, stage.0.0, approve.0],
    );
}

#[test]
fn signature_over_another_stage_leaf_fails() {
    // The device signed over a leaf hash that is not the stage entry's.
    let mut log = Log::new();
    let key = device_key(1);
    let register = log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(
        TGZ,
        (stage.0, leaf_hash(b"another leaf")),
        Some(("key-1", &key)),
    );
    log.publish(TGZ, stage.0, approve);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::BadDeviceSignature,
        &[register.0, stage.0.0, approve.0],
    );
    assert!(message.contains(&stage.1.to_hex()), "{message}");
}

// --- second factors ------------------------------------------------------------

/// #0 device-register of `id` (`kind`), #1 stage, #2 approve with that
/// device, #3 publish.
fn unsigned_approval(kind: &str, id: &str) -> Log {
    let mut log = Log::new();
    log.json(
        "device-register",
        PKG,
        &format!(r#""maintainer":"alice","device":{{"id":"{id}","kind":"{kind}"}}"#),
        T,
    );
    let stage = log.stage(TGZ);
    let (approve, _) = log.json(
        "approve",
        PKG,
        &format!(
            r#""version":"1.0.0","integrity":"{}","stage":{},"maintainer":"alice","device":{{"id":"{id}","kind":"{kind}"}}"#,
            Integrity::of(TGZ),
            stage.0.0
        ),
        T + 100,
    );
    log.publish(TGZ, stage.0, approve);
    log
}

#[test]
fn totp_is_accepted_by_default_but_not_under_require_signing_device() {
    // The sample registry's own TOTP approval (device "phone").
    let mut log = Log::new();
    log.json(
        "device-register",
        PKG,
        r#""maintainer":"alice","device":{"id":"phone","kind":"totp"}"#,
        T,
    );
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, None);
    log.publish(TGZ, stage.0, approve);
    assert!(log.evaluate(&Policy::default()).passed());

    let signing = Policy {
        require_signing_device: true,
        ..Policy::default()
    };
    let message = only(
        &log.evaluate(&signing),
        Rule::WeakSecondFactor,
        &[approve.0],
    );
    assert!(message.contains("require_signing_device"), "{message}");

    let no_totp = Policy {
        accept_totp: false,
        ..Policy::default()
    };
    only(
        &log.evaluate(&no_totp),
        Rule::WeakSecondFactor,
        &[approve.0],
    );
}

#[test]
fn sms_is_refused_unless_accepted() {
    let log = unsigned_approval("sms", "sms-1");
    // The SMS approval parsed from JSON.
    assert!(matches!(
        &log.events[2].event.body,
        EventBody::Approve(a) if a.device.kind == DeviceKind::Sms
    ));
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::WeakSecondFactor,
        &[2],
    );
    assert!(message.contains("accept_sms"), "{message}");

    let accept = Policy {
        accept_sms: true,
        ..Policy::default()
    };
    assert!(log.evaluate(&accept).passed());

    let accept_but_signing = Policy {
        accept_sms: true,
        require_signing_device: true,
        ..Policy::default()
    };
    only(
        &log.evaluate(&accept_but_signing),
        Rule::WeakSecondFactor,
        &[2],
    );
}

// --- trusted publishers --------------------------------------------------------

fn with_rules(rules: Vec<TrustedPublisherRule>) -> Policy {
    Policy {
        trusted_publishers: rules,
        ..Policy::default()
    }
}

#[test]
fn trusted_publisher_match_passes() {
    let log = honest();
    for policy in [
        with_rules(vec![rule("@acme/*", REPO, Some(WORKFLOW))]),
        with_rules(vec![rule("@acme/widget", REPO, None)]),
        // One of several applicable rules is enough.
        with_rules(vec![
            rule("@acme/*", "acme/monorepo", None),
            rule("*", REPO, Some(WORKFLOW)),
        ]),
    ] {
        assert!(log.evaluate(&policy).passed(), "{policy:?}");
    }
}

#[test]
fn trusted_publisher_mismatch_fails() {
    let log = honest();
    for policy in [
        with_rules(vec![rule("@acme/*", "acme/monorepo", None)]),
        with_rules(vec![rule(
            "@acme/*",
            REPO,
            Some(".github/workflows/ci.yml"),
        )]),
        with_rules(vec![TrustedPublisherRule {
            issuer: "https://gitlab.com".to_owned(),
            ..rule("@acme/*", REPO, None)
        }]),
        // The matching rule is for another package; the applicable one fails.
        with_rules(vec![
            rule("left-pad", REPO, None),
            rule("@acme/*", "acme/monorepo", None),
        ]),
    ] {
        let message = only(&log.evaluate(&policy), Rule::UnexpectedPublisher, &[1]);
        assert!(message.contains("repository acme/widget"), "{message}");
    }
}

#[test]
fn no_trusted_publisher_rule_for_the_package_passes() {
    let log = honest();
    let policy = with_rules(vec![
        rule("@other/*", "other/repo", None),
        rule("left-*", "left/repo", None),
    ]);
    assert!(log.evaluate(&policy).passed());
}

#[test]
fn direct_publish_has_no_trusted_publisher() {
    let mut log = Log::new();
    let publish = log.publish_direct(TGZ);
    let policy = Policy {
        allow_direct: vec!["@acme/*".to_owned()],
        ..with_rules(vec![rule("@acme/*", REPO, None)])
    };
    only(
        &log.evaluate(&policy),
        Rule::UnexpectedPublisher,
        &[publish.0],
    );
}
