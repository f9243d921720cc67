//! `gatelog-registry` driven by the real npm CLI (tools/node_modules, from
//! scripts/tools.sh), against a real `gatelog-server`, all on loopback:
//! stage → list → not installable → approve with a TOTP code → installable
//! → the log holds stage, approve and publish of that integrity →
//! `gatelog verify` passes on the package-lock.json npm wrote; reject;
//! direct publishes refused or logged `via: direct`; bad input, wrong or
//! replayed OTPs and a log that is down change nothing.

#[path = "npm_registry/rig.rs"]
mod rig;

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::{binary, log_key};
use rig::{ORIGIN, Rig, app_dir, fails, ok, package_dir, staged_ids};
use serde_json::Value;

#[test]
fn npm_stage_publish_approve_install_and_gatelog_verify() {
    let mut rig = Rig::start(&[]);
    let name = "@acme/widget";
    let src = package_dir(&rig, name, "1.0.0");
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();
    assert_eq!(
        ok(&rig.npm(&src, &alice, &["whoami"]), "npm whoami").trim(),
        "alice"
    );

    let out = ok(
        &rig.npm(&src, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    assert!(out.contains("staged with id"), "{out}");
    let items = staged_ids(&rig, &src, &alice);
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["packageName"], name);
    assert_eq!(item["version"], "1.0.0");
    assert_eq!(item["status"], "staged");
    assert_eq!(item["actor"], "alice");
    let id = item["id"].as_str().unwrap().to_owned();
    let integrity = item["integrity"].as_str().unwrap().to_owned();

    // Viewable and downloadable, not installable.
    let view = ok(
        &rig.npm(&src, &alice, &["stage", "view", &id, "--json"]),
        "npm stage view",
    );
    assert!(view.contains(&integrity), "{view}");
    let dl = rig.dir.path().join("download");
    std::fs::create_dir_all(&dl).unwrap();
    ok(
        &rig.npm(&dl, &alice, &["stage", "download", &id]),
        "npm stage download",
    );
    let app = app_dir(&rig, "app");
    fails(
        &rig.npm(&app, &alice, &["install", "@acme/widget@1.0.0"]),
        "install of a staged version",
        "404",
    );

    // Approve: without an OTP npm is asked for one; with one it publishes.
    fails(
        &rig.npm(&src, &alice, &["stage", "approve", &id]),
        "approve without OTP",
        "one-time password",
    );
    let size_before = rig.tree_size();
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    let out = ok(
        &rig.npm(
            &src,
            &alice,
            &["stage", "approve", &id, &format!("--otp={code}")],
        ),
        "npm stage approve --otp",
    );
    assert!(out.contains("approved and published"), "{out}");
    // device-register, approve, publish.
    assert_eq!(rig.tree_size(), size_before + 3);
    assert!(staged_ids(&rig, &src, &alice).is_empty());

    ok(
        &rig.npm(&app, &alice, &["install", "@acme/widget@1.0.0"]),
        "npm install after approval",
    );
    let lock: Value =
        serde_json::from_slice(&std::fs::read(app.join("package-lock.json")).unwrap()).unwrap();
    let entry = &lock["packages"]["node_modules/@acme/widget"];
    assert_eq!(entry["integrity"], integrity.as_str());
    assert!(
        entry["resolved"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{}/", rig.host())),
        "{entry}"
    );

    // The log holds stage, approve, publish of that integrity.
    let events = rig.bundle_events(name, "1.0.0");
    let of = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("no {t} in {events:?}"))
    };
    for t in ["stage", "approve", "publish"] {
        assert_eq!(of(t)["integrity"], integrity.as_str(), "{t}");
        assert_eq!(of(t)["registry"], format!("http://{}", rig.host()));
    }
    assert_eq!(of("publish")["via"], "staged");
    assert_eq!(of("approve")["device"]["kind"], "totp");
    assert!(of("approve").get("device_signature").is_none());
    assert_eq!(of("stage")["publisher"]["kind"], "token");
    assert!(events.iter().any(|e| e["type"] == "device-register"));

    // gatelog verify on the lockfile npm wrote.
    let out = Command::new(binary("gatelog"))
        .args([
            "verify",
            "--format",
            "json",
            "--log",
            &format!("http://{}", rig.log_addr),
        ])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--registry-key", &rig.reg_key])
        .args([
            "--lockfile",
            &app.join("package-lock.json").display().to_string(),
        ])
        .args([
            "--state-dir",
            &rig.dir.path().join("state").display().to_string(),
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["counts"]["verified"], 1, "{report}");

    // The item keeps every acknowledgement with its inclusion proof.
    let (status, _, log) = rig.request(
        "GET",
        &format!("/-/stage/{id}/log"),
        Some(&alice),
        None,
        b"",
    );
    assert_eq!(status, 200);
    for step in ["stage", "approve", "publish"] {
        assert!(
            log[step]["ack"]["inclusion_proof"]["path"].is_array(),
            "{log}"
        );
        assert!(log[step]["ack"]["checkpoint"]["note"].is_string(), "{log}");
    }
}

#[test]
fn npm_stage_reject_and_direct_publishes() {
    let mut rig = Rig::start(&[]);
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();
    let src = package_dir(&rig, "gadget", "2.0.0");
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
            &["stage", "reject", &id, &format!("--otp={code}")],
        ),
        "npm stage reject",
    );
    assert!(staged_ids(&rig, &src, &alice).is_empty());
    let events = rig.bundle_events("gadget", "2.0.0");
    assert!(events.iter().any(|e| e["type"] == "reject"), "{events:?}");
    assert!(!events.iter().any(|e| e["type"] == "publish"), "{events:?}");
    let app = app_dir(&rig, "app");
    fails(
        &rig.npm(&app, &alice, &["install", "gadget@2.0.0"]),
        "install of a rejected version",
        "404",
    );

    // A stage-only token cannot publish directly; nothing is logged.
    let direct = package_dir(&rig, "gadget", "2.1.0");
    let size = rig.tree_size();
    fails(
        &rig.npm(&direct, &ci, &["publish"]),
        "direct publish with a stage-only token",
        "may only stage",
    );
    assert_eq!(rig.tree_size(), size);

    // A publish token may; the log holds it as `via: direct` first.
    ok(
        &rig.npm(&direct, &alice, &["publish"]),
        "direct npm publish",
    );
    let events = rig.bundle_events("gadget", "2.1.0");
    let publish = events
        .iter()
        .find(|e| e["type"] == "publish")
        .expect("publish logged");
    assert_eq!(publish["via"], "direct");
    assert!(publish.get("stage").is_none());
    ok(
        &rig.npm(&app, &alice, &["install", "gadget@2.1.0"]),
        "npm install of the direct publish",
    );

    // bob is no maintainer of gadget: he can neither stage nor approve it.
    let bob = rig.bob_publish.clone();
    let again = package_dir(&rig, "gadget", "2.2.0");
    fails(
        &rig.npm(&again, &bob, &["stage", "publish"]),
        "stage by a non-maintainer",
        "not a maintainer",
    );
}

