//! Compact bundles (`gatelog-bundles/compact-v1`) end to end: the real log
//! answers them, `gatelog verify` uses them by default and still reads the
//! JSON form of a log without them, every failure rule still fires, no
//! changed bit of an offline compact bundle passes, and old JSON bundles
//! are still read or refused with a clear message. Last, the bytes per
//! package of both forms for a 2,000-package lockfile of a bulk-loaded log.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatelog_core::compact_bundles::{self, CONTENT_TYPE};
use gatelog_core::event::Integrity;
use gatelog_core::tlog_proof::TlogProof;
use gatelog_core::{Hash, LeafIndex};
use gatelog_e2e::{FakeHttp, Server, TestLog, binary, http_get, http_post, run};
use gatelog_lab::sample::device_key;
use serde_json::{Value, json};

const ORIGIN: &str = "compact.gatelog.test/log";
const PKG_TIME: i64 = 1_780_000_000;

fn tgz(name: &str, version: &str) -> Vec<u8> {
    format!("{name}-{version}.tgz").into_bytes()
}

/// stage → approve (by `device`) → publish.
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

/// A v3 package-lock.json of (name, version, tarball bytes) at `host`.
fn lockfile(path: &Path, host: &str, packages: &[(String, String, Vec<u8>)]) -> PathBuf {
    let mut map = serde_json::Map::new();
    map.insert("".into(), json!({"name": "app", "version": "1.0.0"}));
    for (name, version, tarball) in packages {
        let file = name.rsplit('/').next().unwrap();
        map.insert(
            format!("node_modules/{name}"),
            json!({
                "version": version,
                "resolved": format!("https://{host}/{name}/-/{file}-{version}.tgz"),
                "integrity": Integrity::of(tarball).to_string(),
            }),
        );
    }
    let doc = json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": map});
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path.to_owned()
}

fn pkg(name: &str, version: &str, tarball: &[u8]) -> (String, String, Vec<u8>) {
    (name.to_owned(), version.to_owned(), tarball.to_vec())
}

