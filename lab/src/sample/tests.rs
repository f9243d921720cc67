//! Tests of the sample registry's builders.

use ed25519_dalek::SigningKey;

use super::*;
use gatelog_core::dsse::{Envelope, Keyring};
use gatelog_core::event::{
    ApprovalContext, DeviceKind, Event, EventBody, StagedPublishing, TrustedPublisherMode, Via,
};
use gatelog_core::hash::Hash;
use gatelog_core::tree::LeafIndex;

#[test]
fn sample_events_are_valid_and_signed_by_the_registry() {
    let reg = SampleRegistry::new("registry.example", 1);
    let ring = Keyring::new([*reg.verifier_key().key()]);
    let dev = device_key(1);
    let envelopes = [
        reg.stage(
            "@acme/widget",
            "1.0.0",
            b"tgz",
            "acme/widget",
            1_700_000_000,
        ),
        reg.device_register("@acme/widget", "alice", "key-1", &dev, 1_700_000_000),
        reg.approve(
            "@acme/widget",
            "1.0.0",
            b"tgz",
            LeafIndex(0),
            &Hash::default(),
            "alice",
            Some(("key-1", &dev)),
            1_700_000_100,
        ),
        reg.approve(
            "@acme/widget",
            "1.0.0",
            b"tgz",
            LeafIndex(0),
            &Hash::default(),
            "alice",
            None,
            1_700_000_100,
        ),
        reg.publish(
            "@acme/widget",
            "1.0.0",
            b"tgz",
            LeafIndex(0),
            LeafIndex(2),
            1_700_000_200,
        ),
        reg.publish_direct("left-pad", "2.0.0", b"evil", 1_700_000_300),
    ];
    for env in envelopes {
        env.verify(&ring).unwrap();
        Event::from_envelope(&env).unwrap();
    }
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
}

/// Verifies and parses an envelope of `reg`.
fn open(reg: &SampleRegistry, envelope: &Envelope) -> Event {
    let ring = Keyring::new([*reg.verifier_key().key()]);
    envelope.verify(&ring).expect("signed by the registry");
    Event::from_envelope(envelope).expect("a valid event")
}

