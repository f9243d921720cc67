//! What the rest of gatelog makes of what the real npm CLI did through
//! `gatelog-registry`: a staged and approved release and a direct
//! `npm publish`, installed by `npm install`, then judged by `gatelog
//! verify` on the package-lock.json npm wrote and by `gatelog-monitor`
//! following the log. The direct publish fails `publish-without-approval`
//! in both, where staging is required; the staged release passes.

#[path = "npm_registry/rig.rs"]
mod rig;

use std::path::Path;
use std::process::Command;

use gatelog_e2e::{binary, log_key};
use rig::{ORIGIN, Rig, app_dir, ok, package_dir, staged_ids};
use serde_json::Value;

/// `gatelog verify --format json` on `lockfile`; (exit code, report).
fn verify(rig: &Rig, lockfile: &Path, state: &Path) -> (i32, Value) {
    let out = Command::new(binary("gatelog"))
        .args(["verify", "--format", "json"])
        .args(["--log", &format!("http://{}", rig.log_addr)])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--registry-key", &rig.reg_key])
        .args(["--lockfile", &lockfile.display().to_string()])
        .args(["--state-dir", &state.display().to_string()])
        .env_remove("GATELOG_WITNESS_POLICY")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// The rules `gatelog verify` reported for `package`.
fn rules_of(report: &Value, package: &str) -> Vec<String> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == package)
        .flat_map(|p| p["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_direct_npm_publish_fails_verify_and_alerts_the_monitor_where_staging_is_required() {
    let mut rig = Rig::start(&[]);
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();

    // widget@1.0.0: staged from CI, approved with a TOTP code.
    let staged = package_dir(&rig, "widget", "1.0.0");
    ok(
        &rig.npm(&staged, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    let id = staged_ids(&rig, &staged, &alice)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    ok(
        &rig.npm(
            &staged,
            &alice,
            &["stage", "approve", &id, &format!("--otp={code}")],
        ),
        "npm stage approve",
    );
    // gadget@2.1.0: `npm publish` with a publish token, no stage, no approval.
    let direct = package_dir(&rig, "gadget", "2.1.0");
    ok(
        &rig.npm(&direct, &alice, &["publish"]),
        "direct npm publish",
    );

    let app = app_dir(&rig, "app");
    ok(
        &rig.npm(&app, &alice, &["install", "widget@1.0.0", "gadget@2.1.0"]),
        "npm install",
    );
    let lockfile = app.join("package-lock.json");
    let state = rig.dir.path().join("verify-state");
    let (code, report) = verify(&rig, &lockfile, &state);
    assert_eq!(code, 1, "{report}");
    assert!(rules_of(&report, "widget").is_empty(), "{report}");
    assert_eq!(
        rules_of(&report, "gadget"),
        ["publish-without-approval"],
        "{report}"
    );

    // The monitor, with staging required for both packages, raises
    // publish-without-approval for the direct publish only.
    let (code, alerts, stderr) = rig.monitor_once(
        "require_staging = [\"widget\", \"gadget\"]\ndisabled = [\"time-skew\", \"weak-second-factor\", \"new-device\", \"rubber-stamp\"]\n",
    );
    assert_eq!(code, Some(1), "{alerts:?} {stderr}");
    let raised: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap_or_default().to_owned(),
                a["package"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        raised,
        [("publish-without-approval".to_owned(), "gadget".to_owned())],
        "{alerts:?}"
    );
}
