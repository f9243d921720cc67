//! Every rule: one case that fires it and a near miss that must not.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::event::{approval_statement, sign_approval};
use gatelog_core::{Event, Hash, Integrity, LeafIndex, PackageName};
use gatelog_lab::sample::{device_key, rfc3339};

use super::{Engine, Entry, Finding, RuleConfig};
use crate::alert::RuleId;
use crate::index::Empty;

pub(super) const T0: i64 = 1_777_000_000;
pub(super) const REG: &str = "https://registry.test";
pub(super) const CI: &str = r#"{"kind":"oidc","issuer":"https://token.actions.githubusercontent.com","subject":"repo:acme/w:ref:refs/tags/v1","repository":"acme/w","workflow":".github/workflows/release.yml"}"#;

/// The rules of `findings`, sorted.
pub(super) fn rule_ids(findings: &[Finding]) -> Vec<RuleId> {
    let mut rules: Vec<RuleId> = findings.iter().map(|f| f.rule).collect();
    rules.sort();
    rules
}

/// Feeds events to an engine, assigning indexes, leaf hashes and `prev`.
pub(super) struct Log {
    pub(super) engine: Engine,
    next: u64,
    /// Chain heads per (registry, package).
    heads: HashMap<(String, String), u64>,
    hashes: HashMap<u64, Hash>,
    /// The log's clock: never decreasing, whatever the registry says.
    clock: u64,
    /// The registry of the next events.
    pub(super) registry: String,
    /// When set, the log logs the next event at this many seconds after
    /// T0 (whatever the registry's time says).
    pub(super) logged: Option<i64>,
}

impl Log {
    pub(super) fn new(mut config: RuleConfig) -> Log {
        // Cases here log events out of time order on purpose; time-skew
        // has its own tests (rules/clock.rs).
        config.disabled.push(RuleId::TimeSkew);
        Log {
            engine: Engine::new(config, Vec::new(), 0),
            next: 0,
            heads: HashMap::new(),
            hashes: HashMap::new(),
            clock: 0,
            registry: REG.to_owned(),
            logged: None,
        }
    }

    pub(super) fn default() -> Log {
        Log::new(RuleConfig::default())
    }

    /// Logs an event of `package` at `t` seconds with `body` fields.
    pub(super) fn push(
        &mut self,
        package: &str,
        t: i64,
        kind: &str,
        body: &str,
    ) -> (u64, Vec<Finding>) {
        let json = format!(
            r#"{{"type":"{kind}","package":"{package}","registry":"{}","time":"{}",{body}}}"#,
            self.registry,
            rfc3339(T0 + t)
        );
        let event = Event::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
        let index = self.next;
        self.next += 1;
        let leaf_hash = Hash::sha256(json.as_bytes());
        self.hashes.insert(index, leaf_hash);
        let host = event.registry.host().to_owned();
        let prev = self.heads.insert((host, package.to_owned()), index);
        let entry = Entry {
            index,
            leaf_hash,
            logged_at: {
                let at = self.logged.take().unwrap_or(t);
                self.clock = self.clock.max((T0 + at) as u64 * 1000);
                self.clock
            },
            prev,
            event,
        };
        let mut found = self.engine.apply(&Empty, &entry).unwrap();
        found.extend(self.engine.finish_chunk());
        (index, found)
    }

    pub(super) fn rules(&mut self, package: &str, t: i64, kind: &str, body: &str) -> Vec<RuleId> {
        rule_ids(&self.push(package, t, kind, body).1)
    }

    pub(super) fn register(
        &mut self,
        package: &str,
        t: i64,
        who: &str,
        device: &str,
        seed: Option<u8>,
    ) -> u64 {
        let body = match seed {
            Some(seed) => format!(
                r#""maintainer":"{who}","device":{{"id":"{device}","kind":"ed25519","public_key":"{}"}}"#,
                STANDARD.encode(device_key(seed).verifying_key().as_bytes())
            ),
            None => format!(r#""maintainer":"{who}","device":{{"id":"{device}","kind":"totp"}}"#),
        };
        let (i, f) = self.push(package, t, "device-register", &body);
        assert!(f.is_empty(), "{f:?}");
        i
    }

    pub(super) fn stage(
        &mut self,
        package: &str,
        version: &str,
        tgz: &str,
        t: i64,
        publisher: &str,
    ) -> (u64, Vec<RuleId>) {
        let body = format!(
            r#""version":"{version}","integrity":"{}","publisher":{publisher}"#,
            Integrity::of(tgz.as_bytes())
        );
        let (i, f) = self.push(package, t, "stage", &body);
        (i, rule_ids(&f))
    }

    /// An approval by `who` with `device` (signed with `seed`'s key when
    /// given, or with `kind` and no signature).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn approve(
        &mut self,
        package: &str,
        version: &str,
        tgz: &str,
        stage: u64,
        t: i64,
        who: &str,
        device: &str,
        sign: Result<u8, &str>,
    ) -> (u64, Vec<RuleId>) {
        let body = self.approve_body(package, version, tgz, stage, who, device, sign);
        let (i, f) = self.push(package, t, "approve", &body);
        (i, rule_ids(&f))
    }

