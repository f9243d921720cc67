//! Cases of issue 14: registries kept apart, configured policy never
//! widened by a logged one, and recency judged by the log's clock.

use super::tests::{CI, Log, rule_ids};
use super::{RecencyClock, RuleConfig};
use crate::alert::{RuleId::*, Severity};
use crate::index::Empty;

const A: &str = "https://a.test";
const B: &str = "https://b.test";

/// A policy of `package` trusting `repo`'s release workflow, stage-only.
fn policy_trusting(
    log: &mut Log,
    package: &str,
    t: i64,
    required: bool,
    repo: &str,
) -> Vec<super::super::alert::RuleId> {
    let body = format!(
        r#""staged_publishing":"{}","trusted_publishers":[{{"issuer":"https://token.actions.githubusercontent.com","repository":"{repo}","workflow":".github/workflows/release.yml","mode":"stage-only"}}]"#,
        if required { "required" } else { "optional" }
    );
    log.rules(package, t, "policy-change", &body)
}

#[test]
fn one_registrys_events_never_enter_anothers_package_records() {
    let mut log = Log::default();
    // Registry A: pkg must be staged.
    log.registry = A.into();
    assert!(policy_trusting(&mut log, "pkg", 0, true, "acme/w").is_empty());
    // Registry B logs a whole honest-looking history for its own pkg,
    // including a policy that does not require staging.
    log.registry = B.into();
    assert!(policy_trusting(&mut log, "pkg", 10, false, "acme/w").is_empty());
    log.register("pkg", 20, "bob", "key", Some(4));
    let (s, r) = log.stage("pkg", "1.0.0", "t", 200_000, CI);
    assert!(r.is_empty(), "{r:?}");
    let (a, r) = log.approve("pkg", "1.0.0", "t", s, 200_300, "bob", "key", Ok(4));
    assert!(r.is_empty(), "{r:?}");
    assert!(
        log.publish("pkg", "1.0.0", "t", 200_400, Some((s, a)))
            .is_empty()
    );
    // Registry A's direct publish of the same version and tarball: B's
    // policy and approval launder nothing, and the two chains (each
    // linking to its own registry's previous entry) are both intact.
    log.registry = A.into();
    assert_eq!(
        log.publish("pkg", "1.0.0", "t", 200_500, None),
        vec![PublishWithoutApproval]
    );
    // `http://` is the same registry as `https://`: same records, same chain.
    log.registry = "http://a.test".into();
    assert_eq!(
        log.publish("pkg", "1.0.1", "u", 200_600, None),
        vec![PublishWithoutApproval]
    );
    let index = log.engine.index_mut();
    let a_pkg = index.package(&Empty, "a.test", "pkg").unwrap().clone();
    assert_eq!(a_pkg.last, Some(7), "A's chain head is A's last entry");
    assert!(a_pkg.staging_required && a_pkg.approvals == 0);
    assert!(a_pkg.devices_used.is_empty());
    let a_version = index
        .version(&Empty, "a.test", "pkg", "1.0.0")
        .unwrap()
        .clone();
    assert!(a_version.stages.is_empty() && a_version.approvals.is_empty());
    assert_eq!(a_version.publishes.len(), 1);
    let b_pkg = index.package(&Empty, "b.test", "pkg").unwrap().clone();
    assert_eq!(b_pkg.last, Some(5));
    assert!(!b_pkg.staging_required && b_pkg.approvals == 1);
    // B's device is B's: an approval by bob's key at A is unknown there.
    log.registry = A.into();
    let (s, _) = log.stage("pkg", "2.0.0", "v", 300_000, CI);
    let (_, r) = log.approve("pkg", "2.0.0", "v", s, 300_600, "bob", "key", Ok(4));
    assert_eq!(r, vec![UnknownDevice]);
}

fn config_trusting(repo: &str) -> RuleConfig {
    RuleConfig {
        trusted_publishers: vec![
            toml::from_str(&format!(
                "packages = \"w\"\nissuer = \"https://token.actions.githubusercontent.com\"\nrepository = \"{repo}\"\nworkflow = \".github/workflows/release.yml\""
            ))
            .unwrap(),
        ],
        ..RuleConfig::default()
    }
}

#[test]
fn a_logged_policy_never_widens_the_configured_trusted_publishers() {
    let evil = CI.replace("acme/w", "evil/fork");
    // The operator trusts acme/w only; the log's policy trusts evil/fork.
    let mut log = Log::new(config_trusting("acme/w"));
    assert_eq!(
        policy_trusting(&mut log, "w", 0, true, "evil/fork"),
        vec![PolicyDowngrade],
        "a logged trusted publisher the configuration forbids"
    );
    let (_, r) = log.stage("w", "1.0.0", "t", 100, &evil);
    assert_eq!(
        r,
        vec![UnexpectedPublisher],
        "the configuration still decides"
    );
    // The configured publisher must also be one the log trusts: both
    // restrict, neither widens.
    let (_, r) = log.stage("w", "1.0.1", "t", 200, CI);
    assert_eq!(r, vec![UnexpectedPublisher]);
    // Near miss: a publisher both trust.
    let mut log = Log::new(config_trusting("acme/w"));
    assert!(policy_trusting(&mut log, "w", 0, true, "acme/w").is_empty());
    assert!(log.stage("w", "1.0.0", "t", 100, CI).1.is_empty());
}