/// `gatelog verify --format json` with `extra`; (exit code, report, stderr).
fn verify(log: &str, vkey: &str, reg: &str, lock: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = std::process::Command::new(binary("gatelog"))
        .args(["verify", "--format", "json", "--no-state"])
        .args(["--log", log, "--log-key", vkey, "--registry-key", reg])
        .args(["--lockfile", &lock.display().to_string()])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn offline(vkey: &str, reg: &str, lock: &Path, bundle: &Path) -> (i32, Value, String) {
    verify(
        "http://127.0.0.1:9",
        vkey,
        reg,
        lock,
        &["--offline", bundle.to_str().unwrap()],
    )
}

fn rules(v: &Value, package: &str) -> Vec<String> {
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == package)
        .flat_map(|p| p["findings"].as_array().unwrap().clone())
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// `gatelog bundle` of `lock` into `out`.
fn bundle(log: &str, vkey: &str, lock: &Path, out: &Path) {
    let o = run(
        "gatelog",
        &[
            "bundle",
            "--log",
            log,
            "--log-key",
            vkey,
            "--lockfile",
            lock.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `POST /v1/bundles` with an `Accept` header and, unless empty, an
/// `Accept-Encoding`: (status, content type, content encoding, body).
fn post_accepting(
    addr: SocketAddr,
    accept: &str,
    encodings: &str,
    body: &[u8],
) -> (u16, String, String, Vec<u8>) {
    exchange(addr, "POST /v1/bundles", accept, encodings, Some(body))
}

/// `GET target` (e.g. `/v1/bundle?…`) as [`post_accepting`] asks.
fn get_accepting(
    addr: SocketAddr,
    target: &str,
    accept: &str,
    encodings: &str,
) -> (u16, String, String, Vec<u8>) {
    exchange(addr, &format!("GET {target}"), accept, encodings, None)
}

/// One HTTP/1.1 request (`method target`), its answer unparsed but split.
fn exchange(
    addr: SocketAddr,
    request: &str,
    accept: &str,
    encodings: &str,
    body: Option<&[u8]>,
) -> (u16, String, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{request} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: {accept}\r\n{}{}\r\n",
        if encodings.is_empty() {
            String::new()
        } else {
            format!("Accept-Encoding: {encodings}\r\n")
        },
        match body {
            Some(b) => format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ),
            None => String::new(),
        }
    )
    .unwrap();
    if let Some(body) = body {
        s.write_all(body).unwrap();
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .to_owned()
    };
    (
        status,
        header("content-type: "),
        header("content-encoding: "),
        raw[split + 4..].to_vec(),
    )
}

fn releases_body(packages: &[(String, String, Vec<u8>)], host: &str) -> Vec<u8> {
    let releases: Vec<Value> = packages
        .iter()
        .map(|(n, v, _)| json!({"registry": host, "package": n, "version": v}))
        .collect();
    serde_json::to_vec(&json!({ "releases": releases })).unwrap()
}

/// An offline bundle in the JSON form (`gatelog-offline-bundle/v1`) made
/// from the log's JSON answer, as older versions of `gatelog bundle` wrote.
fn json_offline_bundle(answer: &[u8], origin: &str) -> Vec<u8> {
    let v: Value = serde_json::from_slice(answer).unwrap();
    let note = v["checkpoint"]["note"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let releases: Vec<Value> = v["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let proofs: Vec<String> = b["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    use base64::Engine as _;
                    TlogProof {
                        extra: Some(
                            base64::engine::general_purpose::STANDARD
                                .decode(e["leaf"].as_str().unwrap())
                                .unwrap(),
                        ),
                        index: LeafIndex(e["index"].as_u64().unwrap()),
                        path: e["inclusion_proof"]["path"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
                            .collect(),
                        checkpoint: note.clone(),
                    }
                    .to_text()
                })
                .collect();
            json!({"registry": b["registry"], "package": b["package"], "version": b["version"],
                   "chain": b["chain"], "proofs": proofs})
        })
        .collect();
    serde_json::to_vec(
        &json!({"format": "gatelog-offline-bundle/v1", "origin": origin, "releases": releases}),
    )
    .unwrap()
}

/// The attack log of `tests/verify.rs`, smaller: honest releases by a
/// registered device, a direct publish, an SMS approval, an approval by a
/// revoked device (refused by the log, never published).
fn attack_log() -> TestLog {
    let log = TestLog::start(ORIGIN);
    for (id, seed) in [("yubi", 1), ("old", 2)] {
        log.submit(&log.reg.device_register(
            "good",
            "alice",
            id,
            &device_key(seed),
            PKG_TIME - 86_400 * 30,
        ));
    }
    log.submit(&log.event(
        "good",
        PKG_TIME,
        r#""type":"device-revoke","maintainer":"alice","device":{"id":"old","kind":"ed25519"}"#,
    ));
    release(&log, "good", "1.0.0", Some(("yubi", 1)));
    release(&log, "@scope/fine", "2.1.0", Some(("yubi", 1)));
    release(&log, "@scope/fine", "2.2.0", Some(("yubi", 1)));
    log.submit(
        &log.reg
            .publish_direct("direct", "1.0.0", &tgz("direct", "1.0.0"), PKG_TIME),
    );
    let t = tgz("smsy", "1.0.0");
    let (stage, _) = log.submit(&log.reg.stage("smsy", "1.0.0", &t, "acme/widget", PKG_TIME));
    let sms = log.event(
        "smsy",
        PKG_TIME,
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
    log
}

fn honest() -> Vec<(String, String, Vec<u8>)> {
    vec![
        pkg("good", "1.0.0", &tgz("good", "1.0.0")),
        pkg("@scope/fine", "2.1.0", &tgz("@scope/fine", "2.1.0")),
    ]
}

fn attacks() -> Vec<(String, String, Vec<u8>)> {
    vec![
        pkg("good", "1.0.0", b"a switched tarball"),
        pkg("direct", "1.0.0", &tgz("direct", "1.0.0")),
        pkg("smsy", "1.0.0", &tgz("smsy", "1.0.0")),
        pkg("missing", "3.0.0", b"x"),
    ]
}

fn assert_attack_rules(v: &Value) {
    for (package, rule) in [
        ("good", "integrity-mismatch"),
        ("direct", "publish-without-approval"),
        ("smsy", "weak-second-factor"),
        ("missing", "not-logged"),
    ] {
        assert!(
            rules(v, package).contains(&rule.to_owned()),
            "{package} {rule}: {v}"
        );
    }
}

#[test]
fn compact_bundles_verify_online_and_offline_and_every_rule_still_fires() {
    let log = attack_log();
    let url = log.url();
    let reg = log.reg.verifier_key().to_string();
    let dir = tempfile::tempdir().unwrap();
    let good = lockfile(&dir.path().join("good.json"), "registry.example", &honest());
    let bad = lockfile(&dir.path().join("bad.json"), "registry.example", &attacks());

    // The log answers the compact form when asked, JSON otherwise; the
    // compact answer is smaller and holds the same releases.
    let body = releases_body(&honest(), "registry.example");
    let (status, kind, encoding, compact) =
        post_accepting(log.server.addr, CONTENT_TYPE, "", &body);
    assert_eq!(
        (status, kind.as_str(), encoding.as_str()),
        (200, CONTENT_TYPE, "")
    );
    let answer = compact_bundles::parse(&compact).unwrap();
    assert_eq!(answer.releases.len(), 2);
    // The device registration both releases need is sent once.
    assert!(
        answer.releases[0]
            .entries
            .iter()
            .any(|e| answer.releases[1].entries.contains(e))
    );
    let (status, kind, _, json_answer) =
        post_accepting(log.server.addr, "application/json", "br, gzip", &body);
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    // Compressed when asked for.
    let (status, _, encoding, gzipped) =
        post_accepting(log.server.addr, CONTENT_TYPE, "gzip", &body);
    assert_eq!((status, encoding.as_str()), (200, "gzip"));
    assert!(gzipped.starts_with(&[0x1f, 0x8b]) && gzipped.len() < compact.len());
    let (status, _, encoding, brotli) =
        post_accepting(log.server.addr, CONTENT_TYPE, "gzip, br;q=0.9", &body);
    assert_eq!((status, encoding.as_str()), (200, "br"));
    assert!(brotli.len() < compact.len());
    let (_, _, encoding, _) =
        post_accepting(log.server.addr, CONTENT_TYPE, "br;q=0, gzip;q=0", &body);
    assert_eq!(encoding, "");
    assert!(
        compact.len() < json_answer.len(),
        "{} vs {}",
        compact.len(),
        json_answer.len()
    );

    // Online, compact by default: the honest lockfile passes, each attack
    // fails with its rule.
    let (code, v, err) = verify(&url, &log.vkey, &reg, &good, &[]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["counts"]["verified"], 2);
    let (code, v, err) = verify(&url, &log.vkey, &reg, &bad, &[]);
    assert_eq!(code, 1, "{v} {err}");
    assert_attack_rules(&v);

    // A log without the compact form (it answers JSON whatever is asked).
    let real = log.server.addr;
    let old_log = FakeHttp::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/bundles") => http_post(real, "/v1/bundles", &req.body).unwrap(),
        (_, path) => http_get(real, path),
    });
    let old_url = format!("http://{}", old_log.addr);
    let (code, v, err) = verify(&old_url, &log.vkey, &reg, &good, &[]);
    assert_eq!(code, 0, "{v} {err}");
    let (code, v, _) = verify(&old_url, &log.vkey, &reg, &bad, &[]);
    assert_eq!(code, 1, "{v}");
    assert_attack_rules(&v);

    // A log whose answer limit one release already fills: the client asks
    // again in halves, down to one release per request.
    let tight = FakeHttp::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/bundles") => {
            let asked: Value = serde_json::from_slice(&req.body).unwrap();
            if asked["releases"].as_array().unwrap().len() > 1 {
                let refusal =
                    json!({"error": "too_large", "message": "the answer would be too large"});
                (413, refusal.to_string().into_bytes())
            } else {
                http_post(real, "/v1/bundles", &req.body).unwrap()
            }
        }
        (_, path) => http_get(real, path),
    });
    let tight_url = format!("http://{}", tight.addr);
    let (code, v, err) = verify(&tight_url, &log.vkey, &reg, &good, &[]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["counts"]["verified"], 2);
    let (code, v, _) = verify(&tight_url, &log.vkey, &reg, &bad, &[]);
    assert_eq!(code, 1, "{v}");
    assert_attack_rules(&v);

    // Offline: `gatelog bundle` writes compact answers, from either log.
    for (name, from) in [("compact.bin", &url), ("from-json.bin", &old_url)] {
        let file = dir.path().join(name);
        bundle(from, &log.vkey, &bad, &file);
        let bytes = std::fs::read(&file).unwrap();
        assert!(compact_bundles::is_compact(&bytes), "{name}");
        let (code, v, err) = offline(&log.vkey, &reg, &bad, &file);
        assert_eq!(code, 1, "{name}: {v} {err}");
        assert_attack_rules(&v);
    }
    let file = dir.path().join("good.bin");
    bundle(&url, &log.vkey, &good, &file);
    let (code, v, err) = offline(&log.vkey, &reg, &good, &file);
    assert_eq!(code, 0, "{v} {err}");

    // A wrong log key: nothing verifies.
    let other = gatelog_core::keys::SignerKey::from_seed(
        ORIGIN,
        gatelog_core::keys::SignatureType::Ed25519,
        &[99; 32],
    )
    .unwrap()
    .verifier()
    .to_string();
    let (code, _, err) = offline(&other, &reg, &good, &file);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn one_release_bundle_honours_accept_as_the_many_releases_endpoint_does() {
    let log = attack_log();
    let addr = log.server.addr;
    let get = |version: &str, accept: &str, encodings: &str| {
        get_accepting(
            addr,
            &format!(
                "/v1/bundle?registry=registry.example&package=%40scope%2Ffine&version={version}"
            ),
            accept,
            encodings,
        )
    };
    let one = releases_body(&honest()[1..], "registry.example");

    // Compact when asked: byte for byte what `POST /v1/bundles` answers
    // for that one release, plain and compressed.
    let (status, kind, encoding, compact) = get("2.1.0", CONTENT_TYPE, "");
    assert_eq!(
        (status, kind.as_str(), encoding.as_str()),
        (200, CONTENT_TYPE, "")
    );
    let (_, _, _, posted) = post_accepting(addr, CONTENT_TYPE, "", &one);
    assert_eq!(compact, posted);
    let answer = compact_bundles::parse(&compact).unwrap();
    assert_eq!(answer.releases.len(), 1);
    assert_eq!(
        (
            answer.releases[0].package.as_str(),
            answer.releases[0].version.as_str()
        ),
        ("@scope/fine", "2.1.0")
    );
    assert!(!answer.releases[0].entries.is_empty());
    for coding in ["gzip", "br"] {
        let (status, _, encoding, got) = get("2.1.0", CONTENT_TYPE, coding);
        let (_, _, _, posted) = post_accepting(addr, CONTENT_TYPE, coding, &one);
        assert_eq!((status, encoding.as_str()), (200, coding));
        assert!(got.len() < compact.len() && got == posted, "{coding}");
    }

    // JSON otherwise, as before.
    for accept in ["application/json", "*/*"] {
        let (status, kind, encoding, body) = get("2.1.0", accept, "br, gzip");
        assert_eq!(
            (status, kind.as_str(), encoding.as_str()),
            (200, "application/json", ""),
            "{accept}"
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["bundles"][0]["version"], "2.1.0");
    }

    // An unknown version is a release without entries; a bad name is
    // refused in either form.
    let (status, _, _, unknown) = get("9.9.9", CONTENT_TYPE, "");
    assert_eq!(status, 200);
    assert!(
        compact_bundles::parse(&unknown).unwrap().releases[0]
            .entries
            .is_empty()
    );
    let (status, _, _, _) = get_accepting(
        addr,
        "/v1/bundle?registry=registry.example&package=Not%20A%20Name&version=1.0.0",
        CONTENT_TYPE,
        "",
    );
    assert_eq!(status, 400);
}