    /// The fields of an approval (see [`Log::approve`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn approve_body(
        &self,
        package: &str,
        version: &str,
        tgz: &str,
        stage: u64,
        who: &str,
        device: &str,
        sign: Result<u8, &str>,
    ) -> String {
        let integrity = Integrity::of(tgz.as_bytes());
        let dev = match sign {
            Ok(seed) => {
                let statement = approval_statement(
                    &PackageName::parse(package).unwrap(),
                    &semver::Version::parse(version).unwrap(),
                    &integrity,
                    &self.hashes[&stage],
                );
                let sig = sign_approval(&device_key(seed), &statement);
                format!(
                    r#""device":{{"id":"{device}","kind":"ed25519"}},"device_signature":"{}""#,
                    STANDARD.encode(sig.to_bytes())
                )
            }
            Err(kind) => format!(r#""device":{{"id":"{device}","kind":"{kind}"}}"#),
        };
        format!(
            r#""version":"{version}","integrity":"{integrity}","stage":{stage},"maintainer":"{who}",{dev}"#
        )
    }

    pub(super) fn publish(
        &mut self,
        package: &str,
        version: &str,
        tgz: &str,
        t: i64,
        refs: Option<(u64, u64)>,
    ) -> Vec<RuleId> {
        let integrity = Integrity::of(tgz.as_bytes());
        let body = match refs {
            Some((s, a)) => format!(
                r#""version":"{version}","integrity":"{integrity}","dist_tag":"latest","stage":{s},"approve":{a},"via":"staged""#
            ),
            None => format!(
                r#""version":"{version}","integrity":"{integrity}","dist_tag":"latest","via":"direct""#
            ),
        };
        self.rules(package, t, "publish", &body)
    }

    pub(super) fn policy(
        &mut self,
        package: &str,
        t: i64,
        required: bool,
        mode: &str,
    ) -> Vec<RuleId> {
        let body = format!(
            r#""staged_publishing":"{}","trusted_publishers":[{{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/w","workflow":".github/workflows/release.yml","mode":"{mode}"}}]"#,
            if required { "required" } else { "optional" }
        );
        self.rules(package, t, "policy-change", &body)
    }

    pub(super) fn maintainer(&mut self, package: &str, t: i64, who: &str) -> Vec<RuleId> {
        self.rules(
            package,
            t,
            "maintainer-add",
            &format!(r#""maintainer":"{who}","by":"alice""#),
        )
    }

    /// A package with policy, maintainer alice and her key (seed 1),
    /// and one honest release 1.0.0, set up at t = 0..1000.
    pub(super) fn with_package(config: RuleConfig) -> Log {
        let mut log = Log::new(config);
        assert!(log.policy("w", 0, true, "stage-only").is_empty());
        assert!(log.maintainer("w", 1, "alice").is_empty());
        log.register("w", 2, "alice", "key", Some(1));
        let (s, r) = log.stage("w", "1.0.0", "a", 200_000, CI);
        assert!(r.is_empty(), "{r:?}");
        let (a, r) = log.approve("w", "1.0.0", "a", s, 200_300, "alice", "key", Ok(1));
        assert!(r.is_empty(), "{r:?}");
        assert!(
            log.publish("w", "1.0.0", "a", 200_400, Some((s, a)))
                .is_empty()
        );
        log
    }
}

use RuleId::*;

#[test]
fn an_honest_release_fires_nothing() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, r) = log.stage("w", "1.1.0", "b", 300_000, CI);
    assert!(r.is_empty());
    let (a, r) = log.approve("w", "1.1.0", "b", s, 300_600, "alice", "key", Ok(1));
    assert!(r.is_empty());
    assert!(
        log.publish("w", "1.1.0", "b", 300_700, Some((s, a)))
            .is_empty()
    );
}