#[test]
fn typed_builders_make_valid_events_of_every_type() {
    let reg = SampleRegistry::new("registry.example", 2);
    let pkg = "@acme/widget";
    let integrity = Integrity::of(b"tgz");
    let key = SampleDevice::signing("yubikey", DeviceKind::Webauthn, 1).labelled("YubiKey 5C");
    let phone = SampleDevice::code("phone", DeviceKind::Totp);
    let sms = SampleDevice::code("sms", DeviceKind::Sms);
    let trusted = [
        trusted_github("acme/widget", TrustedPublisherMode::StageOnly),
        trusted_github("acme/monorepo", TrustedPublisherMode::Publish),
    ];
    let publisher = github_publisher("acme/widget", "refs/tags/v1.0.0");
    let t = 1_700_000_000;
    let approval = |device, signer, context| Approval {
        package: pkg,
        version: "1.0.0",
        integrity,
        stage: LeafIndex(4),
        stage_leaf_hash: Hash::sha256(b"stage"),
        maintainer: "alice",
        device,
        signer,
        context,
        time: t + 60,
    };
    let wrong = device_key(9);
    let context = ApprovalContext {
        asn: Some(3320),
        country: Some("DE".into()),
        user_agent: Some("npm/11.6.0".into()),
    };
    let envelopes = [
        reg.maintainer_add(pkg, "alice", "alice", t),
        reg.maintainer_remove(pkg, "bob", "alice", t),
        reg.policy_change(pkg, StagedPublishing::Required, &trusted, t),
        reg.policy_change(pkg, StagedPublishing::Optional, &[], t),
        reg.register(pkg, "alice", &key, t),
        reg.register(pkg, "alice", &phone, t),
        reg.register(pkg, "alice", &sms, t),
        reg.revoke(pkg, "alice", &phone, t),
        reg.stage_from(pkg, "1.0.0", &integrity, &publisher, t),
        reg.approve_with(&approval(&key, key.key.as_ref(), Some(context))),
        reg.approve_with(&approval(&key, Some(&wrong), None)),
        reg.approve_with(&approval(&key, None, None)),
        reg.approve_with(&approval(&phone, None, None)),
        reg.approve_with(&approval(&sms, None, None)),
        reg.publish_staged(pkg, "1.0.0", &integrity, LeafIndex(4), LeafIndex(5), t),
        reg.publish_direct_integrity(pkg, "1.0.1", &integrity, t),
        reg.reject(pkg, "1.0.2", LeafIndex(6), "alice", &phone, t),
        reg.unpublish(pkg, "1.0.1", "alice", t),
        reg.deprecate(pkg, "1.0.0", "alice", t),
    ];
    let events: Vec<Event> = envelopes.iter().map(|e| open(&reg, e)).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type().as_str()).collect();
    assert_eq!(
        types,
        [
            "maintainer-add",
            "maintainer-remove",
            "policy-change",
            "policy-change",
            "device-register",
            "device-register",
            "device-register",
            "device-revoke",
            "stage",
            "approve",
            "approve",
            "approve",
            "approve",
            "approve",
            "publish",
            "publish",
            "reject",
            "unpublish",
            "deprecate",
        ]
    );
    // Signing devices register their key; code devices none.
    let EventBody::DeviceRegister(change) = &events[4].body else {
        panic!("not a register")
    };
    assert_eq!(
        change.device.public_key,
        Some(device_key(1).verifying_key())
    );
    assert_eq!(change.device.label.as_deref(), Some("YubiKey 5C"));
    let EventBody::DeviceRegister(change) = &events[5].body else {
        panic!("not a register")
    };
    assert_eq!(change.device.public_key, None);
    // The device's own key verifies; another key's signature does not.
    let stage_hash = Hash::sha256(b"stage");
    let key_of = |k: &SigningKey| k.verifying_key();
    let approve = |i: usize| match &events[i].body {
        EventBody::Approve(a) => a.clone(),
        _ => panic!("not an approval"),
    };
    let own = approve(9);
    assert!(own.context.is_some());
    own.verify_device_signature(&events[9].package, &stage_hash, &key_of(&device_key(1)))
        .unwrap();
    assert!(
        approve(10)
            .verify_device_signature(&events[10].package, &stage_hash, &key_of(&device_key(1)))
            .is_err()
    );
    assert!(approve(11).device_signature.is_none());
    assert_eq!(approve(13).device.kind, DeviceKind::Sms);
    let via = |i: usize| match &events[i].body {
        EventBody::Publish(p) => (p.via, p.stage, p.approve),
        _ => panic!("not a publish"),
    };
    assert_eq!(
        via(14),
        (Via::Staged, Some(LeafIndex(4)), Some(LeafIndex(5)))
    );
    assert_eq!(via(15), (Via::Direct, None, None));
    let EventBody::Stage(stage) = &events[8].body else {
        panic!("not a stage")
    };
    assert_eq!(stage.publisher, publisher);
    assert_eq!(
        stage.publisher.subject,
        "repo:acme/widget:ref:refs/tags/v1.0.0"
    );
}

#[test]
fn invalid_sample_events_are_refused_or_panic() {
    let reg = SampleRegistry::new("registry.example", 2);
    let totp_with_key = SampleDevice {
        key: Some(device_key(1)),
        ..SampleDevice::code("phone", DeviceKind::Totp)
    };
    let body = EventBody::DeviceRegister(gatelog_core::event::DeviceChange {
        maintainer: "alice".into(),
        device: totp_with_key.device(),
    });
    assert!(reg.try_event("widget", 0, body.clone()).is_err());
    assert!(reg.try_event("Widget", 0, body).is_err());
    let panicked = std::panic::catch_unwind(|| reg.register("widget", "alice", &totp_with_key, 0));
    assert!(panicked.is_err());
}
