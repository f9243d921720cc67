//! Logs, registries and mirrors that lie: what the client catches on its own
//! from the leaves, proofs and signatures it is handed.

use super::*;

/// A log and registry that lie together: the approval's device signature is
/// by another key than the one registered. An honest server refuses such an
/// approval, so this log is built by hand and handed over as an offline
/// bundle; the client must catch it on its own.
#[test]
fn a_bad_device_signature_is_caught_even_from_a_lying_log() {
    use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes};
    use gatelog_core::tlog_proof::TlogProof;
    use gatelog_core::{Checkpoint, CompactRange, Leaf, Origin, leaf_hash};

    let reg = SampleRegistry::new("registry.example", 5);
    let t = tgz("good", "1.0.0");
    let mut leaves: Vec<Vec<u8>> = Vec::new();
    let push = |env: Envelope, leaves: &mut Vec<Vec<u8>>| {
        let prev = leaves.len().checked_sub(1).map(|i| LeafIndex(i as u64));
        let bytes = Leaf::new(1_000 + leaves.len() as u64, prev, env)
            .unwrap()
            .into_bytes();
        leaves.push(bytes);
        leaf_hash(leaves.last().unwrap())
    };
    push(
        reg.device_register("good", "alice", "yubi", &device_key(1), PKG_TIME - 100),
        &mut leaves,
    );
    let stage_hash = push(
        reg.stage("good", "1.0.0", &t, "acme/widget", PKG_TIME),
        &mut leaves,
    );
    // Signed by device 2, though the log registered device 1's key.
    push(
        reg.approve(
            "good",
            "1.0.0",
            &t,
            LeafIndex(1),
            &stage_hash,
            "alice",
            Some(("yubi", &device_key(2))),
            PKG_TIME + 600,
        ),
        &mut leaves,
    );
    push(
        reg.publish(
            "good",
            "1.0.0",
            &t,
            LeafIndex(1),
            LeafIndex(2),
            PKG_TIME + 700,
        ),
        &mut leaves,
    );
    let mut range = CompactRange::new();
    let mut nodes = std::collections::HashMap::new();
    for l in &leaves {
        nodes.extend(range.append(leaf_hash(l)));
    }
    let note = Checkpoint::new(Origin::new(ORIGIN).unwrap(), range.head())
        .sign(&log_key(ORIGIN))
        .unwrap()
        .to_bytes();
    let proofs: Vec<String> = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let ids = inclusion_proof_nodes(LeafIndex(i as u64), range.size()).unwrap();
            let hashes: Vec<Hash> = ids.iter().map(|id| nodes[id]).collect();
            let p = inclusion_proof(LeafIndex(i as u64), range.size(), &hashes).unwrap();
            TlogProof {
                extra: Some(leaf.clone()),
                index: p.index,
                path: p.path,
                checkpoint: note.clone(),
            }
            .to_text()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.json");
    let doc = serde_json::json!({"format": "gatelog-offline-bundle/v1", "origin": ORIGIN,
        "releases": [{"package": "good", "version": "1.0.0", "proofs": proofs}]});
    std::fs::write(&bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
    let lock = lockfile(dir.path(), "package-lock.json", &[("good", "1.0.0", &t)]);
    let vkey = log_key(ORIGIN).verifier().to_string();
    let (code, v, err) = verify(
        "http://127.0.0.1:9",
        &vkey,
        &reg.verifier_key().to_string(),
        &lock,
        &dir.path().join("state"),
        &["--offline", bundle.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{v} {err}");
    assert!(
        rules(&v, "good").contains(&"bad-device-signature".to_owned()),
        "{v}"
    );
}

/// Registry B (allowlisted, speaking for itself) logs a clean stage →
/// approve → publish of the same name and version after registry A's
/// direct publish: A's lockfile entry still fails, B's passes.
#[test]
fn another_registrys_events_do_not_launder_a_direct_publish() {
    let evil = SampleRegistry::new("evil.example", 6);
    let evil_key = evil.verifier_key().to_string();
    let log = TestLog::start_with(ORIGIN, &["--submitter-key", &evil_key]);
    let url = log.url();
    let t = tgz("victim", "1.0.0");
    let (direct, _) = log.submit(&log.reg.publish_direct("victim", "1.0.0", &t, PKG_TIME));
    // B's chain, with B's device.
    log.submit(&evil.device_register("victim", "mallory", "yubi", &device_key(3), PKG_TIME));
    let (stage, stage_hash) =
        log.submit(&evil.stage("victim", "1.0.0", &t, "acme/widget", PKG_TIME + 10));
    let (approve, _) = log.submit(&evil.approve(
        "victim",
        "1.0.0",
        &t,
        stage,
        &stage_hash,
        "mallory",
        Some(("yubi", &device_key(3))),
        PKG_TIME + 20,
    ));
    log.submit(&evil.publish("victim", "1.0.0", &t, stage, approve, PKG_TIME + 30));
    let dir = tempfile::tempdir().unwrap();
    let reg = log.reg.verifier_key().to_string();
    let both = ["--registry-key", evil_key.as_str()];
    // From A (lockfile() resolves at https://registry.example), and from A
    // through http://.
    let lock = lockfile(dir.path(), "a.json", &[("victim", "1.0.0", &t)]);
    let (code, v, err) = verify(&url, &log.vkey, &reg, &lock, &dir.path().join("s"), &both);
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(rules(&v, "victim"), vec!["publish-without-approval"], "{v}");
    assert_eq!(
        v["packages"][0]["findings"][0]["entries"][0], direct.0,
        "{v}"
    );
    let text = std::fs::read_to_string(&lock)
        .unwrap()
        .replace("https://registry.example", "http://registry.example");
    std::fs::write(&lock, text).unwrap();
    let (code, v, _) = verify(&url, &log.vkey, &reg, &lock, &dir.path().join("s"), &both);
    assert_eq!(code, 1, "{v}");
    assert_eq!(rules(&v, "victim"), vec!["publish-without-approval"], "{v}");
    // From B: B's release, which is clean.
    let text = std::fs::read_to_string(&lock)
        .unwrap()
        .replace("http://registry.example", "https://evil.example");
    std::fs::write(&lock, text).unwrap();
    let (code, v, err) = verify(&url, &log.vkey, &reg, &lock, &dir.path().join("s"), &both);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["packages"][0]["registry"], "evil.example");
}

/// A mirror that serves the log's answers from before an unpublish: once a
/// run has verified the newer checkpoint, the stale answer is refused
/// (exit 3), online and as an offline bundle.
#[test]
fn a_mirror_serving_answers_from_before_an_unpublish_is_refused() {
    use gatelog_e2e::{FakeHttp, http_get, http_post};

    let log = TestLog::start(ORIGIN);
    let url = log.url();
    let reg = log.reg.verifier_key().to_string();
    log.submit(
        &log.reg
            .device_register("gone", "alice", "yubi", &device_key(1), PKG_TIME - 100),
    );
    release(&log, "gone", "1.0.0", Some(("yubi", 1)));
    let dir = tempfile::tempdir().unwrap();
    let lock = lockfile(
        dir.path(),
        "package-lock.json",
        &[("gone", "1.0.0", &tgz("gone", "1.0.0"))],
    );
    // What a mirror keeps: the answers of this moment, and an offline bundle.
    let (status, old_bundles) = http_post(
        log.server.addr,
        "/v1/bundles",
        br#"{"releases":[{"registry":"https://registry.example","package":"gone","version":"1.0.0"}]}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&old_bundles));
    let (_, old_checkpoint) = http_get(log.server.addr, "/checkpoint");
    let old_offline = dir.path().join("old.json");
    let (code, _, err) = gatelog(&[
        "bundle",
        "--log",
        &url,
        "--log-key",
        &log.vkey,
        "--lockfile",
        lock.to_str().unwrap(),
        "--out",
        old_offline.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Then the version is unpublished, and a run sees it.
    log.submit(&log.event(
        "gone",
        PKG_TIME + 900,
        r#""type":"unpublish","version":"1.0.0","by":"alice""#,
    ));
    let state = dir.path().join("state");
    let (code, v, err) = verify(&url, &log.vkey, &reg, &lock, &state, &[]);
    assert_eq!(code, 1, "{v} {err}");
    assert!(rules(&v, "gone").contains(&"unpublished".to_owned()), "{v}");
    // The mirror: old answers, proofs from the real log.
    let real = log.server.addr;
    let mirror = FakeHttp::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/bundles") => (200, old_bundles.clone()),
        (_, "/checkpoint") => (200, old_checkpoint.clone()),
        (_, path) => http_get(real, path),
    });
    let (code, v, err) = verify(&mirror.url(), &log.vkey, &reg, &lock, &state, &[]);
    assert_eq!(code, 3, "a stale mirror must not pass: {v} {err}");
    assert!(err.contains("stale evidence"), "{err}");
    let (code, v, err) = verify(
        "http://127.0.0.1:9",
        &log.vkey,
        &reg,
        &lock,
        &state,
        &["--offline", old_offline.to_str().unwrap()],
    );
    assert_eq!(code, 3, "a stale offline bundle must not pass: {v} {err}");
    assert!(err.contains("stale evidence"), "{err}");
    // The real log, again: still the unpublish.
    let (code, v, _) = verify(&url, &log.vkey, &reg, &lock, &state, &[]);
    assert_eq!(code, 1, "{v}");
}