#[test]
fn publish_without_approval() {
    let mut log = Log::with_package(RuleConfig::default());
    assert_eq!(
        log.publish("w", "1.0.1", "evil", 300_000, None),
        vec![PublishWithoutApproval]
    );
    // Near miss: a package whose logged policy does not require staging.
    assert!(log.policy("free", 300_000, false, "stage-only").is_empty());
    assert!(log.publish("free", "1.0.0", "x", 300_001, None).is_empty());
    // ...unless this monitor's configuration requires it.
    let mut log = Log::new(RuleConfig {
        require_staging: vec!["fr*".into()],
        ..RuleConfig::default()
    });
    assert_eq!(
        log.publish("free", "1.0.0", "x", 1, None),
        vec![PublishWithoutApproval]
    );
    assert!(log.publish("other", "1.0.0", "x", 1, None).is_empty());
}

#[test]
fn integrity_mismatch_on_a_switched_tarball() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "good", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "good", s, 300_600, "alice", "key", Ok(1));
    assert!(r.is_empty());
    assert_eq!(
        log.publish("w", "2.0.0", "switched", 300_700, None),
        vec![PublishWithoutApproval, IntegrityMismatch]
    );
    // Near miss: a direct publish of the very tarball approved.
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "good", 300_000, CI);
    log.approve("w", "2.0.0", "good", s, 300_600, "alice", "key", Ok(1));
    assert_eq!(
        log.publish("w", "2.0.0", "good", 300_700, None),
        vec![PublishWithoutApproval]
    );
}

#[test]
fn integrity_mismatch_against_the_referenced_approval() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "good", 300_000, CI);
    let (a, _) = log.approve("w", "2.0.0", "good", s, 300_600, "alice", "key", Ok(1));
    assert_eq!(
        log.publish("w", "2.0.0", "bad", 300_700, Some((s, a))),
        vec![IntegrityMismatch]
    );
}

#[test]
fn unknown_and_revoked_devices() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "alice", "ghost", Err("totp"));
    assert_eq!(r, vec![UnknownDevice]);
    // Revoked, then used.
    log.rules(
        "w",
        300_700,
        "device-revoke",
        r#""maintainer":"alice","device":{"id":"key","kind":"ed25519"}"#,
    );
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_800, "alice", "key", Ok(1));
    assert_eq!(r, vec![UnknownDevice]);
    // Near miss: registered again (long ago enough) is known.
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "alice", "key", Ok(1));
    assert!(r.is_empty());
}

#[test]
fn new_device_registered_hours_before() {
    let mut log = Log::with_package(RuleConfig::default());
    log.register("w", 300_000, "alice", "fresh", Some(2));
    let (s, _) = log.stage("w", "2.0.0", "t", 300_100, CI);
    // 6 minutes after registering.
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_360, "alice", "fresh", Ok(2));
    assert_eq!(r, vec![NewDevice]);
    // Near miss: a device registered 24 h + 1 s before, first used now, on
    // a package it already approved (so not a first use either).
    let mut log = Log::with_package(RuleConfig::default());
    log.register("w", 300_000, "alice", "old", Some(2));
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000 + 86_401, CI);
    let (_, r) = log.approve(
        "w",
        "2.0.0",
        "t",
        s,
        300_000 + 86_501,
        "alice",
        "old",
        Ok(2),
    );
    assert_eq!(
        r,
        vec![NewDevice],
        "first use on this package still fires (medium)"
    );
    let (s, _) = log.stage("w", "2.0.1", "u", 400_000, CI);
    let (_, r) = log.approve("w", "2.0.1", "u", s, 400_100, "alice", "old", Ok(2));
    assert!(r.is_empty(), "second use is not new: {r:?}");
}

#[test]
fn first_approval_of_a_package_is_a_baseline() {
    let mut log = Log::default();
    log.register("w", 0, "alice", "key", Some(1));
    let (s, _) = log.stage("w", "1.0.0", "a", 200_000, CI);
    let (_, r) = log.approve("w", "1.0.0", "a", s, 200_100, "alice", "key", Ok(1));
    assert!(r.is_empty(), "{r:?}");
}

#[test]
fn not_a_maintainer() {
    let mut log = Log::with_package(RuleConfig::default());
    log.register("w", 10, "mallory", "mkey", Some(3));
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "mallory", "mkey", Ok(3));
    assert_eq!(r, vec![NewDevice, NotAMaintainer]);
    // Near miss: once added (long before), mallory is a maintainer.
    let mut log = Log::with_package(RuleConfig::default());
    log.register("w", 10, "mallory", "mkey", Some(3));
    log.maintainer("w", 11, "mallory");
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "mallory", "mkey", Ok(3));
    assert_eq!(r, vec![NewDevice], "only the first-use note");
}

