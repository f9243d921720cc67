//! Tests of the release policy: an honest release, each rule failing with
//! the right evidence, the configuration and the pattern matcher.

use ed25519_dalek::SigningKey;

use semver::Version;

use gatelog_core::dsse::Envelope;
use gatelog_core::event::{DeviceKind, Event, EventBody, Integrity, PackageName};
use gatelog_core::hash::{Hash, leaf_hash};
use gatelog_core::policy::*;
use gatelog_core::tree::LeafIndex;
use gatelog_lab::sample::{SampleRegistry, device_key, rfc3339};

const PKG: &str = "@acme/widget";
const VER: &str = "1.0.0";
const TGZ: &[u8] = b"widget-1.0.0.tgz";
const EVIL: &[u8] = b"widget-1.0.0-with-a-worm.tgz";
const REPO: &str = "acme/widget";
const T: i64 = 1_700_000_000;
const GITHUB: &str = "https://token.actions.githubusercontent.com";
const WORKFLOW: &str = ".github/workflows/release.yml";

fn ix(indexes: &[u64]) -> Vec<LeafIndex> {
    indexes.iter().copied().map(LeafIndex).collect()
}

/// A log under construction: each pushed envelope becomes the next entry,
/// with the leaf hash of its payload.
struct Log {
    reg: SampleRegistry,
    events: Vec<LoggedEvent>,
}

impl Log {
    fn new() -> Log {
        Log {
            reg: SampleRegistry::new("registry.example", 1),
            events: Vec::new(),
        }
    }

    fn push(&mut self, envelope: Envelope) -> (LeafIndex, Hash) {
        let index = LeafIndex(self.events.len() as u64);
        let leaf_hash = leaf_hash(&envelope.payload);
        let event = Event::from_envelope(&envelope).expect("sample event is valid");
        self.events.push(LoggedEvent {
            index,
            leaf_hash,
            event,
        });
        (index, leaf_hash)
    }

    /// An event given as the JSON fields after the common ones.
    fn json(&mut self, kind: &str, package: &str, fields: &str, time: i64) -> (LeafIndex, Hash) {
        let json = format!(
            r#"{{"type":"{kind}","package":"{package}","registry":"{}","time":"{}",{fields}}}"#,
            self.reg.origin,
            rfc3339(time)
        );
        let envelope = self.reg.sign_json(&json).expect("test event is valid");
        self.push(envelope)
    }

    fn register(&mut self, id: &str, key: &SigningKey) -> LeafIndex {
        let envelope = self.reg.device_register(PKG, "alice", id, key, T);
        self.push(envelope).0
    }

