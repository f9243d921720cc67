//! `gatelog review` against a real `gatelog-registry` and `gatelog-server`,
//! with releases made by the real npm CLI (tools/node_modules, from
//! scripts/tools.sh): a baseline published, a new version staged with
//! `npm stage publish`, then reviewed against the baseline and against its
//! source folder (`npm pack --dry-run --json` run by the review). A clean
//! release passes; each risky change is flagged; a tarball that is not
//! the logged one is refused before anything else is looked at.

#[path = "npm_registry/rig.rs"]
mod rig;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::{FakeHttp, binary, log_key};
use rig::{ORIGIN, Rig, app_dir, npm_bin, ok};
use serde_json::{Value, json};

/// A package folder `dir` with `manifest` as package.json and `files`.
fn write_package(dir: &Path, manifest: &Value, files: &[(&str, &str)]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("package.json"), manifest.to_string()).unwrap();
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn base_manifest(name: &str, version: &str) -> Value {
    json!({"name": name, "version": version, "main": "index.js", "license": "MIT"})
}

const INDEX: &str = "module.exports = function widget() {\n  return 42;\n};\n";

/// Runs `gatelog review` with the rig's registry (or `registry`), token and log.
fn review(rig: &Rig, id: &str, registry: Option<&str>, extra: &[&str]) -> Output {
    let registry = registry.map_or_else(|| format!("http://{}", rig.host()), str::to_owned);
    std::process::Command::new(binary("gatelog"))
        .args(["review", id, "--registry", &registry])
        .args(["--log", &format!("http://{}", rig.log_addr)])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--npm", &npm_bin().display().to_string()])
        .args(extra)
        .env("GATELOG_REGISTRY_TOKEN", &rig.alice_publish)
        .env_remove("GATELOG_LOG")
        .env_remove("GATELOG_LOG_KEY")
        .output()
        .expect("run gatelog review")
}

/// Stages the package in `dir` with alice's CI token; returns its stage id.
fn stage(rig: &Rig, dir: &Path, name: &str) -> String {
    let out = ok(
        &rig.npm(dir, &rig.alice_ci, &["stage", "publish"]),
        "npm stage publish",
    );
    assert!(out.contains("staged with id"), "{out}");
    rig::staged_ids(rig, dir, &rig.alice_publish)
        .iter()
        .find(|i| i["packageName"] == name)
        .and_then(|i| i["id"].as_str())
        .unwrap_or_else(|| panic!("no staged item of {name}"))
        .to_owned()
}

/// A baseline `name@1.0.0` published directly, and the folder of the next
/// release made from it by `change` (manifest, extra files).
fn baseline(rig: &Rig, name: &str) -> PathBuf {
    let slug = name.replace(['@', '/'], "_");
    let dir = rig.dir.path().join(format!("{slug}-1.0.0"));
    write_package(&dir, &base_manifest(name, "1.0.0"), &[("index.js", INDEX)]);
    ok(
        &rig.npm(&dir, &rig.alice_publish, &["publish"]),
        "npm publish of the baseline",
    );
    dir
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "review printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn flagged_kinds(report: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["flagged"] == true)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

struct Case<'a> {
    name: &'static str,
    version: &'static str,
    /// Changes to the manifest of the staged release.
    manifest: Value,
    /// Files added to the staged release.
    files: &'a [(&'a str, &'a str)],
    /// Files of the staged release left out of the source folder.
    not_in_source: &'static [&'static str],
    /// The kinds flagged, sorted.
    flagged: &'static [&'static str],
}