#[test]
fn replacing_or_removing_a_trusted_publisher_is_a_downgrade() {
    let mut log = Log::with_package(RuleConfig::default());
    let (i, found) = {
        let body = r#""staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"evil/fork","workflow":".github/workflows/release.yml","mode":"stage-only"}]"#;
        log.push("w", 300_000, "policy-change", body)
    };
    assert_eq!(rule_ids(&found), vec![PolicyDowngrade], "entry {i}");
    assert!(
        found[0]
            .message
            .contains("acme/w (.github/workflows/release.yml) was removed or replaced"),
        "{}",
        found[0].message
    );
    // Near miss: adding a second stage-only publisher next to the first.
    let mut log = Log::with_package(RuleConfig::default());
    let body = r#""staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/w","workflow":".github/workflows/release.yml","mode":"stage-only"},{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/w","workflow":".github/workflows/other.yml","mode":"stage-only"}]"#;
    assert!(log.rules("w", 300_000, "policy-change", body).is_empty());
}

#[test]
fn recency_windows_use_the_logs_time_not_the_registrys() {
    let run = |clock: RecencyClock| {
        let mut log = Log::with_package(RuleConfig {
            recency_clock: clock,
            ..RuleConfig::default()
        });
        // The registry dates the device 30 days back, and the approval
        // 10 minutes after its stage; the log logged them seconds apart.
        log.logged = Some(300_000);
        log.register("w", 300_000 - 30 * 86_400, "alice", "fresh", Some(2));
        log.logged = Some(300_050);
        let (s, _) = log.stage("w", "2.0.0", "t", 300_050, CI);
        log.logged = Some(300_054);
        let (_, found) = {
            let body = approve_body(&log, s);
            log.push("w", 300_650, "approve", &body)
        };
        found
    };
    let by_log = run(RecencyClock::Log);
    assert_eq!(rule_ids(&by_log), vec![NewDevice, RubberStamp]);
    let new_device = by_log.iter().find(|f| f.rule == NewDevice).unwrap();
    assert_eq!(
        new_device.severity,
        Severity::High,
        "{}",
        new_device.message
    );
    // The registry's clock, for replays of old history, as before.
    let by_registry = run(RecencyClock::Registry);
    assert_eq!(rule_ids(&by_registry), vec![NewDevice]);
    assert_eq!(by_registry[0].severity, Severity::Medium);
}

/// An approval of `w@2.0.0` (tarball "t") at stage `s` by alice's device
/// "fresh" (seed 2), signed.
fn approve_body(log: &Log, s: u64) -> String {
    log.approve_body("w", "2.0.0", "t", s, "alice", "fresh", Ok(2))
}

/// Records a previous monitor wrote hold the facts of a release and a
/// device but not the events: the shared judge cannot read them, so it
/// stays silent rather than call a registered device unknown or an
/// approved publish unapproved.
#[test]
fn records_written_before_events_were_kept_raise_nothing_new() {
    for unkept in [false, true] {
        let mut log = Log::default();
        assert!(policy_trusting(&mut log, "pkg", 0, true, "acme/w").is_empty());
        log.register("pkg", 20, "bob", "key", Some(4));
        let (s, _) = log.stage("pkg", "1.0.0", "t", 200_000, CI);
        let forget = |log: &mut Log| {
            if unkept {
                let index = log.engine.index_mut();
                let host = "registry.test";
                let device = index.device(&Empty, host, "bob", "key").unwrap();
                device.events.clear();
                let version = index.version(&Empty, host, "pkg", "1.0.0").unwrap();
                version.events.clear();
            }
        };
        forget(&mut log);
        let (a, r) = log.approve("pkg", "1.0.0", "t", s, 200_300, "bob", "key", Ok(4));
        assert!(r.is_empty(), "{r:?}");
        forget(&mut log);
        let r = log.publish("pkg", "1.0.0", "t", 200_400, Some((s, a)));
        assert!(r.is_empty(), "{r:?}");
        // A record that never knew the device still says so.
        let (_, r) = log.approve("pkg", "1.0.0", "t", s, 200_500, "bob", "other", Ok(4));
        assert!(r.contains(&UnknownDevice), "{r:?}");
    }
}