    fn revoke(&mut self, id: &str) -> LeafIndex {
        self.json(
            "device-revoke",
            PKG,
            &format!(r#""maintainer":"alice","device":{{"id":"{id}","kind":"ed25519"}}"#),
            T + 50,
        )
        .0
    }

    fn stage(&mut self, tarball: &[u8]) -> (LeafIndex, Hash) {
        let envelope = self.reg.stage(PKG, VER, tarball, REPO, T + 10);
        self.push(envelope)
    }

    fn approve(
        &mut self,
        tarball: &[u8],
        stage: (LeafIndex, Hash),
        device: Option<(&str, &SigningKey)>,
    ) -> LeafIndex {
        let envelope = self.reg.approve(
            PKG,
            VER,
            tarball,
            stage.0,
            &stage.1,
            "alice",
            device,
            T + 100,
        );
        self.push(envelope).0
    }

    fn publish(&mut self, tarball: &[u8], stage: LeafIndex, approve: LeafIndex) -> LeafIndex {
        let envelope = self.reg.publish(PKG, VER, tarball, stage, approve, T + 200);
        self.push(envelope).0
    }

    fn publish_direct(&mut self, tarball: &[u8]) -> LeafIndex {
        let envelope = self.reg.publish_direct(PKG, VER, tarball, T + 200);
        self.push(envelope).0
    }

    fn evaluate(&self, policy: &Policy) -> Verdict {
        self.evaluate_expecting(policy, Some(&Integrity::of(TGZ)))
    }

    fn evaluate_expecting(&self, policy: &Policy, expected: Option<&Integrity>) -> Verdict {
        evaluate(
            policy,
            &PackageName::parse(PKG).expect("valid name"),
            &Version::parse(VER).expect("valid version"),
            expected,
            &self.events,
        )
    }
}

/// #0 device-register key-1, #1 stage, #2 approve (signed by key-1),
/// #3 publish.
fn honest() -> Log {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    log
}

/// The only finding is for `rule`, with `evidence`; returns its message.
#[track_caller]
fn only(verdict: &Verdict, rule: Rule, evidence: &[u64]) -> String {
    assert_eq!(
        verdict.findings.len(),
        1,
        "expected exactly one {rule} finding, got {:#?}",
        verdict.findings
    );
    let finding = &verdict.findings[0];
    assert_eq!(finding.rule, rule, "{finding}");
    assert_eq!(finding.evidence, ix(evidence), "{finding}");
    finding.message.clone()
}

fn policy_json(json: &str) -> Policy {
    serde_json::from_str(json).expect("valid policy")
}

// --- the honest path -------------------------------------------------------

#[test]
fn honest_release_passes() {
    let log = honest();
    let verdict = log.evaluate(&Policy::default());
    assert!(verdict.passed(), "{:#?}", verdict.findings);
    // Also without an expected digest, and under the strictest settings.
    assert!(log.evaluate_expecting(&Policy::default(), None).passed());
    let strict = Policy {
        require_signing_device: true,
        accept_totp: false,
        ..Policy::default()
    };
    assert!(log.evaluate(&strict).passed());
}

#[test]
fn events_of_other_packages_and_versions_are_ignored() {
    let mut log = honest();
    // A direct publish of another package and of another version, and an
    // unpublish of another version: none of them concern 1.0.0.
    let other = log.reg.publish_direct("left-pad", VER, EVIL, T + 300);
    log.push(other);
    let later = log.reg.publish_direct(PKG, "2.0.0", EVIL, T + 300);
    log.push(later);
    log.json(
        "unpublish",
        PKG,
        r#""version":"2.0.0","by":"alice""#,
        T + 400,
    );
    let verdict = log.evaluate(&Policy::default());
    assert!(verdict.passed(), "{:#?}", verdict.findings);
}

#[test]
fn device_registered_under_another_package_counts() {
    // Devices belong to maintainers, not packages.
    let mut log = Log::new();
    let key = device_key(1);
    let register = log
        .reg
        .device_register("left-pad", "alice", "key-1", &key, T);
    log.push(register);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    assert!(log.evaluate(&Policy::default()).passed());
}

// --- not-logged and unpublished ---------------------------------------------

#[test]
fn no_publish_is_not_logged() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    log.approve(TGZ, stage, Some(("key-1", &key)));
    let message = only(&log.evaluate(&Policy::default()), Rule::NotLogged, &[]);
    assert!(message.contains("never published"), "{message}");

    let empty = Log::new().evaluate(&Policy::default());
    only(&empty, Rule::NotLogged, &[]);
}

#[test]
fn unpublished_version_fails() {
    let mut log = honest();
    let (unpublish, _) = log.json(
        "unpublish",
        PKG,
        r#""version":"1.0.0","by":"alice""#,
        T + 500,
    );
    let verdict = log.evaluate(&Policy::default());
    only(&verdict, Rule::Unpublished, &[unpublish.0]);
}

// --- publish-without-approval ------------------------------------------------

#[test]
fn direct_publish_fails_by_default() {
    let mut log = Log::new();
    let publish = log.publish_direct(TGZ);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[publish.0],
    );
    assert!(message.contains("via: direct"), "{message}");
}

