//! Registry signatures with the real npm CLI: versions published through
//! `gatelog-registry` (staged and approved, or directly) carry
//! `dist.signatures` in full and abbreviated packuments, signed with the
//! key that `/-/npm/v1/keys` serves, and `npm audit signatures` verifies
//! them on a consumer project. It fails when the registry serves another
//! key than the one that signed, and when a stored signature is altered.

#[path = "npm_registry/rig.rs"]
mod rig;
#[path = "npm_registry/tuf.rs"]
mod tuf;

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, LineEnding};
use rig::{Rig, app_dir, ok, package_dir, staged_ids};
use serde_json::Value;
use tuf::TufMirror;

/// `npm audit signatures` in `app`, with the local TUF mirror.
fn audit(rig: &Rig, tuf: &TufMirror, app: &Path) -> Output {
    let mut command = rig.npm_command(
        app,
        &rig.alice_publish,
        &["audit", "signatures", "--prefer-online"],
    );
    command.envs(tuf.env());
    command.output().expect("run npm audit signatures")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Checks `dist.signatures` of `name@version` in both packument forms
/// against the served key, and returns the signature.
fn check_signed(rig: &Rig, key: &Value, name: &str, version: &str) -> String {
    let path = format!("/{}", name.replace('/', "%2f"));
    let (status, _, full) = rig.request("GET", &path, None, None, b"");
    assert_eq!(status, 200, "{full}");
    let dist = &full["versions"][version]["dist"];
    let integrity = dist["integrity"].as_str().unwrap();
    let signatures = dist["signatures"].as_array().expect("dist.signatures");
    assert_eq!(signatures.len(), 1, "{dist}");
    assert_eq!(signatures[0]["keyid"], key["keyid"], "{dist}");
    let der = STANDARD.decode(key["key"].as_str().unwrap()).unwrap();
    let public = VerifyingKey::from_public_key_der(&der).unwrap();
    let sig_text = signatures[0]["sig"].as_str().unwrap();
    let sig = Signature::from_der(&STANDARD.decode(sig_text).unwrap()).unwrap();
    let message = format!("{name}@{version}:{integrity}");
    assert!(public.verify(message.as_bytes(), &sig).is_ok(), "{dist}");

    let abbreviated = rig.get_abbreviated(&path);
    assert_eq!(
        abbreviated["versions"][version]["dist"]["signatures"], dist["signatures"],
        "{abbreviated}"
    );
    sig_text.to_owned()
}

/// Replaces the stored signature of `name@version` (registry stopped).
fn tamper_signature(data: &Path, name: &str, version: &str, sig: &str) {
    let db = rocksdb::DB::open_default(data.join("db")).unwrap();
    let key = format!("pkg/{name}");
    let mut pkg: Value = serde_json::from_slice(&db.get(&key).unwrap().unwrap()).unwrap();
    pkg["versions"][version]["manifest"]["dist"]["signatures"][0]["sig"] = sig.into();
    db.put(&key, serde_json::to_vec(&pkg).unwrap()).unwrap();
}

#[test]
fn npm_audit_signatures_verifies_and_catches_a_wrong_key_or_signature() {
    let mut rig = Rig::start(&[]);
    let alice = rig.alice_publish.clone();
    let ci = rig.alice_ci.clone();

    // @acme/signed is staged and approved; plain-signed is published directly.
    let staged = package_dir(&rig, "@acme/signed", "1.0.0");
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
    let direct = package_dir(&rig, "plain-signed", "2.0.0");
    ok(&rig.npm(&direct, &alice, &["publish"]), "npm publish");

    let (status, _, keys) = rig.request("GET", "/-/npm/v1/keys", None, None, b"");
    assert_eq!(status, 200, "{keys}");
    let key = keys["keys"][0].clone();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(key["keytype"], "ecdsa-sha2-nistp256");
    assert_eq!(key["scheme"], "ecdsa-sha2-nistp256");
    assert!(key["expires"].is_null(), "{key}");
    check_signed(&rig, &key, "@acme/signed", "1.0.0");
    let plain_sig = check_signed(&rig, &key, "plain-signed", "2.0.0");

    let app = app_dir(&rig, "app");
    ok(
        &rig.npm(
            &app,
            &alice,
            &["install", "@acme/signed@1.0.0", "plain-signed@2.0.0"],
        ),
        "npm install",
    );
    let tuf = TufMirror::start(rig.dir.path(), &rig.npm_cache());
    let out = audit(&rig, &tuf, &app);
    let said = text(&out);
    assert!(out.status.success(), "npm audit signatures:\n{said}");
    assert!(
        said.contains("audited 2 packages")
            && said.contains("2 packages have verified registry signatures"),
        "{said}"
    );
    // npm asked TUF first, then fell back to the registry's keys.
    assert!(tuf.served() > 0, "the TUF mirror was not asked");
    assert!(
        said.contains("Fetching verification keys using TUF failed"),
        "{said}"
    );

    // Another signing key: npm finds no key for the stored signatures.
    let other = rig.dir.path().join("other-signing-key.pem");
    let seed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"another registry key").into();
    let pem = p256::ecdsa::SigningKey::from_slice(&seed)
        .unwrap()
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(&other, pem.as_bytes()).unwrap();
    let flag = other.display().to_string();
    rig.restart_registry(None, &["--signing-key", &flag]);
    let out = audit(&rig, &tuf, &app);
    let said = text(&out);
    assert!(
        !out.status.success(),
        "passed with a different key:\n{said}"
    );
    assert!(
        said.contains("no corresponding public key can be found"),
        "{said}"
    );

    // The right key again passes; an altered stored signature does not.
    rig.restart_registry(None, &[]);
    let out = audit(&rig, &tuf, &app);
    assert!(out.status.success(), "{}", text(&out));
    rig.kill_registry();
    let staged_sig = {
        let db = rocksdb::DB::open_default(rig.data().join("db")).unwrap();
        let pkg: Value =
            serde_json::from_slice(&db.get("pkg/@acme/signed").unwrap().unwrap()).unwrap();
        pkg["versions"]["1.0.0"]["manifest"]["dist"]["signatures"][0]["sig"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(staged_sig, plain_sig);
    // A valid signature by the right key, but of another package.
    tamper_signature(&rig.data(), "plain-signed", "2.0.0", &staged_sig);
    rig.restart_registry(None, &[]);
    let out = audit(&rig, &tuf, &app);
    let said = text(&out);
    assert!(
        !out.status.success(),
        "passed a tampered signature:\n{said}"
    );
    assert!(
        said.contains("1 package has an invalid registry signature")
            && said.contains("plain-signed@2.0.0"),
        "{said}"
    );
}
