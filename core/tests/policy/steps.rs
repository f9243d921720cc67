//! The step judges ([`judge_stage`], [`judge_approval`], [`judge_publish`])
//! reach, over a release's chain, the rules [`evaluate`] reaches; and a
//! direct publish of a version approved only as another tarball is a
//! switched tarball.

use super::*;

fn name() -> PackageName {
    PackageName::parse(PKG).expect("valid name")
}

fn version() -> Version {
    Version::parse(VER).expect("valid version")
}

#[test]
fn a_direct_publish_of_another_tarball_than_approved_is_a_mismatch() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    let publish = log.publish_direct(EVIL);
    let verdict = log.evaluate_expecting(&Policy::default(), Some(&Integrity::of(EVIL)));
    let rules: Vec<Rule> = verdict.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [Rule::PublishWithoutApproval, Rule::IntegrityMismatch],
        "{verdict:#?}"
    );
    let mismatch = verdict.of(Rule::IntegrityMismatch).next().unwrap();
    assert_eq!(mismatch.evidence, ix(&[approve.0, publish.0]));
    // Near miss: the approved tarball published directly is no mismatch.
    let mut log = Log::new();
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish_direct(TGZ);
    let verdict = log.evaluate(&Policy::default());
    only(&verdict, Rule::PublishWithoutApproval, &[3]);
}

#[test]
fn each_step_judges_what_it_adds() {
    let key = device_key(1);
    let mut log = Log::new();
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    // Signed by another key than the one registered, and of another tarball.
    let approve = log.approve(EVIL, stage, Some(("key-1", &device_key(2))));
    let publish = log.publish(TGZ, stage.0, approve);
    let policy = Policy {
        trusted_publishers: vec![rule(PKG, "acme/other", None)],
        ..Policy::default()
    };
    let events = &log.events;
    let staged = judge_stage(&policy, &name(), &version(), stage.0, events);
    only(&staged, Rule::UnexpectedPublisher, &[stage.0.0]);
    let (approved, check) = judge_approval(&policy, &name(), &version(), approve, events);
    only(&approved, Rule::IntegrityMismatch, &[stage.0.0, approve.0]);
    let bad = check.expect("a signature to verify").check();
    assert_eq!(bad.map(|f| f.rule), Some(Rule::BadDeviceSignature));
    let published = judge_publish(&policy, &name(), &version(), publish, events);
    only(
        &published,
        Rule::IntegrityMismatch,
        &[stage.0.0, approve.0, publish.0],
    );
    // The whole release: the same rules.
    let whole: Vec<Rule> = log
        .evaluate_expecting(&policy, None)
        .findings
        .iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(
        whole,
        [
            Rule::IntegrityMismatch,
            Rule::BadDeviceSignature,
            Rule::UnexpectedPublisher
        ]
    );
    // A step at an index holding no such event judges nothing.
    assert!(judge_publish(&policy, &name(), &version(), stage.0, events).passed());
    let (nothing, none) = judge_approval(&policy, &name(), &version(), publish, events);
    assert!(nothing.passed() && none.is_none());
}

#[test]
fn an_honest_signature_verifies() {
    let log = honest();
    let (verdict, check) = judge_approval(
        &Policy::default(),
        &name(),
        &version(),
        LeafIndex(2),
        &log.events,
    );
    assert!(verdict.passed(), "{verdict:#?}");
    assert_eq!(check.expect("a signature to verify").check(), None);
}