#[test]
fn clean_release_passes_and_each_risky_change_is_flagged() {
    let rig = Rig::start(&[]);
    let minified = format!("!function(){{{}}}();\n", "var a=1;".repeat(100));
    let minified_files = [("dist/app.js", minified.as_str())];
    let cases = [
        Case {
            name: "@acme/clean",
            version: "1.0.1",
            manifest: json!({}),
            files: &[],
            not_in_source: &[],
            flagged: &[],
        },
        Case {
            name: "@acme/postinstall",
            version: "1.0.1",
            manifest: json!({"scripts": {"postinstall": "node setup.js"}}),
            files: &[("setup.js", "require('child_process');\n")],
            not_in_source: &[],
            flagged: &["install-script"],
        },
        Case {
            name: "@acme/dependency",
            version: "1.0.1",
            manifest: json!({"dependencies": {"left-pad": "^1.3.0"}}),
            files: &[],
            not_in_source: &[],
            flagged: &["dependency"],
        },
        Case {
            name: "@acme/binary",
            version: "1.0.1",
            manifest: json!({"bin": {"acme-binary": "cli.js"}}),
            files: &[("cli.js", "#!/usr/bin/env node\nrequire('./index.js')();\n")],
            not_in_source: &[],
            // npm packs a bin target executable.
            flagged: &["bin", "executable"],
        },
        Case {
            name: "@acme/minified",
            version: "1.0.1",
            manifest: json!({}),
            files: &minified_files,
            not_in_source: &["dist/app.js"],
            flagged: &["minified", "source-extra"],
        },
        Case {
            name: "@acme/skip",
            version: "1.2.0",
            manifest: json!({}),
            files: &[],
            not_in_source: &[],
            flagged: &["version-skip"],
        },
    ];
    for case in &cases {
        let base = baseline(&rig, case.name);
        let mut manifest = base_manifest(case.name, case.version);
        for (k, v) in case.manifest.as_object().unwrap() {
            manifest[k] = v.clone();
        }
        let staged_dir = base.with_file_name(format!("{}-staged", base.display()));
        let mut files = vec![("index.js", INDEX)];
        files.extend_from_slice(case.files);
        write_package(&staged_dir, &manifest, &files);
        let id = stage(&rig, &staged_dir, case.name);
        // The source folder: the staged one without `not_in_source`.
        let source = base.with_file_name(format!("{}-source", base.display()));
        files.retain(|(p, _)| !case.not_in_source.contains(p));
        write_package(&source, &manifest, &files);
        let source = source.display().to_string();

        let out = review(&rig, &id, None, &["--source", &source, "--format", "json"]);
        let report = json_of(&out);
        assert_eq!(report["schema"], "gatelog-review/v1");
        assert_eq!(report["staged"]["package"], case.name);
        assert_eq!(report["staged"]["version"], case.version);
        assert_eq!(report["previous"]["version"], "1.0.0", "{}", case.name);
        assert_eq!(report["staged_by"]["kind"], "token");
        assert!(
            report["staged_by"]["subject"]
                .as_str()
                .unwrap()
                .starts_with("alice/token:"),
            "{}",
            report["staged_by"]
        );
        assert_eq!(
            flagged_kinds(&report),
            case.flagged,
            "{}: {:#}",
            case.name,
            report["findings"]
        );
        let want_exit = if case.flagged.is_empty() { 0 } else { 1 };
        assert_eq!(
            out.status.code(),
            Some(want_exit),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        // package.json changed (its version), so it is diffed.
        let pj = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "package.json")
            .unwrap_or_else(|| panic!("package.json not listed: {:#}", report["files"]));
        assert_eq!(pj["change"], "changed");
        let diff = pj["diff"].as_str().unwrap();
        let new_line = diff
            .lines()
            .find(|l| l.starts_with("+{"))
            .unwrap_or_else(|| panic!("{diff}"));
        assert!(
            new_line.contains(&format!("\"version\":\"{}\"", case.version)),
            "{diff}"
        );
        assert!(diff.contains("\n-{"), "{diff}");
        for (path, _) in case.files {
            let added = report["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"] == *path && f["change"] == "added" && f["diff"].is_string());
            assert!(added, "{path} not listed as added: {:#}", report["files"]);
        }
        if case.name == "@acme/postinstall" {
            // The text form says the same; --fail-on none only reports.
            let text = review(&rig, &id, None, &["--source", &source]);
            let stdout = String::from_utf8_lossy(&text.stdout);
            assert!(
                stdout.contains("FLAGGED install-script: new postinstall script: node setup.js"),
                "{stdout}"
            );
            assert!(stdout.contains("+++ b/setup.js"), "{stdout}");
            assert_eq!(text.status.code(), Some(1));
            let report_only = review(&rig, &id, None, &["--fail-on", "none"]);
            assert_eq!(report_only.status.code(), Some(0));
        }
    }
}

/// The SHA-512 hex of an SRI `sha512-…`: the registry's file name for it.
fn tarball_file(rig: &Rig, integrity: &str) -> PathBuf {
    let digest = STANDARD
        .decode(integrity.strip_prefix("sha512-").unwrap())
        .unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    rig.data().join("tarballs").join(hex)
}

fn staged_integrity(rig: &Rig, id: &str) -> (Value, String) {
    let (status, _, item) = rig.request(
        "GET",
        &format!("/-/stage/{id}"),
        Some(&rig.alice_publish),
        None,
        b"",
    );
    assert_eq!(status, 200, "{item}");
    let integrity = item["integrity"].as_str().unwrap().to_owned();
    (item, integrity)
}

