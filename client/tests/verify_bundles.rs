//! `gatelog verify` against logs that lie by what they put into a bundle or
//! leave out of it: another registry's events, an omitted event, stale
//! evidence, hostile strings. The logs are built here, signed with a log
//! key, and handed over as offline bundles (no server needed); the binary
//! runs as CI runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gatelog_client::state::StateDir;
use gatelog_core::event::Integrity;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes};
use gatelog_core::tlog_proof::TlogProof;
use gatelog_core::{
    Checkpoint, CompactRange, Envelope, Event, Hash, Leaf, LeafIndex, Origin, SignedCheckpoint,
    leaf_hash,
};
use gatelog_lab::sample::{SampleRegistry, device_key, rfc3339};
use serde_json::{Value, json};

const ORIGIN: &str = "bundles.gatelog.test/log";
const T: i64 = 1_780_000_000;

fn log_key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[11; 32]).unwrap()
}

/// A log built in memory as the server builds it: `prev` chains each
/// (registry host, package).
#[derive(Default)]
struct Log {
    leaves: Vec<Vec<u8>>,
    heads: HashMap<(String, String), LeafIndex>,
}

impl Log {
    fn append(&mut self, env: &Envelope) -> (LeafIndex, Hash) {
        let event = Event::from_envelope(env).unwrap();
        let key = (
            event.registry.host().to_owned(),
            event.package.as_str().to_owned(),
        );
        let index = LeafIndex(self.leaves.len() as u64);
        let prev = self.heads.insert(key, index);
        let leaf = Leaf::new(1_000 + index.0, prev, env.clone())
            .unwrap()
            .into_bytes();
        let hash = leaf_hash(&leaf);
        self.leaves.push(leaf);
        (index, hash)
    }

    /// The signed checkpoint of the first `size` leaves, and the
    /// c2sp.org/tlog-proof of each of `indexes` against it.
    fn proofs(&self, size: usize, indexes: &[u64]) -> (SignedCheckpoint, Vec<String>) {
        let mut range = CompactRange::new();
        let mut nodes = HashMap::new();
        for l in &self.leaves[..size] {
            nodes.extend(range.append(leaf_hash(l)));
        }
        let cp = Checkpoint::new(Origin::new(ORIGIN).unwrap(), range.head());
        let note = cp.sign(&log_key()).unwrap();
        let signed = SignedCheckpoint {
            note,
            checkpoint: cp,
        };
        let note = signed.to_bytes();
        let proofs = indexes
            .iter()
            .map(|&i| {
                let ids = inclusion_proof_nodes(LeafIndex(i), range.size()).unwrap();
                let hashes: Vec<Hash> = ids.iter().map(|id| nodes[id]).collect();
                let p = inclusion_proof(LeafIndex(i), range.size(), &hashes).unwrap();
                TlogProof {
                    extra: Some(self.leaves[i as usize].clone()),
                    index: p.index,
                    path: p.path,
                    checkpoint: note.clone(),
                }
                .to_text()
            })
            .collect();
        (signed, proofs)
    }
}

fn tgz(name: &str, version: &str) -> Vec<u8> {
    format!("{name}-{version}.tgz").into_bytes()
}

/// device-register → stage → approve (signed by device 1) → publish of
/// `name@version` at `reg`; returns the indexes.
fn release(log: &mut Log, reg: &SampleRegistry, name: &str, version: &str) -> Vec<u64> {
    let t = tgz(name, version);
    let (d, _) = log.append(&reg.device_register(name, "alice", "yubi", &device_key(1), T));
    let (s, stage_hash) = log.append(&reg.stage(name, version, &t, "acme/widget", T + 10));
    let (a, _) = log.append(&reg.approve(
        name,
        version,
        &t,
        s,
        &stage_hash,
        "alice",
        Some(("yubi", &device_key(1))),
        T + 20,
    ));
    let (p, _) = log.append(&reg.publish(name, version, &t, s, a, T + 30));
    vec![d.0, s.0, a.0, p.0]
}

fn unpublish(reg: &SampleRegistry, name: &str, version: &str) -> Envelope {
    reg.sign_json(&format!(
        r#"{{"type":"unpublish","package":"{name}","registry":"{}","time":"{}","version":"{version}","by":"alice"}}"#,
        reg.origin,
        rfc3339(T + 100)
    ))
    .unwrap()
}