fn publish_doc(name: &str, version: &str, tarball: &[u8], claimed: &[u8]) -> Vec<u8> {
    let file = format!("{}-{version}.tgz", name.rsplit('/').next().unwrap());
    let integrity = gatelog_core::event::Integrity::of(claimed).to_string();
    serde_json::to_vec(&serde_json::json!({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {"integrity": integrity}}},
        "_attachments": {file: {"content_type": "application/octet-stream",
            "data": STANDARD.encode(tarball), "length": tarball.len()}}
    }))
    .unwrap()
}

#[test]
fn bad_input_wrong_otps_and_a_log_that_is_down_change_nothing() {
    let mut rig = Rig::start(&["--max-body-bytes", "20000"]);
    let alice = rig.alice_publish.clone();
    let bob = rig.bob_publish.clone();
    let size = rig.tree_size();
    let tgz = [0x1f, 0x8b, 8, 0, 1, 2, 3, 4];
    let stage = "/-/stage/package/thing";
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "not JSON"),
        (
            publish_doc("thing", "1.0.0", &tgz, b"another tarball"),
            400,
            "integrity",
        ),
        (
            publish_doc("other", "1.0.0", &tgz, &tgz),
            400,
            "does not match",
        ),
        (
            publish_doc("thing", "1.0.0", &[0x1f; 30000], &[0x1f; 30000]),
            413,
            "",
        ),
    ];
    for (body, want, needle) in cases {
        let (status, _, v) = rig.request("POST", stage, Some(&alice), None, &body);
        assert_eq!(status, want, "{v}");
        assert!(v["error"].as_str().unwrap_or("").contains(needle), "{v}");
    }
    let (status, _, _) = rig.request(
        "POST",
        stage,
        None,
        None,
        &publish_doc("thing", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 401);
    let (status, _, _) = rig.request("POST", stage, Some("glr_nope"), None, b"{}");
    assert_eq!(status, 401);
    let unknown = "/-/stage/00000000-0000-4000-8000-000000000000/approve";
    let (status, _, _) = rig.request("POST", unknown, Some(&alice), Some("123456"), b"");
    assert_eq!(status, 404);
    assert_eq!(rig.tree_size(), size, "bad input logged nothing");
    let (status, _, v) = rig.request("GET", "/-/stage", Some(&alice), None, b"");
    assert_eq!((status, v["total"].as_u64()), (200, Some(0)), "{v}");

    // A real stage, for the OTP checks.
    let (status, _, v) = rig.request(
        "POST",
        stage,
        Some(&bob),
        None,
        &publish_doc("thing", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["stageId"].as_str().unwrap().to_owned();
    let approve = format!("/-/stage/{id}/approve");
    let size = rig.tree_size();
    let (status, head, _) = rig.request("POST", &approve, Some(&bob), None, b"");
    assert_eq!(status, 401);
    assert!(head.contains("www-authenticate: otp"), "{head}");

    // The log is down: 503, nothing changes; the retry is logged once.
    rig.stop_log();
    let secret = rig.bob_totp.clone();
    let code = rig.otp(&secret);
    let (status, head, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 503, "{v}");
    assert!(head.contains("retry-after"), "{head}");
    let (status, _, _) = rig.request("GET", "/thing", None, None, b"");
    assert_eq!(status, 404, "not installable while unlogged");
    // The code was used: replaying it is refused even after the log is back.
    rig.start_log();
    assert_eq!(rig.tree_size(), size);
    let (status, head, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 401, "{v}");
    assert!(
        head.contains("www-authenticate: otp")
            && v["error"].as_str().unwrap().contains("already used")
    );
    let code = rig.otp(&secret);
    let (status, _, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 200, "{v}");
    let events = rig.bundle_events("thing", "1.0.0");
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(
        (count("stage"), count("approve"), count("publish")),
        (1, 1, 1),
        "{events:?}"
    );
    let (status, _, v) = rig.request("GET", "/thing", None, None, b"");
    assert_eq!(status, 200);
    assert!(v["versions"]["1.0.0"]["dist"]["tarball"].is_string(), "{v}");

    // Wrong OTPs: 401 each, then 429 for a while, and nothing logged.
    let (status, _, v) = rig.request(
        "POST",
        "/-/stage/package/thing2",
        Some(&alice),
        None,
        &publish_doc("thing2", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 201, "{v}");
    let reject = format!("/-/stage/{}", v["stageId"].as_str().unwrap());
    let size = rig.tree_size();
    for _ in 0..5 {
        let (status, _, _) = rig.request("DELETE", &reject, Some(&alice), Some("000000x"), b"");
        assert_eq!(status, 401);
    }
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    let (status, head, _) = rig.request("DELETE", &reject, Some(&alice), Some(&code), b"");
    assert_eq!(status, 429);
    assert!(head.contains("retry-after"), "{head}");
    assert_eq!(rig.tree_size(), size);
}
