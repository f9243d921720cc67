//! One judge: `gatelog verify`'s verdict (the shared judge
//! `gatelog_core::policy::evaluate`, under the client's default policy)
//! and the monitor's alerts name the same per-release rules for every
//! published release, on the story and on random histories. The monitor is
//! the real engine, fed the entries of a real static log in order; for a
//! release it is held to the alerts triggered by the entries of the chain
//! the client judges (the last publish, the approval and stages it names),
//! and to the rules the shared judge knows ([`RuleId::policy_rules`]).

use std::collections::{BTreeMap, BTreeSet};

use gatelog_core::event::{
    DeviceKind, EventBody, Integrity, PackageName, Publisher, StagedPublishing,
};
use gatelog_core::hash::{Hash, leaf_hash};
use gatelog_core::leaf::Leaf;
use gatelog_core::policy::{LoggedEvent, Policy, TrustedPublisherRule, evaluate};
use gatelog_core::{Event, LeafIndex};
use gatelog_lab::sample::build::{Approval, SampleDevice, github_publisher};
use gatelog_lab::sample::story::{STORY_LOG_KEY_SEED, STORY_LOG_ORIGIN, STORY_RULES, Story};
use gatelog_lab::sample::{SampleRegistry, StaticLog, device_key};
use gatelog_monitor::alert::RuleId;
use gatelog_monitor::index::Empty;
use gatelog_monitor::rules::{Engine, Entry, RuleConfig};
use proptest::prelude::*;

/// The log's entries as the client (events) and the monitor (entries) see them.
fn read(log: &StaticLog) -> (Vec<LoggedEvent>, Vec<Entry>) {
    log.leaves()
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let leaf = Leaf::parse(bytes).unwrap();
            let event = Event::from_envelope(leaf.envelope()).unwrap();
            let hash = leaf_hash(bytes);
            let logged = LoggedEvent {
                index: LeafIndex(i as u64),
                leaf_hash: hash,
                event: event.clone(),
            };
            let entry = Entry {
                index: i as u64,
                leaf_hash: hash,
                logged_at: leaf.logged_at(),
                prev: leaf.prev().map(|p| p.0),
                event,
            };
            (logged, entry)
        })
        .unzip()
}

/// Every alert of the monitor over `entries`: (trigger, rule).
fn alerts(config: RuleConfig, entries: &[Entry]) -> Vec<(u64, RuleId)> {
    let mut engine = Engine::new(config, Vec::new(), 0);
    let mut out = Vec::new();
    for entry in entries {
        let found = engine.apply(&Empty, entry).unwrap();
        out.extend(found.into_iter().map(|f| (f.trigger, f.rule)));
    }
    out.extend(
        engine
            .finish_chunk()
            .into_iter()
            .map(|f| (f.trigger, f.rule)),
    );
    out
}

/// A release's verdicts: what the client reports and what the monitor
/// alerted on its chain, as monitor rule ids.
#[derive(Debug, PartialEq, Eq)]
struct Verdicts {
    release: String,
    client: BTreeSet<RuleId>,
    monitor: BTreeSet<RuleId>,
}

/// The verdicts on every published release of the log.
fn verdicts(
    policy: &Policy,
    config: RuleConfig,
    events: &[LoggedEvent],
    entries: &[Entry],
) -> Vec<Verdicts> {
    let alerts = alerts(config, entries);
    // The last publish of each release.
    let mut last: BTreeMap<(String, String), &LoggedEvent> = BTreeMap::new();
    for e in events {
        if let EventBody::Publish(p) = &e.event.body {
            last.insert((e.event.package.to_string(), p.version.to_string()), e);
        }
    }
    let body = |i: LeafIndex| events.get(i.0 as usize).map(|e| &e.event);
    last.into_iter()
        .map(|((package, version), publish)| {
            let EventBody::Publish(p) = &publish.event.body else {
                unreachable!()
            };
            let approved_stage = p.approve.and_then(body).and_then(|e| match &e.body {
                EventBody::Approve(a) => Some(a.stage),
                _ => None,
            });
            let of_release = |i: &LeafIndex| {
                body(*i).is_some_and(|e| {
                    e.package.as_str() == package
                        && e.version().is_some_and(|v| v.to_string() == version)
                })
            };
            let chain: BTreeSet<u64> = [Some(publish.index), p.stage, p.approve, approved_stage]
                .into_iter()
                .flatten()
                .filter(of_release)
                .map(|i| i.0)
                .collect();
            let name = PackageName::parse(&package).unwrap();
            let verdict = evaluate(policy, &name, &p.version, Some(&p.integrity), events);
            let client = verdict
                .findings
                .iter()
                .filter_map(|f| RuleId::from_policy(f.rule))
                .collect();
            let monitor = alerts
                .iter()
                .filter(|(trigger, rule)| {
                    chain.contains(trigger) && !rule.policy_rules().is_empty()
                })
                .map(|(_, rule)| *rule)
                .collect();
            Verdicts {
                release: format!("{package}@{version}"),
                client,
                monitor,
            }
        })
        .collect()
}