#[test]
fn allow_direct_and_optional_staging_accept_a_direct_publish() {
    let mut log = Log::new();
    log.publish_direct(TGZ);
    for allowed in ["@acme/*", "@acme/widget", "*", "@acme/w*t"] {
        let policy = Policy {
            allow_direct: vec!["left-*".to_owned(), allowed.to_owned()],
            ..Policy::default()
        };
        assert!(log.evaluate(&policy).passed(), "{allowed}");
    }
    let not_matching = Policy {
        allow_direct: vec!["@other/*".to_owned(), "widget".to_owned()],
        ..Policy::default()
    };
    assert!(
        log.evaluate(&not_matching)
            .has(Rule::PublishWithoutApproval)
    );
    let optional = Policy {
        require_staging: false,
        ..Policy::default()
    };
    assert!(log.evaluate(&optional).passed());
    // Digests are still compared.
    let verdict = log.evaluate_expecting(&optional, Some(&Integrity::of(EVIL)));
    only(&verdict, Rule::IntegrityMismatch, &[0]);
}

#[test]
fn staged_publish_without_approve_reference_fails() {
    let mut log = Log::new();
    let (stage, _) = log.stage(TGZ);
    let (publish, _) = log.json(
        "publish",
        PKG,
        &format!(
            r#""version":"1.0.0","integrity":"{}","dist_tag":"latest","stage":{},"via":"staged""#,
            Integrity::of(TGZ),
            stage.0
        ),
        T + 200,
    );
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[publish.0],
    );
    assert!(message.contains("no approve reference"), "{message}");
    let optional = Policy {
        require_staging: false,
        ..Policy::default()
    };
    assert!(log.evaluate(&optional).passed());
}

#[test]
fn approve_reference_missing_from_the_events_fails() {
    let mut log = Log::new();
    let stage = log.stage(TGZ);
    let publish = log.publish(TGZ, stage.0, LeafIndex(99));
    let verdict = log.evaluate(&Policy::default());
    let message = only(&verdict, Rule::PublishWithoutApproval, &[publish.0]);
    assert!(message.contains("#99"), "{message}");
    // A present but dangling reference fails even where staging is optional.
    let optional = Policy {
        require_staging: false,
        ..Policy::default()
    };
    only(
        &log.evaluate(&optional),
        Rule::PublishWithoutApproval,
        &[publish.0],
    );
}

#[test]
fn approve_reference_to_a_stage_fails() {
    let mut log = Log::new();
    let stage = log.stage(TGZ);
    // `approve` names the stage entry.
    let publish = log.publish(TGZ, stage.0, stage.0);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[stage.0.0, publish.0],
    );
    assert!(
        message.contains("it is an event of type stage about @acme/widget@1.0.0"),
        "{message}"
    );
}

#[test]
fn approve_of_another_version_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    // A stage and approval of 0.9.0, and a stage of 1.0.0.
    let old_stage = log.push(log.reg.stage(PKG, "0.9.0", TGZ, REPO, T));
    let old_approve = log.push(log.reg.approve(
        PKG,
        "0.9.0",
        TGZ,
        old_stage.0,
        &old_stage.1,
        "alice",
        Some(("key-1", &key)),
        T,
    ));
    let stage = log.stage(TGZ);
    let publish = log.publish(TGZ, stage.0, old_approve.0);
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[old_approve.0.0, publish.0],
    );
    assert!(
        message.contains("it is an event of type approve about @acme/widget@0.9.0"),
        "{message}"
    );
}

#[test]
fn approval_of_another_stage_fails() {
    // The publish names stage #1 but the approval approved stage #2.
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let first = log.stage(TGZ);
    let second = log.stage(TGZ);
    let approve = log.approve(TGZ, second, Some(("key-1", &key)));
    let publish = log.publish(TGZ, first.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[first.0.0, second.0.0, approve.0, publish.0],
    );
}

#[test]
fn reference_to_a_later_entry_fails() {
    // An approval logged after the publish did not gate it.
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let publish = log.publish(TGZ, stage.0, LeafIndex(3));
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    assert_eq!(approve, LeafIndex(3));
    let message = only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[publish.0, approve.0],
    );
    assert!(message.contains("logged after it"), "{message}");
}