#[test]
fn no_changed_bit_of_a_compact_bundle_passes() {
    let log = attack_log();
    let reg = log.reg.verifier_key().to_string();
    let dir = tempfile::tempdir().unwrap();
    let good = lockfile(&dir.path().join("good.json"), "registry.example", &honest());
    let file = dir.path().join("good.bin");
    bundle(&log.url(), &log.vkey, &good, &file);
    let original = std::fs::read(&file).unwrap();
    let (code, v, err) = offline(&log.vkey, &reg, &good, &file);
    assert_eq!(code, 0, "{v} {err}");
    // 200 positions spread over the whole file (marker, tree size,
    // checkpoint, leaves, proof, releases), one bit each, the bit moving.
    let changed = dir.path().join("changed.bin");
    let positions = 200.min(original.len());
    let mut refused = 0;
    for k in 0..positions {
        let at = k * original.len() / positions;
        let mut bytes = original.clone();
        bytes[at] ^= 1 << (k % 8);
        std::fs::write(&changed, &bytes).unwrap();
        let (code, v, err) = offline(&log.vkey, &reg, &good, &changed);
        assert_ne!(
            code,
            0,
            "changing bit {} of byte {at} still verifies: {v} {err}",
            k % 8
        );
        refused += usize::from(code == 2);
    }
    // Both outcomes occur: refused as malformed, and parsed but failing.
    assert!(
        refused > 0 && refused < positions,
        "{refused} of {positions} refused"
    );
    // Cut short or with bytes after it, the bundle is refused.
    for bytes in [
        &original[..original.len() - 1],
        &[&original[..], b"x"].concat()[..],
    ] {
        std::fs::write(&changed, bytes).unwrap();
        let (code, _, err) = offline(&log.vkey, &reg, &good, &changed);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("compact"), "{err}");
    }
}