/// The story written into a static log, and the chapter of each entry.
fn story() -> (Story, StaticLog, Vec<usize>) {
    let mut story = Story::new();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    let mut chapter_of = Vec::new();
    while let Some(step) = story.next_step() {
        let (index, hash) = log.append(&step.envelope, step.time as u64 * 1000);
        chapter_of.push(step.chapter);
        story.logged(index, hash);
    }
    (story, log, chapter_of)
}

#[test]
fn client_and_monitor_agree_on_every_release_of_the_story() {
    let (story, log, _) = story();
    let (events, entries) = read(&log);
    let all = verdicts(&Policy::default(), RuleConfig::default(), &events, &entries);
    assert_eq!(all.len(), story.releases().len());
    let mut failing = 0;
    for v in &all {
        assert_eq!(v.client, v.monitor, "{}", v.release);
        failing += usize::from(!v.client.is_empty());
    }
    // Not vacuous: the attacked releases that fail `gatelog verify`.
    let attacked = story.attacked_releases();
    assert_eq!(
        failing,
        attacked
            .iter()
            .filter(|r| !r.verify_rules.is_empty())
            .count()
    );
    assert_eq!(failing, 10);
}

/// The story's expectations: each chapter fires exactly its rules in the
/// monitor, whose per-release rules are the shared judge's.
#[test]
fn each_chapter_fires_exactly_its_expected_rules() {
    let (story, log, chapter_of) = story();
    let (_, entries) = read(&log);
    let mut config = RuleConfig::default();
    // The story's registry times are the log's times: no skew to see.
    config.disabled.push(RuleId::TimeSkew);
    let mut fired: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); story.chapters().len()];
    for (trigger, rule) in alerts(config, &entries) {
        fired[chapter_of[trigger as usize]].insert(rule.as_str());
    }
    let mut all = BTreeSet::new();
    for (chapter, got) in story.chapters().iter().zip(&fired) {
        let want: BTreeSet<&str> = chapter.expected_rules.iter().copied().collect();
        assert_eq!(*got, want, "{}", chapter.title);
        all.extend(want);
    }
    assert_eq!(all, STORY_RULES.iter().copied().collect());
}

// --- random histories -------------------------------------------------------

const PKG: &str = "@acme/w";
const VERSIONS: [&str; 3] = ["1.0.0", "1.1.0", "2.0.0"];
const T0: i64 = 1_777_000_000;

/// How an approval is signed.
#[derive(Clone, Copy, Debug)]
enum Sig {
    Good,
    Bad,
    Missing,
}

/// One step of a random history.
#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    Revoke(usize),
    /// Version, from the trusted workflow, which of two tarballs.
    Stage(usize, bool, bool),
    /// Version, device, signature, the staged tarball (or another).
    Approve(usize, usize, Sig, bool),
    /// Version, the approved tarball (or another).
    PublishStaged(usize, bool),
    /// Version, which of two tarballs.
    PublishDirect(usize, bool),
    /// Add or remove, which maintainer.
    Maintainer(bool, usize),
    /// A `policy-change`: staging required or optional (no trusted
    /// publishers: the client's policy names its own).
    Policy(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let sig = prop_oneof![Just(Sig::Good), Just(Sig::Bad), Just(Sig::Missing)];
    prop_oneof![
        (0..4usize).prop_map(Op::Register),
        (0..4usize).prop_map(Op::Revoke),
        (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(v, t, b)| Op::Stage(v, t, b)),
        (0..3usize, 0..4usize, sig, any::<bool>()).prop_map(|(v, d, s, m)| Op::Approve(v, d, s, m)),
        (0..3usize, any::<bool>()).prop_map(|(v, m)| Op::PublishStaged(v, m)),
        (0..3usize, any::<bool>()).prop_map(|(v, b)| Op::PublishDirect(v, b)),
        (any::<bool>(), 0..2usize).prop_map(|(a, m)| Op::Maintainer(a, m)),
        any::<bool>().prop_map(Op::Policy),
    ]
}

fn devices() -> [SampleDevice; 4] {
    [
        SampleDevice::signing("key-1", DeviceKind::Ed25519, 1),
        SampleDevice::signing("key-2", DeviceKind::Webauthn, 2),
        SampleDevice::code("phone", DeviceKind::Totp),
        SampleDevice::code("sms", DeviceKind::Sms),
    ]
}

fn tarball(version: usize, which: bool) -> Integrity {
    Integrity::of(format!("{PKG}-{}-{which}.tgz", VERSIONS[version]).as_bytes())
}

fn publisher(trusted: bool) -> Publisher {
    let repo = if trusted { "acme/w" } else { "acme/worm" };
    github_publisher(repo, "refs/heads/main")
}