#[test]
fn weak_second_factors() {
    let mut log = Log::with_package(RuleConfig::default());
    log.rules(
        "w",
        10,
        "device-register",
        r#""maintainer":"alice","device":{"id":"phone","kind":"sms"}"#,
    );
    log.register("w", 11, "alice", "app", None);
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "alice", "phone", Err("sms"));
    assert_eq!(r, vec![NewDevice, WeakSecondFactor]);
    // Near miss: TOTP is accepted unless signing devices are required.
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_700, "alice", "app", Err("totp"));
    assert_eq!(r, vec![NewDevice]);
    let mut log = Log::with_package(RuleConfig {
        require_signing_device: vec!["w".into()],
        ..RuleConfig::default()
    });
    log.register("w", 11, "alice", "app", None);
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_700, "alice", "app", Err("totp"));
    assert_eq!(r, vec![NewDevice, WeakSecondFactor]);
}

#[test]
fn bad_and_missing_device_signatures() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    // Signed by seed 9, but alice's key is seed 1.
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_600, "alice", "key", Ok(9));
    assert_eq!(r, vec![BadDeviceSignature]);
    let (_, r) = log.approve(
        "w",
        "2.0.0",
        "t",
        s,
        300_700,
        "alice",
        "key",
        Err("ed25519"),
    );
    assert_eq!(r, vec![BadDeviceSignature]);
    // Near miss: the right key.
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_800, "alice", "key", Ok(1));
    assert!(r.is_empty());
}

#[test]
fn rubber_stamp_threshold_is_exclusive() {
    let mut log = Log::with_package(RuleConfig::default());
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000, CI);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_004, "alice", "key", Ok(1));
    assert_eq!(r, vec![RubberStamp]);
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_059, "alice", "key", Ok(1));
    assert_eq!(r, vec![RubberStamp]);
    // Near miss: 60 s with a 60 s threshold, and 61 s.
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_060, "alice", "key", Ok(1));
    assert!(r.is_empty());
    let (_, r) = log.approve("w", "2.0.0", "t", s, 300_061, "alice", "key", Ok(1));
    assert!(r.is_empty());
}

#[test]
fn publisher_burst_fires_once_per_burst() {
    let mut log = Log::default();
    let mut fired = Vec::new();
    for (i, p) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let (_, r) = log.stage(p, "9.9.9", "worm", 1000 + 60 * i as i64, CI);
        fired.push(r);
    }
    assert_eq!(
        fired,
        vec![vec![], vec![], vec![], vec![PublisherBurst], vec![]]
    );
    // Near miss: four packages spread over more than the window.
    let mut log = Log::default();
    for (i, p) in ["a", "b", "c", "d"].iter().enumerate() {
        let (_, r) = log.stage(p, "1.0.0", "x", 1000 + 1300 * i as i64, CI);
        assert!(r.is_empty(), "{p}: {r:?}");
    }
    // Near miss: three packages (the threshold) within minutes, repeatedly.
    let mut log = Log::default();
    for (i, p) in ["a", "b", "c", "a", "b"].iter().enumerate() {
        let (_, r) = log.stage(p, &format!("1.0.{i}"), "x", 1000 + 10 * i as i64, CI);
        assert!(r.is_empty(), "{p}: {r:?}");
    }
}

#[test]
fn unexpected_publisher() {
    let mut log = Log::with_package(RuleConfig::default());
    let other = CI.replace("acme/w", "evil/fork");
    let (_, r) = log.stage("w", "2.0.0", "t", 300_000, &other);
    assert_eq!(r, vec![UnexpectedPublisher]);
    // Near miss: no trusted publishers known for the package.
    let (_, r) = log.stage("untrusted-by-nobody", "1.0.0", "t", 300_000, &other);
    assert!(r.is_empty());
    // The monitor's own configuration can name trusted publishers too.
    let mut log = Log::new(RuleConfig {
        trusted_publishers: vec![toml::from_str(
            "packages = \"cfg-*\"\nissuer = \"https://token.actions.githubusercontent.com\"\nrepository = \"acme/w\"",
        )
        .unwrap()],
        ..RuleConfig::default()
    });
    assert_eq!(
        log.stage("cfg-x", "1.0.0", "t", 1, &other).1,
        vec![UnexpectedPublisher]
    );
    assert!(log.stage("cfg-y", "1.0.0", "t", 2, CI).1.is_empty());
}