#[test]
fn old_json_bundles_are_still_read_and_unknown_ones_refused_clearly() {
    let log = attack_log();
    let reg = log.reg.verifier_key().to_string();
    let dir = tempfile::tempdir().unwrap();
    let good = lockfile(&dir.path().join("good.json"), "registry.example", &honest());
    let bad = lockfile(&dir.path().join("bad.json"), "registry.example", &attacks());
    for (lock, packages, want) in [(&good, honest(), 0), (&bad, attacks(), 1)] {
        let body = releases_body(&packages, "registry.example");
        let (status, answer) = http_post(log.server.addr, "/v1/bundles", &body).unwrap();
        assert_eq!(status, 200);
        let file = dir.path().join("v1.json");
        std::fs::write(&file, json_offline_bundle(&answer, ORIGIN)).unwrap();
        let (code, v, err) = offline(&log.vkey, &reg, lock, &file);
        assert_eq!(code, want, "{v} {err}");
        if want == 1 {
            assert_attack_rules(&v);
        }
    }
    json_bundles_still_fail_when_changed(&log, &reg, &good, &dir.path().join("v1.json"));
    // A JSON bundle of a format this version does not know, and bytes that
    // are neither form.
    let file = dir.path().join("v9.json");
    std::fs::write(
        &file,
        br#"{"format": "gatelog-offline-bundle/v9", "origin": "x", "releases": []}"#,
    )
    .unwrap();
    let (code, _, err) = offline(&log.vkey, &reg, &good, &file);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gatelog-offline-bundle/v9") && err.contains("gatelog bundle"),
        "{err}"
    );
    std::fs::write(&file, b"\x00\x01 not a bundle").unwrap();
    let (code, _, err) = offline(&log.vkey, &reg, &good, &file);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("neither a gatelog-bundles/compact-v1"),
        "{err}"
    );
}