#[test]
fn approval_of_a_missing_stage_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let approve = log.approve(TGZ, (LeafIndex(42), Hash::default()), Some(("key-1", &key)));
    let publish = log.publish(TGZ, LeafIndex(42), approve);
    let verdict = log.evaluate(&Policy::default());
    // Both the publish's and the approval's stage reference dangle; the
    // signature cannot be checked without the stage and is not reported.
    assert!(
        verdict
            .findings
            .iter()
            .all(|f| f.rule == Rule::PublishWithoutApproval),
        "{:#?}",
        verdict.findings
    );
    let evidence: Vec<Vec<LeafIndex>> = verdict
        .findings
        .iter()
        .map(|f| f.evidence.clone())
        .collect();
    assert_eq!(evidence, [ix(&[publish.0]), ix(&[approve.0])]);
}

// --- republishing -----------------------------------------------------------

#[test]
fn the_last_publish_is_judged() {
    // A failed direct attempt, then a proper staged publish: passes.
    let mut log = Log::new();
    let key = device_key(1);
    log.publish_direct(TGZ);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    log.publish(TGZ, stage.0, approve);
    assert!(log.evaluate(&Policy::default()).passed());

    // A proper publish, then a direct one over it: fails on the last.
    let mut log = honest();
    let direct = log.publish_direct(TGZ);
    only(
        &log.evaluate(&Policy::default()),
        Rule::PublishWithoutApproval,
        &[direct.0],
    );

    // Order of the input does not matter, only leaf indexes.
    let mut log = honest();
    log.publish_direct(TGZ);
    log.events.reverse();
    assert!(
        log.evaluate(&Policy::default())
            .has(Rule::PublishWithoutApproval)
    );
}

// --- integrity-mismatch ------------------------------------------------------

#[test]
fn bait_and_switch_fails() {
    // Stage and approval of TGZ, publish of EVIL.
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(TGZ, stage, Some(("key-1", &key)));
    let publish = log.publish(EVIL, stage.0, approve);
    let verdict = log.evaluate_expecting(&Policy::default(), Some(&Integrity::of(EVIL)));
    let message = only(
        &verdict,
        Rule::IntegrityMismatch,
        &[stage.0.0, approve.0, publish.0],
    );
    assert!(
        message.contains(&Integrity::of(TGZ).to_string()),
        "{message}"
    );
    assert!(
        message.contains(&Integrity::of(EVIL).to_string()),
        "{message}"
    );
    assert!(message.contains("publish #3"), "{message}");
}

#[test]
fn approval_of_another_tarball_fails() {
    let mut log = Log::new();
    let key = device_key(1);
    log.register("key-1", &key);
    let stage = log.stage(TGZ);
    let approve = log.approve(EVIL, stage, Some(("key-1", &key)));
    let publish = log.publish(TGZ, stage.0, approve);
    only(
        &log.evaluate(&Policy::default()),
        Rule::IntegrityMismatch,
        &[stage.0.0, approve.0, publish.0],
    );
}

#[test]
fn lockfile_digest_mismatch_fails() {
    let log = honest();
    let verdict = log.evaluate_expecting(&Policy::default(), Some(&Integrity::of(EVIL)));
    let message = only(&verdict, Rule::IntegrityMismatch, &[1, 2, 3]);
    assert!(
        message.contains(&format!("expected {}", Integrity::of(EVIL))),
        "{message}"
    );
}

mod config;
mod devices;
mod steps;

/// A trusted-publisher rule for GitHub Actions.
fn rule(packages: &str, repository: &str, workflow: Option<&str>) -> TrustedPublisherRule {
    TrustedPublisherRule {
        packages: packages.to_owned(),
        issuer: GITHUB.to_owned(),
        repository: repository.to_owned(),
        workflow: workflow.map(str::to_owned),
    }
}