#[test]
fn policy_downgrades() {
    let mut log = Log::with_package(RuleConfig::default());
    assert_eq!(
        log.policy("w", 300_000, false, "stage-only"),
        vec![PolicyDowngrade]
    );
    let mut log = Log::with_package(RuleConfig::default());
    assert_eq!(
        log.policy("w", 300_000, true, "publish"),
        vec![PolicyDowngrade]
    );
    // Near miss: the same policy again, or a stricter one.
    let mut log = Log::with_package(RuleConfig::default());
    assert!(log.policy("w", 300_000, true, "stage-only").is_empty());
    // A maintainer added right before a publish.
    let mut log = Log::with_package(RuleConfig::default());
    assert!(log.maintainer("w", 300_000, "bob").is_empty());
    let (s, _) = log.stage("w", "2.0.0", "t", 300_100, CI);
    let (a, _) = log.approve("w", "2.0.0", "t", s, 300_700, "alice", "key", Ok(1));
    assert_eq!(
        log.publish("w", "2.0.0", "t", 300_800, Some((s, a))),
        vec![PolicyDowngrade]
    );
    // Near miss: added 24 h + 1 s before the publish.
    let mut log = Log::with_package(RuleConfig::default());
    log.maintainer("w", 300_000, "bob");
    let (s, _) = log.stage("w", "2.0.0", "t", 300_000 + 86_000, CI);
    let (a, _) = log.approve(
        "w",
        "2.0.0",
        "t",
        s,
        300_000 + 86_300,
        "alice",
        "key",
        Ok(1),
    );
    assert!(
        log.publish("w", "2.0.0", "t", 300_000 + 86_401, Some((s, a)))
            .is_empty()
    );
}

#[test]
fn broken_prev_chains_and_clock() {
    let mut log = Log::default();
    log.register("w", 0, "alice", "key", Some(1));
    log.register("w", 1, "alice", "key2", Some(2));
    // A fork: the next entry links to entry 0, skipping entry 1.
    let json = format!(
        r#"{{"type":"maintainer-add","package":"w","registry":"{REG}","time":"{}","maintainer":"bob","by":"alice"}}"#,
        rfc3339(T0 + 2)
    );
    let entry = |index, prev, logged_at| Entry {
        index,
        leaf_hash: Hash::default(),
        logged_at,
        prev,
        event: Event::parse(json.as_bytes()).unwrap(),
    };
    let found = log
        .engine
        .apply(&Empty, &entry(2, Some(0), u64::MAX / 2))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, LogMisbehaviour);
    assert_eq!(found[0].evidence, vec![0, 1, 2]);
    // logged_at going backwards (and a correct link: no chain finding).
    let found = log.engine.apply(&Empty, &entry(3, Some(2), 5)).unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0].message.contains("backwards"),
        "{}",
        found[0].message
    );
    // Near miss: correct link, same logged_at as the maximum.
    let found = log
        .engine
        .apply(&Empty, &entry(4, Some(3), u64::MAX / 2))
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    // A new chain for a package that has one is a fork too.
    let found = log
        .engine
        .apply(&Empty, &entry(5, None, u64::MAX / 2))
        .unwrap();
    assert_eq!(found[0].rule, LogMisbehaviour);
}

#[test]
fn watch_patterns_filter_package_alerts_but_not_misbehaviour() {
    let mut log = Log::with_package(RuleConfig::default());
    log.engine.watch = vec!["@acme/*".into()];
    assert!(log.publish("w", "9.0.0", "evil", 300_000, None).is_empty());
    let json = format!(
        r#"{{"type":"maintainer-add","package":"w","registry":"{REG}","time":"{}","maintainer":"bob","by":"alice"}}"#,
        rfc3339(T0)
    );
    let found = log
        .engine
        .apply(
            &Empty,
            &Entry {
                index: 99,
                leaf_hash: Hash::default(),
                logged_at: 0,
                prev: None,
                event: Event::parse(json.as_bytes()).unwrap(),
            },
        )
        .unwrap();
    assert!(found.iter().all(|f| f.rule == LogMisbehaviour) && !found.is_empty());
}

#[test]
fn disabled_rules_stay_silent() {
    let mut log = Log::with_package(RuleConfig {
        disabled: vec![PublishWithoutApproval],
        ..RuleConfig::default()
    });
    assert!(log.publish("w", "1.0.1", "evil", 300_000, None).is_empty());
    let _ = LeafIndex(0);
}
