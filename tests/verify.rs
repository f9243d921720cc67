//! `gatelog verify` end to end: real servers, real HTTP, the real binary.
//! One honest release passes; every failure kind ends with the documented
//! exit code.

use std::path::{Path, PathBuf};
use std::process::Output;

use gatelog_core::event::Integrity;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::{Envelope, Hash, LeafIndex};
use gatelog_e2e::{TestLog, binary, log_key};
use gatelog_lab::sample::{SampleRegistry, device_key};
use serde_json::Value;

#[path = "verify/lying.rs"]
mod lying;

const ORIGIN: &str = "verify.gatelog.test/log";
const PKG_TIME: i64 = 1_780_000_000;

fn tgz(name: &str, version: &str) -> Vec<u8> {
    format!("{name}-{version}.tgz").into_bytes()
}

/// stage → approve (by `device`, signed when `signing`) → publish.
fn release(log: &TestLog, name: &str, version: &str, device: Option<(&str, u8)>) {
    let t = tgz(name, version);
    let (stage, stage_hash) =
        log.submit(&log.reg.stage(name, version, &t, "acme/widget", PKG_TIME));
    let key = device.map(|(_, seed)| device_key(seed));
    let dev = device.zip(key.as_ref()).map(|((id, _), k)| (id, k));
    let (approve, _) = log.submit(&log.reg.approve(
        name,
        version,
        &t,
        stage,
        &stage_hash,
        "alice",
        dev,
        PKG_TIME + 600,
    ));
    log.submit(
        &log.reg
            .publish(name, version, &t, stage, approve, PKG_TIME + 700),
    );
}

