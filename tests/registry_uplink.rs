//! `gatelog-registry --uplink`: registry A reads through to registry B (a
//! second local gatelog-registry) for packages A does not own. The real
//! npm installs through A a package published only on B; A caches the
//! tarball under the integrity it recorded when it first served the
//! version, and serves it with B down; a package A owns is never shadowed
//! by B's; and when the uplink later serves another tarball for that
//! version, A refuses it.

#[path = "npm_registry/rig.rs"]
mod rig;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rig::{Rig, app_dir, fails, ok, package_dir};
use serde_json::Value;
use sha2::{Digest, Sha512};

fn lock_entry(app: &std::path::Path, name: &str) -> Value {
    let lock: Value =
        serde_json::from_slice(&std::fs::read(app.join("package-lock.json")).unwrap()).unwrap();
    lock["packages"][format!("node_modules/{name}")].clone()
}

#[test]
fn npm_installs_through_an_uplink_which_never_shadows_and_cannot_change_a_version() {
    let mut b = Rig::start(&[]);
    let b_alice = b.alice_publish.clone();
    let src = package_dir(&b, "widget", "1.0.0");
    ok(&b.npm(&src, &b_alice, &["publish"]), "npm publish on B");
    let src = package_dir(&b, "gadget", "0.9.0");
    ok(
        &b.npm(&src, &b_alice, &["publish"]),
        "npm publish of gadget on B",
    );
    let (status, _, upstream) = b.request("GET", "/widget", None, None, b"");
    assert_eq!(status, 200);
    let integrity = upstream["versions"]["1.0.0"]["dist"]["integrity"]
        .as_str()
        .unwrap()
        .to_owned();

    let uplink = format!("http://{}", b.reg_addr);
    let mut a = Rig::start(&["--uplink", &uplink]);
    let a_alice = a.alice_publish.clone();
    // gadget is A's own: B's gadget never shows through A.
    let src = package_dir(&a, "gadget", "2.0.0");
    ok(
        &a.npm(&src, &a_alice, &["publish"]),
        "npm publish of gadget on A",
    );

    let app = app_dir(&a, "app");
    ok(
        &a.npm(&app, &a_alice, &["install", "widget@1.0.0", "gadget"]),
        "npm install through A",
    );
    let widget = lock_entry(&app, "widget");
    assert_eq!(widget["integrity"], integrity.as_str(), "{widget}");
    assert_eq!(
        widget["resolved"],
        format!("http://{}/widget/-/widget-1.0.0.tgz", a.host())
    );
    assert_eq!(lock_entry(&app, "gadget")["version"], "2.0.0");
    let (_, _, gadget) = a.request("GET", "/gadget", None, None, b"");
    let versions: Vec<&String> = gadget["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, ["2.0.0"]);
    // A cached B's tarball under the recorded integrity, and it hashes to it.
    let digest = STANDARD
        .decode(integrity.strip_prefix("sha512-").unwrap())
        .unwrap();
    let cached = std::fs::read(a.data().join("tarballs").join(hex::encode(&digest))).unwrap();
    assert_eq!(Sha512::digest(&cached).as_slice(), digest.as_slice());
    // The upstream signature (B's key) is not passed off as A's.
    let (_, _, served) = a.request("GET", "/widget", None, None, b"");
    assert!(served["versions"]["1.0.0"]["dist"]["signatures"].is_null());
    assert!(
        upstream["versions"]["1.0.0"]["dist"]["signatures"].is_array(),
        "{upstream}"
    );

    // With B down, A serves what it cached (a fresh npm cache).
    b.kill_registry();
    let offline = app_dir(&a, "offline");
    let cache = a.dir.path().join("cache-offline");
    ok(
        &a.npm(
            &offline,
            &a_alice,
            &[
                "install",
                "widget@1.0.0",
                &format!("--cache={}", cache.display()),
            ],
        ),
        "npm install through A with the uplink down",
    );
    assert_eq!(
        lock_entry(&offline, "widget")["integrity"],
        integrity.as_str()
    );

    // The uplink now serves another widget@1.0.0 (registry C at A's uplink
    // URL): A refuses it rather than serve the changed version.
    let c = Rig::start(&[]);
    let src = package_dir(&c, "widget", "1.0.0");
    std::fs::write(src.join("index.js"), "module.exports = 'changed';\n").unwrap();
    ok(
        &c.npm(&src, &c.alice_publish, &["publish"]),
        "npm publish of another widget@1.0.0 on C",
    );
    a.restart_registry(None, &["--uplink", &format!("http://{}", c.reg_addr)]);
    let (status, _, v) = a.request("GET", "/widget", None, None, b"");
    assert_eq!(status, 502, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("changed the tarball of widget@1.0.0"),
        "{v}"
    );
    let changed = app_dir(&a, "changed");
    let cache = a.dir.path().join("cache-changed");
    fails(
        &a.npm(
            &changed,
            &a_alice,
            &[
                "install",
                "widget@1.0.0",
                // npm retries a 502; once is enough here.
                "--fetch-retries=0",
                &format!("--cache={}", cache.display()),
            ],
        ),
        "npm install of the changed upstream version",
        "502",
    );
    assert!(!changed.join("node_modules/widget").exists());
    // The tarball A cached is still the one first recorded.
    let cached = std::fs::read(a.data().join("tarballs").join(hex::encode(&digest))).unwrap();
    assert_eq!(Sha512::digest(&cached).as_slice(), digest.as_slice());
}
