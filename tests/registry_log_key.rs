//! `gatelog-registry --log-key`: each acknowledgement of the log is checked
//! (the checkpoint's signature by that key, the inclusion proof of the
//! leaf) before the step takes effect. With the log's real key, npm stages
//! as usual; with another key the registry refuses the log's answers
//! (`503`, nothing listed), and a retry once the key is right is logged
//! once.

#[path = "npm_registry/rig.rs"]
mod rig;

use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_e2e::log_key;
use rig::{ORIGIN, Rig, ok, package_dir, staged_ids};
use serde_json::Value;

fn stage_events(rig: &Rig, name: &str, version: &str) -> usize {
    rig.bundle_events(name, version)
        .iter()
        .filter(|e| e["type"] == "stage" && e["version"] == version)
        .count()
}

#[test]
fn acknowledgements_are_checked_against_the_log_key() {
    let right = log_key(ORIGIN).verifier().to_string();
    let mut rig = Rig::start(&["--log-key", &right]);
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();
    let src = package_dir(&rig, "keyed", "1.0.0");
    ok(
        &rig.npm(&src, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    assert_eq!(staged_ids(&rig, &src, &alice).len(), 1);

    // A key of the same name that is not the log's.
    let wrong = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[7; 32])
        .unwrap()
        .verifier()
        .to_string();
    assert_ne!(wrong, right);
    rig.restart_registry(None, &["--log-key", &wrong]);
    let next = package_dir(&rig, "keyed", "1.1.0");
    let out = rig.npm(&next, &ci, &["stage", "publish"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "staged with an unverified ack");
    assert!(
        stderr.contains("does not verify against --log-key"),
        "{stderr}"
    );
    let items: Vec<Value> = staged_ids(&rig, &src, &alice);
    assert!(
        !items.iter().any(|i| i["version"] == "1.1.0"),
        "listed without a verified ack: {items:?}"
    );

    // The right key again: the retry resends the stored envelope.
    rig.restart_registry(None, &["--log-key", &right]);
    ok(
        &rig.npm(&next, &ci, &["stage", "publish"]),
        "npm stage publish again",
    );
    let items = staged_ids(&rig, &src, &alice);
    assert!(items.iter().any(|i| i["version"] == "1.1.0"), "{items:?}");
    assert_eq!(stage_events(&rig, "keyed", "1.1.0"), 1);

    // A malformed key is refused at start.
    let out = std::process::Command::new(gatelog_e2e::binary("gatelog-registry"))
        .args(["--data", &rig.data().display().to_string()])
        .args(["--listen", "127.0.0.1:1", "--log-key", "not-a-key"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-key"));
}