/// One release of an offline bundle.
fn bundle_release(
    registry: Option<&str>,
    name: &str,
    version: &str,
    chain: Option<Value>,
    proofs: Vec<String>,
) -> Value {
    let mut r = json!({"package": name, "version": version, "proofs": proofs});
    if let Some(reg) = registry {
        r["registry"] = json!(reg);
    }
    if let Some(chain) = chain {
        r["chain"] = chain;
    }
    r
}

fn write_bundle(dir: &Path, releases: Vec<Value>) -> PathBuf {
    let path = dir.join("bundle.json");
    let doc =
        json!({"format": "gatelog-offline-bundle/v1", "origin": ORIGIN, "releases": releases});
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

/// A v3 lockfile of (name, version, resolved URL, tarball).
fn lockfile(dir: &Path, packages: &[(&str, &str, &str, &[u8])]) -> PathBuf {
    let mut map = serde_json::Map::new();
    map.insert("".into(), json!({"name": "app", "version": "1.0.0"}));
    for (name, version, resolved, tarball) in packages {
        map.insert(
            format!("node_modules/{name}"),
            json!({"version": version, "resolved": resolved, "integrity": Integrity::of(tarball).to_string()}),
        );
    }
    let doc = json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": map});
    let path = dir.join("package-lock.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

fn url(host: &str, name: &str, version: &str) -> String {
    format!("https://{host}/{name}/-/{name}-{version}.tgz")
}

fn verify(
    lock: &Path,
    bundle: &Path,
    state: &Path,
    keys: &[&SampleRegistry],
    format: &str,
) -> (i32, Value, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatelog"));
    cmd.args(["verify", "--format", format, "--log-key"])
        .arg(log_key().verifier().to_string())
        .arg("--lockfile")
        .arg(lock)
        .arg("--offline")
        .arg(bundle)
        .arg("--state-dir")
        .arg(state);
    for k in keys {
        cmd.arg("--registry-key").arg(k.verifier_key().to_string());
    }
    let out: Output = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rules(v: &Value, name: &str, field: &str) -> Vec<String> {
    v["packages"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|p| p["name"] == name)
        .flat_map(|p| p[field].as_array().cloned().unwrap_or_default())
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn another_registrys_chain_does_not_launder_a_direct_publish() {
    let a = SampleRegistry::new("registry.example", 5);
    let b = SampleRegistry::new("evil.example", 6);
    let mut log = Log::default();
    let t = tgz("victim", "1.0.0");
    // A's token is stolen: a direct publish. Then B logs a clean chain for
    // the same name and version, with the same tarball.
    let (direct, _) = log.append(&a.publish_direct("victim", "1.0.0", &t, T));
    let laundering = release(&mut log, &b, "victim", "1.0.0");
    let size = log.leaves.len();
    let all: Vec<u64> = (0..size as u64).collect();
    let (_, proofs) = log.proofs(size, &all);
    let dir = tempfile::tempdir().unwrap();
    // A log that mixes registries, as logs keyed by package name alone did.
    let bundle = write_bundle(
        dir.path(),
        vec![
            bundle_release(
                Some("registry.example"),
                "victim",
                "1.0.0",
                Some(json!({"head": direct.0, "complete": true})),
                proofs.clone(),
            ),
            bundle_release(
                Some("evil.example"),
                "victim",
                "1.0.0",
                Some(json!({"head": laundering[3], "complete": true})),
                proofs.clone(),
            ),
        ],
    );
    let state = dir.path().join("state");
    // http and https, default ports and case name the same registry.
    for resolved in [
        "https://registry.example/victim/-/victim-1.0.0.tgz",
        "http://registry.example/victim/-/victim-1.0.0.tgz",
        "https://REGISTRY.example:443/victim/-/victim-1.0.0.tgz",
        "http://registry.example:80/victim/-/victim-1.0.0.tgz",
    ] {
        let lock = lockfile(dir.path(), &[("victim", "1.0.0", resolved, &t)]);
        let (code, v, _, err) = verify(&lock, &bundle, &state, &[&a, &b], "json");
        assert_eq!(code, 1, "{resolved}: {v} {err}");
        assert_eq!(
            rules(&v, "victim", "findings"),
            vec!["publish-without-approval"],
            "{resolved}: {v}"
        );
        assert_eq!(v["packages"][0]["registry"], "registry.example");
        let cited: Vec<u64> = v["packages"][0]["findings"][0]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_u64().unwrap())
            .collect();
        assert_eq!(cited, vec![direct.0], "{v}");
    }
    // Installed from B, the same name is B's release, and passes.
    let lock = lockfile(
        dir.path(),
        &[(
            "victim",
            "1.0.0",
            &url("evil.example", "victim", "1.0.0"),
            &t,
        )],
    );
    let (code, v, _, err) = verify(&lock, &bundle, &state, &[&a, &b], "json");
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["packages"][0]["registry"], "evil.example");
    // A bundle file without registry labels (older format) is matched by
    // name, and B's events in it are still ignored.
    let unlabelled = write_bundle(
        dir.path(),
        vec![bundle_release(None, "victim", "1.0.0", None, proofs)],
    );
    let lock = lockfile(
        dir.path(),
        &[(
            "victim",
            "1.0.0",
            &url("registry.example", "victim", "1.0.0"),
            &t,
        )],
    );
    let (code, v, _, err) = verify(&lock, &unlabelled, &state, &[&a, &b], "json");
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(
        rules(&v, "victim", "findings"),
        vec!["publish-without-approval"]
    );
}

#[test]
fn an_omitted_event_of_the_package_fails_the_release() {
    let a = SampleRegistry::new("registry.example", 5);
    let mut log = Log::default();
    let mut ids = release(&mut log, &a, "good", "1.0.0");
    // Then 1.0.0 is unpublished, and 1.1.0 staged.
    let (unpub, _) = log.append(&unpublish(&a, "good", "1.0.0"));
    let (later, _) = log.append(&a.stage(
        "good",
        "1.1.0",
        &tgz("good", "1.1.0"),
        "acme/widget",
        T + 200,
    ));
    ids.push(later.0);
    let size = log.leaves.len();
    let lock_dir = tempfile::tempdir().unwrap();
    let lock = lockfile(
        lock_dir.path(),
        &[(
            "good",
            "1.0.0",
            &url("registry.example", "good", "1.0.0"),
            &tgz("good", "1.0.0"),
        )],
    );
    let state = lock_dir.path().join("state");
    let run = |ids: &[u64], chain: Option<Value>, format: &str| {
        let (_, proofs) = log.proofs(size, ids);
        let bundle = write_bundle(
            lock_dir.path(),
            vec![bundle_release(
                Some("registry.example"),
                "good",
                "1.0.0",
                chain,
                proofs,
            )],
        );
        verify(&lock, &bundle, &state, &[&a], format)
    };
    let head = Some(json!({"head": later.0, "complete": true}));
    // The whole chain: the unpublish is seen.
    let mut whole = ids.clone();
    whole.push(unpub.0);
    whole.sort();
    let (code, v, _, err) = run(&whole, head.clone(), "json");
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(rules(&v, "good", "findings"), vec!["unpublished"], "{v}");
    // The unpublish left out: the chain from the head needs it.
    let (code, v, _, err) = run(&ids, head.clone(), "json");
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(rules(&v, "good", "findings"), vec!["omitted-event"], "{v}");
    assert_eq!(v["packages"][0]["findings"][0]["entries"][0], unpub.0);
    // Without a chain description (older bundle files) the newest entry
    // is the head: the same gap fails.
    let (code, v, _, _) = run(&ids, None, "json");
    assert_eq!(code, 1);
    assert_eq!(rules(&v, "good", "findings"), vec!["omitted-event"], "{v}");
    // The head itself left out.
    let (code, v, _, _) = run(&ids[..4], head.clone(), "json");
    assert_eq!(code, 1);
    assert_eq!(rules(&v, "good", "findings"), vec!["omitted-event"], "{v}");
    // A log that says it capped the chain: a warning names what was not
    // checked, and the release passes.
    let capped = Some(json!({"head": later.0, "complete": false}));
    let (code, v, _, err) = run(&ids, capped.clone(), "json");
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(
        rules(&v, "good", "warnings"),
        vec!["incomplete-chain"],
        "{v}"
    );
    let (code, _, text, _) = run(&ids, capped, "text");
    assert_eq!(code, 0);
    assert!(
        text.contains("WARN good@1.0.0 incomplete-chain: not checked"),
        "{text}"
    );
}

#[test]
fn evidence_older_than_the_remembered_checkpoint_is_refused() {
    let a = SampleRegistry::new("registry.example", 5);
    let mut log = Log::default();
    let ids = release(&mut log, &a, "good", "1.0.0");
    let old_size = log.leaves.len();
    // Later the device is revoked; a run remembers that checkpoint.
    log.append(&a.sign_json(&format!(
        r#"{{"type":"device-revoke","package":"good","registry":"{}","time":"{}","maintainer":"alice","device":{{"id":"yubi","kind":"ed25519"}}}}"#,
        a.origin,
        rfc3339(T + 500)
    )).unwrap());
    let (newer, _) = log.proofs(log.leaves.len(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    StateDir::new(&state_dir)
        .store(&log_key().verifier(), None, &newer)
        .unwrap();
    // A bundle made before the revoke.
    let (_, proofs) = log.proofs(old_size, &ids);
    let bundle = write_bundle(
        dir.path(),
        vec![bundle_release(
            Some("registry.example"),
            "good",
            "1.0.0",
            Some(json!({"head": ids[3], "complete": true})),
            proofs,
        )],
    );
    let lock = lockfile(
        dir.path(),
        &[(
            "good",
            "1.0.0",
            &url("registry.example", "good", "1.0.0"),
            &tgz("good", "1.0.0"),
        )],
    );
    let (code, v, _, err) = verify(&lock, &bundle, &state_dir, &[&a], "json");
    assert_eq!(code, 3, "{v} {err}");
    assert!(err.contains("stale evidence"), "{err}");
    assert!(err.contains(&format!("{old_size} entries")), "{err}");
    // Without a remembered checkpoint there is nothing to compare with.
    let (code, v, _, err) = verify(&lock, &bundle, &dir.path().join("fresh"), &[&a], "json");
    assert_eq!(code, 0, "{v} {err}");
}

#[test]
fn hostile_strings_are_escaped_in_text_and_exact_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\u{1b}]0;owned\u{7}\u{202e}gkp";
    let mut packages = serde_json::Map::new();
    packages.insert("".into(), json!({"name": "app", "version": "1.0.0"}));
    packages.insert(
        format!("node_modules/{name}"),
        json!({"version": "1.0.0", "resolved": "git+https://x.example/\u{1b}[2J\u{9b}31m\u{2066}.git"}),
    );
    let doc =
        json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages});
    let lock = dir.path().join("package-lock.json");
    std::fs::write(&lock, serde_json::to_vec(&doc).unwrap()).unwrap();
    let bundle = write_bundle(dir.path(), vec![]);
    let reg = SampleRegistry::new("registry.example", 5);
    let (code, _, text, err) = verify(&lock, &bundle, &dir.path().join("s"), &[&reg], "text");
    assert_eq!(code, 1, "{text} {err}");
    assert!(text.contains("invalid-name"), "{text}");
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}'] {
        assert!(
            !text.contains(bad),
            "{bad:?} reached the terminal: {text:?}"
        );
    }
    assert!(
        text.contains("evil\\u{1b}]0;owned\\u{7}\\u{202e}gkp@1.0.0"),
        "{text}"
    );
    let (_, v, _, _) = verify(&lock, &bundle, &dir.path().join("s"), &[&reg], "json");
    assert_eq!(v["packages"][0]["name"], name);
}

#[test]
fn without_a_home_folder_the_state_folder_must_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lockfile(dir.path(), &[]);
    let bundle = write_bundle(dir.path(), vec![]);
    let reg = SampleRegistry::new("registry.example", 5);
    let out = Command::new(env!("CARGO_BIN_EXE_gatelog"))
        .current_dir(dir.path())
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("GATELOG_STATE_DIR")
        .args(["verify", "--log-key"])
        .arg(log_key().verifier().to_string())
        .arg("--registry-key")
        .arg(reg.verifier_key().to_string())
        .arg("--lockfile")
        .arg(&lock)
        .arg("--offline")
        .arg(&bundle)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--state-dir") && err.contains("GATELOG_STATE_DIR"),
        "{err}"
    );
    assert!(!dir.path().join(".gatelog-state").exists());
    // Named, it works.
    let out = Command::new(env!("CARGO_BIN_EXE_gatelog"))
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env("GATELOG_STATE_DIR", dir.path().join("state"))
        .args(["verify", "--log-key"])
        .arg(log_key().verifier().to_string())
        .arg("--registry-key")
        .arg(reg.verifier_key().to_string())
        .arg("--lockfile")
        .arg(&lock)
        .arg("--offline")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