/// Plays `ops` into a static log; steps whose references do not exist yet
/// are skipped, as an honest registry would not make them.
fn play(ops: &[Op]) -> StaticLog {
    let reg = SampleRegistry::new("registry.test", 3);
    let mut log = StaticLog::new("one-judge.log.test/gatelog", 4);
    let devices = devices();
    let mut stages: [Option<(LeafIndex, Hash, Integrity)>; 3] = [None; 3];
    let mut approvals: [Option<(LeafIndex, LeafIndex, Integrity)>; 3] = [None; 3];
    let maintainers = ["alice", "bob"];
    for (i, op) in ops.iter().enumerate() {
        let t = T0 + 3600 * i as i64;
        let envelope = match *op {
            Op::Register(d) => reg.register(PKG, "alice", &devices[d], t),
            Op::Revoke(d) => reg.revoke(PKG, "alice", &devices[d], t),
            Op::Stage(v, trusted, which) => {
                let integrity = tarball(v, which);
                let envelope = reg.stage_from(PKG, VERSIONS[v], &integrity, &publisher(trusted), t);
                let (index, hash) = log.append(&envelope, t as u64 * 1000);
                stages[v] = Some((index, hash, integrity));
                continue;
            }
            Op::Approve(v, d, sig, mismatch) => {
                let Some((stage, stage_hash, staged)) = stages[v] else {
                    continue;
                };
                let other = device_key(99);
                let device = &devices[d];
                let signer = match (sig, &device.key) {
                    (Sig::Good, Some(key)) => Some(key),
                    (Sig::Bad, Some(_)) => Some(&other),
                    _ => None,
                };
                let integrity = if mismatch { tarball(v, true) } else { staged };
                let envelope = reg.approve_with(&Approval {
                    package: PKG,
                    version: VERSIONS[v],
                    integrity,
                    stage,
                    stage_leaf_hash: stage_hash,
                    maintainer: "alice",
                    device,
                    signer,
                    context: None,
                    time: t,
                });
                let (index, _) = log.append(&envelope, t as u64 * 1000);
                approvals[v] = Some((index, stage, integrity));
                continue;
            }
            Op::PublishStaged(v, mismatch) => {
                let Some((approve, stage, approved)) = approvals[v] else {
                    continue;
                };
                let integrity = if mismatch {
                    tarball(v, false)
                } else {
                    approved
                };
                reg.publish_staged(PKG, VERSIONS[v], &integrity, stage, approve, t)
            }
            Op::PublishDirect(v, which) => {
                reg.publish_direct_integrity(PKG, VERSIONS[v], &tarball(v, which), t)
            }
            Op::Maintainer(true, m) => reg.maintainer_add(PKG, maintainers[m], "alice", t),
            Op::Maintainer(false, m) => reg.maintainer_remove(PKG, maintainers[m], "alice", t),
            Op::Policy(required) => {
                let staging = if required {
                    StagedPublishing::Required
                } else {
                    StagedPublishing::Optional
                };
                reg.policy_change(PKG, staging, &[], t)
            }
        };
        log.append(&envelope, t as u64 * 1000);
    }
    log
}

/// The client's policy for the random histories and the monitor
/// configuration that asks the same: staging everywhere, one trusted
/// workflow.
fn same_policy() -> (Policy, RuleConfig) {
    let trusted = vec![TrustedPublisherRule {
        packages: PKG.to_owned(),
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        repository: "acme/w".to_owned(),
        workflow: Some(".github/workflows/release.yml".to_owned()),
    }];
    let policy = Policy {
        trusted_publishers: trusted.clone(),
        ..Policy::default()
    };
    let config = RuleConfig {
        require_staging: vec!["*".to_owned()],
        trusted_publishers: trusted,
        ..RuleConfig::default()
    };
    (policy, config)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn client_and_monitor_agree_on_random_histories(ops in prop::collection::vec(op(), 1..28)) {
        let log = play(&ops);
        let (events, entries) = read(&log);
        let (policy, config) = same_policy();
        for v in verdicts(&policy, config, &events, &entries) {
            prop_assert_eq!(&v.client, &v.monitor, "{} in {:?}", v.release, ops);
        }
    }
}

/// The random histories reach every per-release rule: a hand-picked
/// history that breaks each, judged the same by both.
#[test]
fn a_history_breaking_every_per_release_rule_is_judged_the_same() {
    use Op::*;
    let ops = [
        Register(0),
        Register(2),
        Maintainer(true, 0),
        // 1.0.0: an untrusted stage, approved from an SMS number never
        // registered, as another digest; published through staging.
        Stage(0, false, false),
        Approve(0, 3, Sig::Missing, true),
        PublishStaged(0, false),
        // 1.1.0: approved by key-1 with a bad signature.
        Stage(1, true, false),
        Approve(1, 0, Sig::Bad, false),
        PublishStaged(1, false),
        // 2.0.0: approved, then published directly.
        Stage(2, true, false),
        Approve(2, 2, Sig::Missing, false),
        Revoke(0),
        PublishDirect(2, false),
    ];
    let log = play(&ops);
    let (events, entries) = read(&log);
    let (policy, config) = same_policy();
    let all = verdicts(&policy, config, &events, &entries);
    let mut seen = BTreeSet::new();
    for v in &all {
        assert_eq!(v.client, v.monitor, "{}", v.release);
        seen.extend(v.client.iter().copied());
    }
    let per_release: BTreeSet<RuleId> = RuleId::ALL
        .into_iter()
        .filter(|r| !r.policy_rules().is_empty())
        .collect();
    assert_eq!(seen, per_release, "{all:#?}");
}