#[test]
fn a_tarball_other_than_the_logged_one_is_refused_before_anything_else() {
    let rig = Rig::start(&[]);
    let name = "@acme/tampered";
    let base = baseline(&rig, name);
    let dir = base.with_file_name("tampered-1.0.1");
    write_package(&dir, &base_manifest(name, "1.0.1"), &[("index.js", INDEX)]);
    let id = stage(&rig, &dir, name);
    let (item, integrity) = staged_integrity(&rig, &id);
    let honest = review(&rig, &id, None, &["--format", "json"]);
    assert_eq!(honest.status.code(), Some(0), "{}", json_of(&honest));
    assert_eq!(json_of(&honest)["staged"]["integrity"], integrity.as_str());

    // Another tarball served for the item, with an item that agrees with
    // it (a test double in front of the registry): the log's stage event
    // still names the first.
    let other = std::fs::read(tarball_file(&rig, &published_integrity(&rig, name))).unwrap();
    let other_sri = format!(
        "sha512-{}",
        STANDARD.encode(<sha2::Sha512 as sha2::Digest>::digest(&other))
    );
    let mut lying_item = item.clone();
    lying_item["integrity"] = other_sri.clone().into();
    let (item_path, tarball_path) = (format!("/-/stage/{id}"), format!("/-/stage/{id}/tarball"));
    let (served_item, served_tgz) = (lying_item.to_string().into_bytes(), other.clone());
    let double = FakeHttp::start(move |req| {
        if req.path == item_path {
            (200, served_item.clone())
        } else if req.path == tarball_path {
            (200, served_tgz.clone())
        } else {
            (404, b"{\"error\":\"not here\"}".to_vec())
        }
    });
    let out = review(
        &rig,
        &id,
        Some(&format!("http://{}", double.addr)),
        &["--source", &dir.display().to_string()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("REFUSED"), "{stderr}");
    assert!(stderr.contains("log's stage event"), "{stderr}");
    assert!(stderr.contains(&other_sri), "{stderr}");
    assert!(stderr.contains(&integrity), "{stderr}");

    // The stored tarball altered on the registry's disk: it no longer
    // matches the registry's own record (nor the log's).
    std::fs::write(tarball_file(&rig, &integrity), &other).unwrap();
    let out = review(&rig, &id, None, &["--source", &dir.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("REFUSED"), "{stderr}");
    assert!(stderr.contains(&other_sri), "{stderr}");
    assert!(stderr.contains(&integrity), "{stderr}");
}

/// The integrity of `name@1.0.0` in its packument.
fn published_integrity(rig: &Rig, name: &str) -> String {
    let (status, _, packument) = rig.request(
        "GET",
        &format!("/{}", name.replace('/', "%2f")),
        Some(&rig.alice_publish),
        None,
        b"",
    );
    assert_eq!(status, 200, "{packument}");
    packument["versions"]["1.0.0"]["dist"]["integrity"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn bad_usage_and_unreachable_services() {
    let rig = Rig::start(&[]);
    let code = |out: Output| out.status.code();
    assert_eq!(code(review(&rig, "../x", None, &[])), Some(2));
    assert_eq!(code(review(&rig, "no-such-id", None, &[])), Some(2));
    let down = format!("http://{}", gatelog_e2e::free_addr());
    assert_eq!(code(review(&rig, "some-id", Some(&down), &[])), Some(3));
}

/// Runs `gatelog approve` with alice's token, `key_file` and `otp`.
fn approve(rig: &Rig, id: &str, registry: Option<&str>, key_file: &Path, otp: &str) -> Output {
    let registry = registry.map_or_else(|| format!("http://{}", rig.host()), str::to_owned);
    std::process::Command::new(binary("gatelog"))
        .args(["approve", id, "--registry", &registry])
        .args(["--log", &format!("http://{}", rig.log_addr)])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--device-key-file", &key_file.display().to_string()])
        .args(["--otp", otp])
        .env("GATELOG_REGISTRY_TOKEN", &rig.alice_publish)
        .env_remove("GATELOG_LOG")
        .env_remove("GATELOG_LOG_KEY")
        .output()
        .expect("run gatelog approve")
}

/// A device key made by `gatelog keygen --role device`: its file and
/// verifier key.
fn device_key(rig: &Rig, name: &str) -> (PathBuf, String) {
    let out = gatelog_e2e::run("gatelog", &["keygen", "--name", name, "--role", "device"]);
    let text = ok(&out, "gatelog keygen");
    let mut lines = text.lines();
    let (private, verifier) = (lines.next().unwrap(), lines.next().unwrap());
    let file = rig.dir.path().join(format!("{name}.key"));
    std::fs::write(&file, format!("{private}\n")).unwrap();
    (file, verifier.to_owned())
}

#[test]
fn gatelog_approve_signs_with_the_device_and_the_log_holds_that_approval() {
    let mut rig = Rig::start(&[]);
    let (key_file, verifier) = device_key(&rig, "alice-laptop");
    let (stranger_file, _) = device_key(&rig, "not-enrolled");
    rig.kill_registry();
    rig::admin(
        &rig.data(),
        &[
            "device-add",
            "alice",
            "--key",
            &verifier,
            "--label",
            "laptop key",
        ],
    );
    rig.restart_registry(None, &[]);

    let name = "@acme/signed";
    let base = baseline(&rig, name);
    let dir = base.with_file_name("signed-1.0.1");
    write_package(&dir, &base_manifest(name, "1.0.1"), &[("index.js", INDEX)]);
    let id = stage(&rig, &dir, name);
    let (item, integrity) = staged_integrity(&rig, &id);
    let secret = rig.alice_totp.clone();

    // Another tarball served for the item: refused before anything is
    // signed or sent; nothing is logged.
    let size = rig.tree_size();
    let other = b"\x1f\x8b not the staged tarball".to_vec();
    let mut lying = item.clone();
    lying["integrity"] = format!(
        "sha512-{}",
        STANDARD.encode(<sha2::Sha512 as sha2::Digest>::digest(&other))
    )
    .into();
    let (item_path, tarball_path) = (format!("/-/stage/{id}"), format!("/-/stage/{id}/tarball"));
    let lying = lying.to_string().into_bytes();
    let double = FakeHttp::start(move |req| {
        if req.path == item_path {
            (200, lying.clone())
        } else if req.path == tarball_path {
            (200, other.clone())
        } else {
            (
                500,
                b"{\"error\":\"the double answers no approval\"}".to_vec(),
            )
        }
    });
    let code = rig.otp(&secret);
    let out = approve(
        &rig,
        &id,
        Some(&format!("http://{}", double.addr)),
        &key_file,
        &code,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REFUSED"), "{stderr}");
    assert!(out.stdout.is_empty());

    // A device the registry does not know, or a signature over something
    // else: refused before the OTP is spent, nothing logged.
    let out = approve(&rig, &id, None, &stranger_file, &code);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no signing device"), "{stderr}");
    let headers = format!(
        "Authorization: Bearer {}\r\nnpm-otp: {code}\r\ngatelog-device-id: alice-laptop\r\n\
         gatelog-device-signature: {}\r\n",
        rig.alice_publish,
        STANDARD.encode([7u8; 64])
    );
    let (status, _, body) =
        rig.request_with("POST", &format!("/-/stage/{id}/approve"), &headers, b"");
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("does not verify"),
        "{body}"
    );
    assert_eq!(rig.tree_size(), size);

    // The enrolled device: approved, published, and the log holds it.
    let code = rig.otp(&secret);
    let out = approve(&rig, &id, None, &key_file, &code);
    let printed: Value = serde_json::from_str(&ok(&out, "gatelog approve")).unwrap();
    assert_eq!(printed["approved"], true);
    assert_eq!(printed["integrity"], integrity.as_str());
    assert_eq!(printed["approve"]["inclusion_verified"], true);
    assert_eq!(printed["approve"]["event"]["device"]["kind"], "ed25519");
    assert_eq!(printed["approve"]["event"]["device"]["id"], "alice-laptop");
    // device-register (with the key), approve, publish.
    assert_eq!(rig.tree_size(), size + 3);

    let events = rig.bundle_events(name, "1.0.1");
    let of = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("no {t} in {events:?}"))
            .clone()
    };
    let register = events
        .iter()
        .find(|e| e["type"] == "device-register" && e["device"]["id"] == "alice-laptop")
        .unwrap_or_else(|| panic!("no device-register in {events:?}"));
    assert_eq!(register["device"]["kind"], "ed25519");
    assert_eq!(register["device"]["label"], "laptop key");
    let approve_event = of("approve");
    assert_eq!(approve_event["integrity"], integrity.as_str());
    assert_eq!(of("publish")["via"], "staged");
    // The logged signature verifies with the logged key over the statement.
    let key: [u8; 32] = STANDARD
        .decode(register["device"]["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sig: [u8; 64] = STANDARD
        .decode(approve_event["device_signature"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .unwrap()
        .verify_strict(
            printed["statement"].as_str().unwrap().as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .expect("the logged device signature verifies");
    let app = app_dir(&rig, "app");
    let installed = rig.npm(
        &app,
        &rig.alice_publish,
        &["install", &format!("{name}@1.0.1")],
    );
    ok(&installed, "npm install of the approved version");
    // gatelog verify checks the device signature against the logged key.
    let out = std::process::Command::new(binary("gatelog"))
        .args(["verify", "--format", "json", "--no-state"])
        .args(["--log", &format!("http://{}", rig.log_addr)])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--registry-key", &rig.reg_key])
        .args(["--lockfile", &app.display().to_string()])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