/// The JSON form's own attacks, read by this version: any changed byte,
/// an entry shared by two releases tampered with in its second copy only,
/// and a changed proof hash.
fn json_bundles_still_fail_when_changed(log: &TestLog, reg: &str, lock: &Path, file: &Path) {
    let body = releases_body(&honest(), "registry.example");
    let (_, answer) = http_post(log.server.addr, "/v1/bundles", &body).unwrap();
    let original = json_offline_bundle(&answer, ORIGIN);
    let text = String::from_utf8(original.clone()).unwrap();
    let step = (original.len() / 40).max(1);
    for at in (0..original.len()).step_by(step) {
        let mut changed = original.clone();
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(file, &changed).unwrap();
        let (code, v, _) = offline(&log.vkey, reg, lock, file);
        assert_ne!(code, 0, "changing byte {at} still verifies: {v}");
    }
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let first: Vec<String> = doc["releases"][0]["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let shared = doc["releases"][1]["proofs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| first.contains(&p.as_str().unwrap().to_owned()))
        .expect("the device registration is in both bundles");
    // Same index, same leaf; one proof hash changed.
    let mut lines: Vec<String> = shared
        .as_str()
        .unwrap()
        .split('\n')
        .map(str::to_owned)
        .collect();
    lines[3] = Hash::default().to_base64();
    *shared = Value::String(lines.join("\n"));
    std::fs::write(file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (code, v, _) = offline(&log.vkey, reg, lock, file);
    assert_eq!(code, 1, "a tampered second copy verifies: {v}");
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let proof = doc["releases"][0]["proofs"][0].as_str().unwrap().to_owned();
    let mut lines: Vec<String> = proof.split('\n').map(str::to_owned).collect();
    let hash_line = lines
        .iter()
        .position(|l| l.len() == 44 && l.ends_with('='))
        .unwrap();
    lines[hash_line] = Hash::default().to_base64();
    doc["releases"][0]["proofs"][0] = Value::String(lines.join("\n"));
    std::fs::write(file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (code, v, err) = offline(&log.vkey, reg, lock, file);
    assert_eq!(code, 1, "{v} {err}");
}

/// Packages loaded, one release each (a divisor of [`FIRST_RELEASE`], so
/// release `FIRST_RELEASE + p` is package p); the lockfile takes every 20th.
const LOADED_PACKAGES: u64 = 40_000;
const LOCKFILE_PACKAGES: u64 = 2_000;
/// The bulk loader numbers releases from here (the hammer's workload).
const FIRST_RELEASE: u64 = 10_000_000;

#[test]
fn a_2000_package_lockfile_in_both_forms_bytes_per_package() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    // 97 device registrations, then one stage/approve/publish chain per package.
    let entries = 97 + 3 * LOADED_PACKAGES;
    let out = run(
        "gatelog-bulk-load",
        &[
            "--data",
            data.to_str().unwrap(),
            "--entries",
            &entries.to_string(),
            "--origin",
            "bulk.test/log",
            "--packages",
            &LOADED_PACKAGES.to_string(),
            "--batch",
            "500",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let vkey = summary["verifier_key"].as_str().unwrap().to_owned();
    let registry_key =
        String::from_utf8_lossy(&run("gatelog-lab", &["hammer", "--print-registry-key"]).stdout)
            .trim()
            .to_owned();
    let server = Server::start_with(&data, "bulk.test/log", &["--submitter-key", &registry_key]);
    let host = "hammer.registry.test";
    let packages: Vec<(String, String, Vec<u8>)> = (0..LOCKFILE_PACKAGES)
        .map(|k| {
            let p = k * (LOADED_PACKAGES / LOCKFILE_PACKAGES);
            let release = FIRST_RELEASE + p;
            let version = format!("1.{}.0", release / LOADED_PACKAGES);
            (
                format!("@hammer/pkg-{p}"),
                version,
                format!("release-{release}.tgz").into_bytes(),
            )
        })
        .collect();
    let body = releases_body(&packages, host);
    let (status, _, _, compact) = post_accepting(server.addr, CONTENT_TYPE, "", &body);
    assert_eq!(status, 200);
    let (status, _, encoding, gzipped) = post_accepting(server.addr, CONTENT_TYPE, "gzip", &body);
    assert_eq!((status, encoding.as_str()), (200, "gzip"));
    let started = Instant::now();
    let (status, _, encoding, brotli) =
        post_accepting(server.addr, CONTENT_TYPE, "br, gzip", &body);
    let brotli_secs = started.elapsed().as_secs_f64();
    assert_eq!((status, encoding.as_str()), (200, "br"));
    let (status, json_answer) = http_post(server.addr, "/v1/bundles", &body).unwrap();
    assert_eq!(status, 200);
    let answer = compact_bundles::parse(&compact).unwrap();
    if let Ok(dump) = std::env::var("H4_DUMP") {
        std::fs::write(format!("{dump}.bin"), &compact).unwrap();
        std::fs::write(format!("{dump}.json"), &json_answer).unwrap();
    }
    let leaf_bytes: usize = answer.leaves.iter().map(|(_, l)| l.len()).sum();
    let n = LOCKFILE_PACKAGES as usize;
    eprintln!(
        "2,000 packages of a {entries}-entry log: JSON {} bytes ({} per package), compact {} bytes \
         ({} per package: {} leaves of {} bytes on average = {} per package, {} proof hashes = {} \
         per package); with gzip {} bytes ({} per package); with brotli {} bytes ({} per \
         package, answered in {brotli_secs:.2} s)",
        json_answer.len(),
        json_answer.len() / n,
        compact.len(),
        compact.len() / n,
        answer.leaves.len(),
        leaf_bytes / answer.leaves.len(),
        leaf_bytes / n,
        answer.proof.len(),
        answer.proof.len() * 32 / n,
        gzipped.len(),
        gzipped.len() / n,
        brotli.len(),
        brotli.len() / n,
    );
    // The goal: at most 1 KiB per package over the wire.
    assert!(
        brotli.len() / n <= 1024,
        "{} bytes per package",
        brotli.len() / n
    );
    assert!(
        gzipped.len() * 2 < compact.len(),
        "{} vs {}",
        gzipped.len(),
        compact.len()
    );
    assert!(
        compact.len() * 3 < json_answer.len(),
        "{} vs {}",
        compact.len(),
        json_answer.len()
    );

    // The whole lockfile verifies through the binary over the compact form.
    let lock = lockfile(&dir.path().join("package-lock.json"), host, &packages);
    let started = Instant::now();
    let (code, v, err) = verify(
        &format!("http://{}", server.addr),
        &vkey,
        &registry_key,
        &lock,
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["counts"]["verified"], LOCKFILE_PACKAGES);
    eprintln!(
        "gatelog verify of 2,000 packages on loopback: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