/// A v3 package-lock.json with these (name, version, tarball bytes).
fn lockfile(dir: &Path, name: &str, packages: &[(&str, &str, &[u8])]) -> PathBuf {
    let mut map = serde_json::Map::new();
    map.insert(
        "".into(),
        serde_json::json!({"name": "app", "version": "1.0.0"}),
    );
    for (name, version, tarball) in packages {
        map.insert(
            format!("node_modules/{name}"),
            serde_json::json!({
                "version": version,
                "resolved": format!("https://registry.example/{name}/-/{}-{version}.tgz", name.rsplit('/').next().unwrap()),
                "integrity": Integrity::of(tarball).to_string(),
            }),
        );
    }
    let doc = serde_json::json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": map});
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

fn verify(
    log_url: &str,
    vkey: &str,
    reg: &str,
    lockfile: &Path,
    state: &Path,
    extra: &[&str],
) -> (i32, Value, String) {
    let out: Output = std::process::Command::new(binary("gatelog"))
        .args([
            "verify",
            "--format",
            "json",
            "--log",
            log_url,
            "--log-key",
            vkey,
            "--registry-key",
            reg,
        ])
        .args([
            "--lockfile",
            &lockfile.display().to_string(),
            "--state-dir",
            &state.display().to_string(),
        ])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rules(v: &Value, package: &str) -> Vec<String> {
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == package)
        .flat_map(|p| {
            p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn honest_lockfile_passes_and_each_attack_fails_with_its_rule() {
    let log = TestLog::start(ORIGIN);
    let url = format!("http://{}", log.server.addr);
    let reg = log.reg.verifier_key().to_string();
    // Devices: "yubi" registered; "old" registered then revoked.
    log.submit(&log.reg.device_register(
        "good",
        "alice",
        "yubi",
        &device_key(1),
        PKG_TIME - 86_400 * 30,
    ));
    log.submit(&log.reg.device_register(
        "good",
        "alice",
        "old",
        &device_key(2),
        PKG_TIME - 86_400 * 30,
    ));
    log.submit(&log.event(
        "good",
        PKG_TIME,
        r#""type":"device-revoke","maintainer":"alice","device":{"id":"old","kind":"ed25519"}"#,
    ));
    release(&log, "good", "1.0.0", Some(("yubi", 1)));
    release(&log, "@scope/fine", "2.1.0", Some(("yubi", 1)));
    // Approvals by a device never registered, or revoked, are refused by
    // the log itself; the stages stay, never approved or published.
    for (name, device, seed) in [("ghostdev", "never-registered", 9), ("revoked", "old", 2)] {
        let t = tgz(name, "1.0.0");
        let (stage, stage_hash) =
            log.submit(&log.reg.stage(name, "1.0.0", &t, "acme/widget", PKG_TIME));
        let approval = log.reg.approve(
            name,
            "1.0.0",
            &t,
            stage,
            &stage_hash,
            "alice",
            Some((device, &device_key(seed))),
            PKG_TIME + 600,
        );
        let (status, body) =
            gatelog_e2e::http_post(log.server.addr, "/v1/entries", &approval.to_json()).unwrap();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    }
    log.submit(
        &log.reg
            .publish_direct("direct", "1.0.0", &tgz("direct", "1.0.0"), PKG_TIME),
    );
    // An SMS approval.
    let t = tgz("smsy", "1.0.0");
    let (stage, _) = log.submit(&log.reg.stage("smsy", "1.0.0", &t, "acme/widget", PKG_TIME));
    let sms = log.event("smsy", PKG_TIME,
        &format!(
            r#""type":"approve","version":"1.0.0","integrity":"{}","stage":{},"maintainer":"alice","device":{{"id":"phone","kind":"sms"}}"#,
            Integrity::of(&t),
            stage.0
        ),
    );
    let (approve, _) = log.submit(&sms);
    log.submit(
        &log.reg
            .publish("smsy", "1.0.0", &t, stage, approve, PKG_TIME + 700),
    );

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Honest packages pass.
    let honest = lockfile(
        dir.path(),
        "honest.json",
        &[
            ("good", "1.0.0", &tgz("good", "1.0.0")),
            ("@scope/fine", "2.1.0", &tgz("@scope/fine", "2.1.0")),
        ],
    );
    let (code, v, err) = verify(&url, &log.vkey, &reg, &honest, &state, &[]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["counts"]["verified"], 2);

    // Each attack is its own failure kind.
    let bad = lockfile(
        dir.path(),
        "bad.json",
        &[
            ("good", "1.0.0", b"a switched tarball"),
            ("direct", "1.0.0", &tgz("direct", "1.0.0")),
            ("ghostdev", "1.0.0", &tgz("ghostdev", "1.0.0")),
            ("revoked", "1.0.0", &tgz("revoked", "1.0.0")),
            ("smsy", "1.0.0", &tgz("smsy", "1.0.0")),
            ("missing", "3.0.0", b"x"),
        ],
    );
    let (code, v, err) = verify(&url, &log.vkey, &reg, &bad, &state, &[]);
    assert_eq!(code, 1, "{v} {err}");
    assert!(
        rules(&v, "good").contains(&"integrity-mismatch".to_owned()),
        "{v}"
    );
    assert!(
        rules(&v, "direct").contains(&"publish-without-approval".to_owned()),
        "{v}"
    );
    for never_approved in ["ghostdev", "revoked"] {
        assert!(
            rules(&v, never_approved).contains(&"not-logged".to_owned()),
            "{v}"
        );
    }
    assert!(
        rules(&v, "smsy").contains(&"weak-second-factor".to_owned()),
        "{v}"
    );
    assert!(
        rules(&v, "missing").contains(&"not-logged".to_owned()),
        "{v}"
    );
    // Opting out works.
    let (code, v, _) = verify(&url, &log.vkey, &reg, &bad, &state, &["--allow", "*"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["counts"]["skipped"], 6);

    // SARIF and text renderings.
    let out = std::process::Command::new(binary("gatelog"))
        .args([
            "verify",
            "--format",
            "sarif",
            "--log",
            &url,
            "--log-key",
            &log.vkey,
            "--registry-key",
            &reg,
            "--no-state",
        ])
        .args(["--lockfile", &bad.display().to_string()])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());

    // Offline: a bundle verifies with no network, and fails when a byte changes.
    let bundle = dir.path().join("proofs.json");
    // Verification from the bundle alone: the log URL points nowhere.
    let offline = |bundle: &Path| {
        verify(
            "http://127.0.0.1:9",
            &log.vkey,
            &reg,
            &honest,
            &state,
            &["--offline", bundle.to_str().unwrap()],
        )
    };
    let out = std::process::Command::new(binary("gatelog"))
        .args([
            "bundle",
            "--log",
            &url,
            "--log-key",
            &log.vkey,
            "--lockfile",
            &honest.display().to_string(),
        ])
        .args(["--out", &bundle.display().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, v, err) = offline(&bundle);
    assert_eq!(code, 0, "{v} {err}");
    // Changing any byte makes verification fail (a sample of positions
    // across the whole compact bundle: lengths, leaves, proof, note).
    let original = std::fs::read(&bundle).unwrap();
    let step = (original.len() / 40).max(1);
    for at in (0..original.len()).step_by(step) {
        let mut changed = original.clone();
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&bundle, &changed).unwrap();
        let (code, v, _) = offline(&bundle);
        assert_ne!(code, 0, "changing byte {at} still verifies: {v}");
    }
    // The JSON form of offline bundles (a shared entry tampered with in
    // one copy only, a proof hash changed) is covered in tests/compact.rs.
    std::fs::write(&bundle, &original).unwrap();
    let (code, v, err) = offline(&bundle);
    assert_eq!(code, 0, "{v} {err}");

    // Wrong log key: nothing verifies.
    let other = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[99; 32])
        .unwrap()
        .verifier()
        .to_string();
    let (code, _, err) = verify(&url, &other, &reg, &honest, &dir.path().join("s2"), &[]);
    assert_eq!(code, 1, "{err}");
    // Log down.
    let (code, _, err) = verify("http://127.0.0.1:9", &log.vkey, &reg, &honest, &state, &[]);
    assert_eq!(code, 3, "{err}");
    // Malformed lockfile.
    std::fs::write(
        dir.path().join("broken.json"),
        b"{\"lockfileVersion\": 3, \"packages\": ",
    )
    .unwrap();
    let (code, _, err) = verify(
        &url,
        &log.vkey,
        &reg,
        &dir.path().join("broken.json"),
        &state,
        &[],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_forked_log_is_a_security_error_and_the_state_is_kept() {
    // Two servers with the same key and different histories.
    let a = TestLog::start(ORIGIN);
    let b = TestLog::start(ORIGIN);
    for log in [&a, &b] {
        log.submit(&log.reg.device_register(
            "good",
            "alice",
            "yubi",
            &device_key(1),
            PKG_TIME - 86_400,
        ));
        release(log, "good", "1.0.0", Some(("yubi", 1)));
    }
    // A ends at 5 entries; B at 6, with a different history before 5.
    a.submit(&a.reg.publish_direct("left", "1.0.0", b"l", PKG_TIME));
    b.submit(&b.reg.publish_direct("other", "1.0.0", b"o", PKG_TIME));
    b.submit(&b.reg.publish_direct("other", "1.0.1", b"o", PKG_TIME + 1));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let lock = lockfile(
        dir.path(),
        "package-lock.json",
        &[("good", "1.0.0", &tgz("good", "1.0.0"))],
    );
    let reg = a.reg.verifier_key().to_string();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[policy]\naccept_totp = true\n").unwrap();
    let p = ["--policy", policy.to_str().unwrap()];
    let (code, v, err) = verify(
        &format!("http://{}", a.server.addr),
        &a.vkey,
        &reg,
        &lock,
        &state,
        &p,
    );
    assert_eq!(code, 0, "{v} {err}");
    let remembered = std::fs::read_dir(&state).unwrap().count();
    assert_eq!(remembered, 1);
    let before: Vec<u8> = std::fs::read(
        std::fs::read_dir(&state)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    let (code, _, err) = verify(
        &format!("http://{}", b.server.addr),
        &b.vkey,
        &reg,
        &lock,
        &state,
        &p,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("SECURITY ERROR"), "{err}");
    assert!(err.contains(ORIGIN), "both checkpoints are printed: {err}");
    let after: Vec<u8> = std::fs::read(
        std::fs::read_dir(&state)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    assert_eq!(before, after, "the state is not updated on a fork");
}

fn gatelog(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(binary("gatelog"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_other_subcommands_work_against_a_real_log() {
    let log = TestLog::start(ORIGIN);
    let url = format!("http://{}", log.server.addr);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("registry.key");
    let reg_key =
        SignerKey::from_seed("registry.example", SignatureType::Ed25519, &[5; 32]).unwrap();
    std::fs::write(&key_file, reg_key.to_private_text()).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"type":"maintainer-add","package":"left-pad","registry":"https://registry.example","time":"2026-05-01T00:00:00Z","maintainer":"bob","by":"alice"}"#,
    )
    .unwrap();
    let log_args = ["--log", url.as_str(), "--log-key", log.vkey.as_str()];
    let k = key_file.to_str().unwrap();
    let e = event.to_str().unwrap();
    let (code, out, err) = gatelog(
        &[
            &["submit", "--event", e, "--registry-key-file", k][..],
            &log_args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let ack: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ack["index"], 0);

    let (code, out, err) = gatelog(&[&["entry", "0"][..], &log_args].concat());
    assert_eq!(code, 0, "{err}");
    let entry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(entry["event"]["maintainer"], "bob", "{entry}");

    let state = dir.path().join("state");
    let (code, note, err) = gatelog(
        &[
            &["checkpoint", "--state-dir", state.to_str().unwrap()][..],
            &log_args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(note.starts_with(ORIGIN));
    let old = dir.path().join("old.checkpoint");
    std::fs::write(&old, &note).unwrap();
    release(&log, "left-pad", "1.3.0", None);
    let (code, out, err) = gatelog(
        &[
            &["proof", "consistency", "--old", old.to_str().unwrap()][..],
            &log_args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"verified\":true"), "{out}");
    let (code, out, err) =
        gatelog(&[&["proof", "inclusion", "--index", "2"][..], &log_args].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"tree_size\":4"), "{out}");
    let (code, _, _) = gatelog(&[&["proof", "inclusion", "--index", "99"][..], &log_args].concat());
    assert_eq!(code, 1, "an entry the log does not have");

    // What a device signs, and the signature over it.
    let dev = dir.path().join("device.key");
    std::fs::write(
        &dev,
        SignerKey::from_seed("yubi", SignatureType::Ed25519, &[8; 32])
            .unwrap()
            .to_private_text(),
    )
    .unwrap();
    let integrity = Integrity::of(b"t").to_string();
    let stage = Hash::sha256(b"stage").to_hex();
    let args = [
        "--package",
        "left-pad",
        "--version",
        "1.3.0",
        "--integrity",
        &integrity,
        "--stage-leaf-hash",
        &stage,
    ];
    let (code, statement, _) = gatelog(&[&["approve-statement"][..], &args].concat());
    assert_eq!(code, 0);
    assert_eq!(
        statement,
        format!("gatelog-approve/v1\nleft-pad\n1.3.0\n{integrity}\n{stage}\n")
    );
    let (code, sig, err) = gatelog(
        &[
            &["sign-approval", "--device-key-file", dev.to_str().unwrap()][..],
            &args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(sig.trim().len(), 88, "base64 of a 64-byte signature");

    // Bad input: an invalid event, a malformed key file.
    std::fs::write(&event, b"{\"type\":\"publish\"}").unwrap();
    let (code, _, err) = gatelog(
        &[
            &["submit", "--event", e, "--registry-key-file", k][..],
            &log_args,
        ]
        .concat(),
    );
    assert_eq!(code, 2, "{err}");
    std::fs::write(&key_file, b"garbage").unwrap();
    let (code, _, _) = gatelog(
        &[
            &["submit", "--event", e, "--registry-key-file", k][..],
            &log_args,
        ]
        .concat(),
    );
    assert_eq!(code, 2);
}
