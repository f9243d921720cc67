//! What npm changes after a release, with the real npm CLI through
//! `gatelog-registry`: `npm dist-tag add|rm|ls` (served, not logged: the
//! event schema has no dist-tag event), `npm deprecate` (logged as
//! `deprecate`, served on the version) and `npm owner add|rm|ls` (logged as
//! `maintainer-add`/`maintainer-remove` before they apply). Each write
//! needs an OTP; without one npm gets `401 WWW-Authenticate: OTP`.

#[path = "npm_registry/rig.rs"]
mod rig;

use rig::{Rig, app_dir, fails, ok, package_dir};
use serde_json::Value;

fn packument(rig: &Rig) -> Value {
    let (status, _, v) = rig.request("GET", "/widget", None, None, b"");
    assert_eq!(status, 200, "{v}");
    v
}

fn events_of(rig: &Rig, kind: &str) -> Vec<Value> {
    let mut events = rig.package_events("widget");
    events.retain(|e| e["type"] == kind);
    events
}

#[test]
fn dist_tags_deprecation_and_owners_through_npm() {
    let mut rig = Rig::start(&[]);
    let alice = rig.alice_publish.clone();
    let bob = rig.bob_publish.clone();
    let (alice_totp, bob_totp) = (rig.alice_totp.clone(), rig.bob_totp.clone());
    for version in ["1.0.0", "1.1.0"] {
        let src = package_dir(&rig, "widget", version);
        ok(&rig.npm(&src, &alice, &["publish"]), "npm publish");
    }
    let cwd = app_dir(&rig, "app");

    // dist-tags.
    let ls = ok(
        &rig.npm(&cwd, &alice, &["dist-tag", "ls", "widget"]),
        "dist-tag ls",
    );
    assert_eq!(ls.trim(), "latest: 1.1.0");
    let size = rig.tree_size();
    fails(
        &rig.npm(&cwd, &alice, &["dist-tag", "add", "widget@1.0.0", "latest"]),
        "dist-tag add without an OTP",
        "one-time password",
    );
    assert_eq!(packument(&rig)["dist-tags"]["latest"], "1.1.0");
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &[
                "dist-tag",
                "add",
                "widget@1.0.0",
                "latest",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag add latest",
    );
    assert_eq!(packument(&rig)["dist-tags"]["latest"], "1.0.0");
    assert_eq!(
        rig.get_abbreviated("/widget")["dist-tags"]["latest"],
        "1.0.0"
    );
    ok(
        &rig.npm(&cwd, &alice, &["install", "widget"]),
        "npm install widget",
    );
    let installed: Value = serde_json::from_slice(
        &std::fs::read(cwd.join("node_modules/widget/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(installed["version"], "1.0.0", "latest now names 1.0.0");
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &[
                "dist-tag",
                "add",
                "widget@1.1.0",
                "next",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag add next",
    );
    let ls = ok(
        &rig.npm(&cwd, &alice, &["dist-tag", "ls", "widget"]),
        "dist-tag ls",
    );
    assert_eq!(ls.trim(), "latest: 1.0.0\nnext: 1.1.0");
    // Refused before the OTP is checked: a wrong one does not matter.
    let code = "000000";
    fails(
        &rig.npm(
            &cwd,
            &alice,
            &[
                "dist-tag",
                "add",
                "widget@9.9.9",
                "next",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag add of a version never published",
        "not published",
    );
    let code = rig.otp(&bob_totp);
    fails(
        &rig.npm(
            &cwd,
            &bob,
            &[
                "dist-tag",
                "add",
                "widget@1.1.0",
                "latest",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag add by a non-maintainer",
        "not a maintainer",
    );
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &["dist-tag", "rm", "widget", "next", &format!("--otp={code}")],
        ),
        "dist-tag rm next",
    );
    // Refused before the OTP is checked: a wrong one does not matter.
    let code = "000000";
    fails(
        &rig.npm(
            &cwd,
            &alice,
            &[
                "dist-tag",
                "rm",
                "widget",
                "latest",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag rm latest",
        "cannot be removed",
    );
    assert_eq!(
        packument(&rig)["dist-tags"],
        serde_json::json!({"latest": "1.0.0"})
    );
    assert_eq!(rig.tree_size(), size, "dist-tags are not logged");

    // Deprecation: logged, then served on the version (both packuments).
    fails(
        &rig.npm(&cwd, &alice, &["deprecate", "widget@1.0.0", "use 1.1.0"]),
        "deprecate without an OTP",
        "one-time password",
    );
    assert!(events_of(&rig, "deprecate").is_empty());
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &[
                "deprecate",
                "widget@1.0.0",
                "use 1.1.0",
                &format!("--otp={code}"),
            ],
        ),
        "npm deprecate",
    );
    let deprecations = events_of(&rig, "deprecate");
    assert_eq!(deprecations.len(), 1, "{deprecations:?}");
    assert_eq!(deprecations[0]["version"], "1.0.0");
    assert_eq!(deprecations[0]["by"], "alice");
    let full = packument(&rig);
    assert_eq!(full["versions"]["1.0.0"]["deprecated"], "use 1.1.0");
    assert!(full["versions"]["1.1.0"].get("deprecated").is_none());
    assert_eq!(
        rig.get_abbreviated("/widget")["versions"]["1.0.0"]["deprecated"],
        "use 1.1.0"
    );
    let fresh = app_dir(&rig, "fresh");
    let install = rig.npm(
        &fresh,
        &alice,
        &["install", "widget@1.0.0", "--prefer-online"],
    );
    ok(&install, "npm install of a deprecated version");
    let stderr = String::from_utf8_lossy(&install.stderr);
    assert!(
        stderr.contains("deprecated widget@1.0.0: use 1.1.0"),
        "{stderr}"
    );
    // Undeprecating applies (no event exists for it, so nothing is logged).
    let size = rig.tree_size();
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &["deprecate", "widget@1.0.0", "", &format!("--otp={code}")],
        ),
        "npm deprecate ''",
    );
    assert!(
        packument(&rig)["versions"]["1.0.0"]
            .get("deprecated")
            .is_none()
    );
    assert_eq!(rig.tree_size(), size);

    // Owners.
    let owners = ok(
        &rig.npm(&cwd, &alice, &["owner", "ls", "widget"]),
        "owner ls",
    );
    assert!(owners.starts_with("alice "), "{owners}");
    // Refused before the OTP is checked: a wrong one does not matter.
    let code = "000000";
    fails(
        &rig.npm(
            &cwd,
            &alice,
            &["owner", "add", "carol", "widget", &format!("--otp={code}")],
        ),
        "owner add of an unknown user",
        "no user carol",
    );
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &["owner", "add", "bob", "widget", &format!("--otp={code}")],
        ),
        "owner add bob",
    );
    let adds = events_of(&rig, "maintainer-add");
    assert_eq!(adds.len(), 2, "{adds:?}");
    assert_eq!(
        (&adds[1]["maintainer"], &adds[1]["by"]),
        (&"bob".into(), &"alice".into())
    );
    let doc = packument(&rig);
    let names: Vec<&str> = doc["maintainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    // bob, now an owner, may move a tag.
    let code = rig.otp(&bob_totp);
    ok(
        &rig.npm(
            &cwd,
            &bob,
            &[
                "dist-tag",
                "add",
                "widget@1.1.0",
                "latest",
                &format!("--otp={code}"),
            ],
        ),
        "dist-tag add by the new owner",
    );
    let code = rig.otp(&alice_totp);
    ok(
        &rig.npm(
            &cwd,
            &alice,
            &["owner", "rm", "bob", "widget", &format!("--otp={code}")],
        ),
        "owner rm bob",
    );
    let removes = events_of(&rig, "maintainer-remove");
    assert_eq!(removes.len(), 1, "{removes:?}");
    assert_eq!(
        (&removes[0]["maintainer"], &removes[0]["by"]),
        (&"bob".into(), &"alice".into())
    );
    let src = package_dir(&rig, "widget", "1.2.0");
    fails(
        &rig.npm(&src, &bob, &["stage", "publish"]),
        "stage by a removed owner",
        "not a maintainer",
    );

    // A stale revision is refused, and nothing is logged.
    let size = rig.tree_size();
    // Refused before the OTP is checked: a wrong one does not matter.
    let code = "000000";
    let body = br#"{"_id":"widget","_rev":"1-0","maintainers":[{"name":"alice"},{"name":"bob"}]}"#;
    let (status, _, v) = rig.request("PUT", "/widget/-rev/1-0", Some(&alice), Some(code), body);
    assert_eq!(status, 409, "{v}");
    assert_eq!(rig.tree_size(), size);
}
