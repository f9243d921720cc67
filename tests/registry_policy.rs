//! A package's staged-publishing policy, set with `gatelog-registry admin
//! policy-set` and enforced against the real npm CLI: `required` is logged
//! as `policy-change` before it applies, after which a direct `npm publish`
//! is refused (nothing logged) while `npm stage publish` + `npm stage
//! approve` still work; the downgrade to `optional` is logged too, and
//! `gatelog-monitor` raises `policy-downgrade` for it.

#[path = "npm_registry/rig.rs"]
mod rig;

use std::process::Command;

use gatelog_e2e::{binary, log_key};
use rig::{ORIGIN, Rig, fails, ok, package_dir, staged_ids};
use serde_json::Value;

/// `admin policy-set` with the registry stopped, logging to the rig's log.
fn policy_set(rig: &mut Rig, package: &str, policy: &str) -> std::process::Output {
    rig.kill_registry();
    let out = Command::new(binary("gatelog-registry"))
        .args(["admin", "--data", &rig.data().display().to_string()])
        .args(["--listen", &rig.host()])
        .args(["policy-set", package, "--staged-publishing", policy])
        .args(["--log", &format!("http://{}", rig.log_addr)])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .env_remove("GATELOG_LOG")
        .env_remove("GATELOG_REGISTRY_LOG_KEY")
        .output()
        .unwrap();
    rig.restart_registry(None, &[]);
    out
}

/// The `policy-change` events the log holds for `package`, oldest first.
fn policy_changes(rig: &Rig, package: &str) -> Vec<Value> {
    let mut events = rig.package_events(package);
    events.retain(|ev| ev["type"] == "policy-change");
    events
}

#[test]
fn staging_required_refuses_npm_publish_and_its_downgrade_is_logged_and_flagged() {
    let mut rig = Rig::start(&[]);
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();

    // A policy that is neither required nor optional is refused.
    let bad = policy_set(&mut rig, "widget", "sometimes");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("expected required or optional"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert_eq!(rig.tree_size(), 0);

    let out = policy_set(&mut rig, "widget", "required");
    ok(&out, "admin policy-set required");
    let changes = policy_changes(&rig, "widget");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["staged_publishing"], "required");
    assert_eq!(changes[0]["trusted_publishers"], serde_json::json!([]));

    // Setting it again changes nothing and logs nothing.
    let again = policy_set(&mut rig, "widget", "required");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing logged"));

    // A direct publish, even with a maintainer's publish token: refused.
    let size = rig.tree_size();
    let src = package_dir(&rig, "widget", "1.0.0");
    fails(
        &rig.npm(&src, &alice, &["publish"]),
        "npm publish of a package that requires staging",
        "requires staged publishing",
    );
    assert_eq!(rig.tree_size(), size, "a refused publish logs nothing");
    let (status, _, _) = rig.request("GET", "/widget", None, None, b"");
    assert_eq!(status, 404);

    // Staging and approving still work.
    ok(
        &rig.npm(&src, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    let id = staged_ids(&rig, &src, &alice)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    ok(
        &rig.npm(
            &src,
            &alice,
            &["stage", "approve", &id, &format!("--otp={code}")],
        ),
        "npm stage approve",
    );
    let (status, _, packument) = rig.request("GET", "/widget", None, None, b"");
    assert_eq!(status, 200);
    assert_eq!(packument["dist-tags"]["latest"], "1.0.0");

    // The downgrade is logged before it applies; then a direct publish works.
    ok(
        &policy_set(&mut rig, "widget", "optional"),
        "admin policy-set optional",
    );
    let changes = policy_changes(&rig, "widget");
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[1]["staged_publishing"], "optional");
    let src = package_dir(&rig, "widget", "1.0.1");
    ok(
        &rig.npm(&src, &alice, &["publish"]),
        "npm publish after the downgrade",
    );

    // The monitor flags the downgrade.
    let (code, alerts, _) = rig.monitor_once(
        "disabled = [\"time-skew\", \"weak-second-factor\", \"new-device\", \"rubber-stamp\"]\n",
    );
    assert_eq!(code, Some(1), "{alerts:?}");
    let downgrade: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"] == "policy-downgrade" && a["package"] == "widget")
        .collect();
    assert_eq!(downgrade.len(), 1, "{alerts:?}");
    assert!(
        downgrade[0].to_string().contains("required to optional"),
        "{alerts:?}"
    );
}
